"""The listening history: a local archive of the Last.fm scrobbles, kept in sync, and what is read from it."""
