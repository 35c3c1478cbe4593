"""The operations behind the scrobble and lastfm commands; the CLI and the cron runner call these."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from config import Settings
from errors import LastfmTemporary, OverlapError, SessionInvalid, UsageError
from lastfm.client import LastFM
from lastfm.session import Session, SessionStore
from scrobble.ledger import IN_FLIGHT, PENDING, Entry, Ledger, identity
from scrobble.planner import Plan, PlannedScrobble
from scrobble.sender import RetryPolicy, Sender, SendReport
from scrobble.timeparse import iso_utc, local_clock
from statefiles import private_dir, run_lock

DEFAULT_DAILY_CAP = 2800
SEND_LOCK = "send.lock"
LOCK_WAIT_SECONDS = 120


@dataclass
class Online:
    settings: Settings
    session: Session
    client: LastFM
    ledger: Ledger


@contextmanager
def online(settings: Settings, clock: Callable[[], float] = time.time) -> Iterator[Online]:
    """Credentials, the saved session, a client and the ledger, or a clear error."""
    settings.require_credentials()
    session = SessionStore(settings.state_dir).require()
    client = LastFM(settings, session.key)
    private_dir(settings.state_dir)
    ledger = Ledger(settings.state_dir, clock)
    try:
        yield Online(settings, session, client, ledger)
    finally:
        ledger.close()


def describe(entry: Entry) -> str:
    return f"{entry.artist} — {entry.track} at {local_clock(entry.timestamp)} ({entry.status})"


def record_plan(ledger: Ledger, plan: Plan, force: bool = False) -> tuple[list[Entry], list[PlannedScrobble]]:
    """Put a plan's scrobbles in the ledger as pending; returns (new, already there)."""
    if not force:
        clash = ledger.overlapping(plan.started_at, plan.finished_at)
        if clash:
            first = clash[0]
            raise OverlapError(
                f"this listening ({local_clock(plan.started_at)}–{local_clock(plan.finished_at)[11:]}) overlaps "
                f"{describe(first)}{f' and {len(clash) - 1} more' if len(clash) > 1 else ''}; "
                "nobody plays two records at once: give another time, or --force"
            )
    rows = [{
        "artist": s.artist, "track": s.track, "album": s.album, "album_artist": s.album_artist,
        "timestamp": s.timestamp, "duration": s.duration, "track_number": s.track_number,
        "position": s.position, "slug": plan.slug, "duration_source": s.duration_source,
    } for s in plan.scrobbles]
    fresh = ledger.add(rows)
    added = {e.key for e in fresh}
    already = [s for s in plan.scrobbles if identity(s.artist, s.track, s.timestamp) not in added]
    return fresh, already


def single_track_plan(artist: str, track: str, album: str, album_artist: str, started: int,
                      duration: int, now: float) -> Plan:
    """One track as a plan, held to the same time rules as an album."""
    from scrobble.planner import check_window

    if not artist or not track:
        raise UsageError("a track needs an artist and a title")
    check_window(started, started + duration, now)
    item = PlannedScrobble(artist, track, album, album_artist or "", started, duration, 0, "", "given")
    return Plan(album, album_artist, "", started, started + duration, [item])


def send_interactive(ctx: Online, policy: RetryPolicy | None = None,
                     on_progress: Callable[[int], None] | None = None) -> SendReport:
    """Reconcile what an earlier run left in flight, then send every pending item outside the queue."""
    with run_lock(ctx.settings.state_dir / SEND_LOCK, wait=LOCK_WAIT_SECONDS):
        policy = policy or RetryPolicy(base_delay=ctx.settings.retry_delay)
        sender = Sender(ctx.ledger, ctx.client, ctx.session.username, policy, on_progress)
        try:
            confirmed = sender.reconcile_in_flight()
        except LastfmTemporary as exc:
            return SendReport(stopped=exc)
        report = sender.send([e for e in ctx.ledger.with_status(PENDING) if e.job is None])
        report.accepted[:0] = confirmed
        report.reconciled += len(confirmed)
        return report


def scrobble_plan(ctx: Online, plan: Plan, force: bool = False,
                  on_progress: Callable[[int], None] | None = None
                  ) -> tuple[SendReport, list[PlannedScrobble], OverlapError | None]:
    """Record the plan, then send. A plan refused for overlap still lets earlier leftovers finish."""
    refused = None
    try:
        _fresh, already = record_plan(ctx.ledger, plan, force)
    except OverlapError as exc:
        refused, already = exc, []
    return send_interactive(ctx, on_progress=on_progress), already, refused


def daily_cap(settings: Settings, ledger: Ledger) -> tuple[int, str]:
    if settings.daily_cap:
        return settings.daily_cap, "config"
    learned = ledger.meta("learned_cap")
    if learned:
        return int(learned["value"]), "learned"
    return DEFAULT_DAILY_CAP, "default"


def status(settings: Settings, check: bool = True) -> dict:
    """Sign-in state, whether Last.fm still takes the session, and the ledger's counts."""
    session = SessionStore(settings.state_dir).load()
    out: dict = {
        "signed_in": session is not None, "username": session.username if session else None,
        "session_valid": None, "playcount": None, "problem": None,
    }
    if session and check:
        try:
            settings.require_credentials()
            info = LastFM(settings, session.key).user_info()
            out["session_valid"], out["playcount"] = True, info["playcount"]
        except SessionInvalid:
            out["session_valid"] = False
            out["problem"] = "Last.fm no longer accepts this session (revoked?): run `python main.py lastfm login`"
        except LastfmTemporary as exc:
            out["problem"] = f"could not ask Last.fm: {exc}"
    private_dir(settings.state_dir)
    with Ledger(settings.state_dir) as ledger:
        cap, source = daily_cap(settings, ledger)
        sent = len(ledger.accepted_since(time.time() - 86400))
        out.update({
            "sent_24h": sent,
            "daily_cap": {"value": cap, "source": source},
            "remaining_today": max(0, cap - sent),
            "pending": len(ledger.with_status(PENDING)),
            "in_flight": len(ledger.with_status(IN_FLIGHT)),
        })
    return out


def history(settings: Settings, limit: int) -> list[dict]:
    private_dir(settings.state_dir)
    with Ledger(settings.state_dir) as ledger:
        return [{
            "artist": e.artist, "track": e.track, "album": e.album, "timestamp": e.timestamp,
            "time": iso_utc(e.timestamp), "status": e.status, "code": e.code, "message": e.message,
            "corrections": e.corrections, "job": e.job, "deferred": e.deferred,
        } for e in ledger.latest(limit)]
