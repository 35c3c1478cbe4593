"""Draining the queue: albums timed into free listening time as they are sent, under Last.fm's limits.

Real listening cannot exceed real time: a queued album is laid into a gap of
the last 13½ days that no other listen in the ledger occupies, and when no
gap is long enough it waits for time to pass. One runner at a time; it takes
the send lock one batch at a time, deciding each batch from rows read under
that lock, so a pause, a cancel or an interactive command takes effect
before its next batch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app import App
from errors import Busy, CapReached, ExitStatus, LastfmError, QueueBusy, RussfmError
from statefiles import busy_message, file_lock

from scrobble.daily_cap import budget_left, daily_cap
from scrobble.hours import hours_of, place_within
from scrobble.ledger import ACTIVE, IN_FLIGHT, PENDING, Entry, Job, Ledger
from scrobble.planner import OLDEST_ALLOWED
from scrobble.rows import LASTFM, LISTENBRAINZ
from scrobble.sender import BATCH_SIZE, SETTLE_MARGIN, Sender
from scrobble.sendlock import queue_turn
from scrobble.timeparse import iso_utc

log = logging.getLogger("russfm.queue")
QUEUE_LOCK = "queue.lock"
WINDOW_SLACK = 3600  # queued albums start at least an hour inside the 13½-day window
KEEP_RECENT = 3 * 3600  # and end at least three hours ago: the recent hours stay free for what is played now
NO_ROOM, TOO_LONG, DAILY_CAP = "no_room", "too_long", "daily_cap"


def window(now: float) -> tuple[int, int]:
    """The stretch of past time queued albums may be laid into."""
    return int(now) - OLDEST_ALLOWED + WINDOW_SLACK, int(now) - KEEP_RECENT


def free_gaps(ledger: Ledger, low: int, high: int) -> list[tuple[int, int]]:
    """Stretches of [low, high) that no standing listen occupies, earliest first."""
    gaps: list[tuple[int, int]] = []
    cursor = low
    for start, end in ledger.live_spans(low, high):
        if start > cursor:
            gaps.append((cursor, min(start, high)))
        cursor = max(cursor, end)
        if cursor >= high:
            break
    if cursor < high:
        gaps.append((cursor, high))
    return gaps


def place(gaps: list[tuple[int, int]], span: int) -> int | None:
    """The earliest start where `span` fits; the gap list is updated to exclude it."""
    for i, (start, end) in enumerate(gaps):
        if end - start >= span:
            gaps[i] = (start + span, end)
            return start
    return None


def room_for(job: Job, low: int, high: int) -> int:
    """The longest album the job could ever have placed: the window, or one day's listening hours, less
    the gap before it."""
    hours = hours_of(job.hours)
    return (min(high - low, hours.seconds) if hours else high - low) - job.gap


def place_for(job: Job, gaps: list[tuple[int, int]], span: int, low: int, high: int) -> int | None:
    """Where an album of this job goes: the earliest free time, within its listening hours and after its
    gap when it has them."""
    hours = hours_of(job.hours)
    if hours is None and not job.gap:
        return place(gaps, span)
    return place_within(gaps, span, hours.windows(low, high, job.zone) if hours else None, job.gap)


def due_jobs(ledger: Ledger, now: float) -> list[Job]:
    return [j for j in ledger.jobs().values() if j.status == ACTIVE and (j.scheduled_at or 0) <= now]


def untimed_in_order(ledger: Ledger, jobs: list[Job]) -> list[tuple[str, str, int]]:
    """(job, album, length) of albums waiting to be timed, job by job, album by album as queued."""
    albums = ledger.untimed_albums()
    out = []
    for job in jobs:
        waiting = albums.get(job.id, {})
        order = {slug: n for n, slug in enumerate(job.albums)}
        out += [(job.id, slug, waiting[slug][0]) for slug in sorted(waiting, key=lambda s: order.get(s, 1 << 30))]
    return out


class QueueSelection:
    """What other commands left pending (a `scrobble album` that could not send, a play-along session
    stopped by an outage), then due scrobbles of active jobs, within the cap and --max, timing albums into
    free time as needed."""

    def __init__(self, app: App, max_items: int | None, cap_override: int | None) -> None:
        self.app = app
        self.max_items = max_items
        self.cap_override = cap_override
        self.chosen = 0
        self.timed_albums = 0
        self.waiting: str | None = None
        self.next_send_at: float | None = None

    def room(self, ledger: Ledger, now: float) -> int:
        cap = daily_cap(self.app.settings, ledger, now, self.cap_override)
        budget, free_at = budget_left(cap, ledger, now)
        if budget <= 0:
            self.waiting, self.next_send_at = DAILY_CAP, free_at
        if self.max_items is not None:
            budget = min(budget, self.max_items - self.chosen)
        return max(0, min(budget, BATCH_SIZE))

    def next_batch(self, ledger: Ledger) -> list[Entry]:
        now = self.app.clock()
        room = self.room(ledger, now)
        if room <= 0:
            return []
        batch = ledger.with_status(PENDING, outside_queue=True)[:room]
        room -= len(batch)
        jobs = due_jobs(ledger, now)
        ids = [j.id for j in jobs]
        if not ids or room <= 0:
            self.chosen += len(batch)
            return batch
        stale = ledger.pending_of_jobs(ids, timed=True, before=int(now) - OLDEST_ALLOWED)
        if stale:  # timed by a run that never sent them, and too old by now: time them afresh
            ledger.untime(stale)
        timed = ledger.pending_of_jobs(ids, timed=True, limit=room)
        batch += timed
        room -= len(timed)
        if room > 0:
            low, high = window(now)
            gaps = free_gaps(ledger, low, high)
            by_id = {j.id: j for j in jobs}
            for job, slug, span in untimed_in_order(ledger, jobs):
                if room <= 0:
                    break
                start = place_for(by_id[job], gaps, max(span, 1), low, high)
                if start is None:
                    # This album waits (for time to pass, or for ever if it is longer than the
                    # window or the job's listening hours); the albums behind it go on.
                    self.waiting = self.waiting or (TOO_LONG if span > room_for(by_id[job], low, high)
                                                    else NO_ROOM)
                    continue
                group = ledger.untimed_album(job, slug)
                ledger.retime(group, start)
                self.timed_albums += 1
                batch += group[:room]
                room -= min(room, len(group))
        self.chosen += len(batch)
        return batch

    def still_wanted(self, ledger: Ledger, entries: list[Entry]) -> list[Entry]:
        due = {j.id for j in due_jobs(ledger, self.app.clock())}
        return [e for e in entries if e.job is None or e.job in due]


@dataclass
class RunResult:
    accepted: int = 0
    ignored: int = 0
    failed: int = 0
    reconciled: int = 0
    timed_albums: int = 0
    requests: int = 0
    pending: int = 0
    waiting: str | None = None
    next_send_at: float | None = None
    stopped: RussfmError | None = None
    listenbrainz: Any = None  # the ListenBrainz part's TargetLog (scrobble.lb_queue), when it is a target
    listenbrainz_pending: int = 0

    @property
    def exit_status(self) -> ExitStatus:
        stopped = self.stopped or (self.listenbrainz.stopped if self.listenbrainz is not None else None)
        return stopped.exit_status if stopped else ExitStatus.OK

    @property
    def idle(self) -> bool:
        """Nothing was due: nothing sent, settled or asked, and nothing went wrong."""
        return not (self.accepted or self.ignored or self.failed or self.reconciled or self.requests
                    or self.stopped)

    def to_json(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted, "ignored": self.ignored, "failed": self.failed,
            "reconciled": self.reconciled, "albums_timed": self.timed_albums, "requests": self.requests,
            "pending": self.pending, "waiting_reason": self.waiting, "next_send_at": iso_utc(self.next_send_at),
            "stopped": str(self.stopped) if self.stopped else None,
            "listenbrainz": None if self.listenbrainz is None else {
                **self.listenbrainz.to_json(), "pending": self.listenbrainz_pending},
        }


def _pending(ledger: Ledger) -> int:
    """Scrobbles still to send: those of active jobs, and those other commands left."""
    live = {j.id for j in ledger.jobs().values() if j.status == ACTIVE}
    return sum(c[PENDING] for job, c in ledger.job_counts().items() if job in live) + \
        ledger.count(PENDING, outside_queue=True)


def expected_sends(app: App, max_items: int | None = None, cap_override: int | None = None) -> int:
    """About how many scrobbles a run would send now: what is due, within the cap and --max. For a progress
    bar's total only; what is sent is decided batch by batch under the send lock."""
    ledger = app.ledger
    now = app.clock()
    due = {j.id for j in due_jobs(ledger, now)}
    waiting = ledger.count(PENDING, outside_queue=True) + \
        sum(c[PENDING] for job, c in ledger.job_counts().items() if job in due)
    budget, _ = budget_left(daily_cap(app.settings, ledger, now, cap_override), ledger, now)
    return min(waiting, budget, max_items if max_items is not None else waiting)


