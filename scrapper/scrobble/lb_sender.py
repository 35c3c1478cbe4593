"""Sending ledger entries to ListenBrainz: up to 1,000 listens a request, each listen's state kept beside Last.fm's.

The caller holds the ListenBrainz send lock (its own, so that one service
never waits on the other). Each batch is chosen from rows read under the
ledger lock and marked in flight in the same hold; verdicts are written the
same way and touch only ListenBrainz's state of each row. A batch whose
outcome is unknown (timeout, dropped connection, 5xx) is never simply sent
again: the listens ListenBrainz holds in the batch's time range are read,
those are marked accepted, and only the rest go again. A refused batch
(HTTP 400: nothing of it was stored) is split until the listen it refuses
is found, so one bad listen never holds back the others.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from errors import (
    ListenBrainzError, ListenBrainzRefused, ListenBrainzTemporary, ListenBrainzUnknown, RussfmError,
)
from lastfm.retry import RetryPolicy
from listenbrainz.listens import entry_listen, problem, same_listen
from scrobble.ledger import Ledger
from scrobble.rows import ACCEPTED, CANCELLED, IN_FLIGHT, LISTENBRAINZ, PENDING, REFUSED, Entry

log = logging.getLogger("russfm.listenbrainz.sender")
BATCH_SIZE = 1000
SEND_LOCK = "send-listenbrainz.lock"


class Client(Protocol):
    def submit(self, listen_type: str, payload: list[dict]) -> None: ...

    def listens_between(self, user: str, start: int, end: int) -> list[dict]: ...


class Selection(Protocol):
    """What may be sent; both methods run under the ledger lock on fresh rows."""

    def next_batch(self, ledger: Ledger) -> list[Entry]: ...

    def still_wanted(self, ledger: Ledger, entries: list[Entry]) -> list[Entry]: ...


class OutsideQueue:
    """Timed listens waiting for ListenBrainz that belong to no queue job, oldest first."""

    def next_batch(self, ledger: Ledger) -> list[Entry]:
        return ledger.target_pending(LISTENBRAINZ, outside_queue=True, limit=BATCH_SIZE)

    def still_wanted(self, ledger: Ledger, entries: list[Entry]) -> list[Entry]:
        return [e for e in entries if e.job is None]


@dataclass
class TargetLog:
    """What this process sent to one service and how it settled."""

    accepted: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    reconciled: list[str] = field(default_factory=list)  # found there after an unanswered send
    requests: int = 0
    stopped: RussfmError | None = None

    def to_json(self) -> dict[str, Any]:
        return {"accepted": len(self.accepted), "refused": len(self.refused), "waiting": len(self.waiting),
                "reconciled": len(self.reconciled), "requests": self.requests,
                "stopped": str(self.stopped) if self.stopped else None}


def _state(entry: Entry) -> dict[str, Any]:
    return dict(entry.targets.get(LISTENBRAINZ) or {})


class ListenSender:
    def __init__(self, ledger: Ledger, client: Client, username: str, policy: RetryPolicy,
                 release_mbid: Callable[[Entry], str] = lambda e: "",
                 on_batch: Callable[[int], None] | None = None) -> None:
        self.ledger = ledger
        self.client = client
        self.username = username
        self.policy = policy
        self.release_mbid = release_mbid
        self.on_batch = on_batch
        self.log = TargetLog()

    # --- states ---------------------------------------------------------------------------
    def _mark_in_flight(self, entries: list[Entry]) -> list[Entry]:
        batch, now = uuid.uuid4().hex[:12], self.ledger.clock()
        return self.ledger.set_target(
            [e.id for e in entries], LISTENBRAINZ,
            lambda e: {"status": IN_FLIGHT, "batch": batch, "sent_at": now, "ts": e.timestamp})

    def _settle(self, entries: list[Entry], status: str, message: str = "", only_from: str = IN_FLIGHT) -> list[Entry]:
        """Set the state of those entries that are still `only_from` (read now, under the lock)."""
        def change(e: Entry) -> dict[str, Any] | None:
            state = _state(e)
            if state.get("status") != only_from:
                return None
            if status == PENDING:
                job = self.ledger.job(e.job) if e.job else None
                # Its queue job was cancelled while it was on its way: it is not sent again.
                return {"status": CANCELLED if job is not None and job.status == CANCELLED else PENDING}
            return {**state, "status": status, "message": message, "batch": None}

        with self.ledger.locked():
            return self.ledger.set_target([e.id for e in entries], LISTENBRAINZ, change)

    # --- reconciliation --------------------------------------------------------------------
    def confirm(self, entries: list[Entry]) -> list[Entry]:
        """Read what ListenBrainz holds in these listens' time range; mark those accepted, the rest pending."""
        if not entries:
            return []
        stamps = [int(_state(e).get("ts") or e.timestamp) for e in entries]
        held = self.client.listens_between(self.username, min(stamps), max(stamps))
        found_ids = {e.id for e, ts in zip(entries, stamps)
                     if any(same_listen(h, e.artist, e.track, ts) for h in held)}
        found = self._settle([e for e in entries if e.id in found_ids], ACCEPTED,
                             "confirmed on ListenBrainz after an unanswered send")
        rest = self._settle([e for e in entries if e.id not in found_ids], PENDING)
        log.info("checked %d unanswered listens on ListenBrainz: %d there, %d to send again",
                 len(found) + len(rest), len(found), len(rest))
        self.log.reconciled += [e.id for e in found]
        self.log.accepted += [e.id for e in found]
        return found

    def reconcile_in_flight(self, settle_after: float) -> None:
        """Settle what a process that is gone left in flight (only the holder of the send lock sends). A batch
        sent less than `settle_after` seconds ago may still be on its way: a later command checks it."""
        batches: dict[str, list[Entry]] = {}
        for entry in self.ledger.target_with_status(LISTENBRAINZ, IN_FLIGHT):
            batches.setdefault(str(_state(entry).get("batch")), []).append(entry)
        newest_allowed = self.ledger.clock() - settle_after
        for entries in batches.values():
            sent = max(float(_state(e).get("sent_at") or 0.0) for e in entries)
            if sent <= newest_allowed:
                self.confirm(entries)
            else:
                log.info("%d listens were sent to ListenBrainz %.0f s ago by a command that is gone; checked later",
                         len(entries), self.ledger.clock() - sent)

    # --- sending ----------------------------------------------------------------------------
    def send_batch(self, selection: Selection) -> int:
        """Choose, mark and send one batch; the number chosen (0: nothing left). Raises when it must stop."""
        with self.ledger.locked():
            chosen = selection.next_batch(self.ledger)[:BATCH_SIZE]
            batch = self._mark_in_flight(chosen) if chosen else []
        if batch:
            self._deliver(batch, selection)
            if self.on_batch:
                self.on_batch(len(batch))
        return len(batch)

    def send_all(self, selection: Selection, should_stop: Callable[[], bool] | None = None) -> TargetLog:
        """Batches until nothing is left, `should_stop` says so, or a failure stops it (kept in the log)."""
        try:
            while not (should_stop and should_stop()) and self.send_batch(selection):
                pass
        except ListenBrainzError as exc:
            self.log.stopped = exc
        return self.log

    def _again(self, entries: list[Entry], selection: Selection) -> list[Entry]:
        """Those of `entries` that may still go, fresh, marked in flight again (a cancel may have come)."""
        with self.ledger.locked():
            current = [e for e in self.ledger.get(e.id for e in entries) if _state(e).get("status") == PENDING]
            wanted = selection.still_wanted(self.ledger, current)
            return self._mark_in_flight(wanted) if wanted else []

    def _deliver(self, batch: list[Entry], selection: Selection) -> None:
        now = self.ledger.clock()
        listens, bad = [], []
        for entry in batch:
            listen = entry_listen(entry, self.release_mbid(entry))
            why = problem(listen, now)
            if why:
                bad.append((entry, why))
            else:
                listens.append((entry, listen))
        for entry, why in bad:
            self._settle([entry], REFUSED, str(why))
            self.log.refused.append(entry.id)
        remaining = [e for e, _ in listens]
        payload = {e.id: listen for e, listen in listens}
        attempt = 0
        while remaining:
            kind = "single" if len(remaining) == 1 else "import"
            log.info("sending %d listens to ListenBrainz as %s (attempt %d)", len(remaining), kind, attempt + 1)
            try:
                self.client.submit(kind, [payload[e.id] for e in remaining])
            except ListenBrainzUnknown:
                # Give ListenBrainz a moment to show what it stored, then read. If it cannot be read
                # now, they stay in flight for the next command to check.
                self.policy.pause(attempt)
                found = {e.id for e in self.confirm(remaining)}
                attempt += 1
                rest = [e for e in remaining if e.id not in found]
                if rest and attempt >= self.policy.attempts:
                    self.log.waiting += [e.id for e in rest]
                    raise
                remaining = self._again(rest, selection) if rest else []
                continue
            except ListenBrainzTemporary:  # never sent, or rate limited past the waits: nothing was stored
                self._settle(remaining, PENDING)
                attempt += 1
                if attempt >= self.policy.attempts:
                    self.log.waiting += [e.id for e in remaining]
                    raise
                self.policy.pause(attempt - 1)
                remaining = self._again(remaining, selection)
                continue
            except ListenBrainzRefused as exc:
                if len(remaining) == 1:
                    self._settle(remaining, REFUSED, str(exc))
                    self.log.refused += [remaining[0].id]
                    return
                # Nothing of a refused request is stored: halve it until the refused listen is alone.
                self._settle(remaining, PENDING)
                half = len(remaining) // 2
                for part in (remaining[:half], remaining[half:]):
                    again = self._again(part, selection)
                    if again:
                        self._deliver(again, selection)
                return
            except ListenBrainzError:  # the token (401) or something else that needs the user: stop
                self._settle(remaining, PENDING)
                self.log.waiting += [e.id for e in remaining]
                raise
            done = self._settle(remaining, ACCEPTED)
            self.log.accepted += [e.id for e in done]
            log.info("ListenBrainz took %d listens", len(done))
            return
