"""Scrobbling: planning listening times, the ledger, sending and the queue."""