def _nothing_to_do(app: App, selection: QueueSelection) -> bool:
    """Whether this run can end without Last.fm: nothing in flight, and nothing due or no room in the cap."""
    ledger = app.ledger
    if ledger.count(IN_FLIGHT):
        return False
    now = app.clock()
    due = {j.id for j in due_jobs(ledger, now)}
    if not ledger.count(PENDING, outside_queue=True) and \
            not any(c[PENDING] for job, c in ledger.job_counts().items() if job in due):
        return True
    return selection.room(ledger, now) <= 0


def run_queue(app: App, max_items: int | None = None, seconds: float | None = None,
              cap_override: int | None = None, on_batch: Callable[[int], None] | None = None) -> RunResult:
    """One cron run: settle what was in flight, then send due batches until done, capped, or stopped."""
    state = app.settings.state_dir
    result = RunResult()
    selection = QueueSelection(app, max_items, cap_override)
    targets = app.targets()
    try:
        with file_lock(state / QUEUE_LOCK, app.command, what="queue run"):
            if LASTFM in targets:
                _drain(app, selection, result, seconds, on_batch)
            if LISTENBRAINZ in targets:
                from scrobble.lb_queue import drain_listenbrainz, pending_for_listenbrainz

                # Last.fm's cap or failure never holds ListenBrainz back: each drains within its own limits.
                result.listenbrainz = drain_listenbrainz(app, max_items, seconds, on_batch)
                result.listenbrainz_pending = pending_for_listenbrainz(app)
    except Busy:
        raise QueueBusy(busy_message(state / QUEUE_LOCK, "another queue run is going") +
                        "; this one has nothing to do") from None
    result.timed_albums = selection.timed_albums
    result.waiting = result.waiting or selection.waiting
    result.next_send_at = result.next_send_at or selection.next_send_at
    result.pending = _pending(app.ledger)
    result.requests = app.requests()
    return result


def _drain(app: App, selection: QueueSelection, result: RunResult, seconds: float | None,
           on_batch: Callable[[int], None] | None) -> None:
    if _nothing_to_do(app, selection):
        return
    started = app.clock()
    client = app.client(signed=True)
    sender = Sender(app.ledger, client, app.session().username, client.retry, on_batch,
                    settle_after=app.settings.timeout + SETTLE_MARGIN)
    first = True
    try:
        while seconds is None or app.clock() - started < seconds:
            with queue_turn(app.settings.state_dir, app.command, app.settings.lock_wait):
                if first:
                    sender.reconcile_in_flight()
                    first = False
                if not sender.send_batch(selection):
                    break
    except CapReached:
        cap_until = app.ledger.meta("cap_blocked_until")
        result.waiting = DAILY_CAP
        result.next_send_at = float(cap_until) if isinstance(cap_until, (int, float)) else None
    except (LastfmError, Busy) as exc:
        result.stopped = exc
    done = sender.log
    result.accepted, result.ignored, result.failed = len(done.accepted), len(done.ignored), len(done.failed)
    result.reconciled = len(done.reconciled)
