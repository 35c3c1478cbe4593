"""The bulk queue's jobs: adding albums as a job, and pausing, resuming and cancelling jobs.

A job is written in two steps under the ledger lock: first its record in
state `adding`, then its scrobbles, then the record turns `active`. A job
left `adding` by a killed process is rolled back by the next writer, so a
job record always names exactly the albums whose scrobbles it holds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from app import App
from collection.album import Album
from collection.browse import Filters, matches
from collection.lookup import LookupProblem, load_album, resolve_words
from collection.store import Store, entry_slug
from errors import CollectionError, JobNotFound, OverlapError, UsageError
from scrobble.ledger import ACTIVE, ADDING, CANCELLED, IN_FLIGHT, PAUSED, PENDING, TARGET_COLUMNS, Job, Ledger
from scrobble.hours import DEFAULT_GAP, Hours, chosen_zone, hours_of
from scrobble.lastfm_albums import lastfm_album
from scrobble.planner import check_window, lay_out
from scrobble.rows import target_fields
from scrobble.timeparse import iso_utc, local_clock, local_time


def select(store: Store, albums: list[str], every: bool, filters: Filters) -> tuple[list[str], list[LookupProblem]]:
    """Slugs to queue, and the album names (quoted or not) that found no album or several."""
    filters.check()
    if albums:
        if filters.any():
            # A filter beside named albums would be silently ignored: the user meant one or the other.
            raise UsageError("name ALBUMS or choose them with filters (--artist, --year, …), not both")
        return resolve_words(store, albums)
    if not every and not filters.any():
        raise UsageError("name ALBUMS, or choose with --all or a filter (--artist, --genre, …)")
    # --all with a filter is every album the filter leaves, not the whole collection.
    chosen = [slug for e in store.index() if (slug := entry_slug(e)) and matches(e, filters)]
    if filters.limit:
        chosen = chosen[: filters.limit]
    return chosen, []


@dataclass
class QueueOptions:
    started_at: int | None = None
    finished_at: int | None = None
    at: int | None = None
    force: bool = False
    side_gap: int = 0
    include_short: bool = False
    medium: str | None = None
    split_index: bool = False
    hours: Hours | None = None  # place the albums only within these hours of each day
    gap: int | None = None  # seconds free before each album (default: 10 minutes with hours, else none)
    box_title: bool = False


@dataclass
class AddResult:
    job: Job | None
    albums: int = 0
    tracks: int = 0
    skipped: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    candidates: dict[str, list[str]] = field(default_factory=dict)  # error line: the records it could mean

    def to_json(self) -> dict[str, Any]:
        return {"job": self.job.id if self.job else None, "albums": self.albums, "tracks": self.tracks,
                "skipped": self.skipped, "errors": self.errors, "candidates": self.candidates}


def _album_rows(album: Album, options: QueueOptions) -> tuple[list[dict], int]:
    laid, _skipped, span = lay_out(album, album.playable(options.medium, options.split_index, options.box_title), options.side_gap, options.include_short)
    # Untimed until sent: each row keeps its start within the album instead of a time.
    rows = [{**s.ledger_row(album.slug, offset=s.timestamp, span=span), "timestamp": 0} for s in laid]
    return rows, span


def roll_back_interrupted(ledger: Ledger) -> None:
    """Remove jobs a killed `queue add` left half-written (under the lock nobody else is adding)."""
    for job in ledger.jobs().values():
        if job.status == ADDING:
            ledger.remove(ledger.entries_of_job(job.id, PENDING))
            ledger.delete_job(job.id)


def _records(app: App, albums: list[str], every: bool, filters: Filters,
             lastfm: list[tuple[str, str]]) -> tuple[list[Callable[[], Album]], list[LookupProblem]]:
    """Loaders for the chosen albums (collection and Last.fm), and one line per name that found nothing."""
    slugs, problems = select(app.store, albums, every, filters) if (albums or every or filters.any() or
                                                                    not lastfm) else ([], [])
    loaders: list[Callable[[], Album]] = [partial(load_album, app.store, slug) for slug in dict.fromkeys(slugs)]
    loaders += [partial(lastfm_album, app.client(), app.cache, artist, title) for artist, title in lastfm]
    return loaders, problems


def add_job(app: App, albums: list[str], every: bool, filters: Filters, options: QueueOptions,
            lastfm: list[tuple[str, str]] | None = None) -> AddResult:
    """Queue albums as one job. With a fixed time the albums play back to back; otherwise each is timed
    when it is sent. Records from Last.fm (`lastfm`) cost one cached album.getInfo each."""
    if options.started_at is not None and options.finished_at is not None:
        raise UsageError("give --started-at or --finished-at, not both")
    if (options.hours or options.gap) and (options.started_at is not None or options.finished_at is not None):
        raise UsageError("--hours and --gap choose when albums are placed; --finished-at and --started-at fix "
                         "it: give one or the other")
    now = app.clock()
    loaders, problems = _records(app, albums, every, filters, lastfm or [])
    result = AddResult(job=None, errors=[str(p) for p in problems],
                       candidates={str(p): p.candidates for p in problems if p.candidates})
    loaded: list[tuple[str, list[dict], int]] = []
    seen: set[str] = set()
    for load in loaders:
        try:
            album = load()
            rows, span = _album_rows(album, options)
        except (CollectionError, UsageError) as exc:
            result.errors.append(str(exc))
            continue
        if rows and album.slug not in seen:
            seen.add(album.slug)
            loaded.append((album.slug, rows, span))
    fixed = options.started_at is not None or options.finished_at is not None
    ledger = app.ledger
    with ledger.locked():
        roll_back_interrupted(ledger)
        queued = set() if options.force else ledger.queued_slugs()
        chosen = []
        for slug, rows, span in loaded:
            if slug in queued:
                result.skipped.append(f"{slug}: already waiting in the queue (--force adds it again)")
            else:
                chosen.append((slug, rows, span))
        if not chosen:
            return result
        if fixed:
            total = sum(span for _, _, span in chosen)
            start = options.started_at if options.started_at is not None else int(options.finished_at or 0) - total
            check_window(start, start + total, now)
            clash = [] if options.force else ledger.overlapping(start, start + total)
            if clash:
                raise OverlapError(
                    f"these albums ({local_clock(start)}–{local_time(start + total)}) overlap "
                    f"{clash[0].artist} — {clash[0].track} at {local_clock(clash[0].timestamp)}; "
                    "give another time, or --force")
            for _, rows, span in chosen:
                for row in rows:
                    row["timestamp"] = start + row["offset"]
                start += span
        gap = options.gap if options.gap is not None else (DEFAULT_GAP if options.hours else 0)
        job = Job(id=ledger.next_job_id(), created_at=now, status=ADDING, albums=[s for s, _, _ in chosen],
                  scheduled_at=options.at, timing="fixed" if fixed else "when sent",
                  hours=options.hours.to_list() if options.hours else None, gap=gap,
                  zone=chosen_zone() if options.hours else None)
        extra = target_fields(app.targets())
        with ledger.atomic():  # the job and its scrobbles, or nothing (a write that fails leaves no trace)
            ledger.save_job(job)
            entries = ledger.add([{**row, **extra, "job": job.id} for _, rows, _ in chosen for row in rows])
            # Albums whose every scrobble already stood (a fixed time given twice) hold nothing in this job.
            job.albums = list(dict.fromkeys(e.slug for e in entries))
            job.status = ACTIVE
            if job.albums:
                ledger.save_job(job)
            else:
                ledger.delete_job(job.id)
    if job.albums:
        result.job, result.albums, result.tracks = job, len(job.albums), len(entries)
    return result


# --- managing -------------------------------------------------------------------------------

@dataclass
class JobChange:
    job: Job
    dropped: int = 0  # pending scrobbles cancelled
    in_flight: int = 0  # a batch being sent when the job was cancelled: it is settled, not recalled
    finished: bool = False  # nothing was left to send: the job was left as it was

    def to_json(self) -> dict[str, Any]:
        return {"job": self.job.id, "status": self.job.status, "dropped": self.dropped,
                "in_flight": self.in_flight, "finished": self.finished}


def job_of(ledger: Ledger, job_id: str) -> Job:
    job = ledger.job(str(job_id).strip())
    if job is not None and job.cleared_at is not None:
        raise JobNotFound(f"no queue job {job.id!r} any more: it finished and was cleared (`scrobble queue clear`); "
                          "what it sent is in `scrobble history`")
    if job is None or job.status == ADDING:
        raise JobNotFound(f"no queue job {str(job_id)[:20]!r} (see `scrobble queue list --all`)")
    return job


def is_finished(ledger: Ledger, job: Job) -> bool:
    """Nothing of the job is left to send or to settle, on any service: every listen accepted, ignored, failed
    or cancelled."""
    counts = ledger.job_counts().get(job.id, Counter())
    if job.status == ADDING or counts[PENDING] or counts[IN_FLIGHT]:
        return False
    return not any(ledger.target_count(target, state, jobs=[job.id])
                   for target in TARGET_COLUMNS for state in (PENDING, IN_FLIGHT))


def set_job_status(app: App, job_id: str, status: str) -> JobChange:
    """Pause, resume or cancel a job; a running `queue run` sees it before its next batch."""
    if status not in (ACTIVE, PAUSED, CANCELLED):
        raise UsageError(f"a job cannot be set {status}")
    ledger = app.ledger
    with ledger.locked():
        job = job_of(ledger, job_id)
        if job.status == CANCELLED:
            raise UsageError(f"job {job.id} was cancelled")
        if status != ACTIVE and is_finished(ledger, job):
            # A finished job keeps its true story: "done" stays done, not "cancelled". Nothing more will
            # be sent, which is what a pause or a cancel asks, so this is no failure.
            return JobChange(job, finished=True)
        job.status = status
        ledger.save_job(job)
        change = JobChange(job)
        if status == CANCELLED:
            dropped = ledger.entries_of_job(job.id, PENDING)
            ledger.mark(dropped, CANCELLED)
            change.dropped = len(dropped)
            for target in TARGET_COLUMNS:  # each other service's listens of the job that were not sent
                waiting = ledger.target_of_job(target, job.id, PENDING)
                ledger.set_target([e.id for e in waiting], target, lambda e: {"status": CANCELLED})
                change.dropped += sum(1 for e in waiting if e.status != CANCELLED)
            change.in_flight = len(ledger.entries_of_job(job.id, IN_FLIGHT))
    return change


def clear_finished(app: App) -> list[str]:
    """Take finished jobs off the lists; their scrobbles stay in the ledger, and their numbers are not reused."""
    ledger = app.ledger
    cleared = []
    with ledger.locked():
        now = app.clock()
        for job in ledger.jobs().values():
            if job.cleared_at is None and is_finished(ledger, job):
                job.cleared_at = now
                ledger.save_job(job)
                cleared.append(job.id)
    return cleared


def describe_job(job: Job) -> str:
    when = f", not before {local_clock(job.scheduled_at)}" if job.scheduled_at else ""
    hours = hours_of(job.hours)
    within = f", within {hours.describe()}" if hours else ""
    gap = f", {job.gap // 60} min between albums" if job.gap else ""
    return f"timed {job.timing}{within}{gap}{when}"
