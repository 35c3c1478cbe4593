"""Scrobbling what was just played (an album, a track): record it in the ledger, then send what is pending.

`scrobble album`, `scrobble track` and the play-along mode all end in
`send_pending`, which sends every pending scrobble outside the queue, the
leftovers of earlier commands included, under the send lock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app import App
from collection.album import Album
from collection.lookup import find_album
from collection.names import fold
from errors import Busy, ExitStatus, LastfmError, OverlapError, RussfmError, UsageError
from lastfm.responses import ItemResult

from scrobble.lastfm_albums import lastfm_album, lastfm_durations
from scrobble.ledger import (
    ACCEPTED,
    FAILED,
    IGNORED,
    IN_FLIGHT,
    PENDING,
    Entry,
    Ledger,
    identity,
)
from scrobble.planner import (
    Plan,
    PlannedScrobble,
    PlanOptions,
    build_plan,
    check_window,
)
from scrobble.lb_sender import TargetLog
from scrobble.planner import DurationFiller
from scrobble.rows import LASTFM, LISTENBRAINZ, REFUSED, target_fields
from scrobble.sender import BATCH_SIZE, SETTLE_MARGIN, Sender, SendLog
from scrobble.sendlock import interactive_turn
from scrobble.targets import send_to_listenbrainz
from scrobble.timeparse import local_clock, local_time

MAX_TRACK_SECONDS = 6 * 3600


class OutsideQueue:
    """Pending scrobbles that belong to no queue job, oldest first."""

    def next_batch(self, ledger: Ledger) -> list[Entry]:
        return ledger.with_status(PENDING, outside_queue=True)[:BATCH_SIZE]

    def still_wanted(self, ledger: Ledger, entries: list[Entry]) -> list[Entry]:
        return [e for e in entries if e.job is None]


@dataclass
class Recorded:
    """What putting a plan in the ledger did."""

    fresh: list[Entry] = field(default_factory=list)  # new pending entries
    already: list[PlannedScrobble] = field(default_factory=list)  # the same scrobble stands already
    kept: list[Entry] = field(default_factory=list)  # the same listening, recorded earlier and not yet sent
    refused: OverlapError | None = None


def describe(entry: Entry) -> str:
    return f"{entry.artist} — {entry.track} at {local_clock(entry.timestamp)} ({entry.status})"


def _same_listening(plan: Plan, entry: Entry) -> bool:
    """An unsent entry of this very record (or track), overlapping it: a rerun, not a second listen."""
    if entry.status not in (PENDING, IN_FLIGHT):
        return False
    if plan.slug:
        return entry.slug == plan.slug
    return any((fold(entry.artist), fold(entry.track)) == (fold(s.artist), fold(s.track)) for s in plan.scrobbles)


def overlap_refusal(start: int, end: int, clash: list[Entry]) -> OverlapError:
    first = clash[0]
    return OverlapError(
        f"this listening ({local_clock(start)}–{local_time(end)}) overlaps "
        f"{describe(first)}{f' and {len(clash) - 1} more' if len(clash) > 1 else ''}; "
        "nobody plays two records at once: give another time, or --force")


def record_plan(ledger: Ledger, plan: Plan, force: bool = False, session: str | None = None,
                dry: bool = False, targets: tuple[str, ...] | None = None) -> Recorded:
    """Put a plan's scrobbles in the ledger as pending for each of `targets` (default: Last.fm only), unless
    the time is taken (read under the lock): by a listen, or by a running play-along session (but `session`,
    the one recording). `dry`: only say whether it would be refused or kept."""
    out = Recorded()
    with ledger.locked():
        standing = ledger.standing(identity(s.artist, s.track, s.timestamp) for s in plan.scrobbles)
        out.already = [s for s in plan.scrobbles if identity(s.artist, s.track, s.timestamp) in standing]
        clash = [e for e in ledger.overlapping(plan.started_at, plan.finished_at, session)
                 if e.key not in standing]
        if clash and not force:
            if all(_same_listening(plan, e) for e in clash):
                out.kept = clash
                return out
            out.refused = overlap_refusal(plan.started_at, plan.finished_at, clash)
            return out
        if dry:
            return out
        extra = target_fields(targets) if targets is not None else {}
        rows = [{**s.ledger_row(plan.slug), **extra} for s in plan.scrobbles
                if identity(s.artist, s.track, s.timestamp) not in standing]
        out.fresh = ledger.add(rows)
    return out


def send_everywhere(app: App, on_batch: Callable[[int], None] | None = None) -> tuple[SendLog, TargetLog | None]:
    """Send what waits outside the queue to each target, one after the other: a failure of one is kept in its
    log and never stops the other."""
    targets = app.targets()
    lastfm = _send_lastfm(app, on_batch) if LASTFM in targets else SendLog()
    listenbrainz = None
    if LISTENBRAINZ in targets:
        listenbrainz = send_to_listenbrainz(app, on_batch=None if LASTFM in targets else on_batch)
    return lastfm, listenbrainz


def send_pending(app: App, on_batch: Callable[[int], None] | None = None) -> SendLog:
    """Settle what was left in flight, then send every pending scrobble outside the queue (to every target;
    Last.fm's log is returned)."""
    return send_everywhere(app, on_batch)[0]


def _send_lastfm(app: App, on_batch: Callable[[int], None] | None = None) -> SendLog:
    """Settle what was left in flight, then send every pending scrobble outside the queue to Last.fm."""
    client = app.client(signed=True)
    sender = Sender(app.ledger, client, app.session().username, client.retry, on_batch,
                    settle_after=app.settings.timeout + SETTLE_MARGIN)
    try:
        with interactive_turn(app.settings.state_dir, app.command, app.settings.lock_wait):
            sender.reconcile_in_flight()
            sender.send_all(OutsideQueue())
    except (LastfmError, Busy) as exc:
        sender.log.stopped = exc
    return sender.log


def _counts(entries: list[Entry]) -> dict[str, int]:
    def count(*statuses: str) -> int:
        return sum(1 for e in entries if e.status in statuses)

    return {"accepted": count(ACCEPTED), "ignored": count(IGNORED), "deferred": count(PENDING, IN_FLIGHT),
            "failed": count(FAILED)}


@dataclass
class SendResult:
    """A scrobble command's outcome, as the ledger now holds it: its own listening's scrobbles, and apart
    from them the leftovers of earlier commands it sent on the way."""

    scrobbles: list[Entry]
    already: list[PlannedScrobble] = field(default_factory=list)
    kept: int = 0
    reconciled: int = 0
    requests: int = 0
    stopped: RussfmError | None = None
    refused: OverlapError | None = None
    leftovers: list[Entry] = field(default_factory=list)
    listenbrainz: TargetLog | None = None  # None: ListenBrainz was not a target
    targets: tuple[str, ...] = (LASTFM,)

    def with_status(self, *statuses: str) -> list[Entry]:
        return [e for e in self.scrobbles if e.status in statuses]

    def on_listenbrainz(self, *statuses: str) -> list[Entry]:
        return [e for e in self.scrobbles if e.target_status(LISTENBRAINZ) in statuses]

    @property
    def exit_status(self) -> ExitStatus:
        if self.stopped is not None:
            return self.stopped.exit_status
        if self.listenbrainz is not None and self.listenbrainz.stopped is not None:
            return self.listenbrainz.stopped.exit_status
        if self.refused is not None:
            return self.refused.exit_status
        sent = self.scrobbles + self.leftovers
        if any(e.status in (IGNORED, FAILED) for e in sent) or self.on_listenbrainz(REFUSED):
            return ExitStatus.PARTLY_IGNORED
        if any(e.status in (PENDING, IN_FLIGHT) for e in sent) or self.on_listenbrainz(PENDING, IN_FLIGHT):
            return ExitStatus.TRY_LATER
        return ExitStatus.OK

    def to_json(self) -> dict[str, Any]:
        return {
            **_counts(self.scrobbles),
            "reconciled": self.reconciled, "requests": self.requests,
            "already_scrobbled": [{"artist": s.artist, "track": s.track, "timestamp": s.timestamp}
                                  for s in self.already],
            "scrobbles": [e.to_json() for e in self.scrobbles],
            "leftovers": {**_counts(self.leftovers), "scrobbles": [e.to_json() for e in self.leftovers]},
            "stopped": str(self.stopped) if self.stopped else None,
            "refused": str(self.refused) if self.refused else None,
            "targets": list(self.targets),
            "listenbrainz": self.listenbrainz.to_json() if self.listenbrainz is not None else None,
        }


def scrobble_plan(app: App, plan: Plan, force: bool = False,
                  on_batch: Callable[[int], None] | None = None) -> SendResult:
    """Record the plan for every target, then send. A plan refused for overlap still lets earlier leftovers go."""
    targets = app.targets()
    recorded = record_plan(app.ledger, plan, force, targets=targets)
    sent, listenbrainz = send_everywhere(app, on_batch)
    # This listening's scrobbles: those it recorded, and those of the same plan an earlier, killed run
    # recorded and left (settled now). Whatever else went is another command's leftover.
    planned = {identity(s.artist, s.track, s.timestamp) for s in plan.scrobbles}
    mine = {e.id for e in recorded.fresh + recorded.kept}
    theirs = (listenbrainz.accepted + listenbrainz.refused + listenbrainz.waiting) if listenbrainz else []
    touched = app.ledger.get(list(dict.fromkeys([*mine, *sent.touched, *sent.reconciled, *theirs])))
    ours = [e for e in touched if e.id in mine or identity(e.artist, e.track, e.timestamp) in planned]
    own_ids = {e.id for e in ours}
    others = [e for e in touched if e.id not in own_ids]

    def order(entries: list[Entry]) -> list[Entry]:
        return sorted(entries, key=lambda e: (e.timestamp, e.id))

    return SendResult(
        scrobbles=order(ours), leftovers=order(others),
        already=recorded.already, kept=len(recorded.kept), reconciled=len(sent.reconciled),
        requests=app.requests(), stopped=sent.stopped, refused=recorded.refused,
        listenbrainz=listenbrainz, targets=targets,
    )


def duration_filler(app: App) -> DurationFiller | None:
    """Last.fm's album.getInfo for lengths the collection lacks: signed when Last.fm is a target, else with
    the API key alone if there is one, else none (ListenBrainz-only use needs no Last.fm account)."""
    if LASTFM in app.targets():
        return lastfm_durations(app.client(signed=True), app.cache)
    if app.settings.api_key and app.settings.api_secret:
        return lastfm_durations(app.client(signed=False), app.cache)
    return None


def find_record(app: App, query: str | None, lastfm: tuple[str, str] | None, signed: bool = False) -> Album:
    """An album of the collection by what the user typed, or a record Last.fm knows (one cached request)."""
    if lastfm:
        return lastfm_album(app.client(signed), app.cache, *lastfm)
    if not query:
        raise UsageError("name an ALBUM of the collection, or give --lastfm ARTIST TITLE")
    return find_album(app.store, query)


def plan_album(app: App, query: str | None, options: PlanOptions, lookup: bool = False,
               lastfm: tuple[str, str] | None = None) -> Plan:
    """The listening plan for an album; with `lookup`, Last.fm is asked for durations Discogs and Spotify lack.
    A record from Last.fm (`lastfm`) costs its one album.getInfo, even for a dry run."""
    album = find_record(app, query, lastfm)
    filler = lastfm_durations(app.client(signed=False), app.cache) if lookup else None
    return build_plan(album, options, app.clock(), filler)


def scrobble_album(app: App, query: str | None, options: PlanOptions, force: bool = False,
                   on_batch: Callable[[int], None] | None = None,
                   on_plan: Callable[[Plan], None] | None = None,
                   lastfm: tuple[str, str] | None = None) -> SendResult:
    album = find_record(app, query, lastfm, signed=LASTFM in app.targets())
    plan = build_plan(album, options, app.clock(), duration_filler(app))
    if on_plan:
        on_plan(plan)
    return scrobble_plan(app, plan, force, on_batch)


def single_track_plan(artist: str, track: str, album: str, album_artist: str, started: int,
                      duration: int, now: float) -> Plan:
    """One track as a plan, held to the same time rules as an album."""
    artist, track = " ".join(artist.split()), " ".join(track.split())
    if not artist or not track:
        raise UsageError("a track needs an artist and a title")
    if not 0 < duration <= MAX_TRACK_SECONDS:
        raise UsageError("--duration must be between 1 second and 6 hours")
    check_window(started, started + duration, now)
    item = PlannedScrobble(artist, track, " ".join(album.split()), " ".join(album_artist.split()),
                           started, duration, 0, "", "given")
    return Plan(item.album, item.album_artist, "", started, started + duration, [item])


def scrobble_track(app: App, artist: str, track: str, album: str = "", album_artist: str = "",
                   started: int | None = None, duration: int = 180, force: bool = False) -> SendResult:
    now = app.clock()
    start = started if started is not None else int(now) - duration
    return scrobble_plan(app, single_track_plan(artist, track, album, album_artist, start, duration, now), force)


@dataclass
class NowPlaying:
    """What each target said to a now-playing notice (None: not a target)."""

    lastfm: ItemResult | None = None
    listenbrainz: str | None = None  # "ok", or why it failed

    @property
    def exit_status(self) -> ExitStatus:
        if self.lastfm is not None and not self.lastfm.accepted:
            return ExitStatus.PARTLY_IGNORED
        if self.listenbrainz not in (None, "ok"):
            return ExitStatus.TRY_LATER
        return ExitStatus.OK

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.lastfm is not None:
            out = {"accepted": self.lastfm.accepted, "code": self.lastfm.code, "reason": self.lastfm.reason,
                   "corrections": self.lastfm.corrections()}
        if self.listenbrainz is not None:
            out["listenbrainz"] = self.listenbrainz
        return out


def now_playing(app: App, artist: str, track: str, album: str = "", album_artist: str = "",
                duration: int = 180) -> NowPlaying:
    """Show a track as playing now on each target (nothing is recorded: a now-playing notice is not a scrobble)."""
    from scrobble.targets import listenbrainz_playing_now

    now = app.clock()
    plan = single_track_plan(artist, track, album, album_artist, int(now) - duration, duration, now)
    item = plan.scrobbles[0]
    result = NowPlaying()
    targets = app.targets()
    if LASTFM in targets:
        result.lastfm = app.client(signed=True).now_playing({
            "artist": item.artist, "track": item.track, "album": item.album,
            "album_artist": item.album_artist, "duration": duration,
        })
    if LISTENBRAINZ in targets:
        result.listenbrainz = listenbrainz_playing_now(app, item.artist, item.track, item.album, duration) or "ok"
    return result
