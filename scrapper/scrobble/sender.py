"""Sending ledger entries to Last.fm: batches of 50, bounded retries, reconciliation, and the daily cap.

The caller holds the send lock. Each batch is chosen from rows read fresh
under the ledger lock and marked in flight in the same hold; its verdicts
are written back the same way. A batch whose outcome is unknown (timeout,
dropped connection, 5xx, garbled answer) is never simply sent again:
user.getRecentTracks is asked what Last.fm already holds for the batch's
time span, those items are marked accepted, and only the rest go again.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from collection.names import fold
from errors import CapReached, LastfmError, LastfmNotFound, LastfmTemporary, OutcomeUnknown, RussfmError
from lastfm.retry import RetryPolicy
from scrobble.ledger import ACCEPTED, FAILED, IGNORED, IN_FLIGHT, PENDING, Entry, Ledger
from scrobble.timeparse import local_clock

log = logging.getLogger("russfm.sender")
BATCH_SIZE = 50
CAP_CODE = 5
DAY = 86400
DAILY_CAP_DEFERRED = "daily_cap"
CORRECTIONS = "corrections"
SETTLE_MARGIN = 2.0  # seconds beyond the request timeout before an unanswered batch is checked
# A batch's scrobbles further apart than this are looked up in separate time windows, so that a check reads only
# the times the batch covers (a leftover of today and an album of 13 days ago: two short windows, not 13 days).
WINDOW_GAP = 3600
ALL_PAGES = 1_000_000  # a check reads every page of its windows: one it cut short would send twice


class Client(Protocol):
    def scrobble(self, items: list[dict]) -> list[Any]: ...

    def recent_tracks(self, user: str, start: int, end: int, limit: int = 200, max_pages: int = 50) -> list[dict]: ...

    def track_correction(self, artist: str, track: str) -> tuple[str, str]: ...

    def recent_page(self, user: str, page: int = 1, limit: int = 200, start: int | None = None,
                    end: int | None = None) -> Any: ...


class Selection(Protocol):
    """What a sender may send; both methods run under the ledger lock on fresh rows."""

    def next_batch(self, ledger: Ledger) -> list[Entry]: ...

    def still_wanted(self, ledger: Ledger, entries: list[Entry]) -> list[Entry]: ...


@dataclass
class SendLog:
    """What this process sent and settled: ids by outcome, and why it stopped."""

    accepted: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # sent, then kept pending (daily cap, a failure)
    reconciled: list[str] = field(default_factory=list)  # found on Last.fm after an unanswered send
    stopped: RussfmError | None = None

    @property
    def touched(self) -> list[str]:
        return self.accepted + self.ignored + self.failed + self.waiting


def time_windows(stamps: list[int], gap: int = WINDOW_GAP) -> list[tuple[int, int]]:
    """The times as few (start, end) windows, inclusive, none holding a stretch of `gap` seconds without one."""
    windows: list[tuple[int, int]] = []
    for stamp in sorted(stamps):
        if windows and stamp - windows[-1][1] <= gap:
            windows[-1] = (windows[-1][0], stamp)
        else:
            windows.append((stamp, stamp))
    return windows


def learn_cap(ledger: Ledger, now: float, on_lastfm: int | None = None) -> float:
    """Record Last.fm's daily cap and returns when to try again.

    The cap counts what reached Last.fm in the last 24 hours from every player: this tool's sends (the
    ledger knows when it sent them), and the other players' scrobbles, estimated as what Last.fm holds
    with a time in those 24 hours (`on_lastfm`) less this tool's own of those times.
    """
    with ledger.locked():
        sent = ledger.accepted_since(now - DAY)
        others = max(0, on_lastfm - ledger.accepted_between(int(now - DAY), int(now))) if on_lastfm else 0
        until = (sent[0] + DAY) if sent else now + 3600
        value = max(1, len(sent) + others)
        ledger.set_meta(learned_cap={"value": value, "learned_at": now}, cap_blocked_until=until)
    log.info("Last.fm's daily cap reached after %d scrobbles in 24 h (%d from other players); waiting until %s",
             value, others, local_clock(until))
    return until


class Sender:
    def __init__(self, ledger: Ledger, client: Client, username: str, policy: RetryPolicy,
                 on_batch: Callable[[int], None] | None = None, settle_after: float = 0.0) -> None:
        self.ledger = ledger
        # Seconds after sending before an unanswered batch is checked (the request timeout and a margin):
        # Last.fm may still be storing it until then, and a check that comes too early sends it twice.
        self.settle_after = settle_after
        self.client = client
        self.username = username
        self.policy = policy
        self.on_batch = on_batch
        self.log = SendLog()

    # --- reconciliation ------------------------------------------------------------------
    def _names(self, kind: str, name: str, entry: Entry) -> set[str]:
        known = self.ledger.meta(CORRECTIONS, {}).get(kind, {})
        names = {fold(name), fold(known.get(fold(name), name))}
        if entry.corrections.get(kind):
            names.add(fold(entry.corrections[kind]))
        return names

    def _holds(self, entry: Entry, plays: list[dict]) -> bool:
        """Last.fm holds this scrobble: same time, same artist and same track (as sent or as it corrects them)."""
        artists = self._names("artist", entry.artist, entry)
        tracks = self._names("track", entry.track, entry)
        return any(p["timestamp"] == entry.timestamp and fold(p["artist"]) in artists
                   and fold(p["track"]) in tracks for p in plays)

    def _learn_correction(self, entry: Entry) -> None:
        """Ask Last.fm (track.getCorrection) under which names it stores this artist and track, and remember them
        beside the corrections its answers reported: an unanswered send never saw those."""
        artist, track = self.client.track_correction(entry.artist, entry.track)
        learned = {kind: (sent, fixed) for kind, sent, fixed in (("artist", entry.artist, artist),
                                                                 ("track", entry.track, track))
                   if fold(fixed) != fold(sent)}
        if not learned:
            return
        with self.ledger.locked():
            known = self.ledger.meta(CORRECTIONS, {})
            for kind, (sent, fixed) in learned.items():
                known.setdefault(kind, {})[fold(sent)] = fixed
            self.ledger.set_meta(**{CORRECTIONS: known})

    def _plays_covering(self, entries: list[Entry]) -> list[dict]:
        """What Last.fm holds in the time windows `entries` cover (every page of each); where it holds something
        else at one of their very times, the names it corrects theirs to are learned first."""
        plays: list[dict] = []
        for start, end in time_windows([e.timestamp for e in entries]):
            plays += self.client.recent_tracks(self.username, start, end, max_pages=ALL_PAGES)
        at: dict[int, list[dict]] = {}
        for play in plays:
            at.setdefault(play["timestamp"], []).append(play)
        asked: set[tuple[str, str]] = set()
        for entry in entries:
            there = at.get(entry.timestamp)
            if there and not self._holds(entry, there) and (fold(entry.artist), fold(entry.track)) not in asked:
                asked.add((fold(entry.artist), fold(entry.track)))
                self._learn_correction(entry)
        return plays

    def confirm(self, entries: list[Entry]) -> list[Entry]:
        """Ask Last.fm which of `entries` it holds; mark those accepted, the rest pending."""
        if not entries:
            return []
        plays = self._plays_covering(entries)
        with self.ledger.locked():
            current = [e for e in self.ledger.get(e.id for e in entries) if e.status == IN_FLIGHT]
            found = [e for e in current if self._holds(e, plays)]
            rest = [e for e in current if e not in found]
            self.ledger.settle(
                [(e, ACCEPTED, 0, "confirmed on Last.fm after an unanswered send", e.corrections, "") for e in found]
                + [(e, PENDING, None, "", e.corrections, "") for e in rest])
        log.info("checked %d unanswered scrobbles on Last.fm: %d there, %d to send again",
                 len(current), len(found), len(rest))
        self.log.reconciled += [e.id for e in found]
        self.log.accepted += [e.id for e in found]
        return found

    def reconcile_in_flight(self, settle_after: float | None = None) -> None:
        """Settle what a process that is gone left in flight (under the send lock nobody else is sending).

        A batch sent less than `settle_after` seconds ago (the request timeout) may still be on its way or
        being stored: asking now could miss it and send it twice, so it is left in flight for a later
        command to check.
        """
        batches: dict[str | None, list[Entry]] = {}
        for entry in self.ledger.with_status(IN_FLIGHT):
            batches.setdefault(entry.batch, []).append(entry)
        newest_allowed = self.ledger.clock() - (self.settle_after if settle_after is None else settle_after)
        for entries in batches.values():
            if max(e.sent_at or 0.0 for e in entries) <= newest_allowed:
                self.confirm(entries)
            else:
                log.info("%d scrobbles were sent %.0f s ago by a command that is gone; checked later",
                         len(entries), self.ledger.clock() - max(e.sent_at or 0.0 for e in entries))

    # --- sending -------------------------------------------------------------------------
    def send_batch(self, selection: Selection) -> int:
        """Choose, mark and send one batch; the number chosen (0: nothing left). Raises when it must stop."""
        with self.ledger.locked():
            batch = selection.next_batch(self.ledger)[:BATCH_SIZE]
            if batch:
                self.ledger.mark_in_flight(batch, uuid.uuid4().hex[:12])
        if batch:
            self._deliver(batch, selection)
            if self.on_batch:
                self.on_batch(len(batch))
        return len(batch)

    def send_all(self, selection: Selection, should_stop: Callable[[], bool] | None = None) -> SendLog:
        """Batches until nothing is left, `should_stop` says so, or a failure stops it (kept in the log)."""
        try:
            while not (should_stop and should_stop()) and self.send_batch(selection):
                pass
        except LastfmError as exc:
            self.log.stopped = exc
        return self.log

    def _again(self, batch: list[Entry], selection: Selection) -> list[Entry]:
        """The batch's items that may still go, fresh, marked in flight again (a cancel may have come)."""
        with self.ledger.locked():
            current = [e for e in self.ledger.get(e.id for e in batch) if e.status == PENDING]
            again = selection.still_wanted(self.ledger, current)
            if again:
                self.ledger.mark_in_flight(again, uuid.uuid4().hex[:12])
        return again

    def _keep(self, entries: list[Entry], record: bool = True) -> None:
        """Back to pending: sent but not taken, for a later attempt or a later run."""
        with self.ledger.locked():
            current = [e for e in self.ledger.get(e.id for e in entries) if e.status == IN_FLIGHT]
            self.ledger.mark(current, PENDING)
        if record:
            self.log.waiting += [e.id for e in current]

    def _deliver(self, batch: list[Entry], selection: Selection) -> None:
        remaining = batch
        attempt = 0
        while remaining:
            log.info("sending %d scrobbles (attempt %d)", len(remaining), attempt + 1)
            try:
                results = self.client.scrobble([e.item() for e in remaining])
            except OutcomeUnknown:
                # Give Last.fm time to finish storing what it took (as long as any other command would
                # give it), then ask. If it cannot be asked now, they stay in flight for the next run to ask.
                self._wait_to_check(remaining, attempt)
                found = {e.id for e in self.confirm(remaining)}
                attempt += 1
                rest = [e for e in remaining if e.id not in found]
                if rest and attempt >= self.policy.attempts:
                    self.log.waiting += [e.id for e in rest]
                    raise
                remaining = self._again(rest, selection) if rest else []
                continue
            except LastfmTemporary as exc:
                self._keep(remaining, record=False)
                attempt += 1
                if attempt >= self.policy.attempts:
                    self.log.waiting += [e.id for e in remaining]
                    self._stop_on_29(exc)
                    raise
                self.policy.pause(attempt - 1, longer=exc.code == 29)
                remaining = self._again(remaining, selection)
                continue
            except LastfmNotFound as exc:  # error 6: these items can never be taken
                with self.ledger.locked():
                    self.ledger.mark(remaining, FAILED, exc.code, str(exc))
                self.log.failed += [e.id for e in remaining]
                return
            except LastfmError:  # 9 (sign in again), 4, 10, 13, 26…: stop, keep them pending
                self._keep(remaining)
                raise
            self._settle(remaining, results)
            return

    def _wait_to_check(self, batch: list[Entry], attempt: int) -> None:
        """Sleep until the batch was sent `settle_after` seconds ago, and at least the backoff pause."""
        sent = max(((e.sent_at or 0.0) for e in self.ledger.get(e.id for e in batch)), default=0.0)
        settled_at = sent + self.settle_after
        self.policy.sleep(max(self.policy.delay(attempt), settled_at - self.ledger.clock()))

    def _scrobbled_today(self, now: float) -> int | None:
        """Scrobbles of the last 24 h on Last.fm, from every player (one read); None if it cannot be asked."""
        try:
            return self.client.recent_page(self.username, 1, 1, start=int(now - DAY), end=int(now)).total
        except LastfmError:
            return None

    def _stop_on_29(self, exc: LastfmTemporary) -> None:
        """Error 29 on track.scrobble that outlasted the retries, after scrobbles were accepted in the
        last 24 h, is Last.fm's daily cap; without any accepted it is only a rate limit."""
        if exc.code != 29 or exc.method != "track.scrobble":
            return
        now = self.ledger.clock()
        if self.ledger.accepted_since(now - DAY):
            learn_cap(self.ledger, now, self._scrobbled_today(now))
            raise CapReached("Last.fm's daily scrobble limit is reached (error 29); the rest wait for later",
                             29, "track.scrobble") from None

    def _settle(self, entries: list[Entry], results: list[Any]) -> None:
        verdicts: list[tuple[Entry, str, int | None, str, dict[str, str], str]] = []
        capped = False
        learned: dict[str, dict[str, str]] = {}
        for entry, result in zip(entries, results):
            if result.accepted:
                fixes = result.corrections()
                verdicts.append((entry, ACCEPTED, 0, "", fixes, ""))
                self.log.accepted.append(entry.id)
                for kind, sent in (("artist", entry.artist), ("track", entry.track)):
                    if kind in fixes:
                        learned.setdefault(kind, {})[fold(sent)] = fixes[kind]
            elif result.code == CAP_CODE:
                capped = True
                verdicts.append((entry, PENDING, CAP_CODE, result.reason, {}, DAILY_CAP_DEFERRED))
                self.log.waiting.append(entry.id)
            else:
                verdicts.append((entry, IGNORED, result.code, result.message or result.reason, {}, ""))
                self.log.ignored.append(entry.id)
        with self.ledger.locked():
            self.ledger.settle(verdicts)
            if learned:
                known = self.ledger.meta(CORRECTIONS, {})
                for kind, names in learned.items():
                    known.setdefault(kind, {}).update(names)
                self.ledger.set_meta(**{CORRECTIONS: known})
        log.info("Last.fm accepted %d of %d", sum(1 for v in verdicts if v[1] == ACCEPTED), len(verdicts))
        if capped:
            now = self.ledger.clock()
            learn_cap(self.ledger, now, self._scrobbled_today(now))
            raise CapReached("Last.fm's daily scrobble limit is reached; the rest wait for later", CAP_CODE,
                             "track.scrobble")
