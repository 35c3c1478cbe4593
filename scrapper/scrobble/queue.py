"""The bulk queue: jobs of albums timed into free listening time when sent, drained under Last.fm's limits.

Real listening cannot exceed real time: a queued album is laid into a gap of
the last 13½ days that no other listen in the ledger occupies, and when no gap
is long enough it waits for time to pass.
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from collection.album import Album, with_default_durations
from collection.lookup import load_album, resolve_many
from collection.names import fold
from collection.store import Store, entry_slug
from config import Settings
from errors import CapReached, CollectionError, LastfmTemporary, OverlapError, RussfmError, UsageError
from lastfm.responses import reason_text
from scrobble.ledger import ACCEPTED, CANCELLED, IGNORED, IN_FLIGHT, LIVE, PENDING, Entry, Ledger
from scrobble.planner import OLDEST_ALLOWED, check_window, is_short, layout
from scrobble.sender import RetryPolicy, Sender, SendReport
from scrobble.service import LOCK_WAIT_SECONDS, SEND_LOCK, Online, daily_cap
from scrobble.timeparse import iso_utc, local_clock
from statefiles import Busy, run_lock

log = logging.getLogger("russfm.queue")
QUEUE_LOCK = "queue.lock"
DAY = 86400
WINDOW_SLACK = 3600  # queued albums start at least an hour inside the 13½-day window
CAP_SIGNAL_MIN = 100  # error 29 after this many accepted in 24 h is read as the daily cap


class QueueBusy(RussfmError):
    """Another `queue run` is going; the CLI exits 0."""

    exit_code = 0


@dataclass
class Filters:
    artist: str | None = None
    genre: str | None = None
    format: str | None = None
    added_since: str | None = None
    added_before: str | None = None
    limit: int | None = None


def _matches(entry: dict, f: Filters) -> bool:
    if f.artist:
        names = [str(entry.get("release_artist") or "")] + [
            str(a.get("name") or "") for a in entry.get("artists") or [] if isinstance(a, dict)]
        if not any(fold(f.artist) in fold(n) for n in names):
            return False
    if f.genre:
        genres = [str(g) for g in (entry.get("genre_names") or []) + (entry.get("styles") or [])]
        if fold(f.genre) not in {fold(g) for g in genres}:
            return False
    if f.format and fold(f.format) not in {fold(str(x)) for x in entry.get("formats") or []}:
        return False
    added = str(entry.get("date_added") or "")[:10]
    if f.added_since and (not added or added < f.added_since):
        return False
    if f.added_before and (not added or added >= f.added_before):
        return False
    return True


def select(store: Store, albums: list[str], every: bool, filters: Filters) -> tuple[list[str], list[str]]:
    """Slugs to queue, and one line per album argument that could not be resolved."""
    if albums:
        slugs, problems = resolve_many(store, albums)
        return slugs, [f"{query}: {why}" for query, why in problems]
    chosen = [slug for e in store.index() if (slug := entry_slug(e)) and (every or _matches(e, filters))]
    if filters.limit:
        chosen = chosen[: filters.limit]
    return chosen, []


@dataclass
class AddResult:
    job: dict | None
    albums: int = 0
    tracks: int = 0
    skipped: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _album_rows(album: Album, job_id: str, side_gap: int, include_short: bool,
                medium: str | None) -> tuple[list[dict], int]:
    tracks = with_default_durations(album.playable(medium))
    offsets, span = layout(tracks, side_gap)
    rows = [{
        "artist": t.artist, "track": t.title, "album": album.title, "album_artist": album.artist,
        "timestamp": 0, "duration": t.duration or 0, "track_number": t.number, "position": t.position,
        "slug": album.slug, "duration_source": t.duration_source or "default", "job": job_id,
        "offset": offset, "span": span,
    } for t, offset in zip(tracks, offsets) if include_short or not is_short(t)]
    return rows, span


def add_job(ledger: Ledger, store: Store, slugs: list[str], now: float, *, started_at: int | None = None,
            finished_at: int | None = None, at: int | None = None, force: bool = False, side_gap: int = 0,
            include_short: bool = False, medium: str | None = None) -> AddResult:
    """Queue albums as one job. With a fixed time the albums play back to back; otherwise each is
    timed when it is sent."""
    if started_at is not None and finished_at is not None:
        raise UsageError("give --started-at or --finished-at, not both")
    queued = {e.slug for e in ledger.entries.values() if e.job and e.status in (PENDING, IN_FLIGHT)}
    job_id = str(max((int(j) for j in ledger.jobs), default=0) + 1)
    result = AddResult(job=None)
    albums: list[tuple[str, list[dict], int]] = []  # slug, rows, span: not the albums' whole JSON
    seen: set[str] = set()
    for slug in slugs:
        if slug in seen:
            continue
        seen.add(slug)
        if slug in queued and not force:
            result.skipped.append(f"{slug}: already waiting in the queue (--force adds it again)")
            continue
        try:
            album = load_album(store, slug)
            rows, span = _album_rows(album, job_id, side_gap, include_short, medium)
        except (CollectionError, UsageError) as exc:
            result.errors.append(str(exc))
            continue
        if rows:
            albums.append((album.slug, rows, span))
    if not albums:
        return result
    fixed = started_at is not None or finished_at is not None
    if fixed:
        total = sum(span for _, _, span in albums)
        start = started_at if started_at is not None else int(finished_at) - total  # type: ignore[arg-type]
        check_window(start, start + total, now)
        if not force:
            clash = ledger.overlapping(start, start + total)
            if clash:
                raise OverlapError(f"these albums ({local_clock(start)}–{local_clock(start + total)[11:]}) overlap "
                                   f"{clash[0].artist} — {clash[0].track} at {local_clock(clash[0].timestamp)}; "
                                   "give another time, or --force")
        for _, rows, span in albums:
            for row in rows:
                row["timestamp"] = start + row["offset"]
            start += span
    all_rows = [row for _, rows, _ in albums for row in rows]
    entries = ledger.add(all_rows)
    job = {
        "id": job_id, "created_at": now, "status": "active", "albums": [slug for slug, _, _ in albums],
        "scheduled_at": at, "timing": "fixed" if fixed else "when sent",
    }
    ledger.save_job(job)
    result.job, result.albums, result.tracks = job, len(albums), len(entries)
    return result


# --- free time ----------------------------------------------------------------------------

def free_gaps(ledger: Ledger, low: int, high: int) -> list[tuple[int, int]]:
    """Stretches of [low, high) that no standing listen occupies, earliest first."""
    busy = sorted((e.timestamp, e.end) for e in ledger.entries.values()
                  if e.status in LIVE and e.timed and e.end > low and e.timestamp < high)
    gaps: list[tuple[int, int]] = []
    cursor = low
    for start, end in busy:
        if start > cursor:
            gaps.append((cursor, min(start, high)))
        cursor = max(cursor, end)
        if cursor >= high:
            break
    if cursor < high:
        gaps.append((cursor, high))
    return gaps


def _place(gaps: list[tuple[int, int]], span: int) -> int | None:
    """The earliest start where `span` fits; the gap list is updated to exclude it."""
    for i, (start, end) in enumerate(gaps):
        if end - start >= span:
            gaps[i] = (start + span, end)
            return start
    return None


def window(now: float) -> tuple[int, int]:
    return int(now) - OLDEST_ALLOWED + WINDOW_SLACK, int(now)


# --- running --------------------------------------------------------------------------------

@dataclass
class RunResult:
    report: SendReport = field(default_factory=SendReport)
    timed_albums: int = 0
    waiting: str | None = None
    next_send_at: float | None = None
    pending: int = 0


def _album_groups(entries: list[Entry], jobs: dict[str, dict]) -> list[list[Entry]]:
    """Entries grouped by (job, album) in queue order: job by job, album by album."""
    order = {(j["id"], slug): (int(j["id"]), n) for j in jobs.values() for n, slug in enumerate(j["albums"])}
    groups: dict[tuple[str, str], list[Entry]] = {}
    for e in entries:
        groups.setdefault((e.job or "", e.slug), []).append(e)
    return [sorted(g, key=lambda e: e.offset) for _, g in
            sorted(groups.items(), key=lambda kv: order.get(kv[0], (10**9, 0)))]


def due_entries(ledger: Ledger, now: float) -> list[Entry]:
    active = {j["id"] for j in ledger.jobs.values()
              if j["status"] == "active" and (j.get("scheduled_at") or 0) <= now}
    return [e for e in ledger.entries.values() if e.status == PENDING and e.job in active]


def budget_left(settings: Settings, ledger: Ledger, now: float) -> tuple[int, float | None]:
    """Scrobbles the daily cap still allows, and when the next slot frees if none."""
    cap, _ = daily_cap(settings, ledger)
    blocked = ledger.meta("cap_blocked_until")
    if blocked and now < blocked:
        return 0, blocked
    sent = ledger.accepted_since(now - DAY)
    if len(sent) < cap:
        return cap - len(sent), None
    return 0, sent[-cap] + DAY  # when the oldest scrobble counting against the cap ages out


def _learn_cap(ctx: Online, now: float) -> float:
    sent = ctx.ledger.accepted_since(now - DAY)
    until = (sent[0] + DAY) if sent else now + 3600
    ctx.ledger.set_meta(learned_cap={"value": max(1, len(sent)), "learned_at": now}, cap_blocked_until=until)
    log.info("Last.fm's daily cap reached after %d scrobbles in 24 h; waiting until %s", len(sent), iso_utc(until))
    return until


def run_queue(ctx: Online, clock: Callable[[], float] = time.time, max_items: int | None = None,
              seconds: float | None = None, policy: RetryPolicy | None = None,
              on_batch: Callable[[int], None] | None = None) -> RunResult:
    """One cron run: settle what was in flight, time due albums into free time, send within the cap."""
    try:
        with run_lock(ctx.settings.state_dir / QUEUE_LOCK):
            with run_lock(ctx.settings.state_dir / SEND_LOCK, wait=LOCK_WAIT_SECONDS):
                return _run(ctx, clock, max_items, seconds, policy, on_batch)
    except Busy:
        raise QueueBusy("another `queue run` is going; this one has nothing to do") from None


def _run(ctx: Online, clock: Callable[[], float], max_items: int | None, seconds: float | None,
         policy: RetryPolicy | None, on_batch: Callable[[int], None] | None) -> RunResult:
    started = clock()
    result = RunResult()
    ledger = ctx.ledger
    sender = Sender(ledger, ctx.client, ctx.session.username,
                    policy or RetryPolicy(base_delay=ctx.settings.retry_delay), on_batch)
    try:
        result.report.accepted.extend(sender.reconcile_in_flight())
    except LastfmTemporary as exc:
        result.report.stopped = exc
        return result
    result.report.reconciled = len(result.report.accepted)
    now = clock()
    cap_budget, free_at = budget_left(ctx.settings, ledger, now)
    budget = cap_budget if max_items is None else min(cap_budget, max_items)
    due = due_entries(ledger, now)
    oldest_ok = now - OLDEST_ALLOWED
    stale = [e for e in due if e.timed and e.timestamp < oldest_ok]
    if stale:  # timed by a run that never sent them, and too old by now: time them afresh
        ledger.untime(stale)
    to_send = [e for e in due if e.timed][:budget]
    room = budget - len(to_send)
    gaps = free_gaps(ledger, *window(now))
    for group in _album_groups([e for e in due if not e.timed], ledger.jobs):
        if room <= 0:  # an album is timed only when at least part of it goes now
            if budget == cap_budget:
                result.waiting = result.waiting or "daily_cap"
            break
        start = _place(gaps, max(group[0].span, 1))
        if start is None:
            result.waiting = "no_room"
            break
        ledger.retime(group, start)
        result.timed_albums += 1
        to_send.extend(group[:room])
        room -= min(room, len(group))
    if cap_budget <= 0 and due:
        result.waiting, result.next_send_at = "daily_cap", free_at
    deadline = started + seconds if seconds is not None else None
    stop = (lambda: clock() >= deadline) if deadline else None
    report = sender.send(to_send, result.report, should_stop=stop)
    stopped = report.stopped
    if isinstance(stopped, CapReached) or (
            isinstance(stopped, LastfmTemporary) and stopped.code == 29
            and len(ledger.accepted_since(clock() - DAY)) >= CAP_SIGNAL_MIN):
        result.next_send_at = _learn_cap(ctx, clock())
        result.waiting, report.stopped = "daily_cap", None
    result.pending = len(due_entries(ledger, float("inf")))
    return result


# --- managing --------------------------------------------------------------------------------

def job_of(ledger: Ledger, job_id: str) -> dict:
    job = ledger.jobs.get(str(job_id))
    if job is None:
        raise UsageError(f"no queue job {job_id} (see `scrobble queue list`)")
    return job


def set_job_status(ledger: Ledger, job_id: str, status: str) -> dict:
    job = job_of(ledger, job_id)
    if job["status"] == "cancelled":
        raise UsageError(f"job {job_id} was cancelled")
    if status == "cancelled":
        dropped = [e for e in ledger.entries.values() if e.job == job["id"] and e.status == PENDING]
        ledger.mark(dropped, CANCELLED)
        job["dropped"] = len(dropped)
    job["status"] = status
    ledger.save_job(job)
    return job


def job_status(ledger: Ledger, settings: Settings, now: float) -> dict:
    """Everything `queue status --json` prints."""
    cap, source = daily_cap(settings, ledger)
    sent = ledger.accepted_since(now - DAY)
    left, cap_free_at = budget_left(settings, ledger, now)
    by_job: dict[str, list[Entry]] = {}
    for e in ledger.entries.values():
        if e.job:
            by_job.setdefault(e.job, []).append(e)
    low, high = window(now)
    gaps = free_gaps(ledger, low, high)
    free_seconds = sum(end - start for start, end in gaps)
    longest_gap = max((end - start for start, end in gaps), default=0)
    jobs = []
    backlog = 0  # pending scrobbles of the jobs before this one, for the finish estimate
    backlog_seconds = 0
    for job in sorted(ledger.jobs.values(), key=lambda j: int(j["id"])):
        entries = by_job.get(job["id"], [])
        counts = Counter(e.status for e in entries)
        ignored = Counter(reason_text(e.code, e.message) or "ignored" for e in entries if e.status == IGNORED)
        pending = counts[PENDING]
        untimed_spans = {e.slug: e.span for e in entries if e.status == PENDING and not e.timed}
        status = job["status"]
        if status == "active" and not pending and not counts[IN_FLIGHT]:
            status = "done"
        waiting = next_at = None
        scheduled = job.get("scheduled_at")
        if status == "paused":
            waiting = "paused"
        elif status == "active" and pending:
            if scheduled and scheduled > now:
                waiting, next_at = "scheduled", scheduled
            elif left == 0:
                waiting, next_at = "daily_cap", cap_free_at
            elif untimed_spans and min(untimed_spans.values()) > longest_gap:
                need = min(untimed_spans.values()) - (high - max((g[0] for g in gaps if g[1] == high), default=high))
                waiting, next_at = "no_room", now + max(need, 60)
            else:
                next_at = max(now, scheduled or 0)
        finish = None
        if status == "active" and pending:
            backlog += pending
            backlog_seconds += sum(untimed_spans.values())
            # The cap lets `cap` through per rolling day; real time lets one second of music per second.
            by_cap = now
            if backlog > left:
                first_free = cap_free_at or ((sent[0] + DAY) if sent else now + DAY)
                by_cap = first_free + (math.ceil((backlog - left) / cap) - 1) * DAY
            by_time = now + max(0, backlog_seconds - free_seconds)
            finish = max(by_cap, by_time, scheduled or 0)
        jobs.append({
            "id": job["id"], "status": status, "albums": len(job["albums"]), "tracks": len(entries),
            "accepted": counts[ACCEPTED], "ignored": sum(ignored.values()), "ignored_reasons": dict(ignored),
            "pending": pending, "in_flight": counts[IN_FLIGHT], "cancelled": counts[CANCELLED],
            "timing": job.get("timing"), "scheduled_at": iso_utc(scheduled), "next_send_at": iso_utc(next_at),
            "waiting_reason": waiting, "estimated_finish": iso_utc(finish),
        })
    return {"jobs": jobs, "daily_cap": {"value": cap, "source": source},
            "sent_24h": len(sent), "remaining_today": left}
