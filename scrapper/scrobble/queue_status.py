"""What the queue holds: each job's progress, what it waits for, and when it should finish."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from app import App
from lastfm.responses import reason_text
from scrobble.daily_cap import DAY, DailyCap, budget_left, daily_cap
from scrobble.ledger import ACCEPTED, ACTIVE, ADDING, CANCELLED, IGNORED, IN_FLIGHT, PAUSED, PENDING, Job
from scrobble.queue import job_of
from scrobble.hours import hours_of
from scrobble.queue_run import NO_ROOM, TOO_LONG, free_gaps, room_for, window
from scrobble.rows import LISTENBRAINZ
from scrobble.timeparse import iso_utc


@dataclass
class JobStatus:
    job: Job
    status: str  # active, paused, cancelled, done
    tracks: int
    counts: Counter[str]
    ignored_reasons: dict[str, int]
    waiting: str | None = None  # paused, scheduled, daily_cap, no_room, too_long
    next_send_at: float | None = None
    estimated_finish: float | None = None
    too_long: list[str] = field(default_factory=list)  # albums longer than the window: never sent
    listenbrainz: Counter[str] | None = None  # ListenBrainz's states of the job's listens, when sent there

    @property
    def finished(self) -> bool:
        """Nothing left to send or settle on any service (done, or cancelled with nothing in flight)."""
        other = self.listenbrainz or Counter()
        return not (self.counts[PENDING] or self.counts[IN_FLIGHT] or other[PENDING] or other[IN_FLIGHT])

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.job.id, "status": self.status, "albums": len(self.job.albums), "tracks": self.tracks,
            "accepted": self.counts[ACCEPTED], "ignored": self.counts[IGNORED],
            "ignored_reasons": self.ignored_reasons, "pending": self.counts[PENDING],
            "in_flight": self.counts[IN_FLIGHT], "cancelled": self.counts[CANCELLED], "timing": self.job.timing,
            "scheduled_at": iso_utc(self.job.scheduled_at), "next_send_at": iso_utc(self.next_send_at),
            "waiting_reason": self.waiting, "estimated_finish": iso_utc(self.estimated_finish),
            "too_long": self.too_long, "created_at": iso_utc(self.job.created_at),
            "hours": self.job.hours, "hours_zone": self.job.zone, "gap": self.job.gap,
            "listenbrainz": None if self.listenbrainz is None else {
                name: self.listenbrainz[name] for name in (ACCEPTED, PENDING, IN_FLIGHT, "refused", CANCELLED)},
        }


@dataclass
class QueueStatus:
    jobs: list[JobStatus]
    cap: DailyCap
    sent_24h: int
    remaining_today: int

    def to_json(self) -> dict[str, Any]:
        return {"jobs": [j.to_json() for j in self.jobs], "daily_cap": self.cap.to_json(),
                "sent_24h": self.sent_24h, "remaining_today": self.remaining_today}


def queue_status(app: App, job_id: str | None = None) -> QueueStatus:
    """Everything `queue status` shows, for every job or one."""
    ledger = app.ledger
    now = app.clock()
    if job_id is not None:
        job_of(ledger, job_id)
    cap = daily_cap(app.settings, ledger, now)
    sent = ledger.accepted_since(now - DAY)
    left, cap_free_at = budget_left(cap, ledger, now)
    counts = ledger.job_counts()
    lb_counts = ledger.target_job_counts(LISTENBRAINZ)
    ignored: dict[str, Counter[str]] = {}
    for e in ledger.ignored_of_jobs():
        ignored.setdefault(e.job or "", Counter())[reason_text(e.code, e.message) or "ignored"] += 1
    untimed = ledger.untimed_albums()
    low, high = window(now)
    gaps = free_gaps(ledger, low, high)
    free_seconds = sum(end - start for start, end in gaps)
    longest_gap = max((end - start for start, end in gaps), default=0)
    last_gap_start = max((g[0] for g in gaps if g[1] == high), default=high)
    jobs = []
    backlog = 0  # sendable scrobbles of the jobs before this one, for the finish estimate
    backlog_seconds = 0
    for job in ledger.jobs().values():
        if job.status == ADDING or job.cleared_at is not None or (job_id is not None and job.id != str(job_id).strip()):
            continue
        c = counts.get(job.id, Counter())
        albums = untimed.get(job.id, {})
        too_long = {slug for slug, (span, _) in albums.items() if span > room_for(job, low, high)}
        placeable = [span for slug, (span, _) in albums.items() if slug not in too_long]
        pending = c[PENDING]
        timed = pending - sum(n for _, n in albums.values())
        sendable = pending - sum(albums[slug][1] for slug in too_long)
        lb = lb_counts.get(job.id)
        lb_left = lb[PENDING] + lb[IN_FLIGHT] if lb is not None else 0
        status = "done" if job.status == ACTIVE and not pending and not c[IN_FLIGHT] and not lb_left else job.status
        info = JobStatus(job, status, sum(c.values()), c, dict(ignored.get(job.id, Counter())),
                         too_long=sorted(too_long), listenbrainz=lb)
        scheduled = job.scheduled_at
        if status == PAUSED:
            info.waiting = PAUSED
        elif status == ACTIVE and pending:
            if scheduled and scheduled > now:
                info.waiting, info.next_send_at = "scheduled", scheduled
            elif left == 0:
                info.waiting, info.next_send_at = "daily_cap", cap_free_at
            elif not timed and not placeable:
                info.waiting = TOO_LONG  # every album left is longer than 13½ days: cancel the job
            elif not timed and min(placeable) > longest_gap:
                need = min(placeable) - (high - last_gap_start)
                info.waiting, info.next_send_at = NO_ROOM, now + max(need, 60)
            else:
                info.next_send_at = max(now, scheduled or 0)
        if status == ACTIVE and sendable:
            backlog += sendable
            hours = hours_of(job.hours)
            # Albums kept to listening hours take a whole day for each day's hours of music.
            backlog_seconds += sum(span + job.gap for span in placeable) * DAY // (hours.seconds if hours else DAY)
            # The cap lets `cap` through per rolling day; real time lets one second of music per second.
            by_cap = now
            if backlog > left:
                first_free = cap_free_at or ((sent[0] + DAY) if sent else now + DAY)
                by_cap = first_free + (math.ceil((backlog - left) / cap.value) - 1) * DAY
            by_time = now + max(0, backlog_seconds - free_seconds)
            info.estimated_finish = max(by_cap, by_time, scheduled or 0)
        jobs.append(info)
    return QueueStatus(jobs, cap, len(sent), left)

