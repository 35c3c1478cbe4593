"""Sending ledger entries to Last.fm: batches of 50, bounded retries, and reconciliation of unknown outcomes.

A batch whose outcome is unknown (timeout, dropped connection, 5xx, garbled
answer) is never simply sent again: user.getRecentTracks is asked what
Last.fm already holds for the batch's time span, those items are marked
accepted, and only the rest are sent again.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from collection.names import fold
from errors import (
    CapReached, LastfmError, LastfmNotFound, LastfmTemporary, OutcomeUnknown,
)
from lastfm.client import LastFM
from scrobble.ledger import ACCEPTED, FAILED, IGNORED, IN_FLIGHT, PENDING, Entry, Ledger

log = logging.getLogger("russfm.sender")
BATCH_SIZE = 50
RETRIES = 4
CAP_CODE = 5
DAILY_CAP_DEFERRED = "daily_cap"


@dataclass
class SendReport:
    accepted: list[Entry] = field(default_factory=list)
    ignored: list[Entry] = field(default_factory=list)
    deferred: list[Entry] = field(default_factory=list)
    failed: list[Entry] = field(default_factory=list)
    reconciled: int = 0
    stopped: LastfmError | None = None

    @property
    def sent(self) -> list[Entry]:
        return self.accepted + self.ignored + self.deferred + self.failed


@dataclass
class RetryPolicy:
    attempts: int = RETRIES
    base_delay: float = 2.0
    max_delay: float = 60.0
    sleep: Callable[[float], None] = time.sleep

    def pause(self, attempt: int, longer: bool = False) -> None:
        """Exponential backoff with full jitter; rate limiting waits longer."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** attempt) * (3 if longer else 1))
        self.sleep(ceiling / 2 + random.uniform(0, ceiling / 2))


def _matches(entry: Entry, play: dict) -> bool:
    if play["timestamp"] != entry.timestamp:
        return False
    # Last.fm may have corrected one of the names, so either matching is enough.
    return fold(play["track"]) == fold(entry.track) or fold(play["artist"]) == fold(entry.artist)


class Sender:
    def __init__(self, ledger: Ledger, client: LastFM, username: str,
                 policy: RetryPolicy | None = None,
                 on_progress: Callable[[int], None] | None = None) -> None:
        self.ledger = ledger
        self.client = client
        self.username = username
        self.policy = policy or RetryPolicy()
        self.on_progress = on_progress

    # --- reconciliation ------------------------------------------------------------------
    def confirm(self, entries: list[Entry]) -> list[Entry]:
        """Ask Last.fm which of `entries` it holds; mark those accepted, the rest pending."""
        if not entries:
            return []
        plays = self.client.recent_tracks(
            self.username, min(e.timestamp for e in entries), max(e.timestamp for e in entries))
        found = [e for e in entries if any(_matches(e, p) for p in plays)]
        rest = [e for e in entries if e not in found]
        log.info("checked %d unanswered scrobbles on Last.fm: %d there, %d to send again",
                 len(entries), len(found), len(rest))
        self.ledger.settle(
            [(e, ACCEPTED, 0, "confirmed on Last.fm after an unanswered send", e.corrections, "") for e in found]
            + [(e, PENDING, None, "", e.corrections, "") for e in rest]
        )
        return found

    def reconcile_in_flight(self) -> list[Entry]:
        """Settle what an interrupted run left in flight; raises if Last.fm cannot be asked."""
        batches: dict[str | None, list[Entry]] = {}
        for entry in self.ledger.with_status(IN_FLIGHT):
            batches.setdefault(entry.batch, []).append(entry)
        confirmed: list[Entry] = []
        for entries in batches.values():
            confirmed.extend(self.confirm(entries))
        return confirmed

    # --- sending -------------------------------------------------------------------------
    def send(self, entries: list[Entry], report: SendReport | None = None,
             should_stop: Callable[[], bool] | None = None) -> SendReport:
        """Send pending entries oldest first; stops at the first failure that a retry cannot mend."""
        report = report or SendReport()
        todo = sorted((e for e in entries if e.status == PENDING), key=lambda e: (e.timestamp, e.id))
        for start in range(0, len(todo), BATCH_SIZE):
            if should_stop and should_stop():
                return report
            batch = todo[start:start + BATCH_SIZE]
            try:
                self._send_batch(batch, report)
            except LastfmError as exc:
                report.stopped = exc
                listed = {e.id for e in report.deferred}
                report.deferred.extend(e for e in todo[start:] if e.status == PENDING and e.id not in listed)
                return report
            if self.on_progress:
                self.on_progress(len(batch))
        return report

    def _send_batch(self, batch: list[Entry], report: SendReport) -> None:
        remaining = batch
        attempt = 0
        while remaining:
            self.ledger.mark_in_flight(remaining, uuid.uuid4().hex[:12])
            log.info("sending %d scrobbles (attempt %d)", len(remaining), attempt + 1)
            try:
                results = self.client.scrobble([e.item() for e in remaining])
            except OutcomeUnknown:
                # Give Last.fm a moment to show what it stored, then ask. If it
                # cannot be asked now, they stay in flight for the next run to ask.
                self.policy.pause(attempt)
                found = self.confirm(remaining)
                report.reconciled += len(found)
                report.accepted.extend(found)
                remaining = [e for e in remaining if e not in found]
                attempt += 1
                if remaining and attempt >= self.policy.attempts:
                    raise
                continue
            except LastfmTemporary as exc:
                self.ledger.mark(remaining, PENDING)
                if not self._retry(attempt, longer=exc.code == 29):
                    raise
                attempt += 1
                continue
            except LastfmNotFound as exc:  # error 6: these items can never be taken
                self.ledger.mark(remaining, FAILED, exc.code, str(exc))
                report.failed.extend(remaining)
                return
            except LastfmError:  # 9 (sign in again), 4, 10, 13, 26…: stop, keep them pending
                self.ledger.mark(remaining, PENDING)
                raise
            self._settle(remaining, results, report)
            return

    def _retry(self, attempt: int, longer: bool = False) -> bool:
        if attempt + 1 >= self.policy.attempts:
            log.info("giving up after %d attempts", attempt + 1)
            return False
        self.policy.pause(attempt, longer)
        return True

    def _settle(self, entries: list[Entry], results: list, report: SendReport) -> None:
        verdicts = []
        capped = False
        for entry, result in zip(entries, results):
            if result.accepted:
                verdicts.append((entry, ACCEPTED, 0, "", result.corrections(), ""))
                report.accepted.append(entry)
            elif result.code == CAP_CODE:
                capped = True
                verdicts.append((entry, PENDING, CAP_CODE, result.reason, {}, DAILY_CAP_DEFERRED))
                report.deferred.append(entry)
            else:
                verdicts.append((entry, IGNORED, result.code, result.message or result.reason, {}, ""))
                report.ignored.append(entry)
        self.ledger.settle(verdicts)
        log.info("Last.fm accepted %d of %d", sum(1 for v in verdicts if v[1] == ACCEPTED), len(verdicts))
        if capped:
            raise CapReached("Last.fm's daily scrobble limit is reached; the rest stay queued for later", CAP_CODE)
