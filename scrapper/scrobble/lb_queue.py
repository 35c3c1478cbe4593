"""Draining the queue to ListenBrainz within its own limits: up to 1,000 listens a request, no daily cap.

Albums are timed into free listening time by the same rules as for Last.fm
(`queue_run.free_gaps`, `place`), and an album timed for one service keeps
its times for the other: the Last.fm run goes first and ListenBrainz sends
what it timed; when Last.fm is held back (its daily cap) or is no target,
this selection times the next albums itself. The ListenBrainz send lock is
taken one batch at a time, so an interactive command never waits long.
"""

from __future__ import annotations

from collections.abc import Callable

from app import App
from errors import Busy, ListenBrainzError
from scrobble.lb_sender import BATCH_SIZE, SEND_LOCK, TargetLog
from scrobble.ledger import IN_FLIGHT, PENDING, Entry, Ledger
from scrobble.queue_run import NO_ROOM, TOO_LONG, due_jobs, free_gaps, place, window
from scrobble.rows import LISTENBRAINZ
from scrobble.sender import SETTLE_MARGIN
from scrobble.targets import listen_sender
from statefiles import file_lock


class ListenQueueSelection:
    """What other commands left waiting for ListenBrainz, then due listens of active jobs, timing albums."""

    def __init__(self, app: App, max_items: int | None) -> None:
        self.app = app
        self.max_items = max_items
        self.chosen = 0
        self.timed_albums = 0
        self.waiting: str | None = None

    def next_batch(self, ledger: Ledger) -> list[Entry]:
        room = BATCH_SIZE if self.max_items is None else min(BATCH_SIZE, self.max_items - self.chosen)
        if room <= 0:
            return []
        batch = ledger.target_pending(LISTENBRAINZ, outside_queue=True, limit=room)
        room -= len(batch)
        now = self.app.clock()
        jobs = due_jobs(ledger, now)
        ids = [j.id for j in jobs]
        if ids and room > 0:
            timed = ledger.target_pending(LISTENBRAINZ, jobs=ids, limit=room)
            batch += timed
            room -= len(timed)
        if ids and room > 0:
            untimed = ledger.target_untimed_albums(LISTENBRAINZ, ids)
            low, high = window(now)
            gaps = free_gaps(ledger, low, high) if untimed else []
            for job in jobs:
                waiting = untimed.get(job.id, {})
                for slug in sorted(waiting, key=lambda s: job.albums.index(s) if s in job.albums else 1 << 30):
                    if room <= 0:
                        break
                    span = waiting[slug]
                    start = place(gaps, max(span, 1))
                    if start is None:
                        self.waiting = self.waiting or (TOO_LONG if span > high - low else NO_ROOM)
                        continue
                    group = ledger.untimed_of_album(job.id, slug)
                    ledger.retime(group, start)
                    self.timed_albums += 1
                    mine = [e for e in group if e.target_status(LISTENBRAINZ) == PENDING]
                    batch += mine[:room]
                    room -= min(room, len(mine))
        self.chosen += len(batch)
        return batch

    def still_wanted(self, ledger: Ledger, entries: list[Entry]) -> list[Entry]:
        due = {j.id for j in due_jobs(ledger, self.app.clock())}
        return [e for e in entries if e.job is None or e.job in due]


def _nothing_to_do(app: App) -> bool:
    ledger = app.ledger
    if ledger.target_count(LISTENBRAINZ, IN_FLIGHT) or ledger.target_count(LISTENBRAINZ, PENDING, outside_queue=True):
        return False
    due = [j.id for j in due_jobs(ledger, app.clock())]
    return not due or not ledger.target_count(LISTENBRAINZ, PENDING, jobs=due)


def pending_for_listenbrainz(app: App) -> int:
    """Listens still to send to ListenBrainz: those of active jobs, and those other commands left."""
    ledger = app.ledger
    active = [j.id for j in ledger.jobs().values() if j.status == "active"]
    return ledger.target_count(LISTENBRAINZ, PENDING, outside_queue=True) + \
        (ledger.target_count(LISTENBRAINZ, PENDING, jobs=active) if active else 0)


def drain_listenbrainz(app: App, max_items: int | None = None, seconds: float | None = None,
                       on_batch: Callable[[int], None] | None = None) -> TargetLog:
    """The queue run's ListenBrainz part: settle what was in flight, then send due batches until done."""
    result = TargetLog()
    if _nothing_to_do(app):
        return result
    before = app.listenbrainz_requests()
    selection = ListenQueueSelection(app, max_items)
    started = app.clock()
    lock = app.settings.state_dir / SEND_LOCK
    try:
        sender = listen_sender(app, on_batch)
    except ListenBrainzError as exc:
        result.stopped = exc
        return result
    first = True
    try:
        while seconds is None or app.clock() - started < seconds:
            with file_lock(lock, app.command, wait=app.settings.lock_wait,
                           what="the queue waits for a command that is sending to ListenBrainz"):
                if first:
                    sender.reconcile_in_flight(app.settings.listenbrainz_timeout + SETTLE_MARGIN)
                    first = False
                if not sender.send_batch(selection):
                    break
    except (ListenBrainzError, Busy) as exc:
        sender.log.stopped = exc
    result = sender.log
    result.requests = app.listenbrainz_requests() - before
    return result
