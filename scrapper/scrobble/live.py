"""Playing along with a record: now playing at each track's start, each track scrobbled once it has played enough.

The player is a state machine driven by a `Clock` (time, and the keys a
listener presses), so that it can be run on real time at a terminal or on
an injected clock in tests. It never sleeps or polls by itself: between
events it calls `clock.wait(until)` once, with the next moment something is
due. Each track is put in the ledger (`record_plan`) when it reaches its
threshold and then sent (`send_pending`), so a killed session leaves a true
record and the next command sends what was due.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

from app import App
from collection.album import Album
from errors import ExitStatus, LastfmError, PlanError, RussfmError

from scrobble.ledger import ACCEPTED, FAILED, IGNORED, IN_FLIGHT, PENDING, Entry, identity
from scrobble.live_events import (
    Event,
    Finished,
    LiveTrack,
    NowPlaying,
    Paused,
    Problem,
    Progress,
    Resumed,
    Scrobbled,
    SideDone,
    SideStarted,
    Skipped,
    Started,
    Stopped,
)
from scrobble.planner import Plan, PlanOptions, check_window, lay_out, select_tracks
from scrobble.rows import LASTFM, LISTENBRAINZ, NOT_FOR_LASTFM, REFUSED
from scrobble.send import duration_filler, record_plan, send_everywhere
from scrobble.targets import listenbrainz_playing_now


def _status(entry: Entry) -> str:
    """Last.fm's state of the entry; for a listen sent to ListenBrainz only, ListenBrainz's in the same words."""
    if entry.status != NOT_FOR_LASTFM:
        return entry.status
    there = entry.target_status(LISTENBRAINZ)
    return {ACCEPTED: ACCEPTED, REFUSED: IGNORED}.get(str(there), PENDING)

RETRY_SECONDS = 60  # while Last.fm does not take scrobbles, one more attempt a minute at most
HOLD_ROOM = 15 * 60  # the time a session holds runs this far past its planned end: room for pauses and turns
PAUSE, NEXT, QUIT, SKIP_SIDE, ENTER = " ", "n", "q", "s", "\n"
READY, PLAYING, TURNING, DONE = "ready", "playing", "turning", "done"


class Clock(Protocol):
    """Time and keys. `wait` returns the key pressed before `until`, or None once `until` has come;
    `interactive` is true on a terminal, where side turns wait for Enter."""

    interactive: bool

    def now(self) -> float: ...

    def wait(self, until: float) -> str | None: ...


@dataclass
class Setlist:
    """What will be played: the album, its selected tracks in order, and how the session is timed."""

    album: str
    album_artist: str
    slug: str
    tracks: list[LiveTrack]
    started_at: float | None = None  # when the needle dropped; None: when the session opens
    side_gap: int = 0
    force: bool = False


def prepare(app: App, album: Album, options: PlanOptions, force: bool = False) -> Setlist:
    """The tracks to play along with, chosen as the offline plan chooses them, with Last.fm filling
    unknown durations; a start in the future or too long ago is refused."""
    tracks = select_tracks(album, options)
    filler = duration_filler(app) if any(t.duration is None for t in tracks) else None
    if filler is not None:
        tracks = filler(album, tracks)
    laid, _, _ = lay_out(album, tracks, include_short=True)  # short tracks still play; they are never scrobbled
    now = app.clock()
    if options.started_at is not None:
        if options.started_at > now:
            raise PlanError("--started-at is in the future: start playing along when the needle drops")
        check_window(options.started_at, int(now), now)
    return Setlist(album.title, album.artist, album.slug,
                   [LiveTrack(item, t.side, t.disc) for item, t in zip(laid, tracks)],
                   options.started_at, options.side_gap, force)


# --- the player ----------------------------------------------------------------------------------
class Player:
    """Plays a setlist along on `clock`, reporting each event to `on_event`."""

    def __init__(self, app: App, setlist: Setlist, clock: Clock, on_event: Callable[[Event], None]) -> None:
        self.app, self.setlist, self.tracks, self.clock, self.emit = app, setlist, setlist.tracks, clock, on_event
        self.targets = app.targets()
        self.client = app.client(signed=True) if LASTFM in self.targets else None
        # A session must not sleep through retry backoffs while the record plays: one request per attempt;
        # the next attempt comes at the next threshold, at a side's end, or a minute later.
        if self.client is not None:
            self.client.retry = replace(self.client.retry, attempts=1)
        self.phase = READY
        self.index = 0
        self.start = 0.0  # when the current track started (or the last side ended, while turning)
        self.paused_for = 0.0
        self.paused_since: float | None = None
        self.reached = False  # the current track reached its threshold and was recorded (or refused)
        self.turn_due: float | None = None
        self.opened = 0.0
        self.mine: dict[str, int] = {}  # ledger id → track index, for every row this session stands for
        self.unsettled: set[str] = set()  # recorded, no verdict from Last.fm yet
        self.shown_waiting: set[str] = set()
        self.refused = 0
        self.send_due = False
        self.last_attempt: float | None = None
        self.last_stop: RussfmError | None = None
        self.halted: str | None = None
        self.closing = False
        self.session = uuid.uuid4().hex[:12]  # the time this session holds, in the ledger, goes by this id
        self.held = False
        self.first = 0.0  # when the session's first track started
        self.refused_now = False  # the current track's time overlaps another listen: it is not recorded

    @property
    def track(self) -> LiveTrack:
        return self.tracks[self.index]

    @property
    def recorded(self) -> bool:
        """The current track is in the ledger: it reached its threshold and was not refused."""
        return self.index in self.mine.values()

    def _following(self) -> LiveTrack | None:
        return self.tracks[self.index + 1] if self.index + 1 < len(self.tracks) else None

    # --- driving -------------------------------------------------------------------------------
    def run(self) -> Finished:
        """Play to the end, or until q; returns the summary (also emitted)."""
        self.opened = self.clock.now()
        first = self.setlist.started_at if self.setlist.started_at is not None else self.opened
        s = self.setlist
        self.emit(Started(self.opened, s.album, s.album_artist, s.slug, len(self.tracks), first,
                          self.clock.interactive))
        self.first = first
        self._begin(0, first)
        while self.phase != DONE:
            self._advance()
            self._flush()
            if self.phase == DONE:
                break
            key = self.clock.wait(self._next_due())
            if key is not None:
                self._advance()  # what fell due before the key came happens first
                self._on_key(key)
        return self._close()

    def release(self) -> None:
        """Give back the time this session held (what it recorded stands in the ledger on its own)."""
        if self.held:
            with self.app.ledger.locked():
                self.app.ledger.release(self.session)
            self.held = False

    def _hold(self, at: float) -> None:
        """Hold the session's time against every other command: from its first track to the planned end of
        the rest (from the track starting `at`), with room for pauses and side turns."""
        left = self.tracks[self.index:]
        turns = sum(1 for a, b in zip(left, left[1:]) if a.face != b.face) * self.setlist.side_gap
        end = at + sum(t.duration for t in left) + turns + HOLD_ROOM
        with self.app.ledger.locked():
            self.app.ledger.hold(self.session, int(self.first), int(math.ceil(end)), self.setlist.album_artist,
                                 self.setlist.album)
        self.held = True

    def stop(self, reason: str = "interrupted") -> Finished:
        """Stop from outside (Ctrl-C): nothing more is recorded; one last attempt sends what was due."""
        if self.closing:  # interrupted during the last attempt: what is left waits for the next command
            self.halted = self.halted or reason
            return self._summary()
        if self.phase != DONE:
            self._halt(reason)
        return self._close()

    def progress(self) -> Progress | None:
        if self.phase != PLAYING:
            return None
        moment = self.paused_since if self.paused_since is not None else self.clock.now()
        return Progress(self.track, max(0.0, moment - self.start - self.paused_for), self.recorded,
                        self.paused_since is not None, self._following())

    def _next_due(self) -> float:
        due = [math.inf]
        if self.phase == PLAYING and self.paused_since is None:
            base = self.start + self.paused_for
            if self.track.counts and not self.reached:
                due.append(base + self.track.threshold)
            due.append(base + self.track.duration)
        if self.phase == TURNING and self.turn_due is not None:
            due.append(self.turn_due)
        if self.unsettled and self.last_attempt is not None:
            due.append(self.last_attempt + RETRY_SECONDS)
        return min(due)

    def _advance(self) -> None:
        """Everything due by now, in order: thresholds, track ends, the end of a timed side turn."""
        while self.phase != DONE:
            now = self.clock.now()
            if self.phase == PLAYING:
                if self.paused_since is not None:
                    return
                base = self.start + self.paused_for
                if self.track.counts and not self.reached and base + self.track.threshold <= now:
                    self._record()
                    continue
                if base + self.track.duration <= now:
                    self._next_track(base + self.track.duration)
                    continue
            elif self.turn_due is not None and self.turn_due <= now:
                self._start_side(self.turn_due)
                continue
            return

    def _on_key(self, key: str) -> None:
        now = self.clock.now()
        if key == QUIT:
            self._halt("key")
        elif self.phase == PLAYING and key == PAUSE:
            if self.paused_since is None:
                self.paused_since = now
                self.emit(Paused(now, self.track))
            else:
                paused = now - self.paused_since
                self.paused_for += paused
                self.paused_since = None
                self.emit(Resumed(now, self.track, paused))
        elif self.phase == PLAYING and key == NEXT:
            if self.paused_since is not None:
                self.paused_for += now - self.paused_since
                self.paused_since = None
            self.emit(Skipped(now, self.track, None, self.recorded))
            self._played_until(now)
            self._next_track(now)
        elif self.phase == TURNING and key in (ENTER, NEXT):
            self._start_side(now)
        elif self.phase == TURNING and key == SKIP_SIDE:
            self._skip_side(now)

    # --- the timeline ----------------------------------------------------------------------------
    def _begin(self, index: int, at: float) -> None:
        self.phase, self.index, self.start = PLAYING, index, at
        self.paused_for, self.paused_since, self.reached, self.refused_now = 0.0, None, False, False
        self._hold(at)
        if self.track.counts:
            self._refuse_early(at)
        if at + self.track.duration > self.clock.now():  # tracks that ended before the session get no now playing
            self._now_playing(at)

    def _plan(self, at: float) -> Plan:
        item = replace(self.track.item, timestamp=int(at))
        return Plan(self.setlist.album, self.setlist.album_artist, self.setlist.slug, item.timestamp,
                    item.timestamp + item.duration, [item])

    def _refuse_early(self, at: float) -> None:
        """A track whose time another listen already holds is refused as it starts, before now playing is sent,
        rather than at its threshold."""
        plan = self._plan(at)
        check = record_plan(self.app.ledger, plan, self.setlist.force, self.session, dry=True)
        if (check.refused or check.kept) and not self._overlaps_only_mine(plan):
            self._refuse(check.refused)

    def _refuse(self, refused: Exception | None) -> None:
        why = refused or "a listening of this record recorded earlier and not yet sent overlaps it; " \
                         "that one is sent instead"
        self.reached = self.refused_now = True
        self.refused += 1
        self.emit(Problem(self.clock.now(), f"not scrobbled: {why}", self.track))

    def _played_until(self, at: float) -> None:
        """The current track was left at `at`: if it was recorded, it holds only the time it really played."""
        if not self.recorded:
            return
        ids = [i for i, index in self.mine.items() if index == self.index]
        ledger = self.app.ledger
        with ledger.locked():
            ledger.set_played(ledger.get(ids), int(math.ceil(at - self.start)))

    def _next_track(self, at: float) -> None:
        following = self._following()
        if following is None:
            self.phase = DONE
        elif following.face == self.track.face:
            self._begin(self.index + 1, at)
        else:
            self._turn(self.index + 1, at, self.track.face_name, skipped=False)

    def _turn(self, index: int, at: float, done: str, skipped: bool) -> None:
        self.phase, self.index, self.start = TURNING, index, at
        # A turn before the session opened (--started-at in the past) took an unknown time: --side-gap stands in.
        timed = at < self.opened or not self.clock.interactive
        self.turn_due = at + self.setlist.side_gap if timed else None
        if self.unsettled:
            self.send_due = True  # the end of a side is a moment to try again
        self.emit(SideDone(self.clock.now(), done, self.track.face_name, not timed, self.turn_due, skipped))

    def _start_side(self, at: float) -> None:
        turned = at - self.start
        self.turn_due = None
        self.emit(SideStarted(self.clock.now(), self.track.face_name, turned))
        self._begin(self.index, at)

    def _skip_side(self, now: float) -> None:
        face, name = self.track.face, self.track.face_name
        index = self.index
        while index < len(self.tracks) and self.tracks[index].face == face:
            index += 1
        self.emit(Skipped(now, None, name, False))
        if index >= len(self.tracks):
            self.phase = DONE
        else:
            self._turn(index, now, name, skipped=True)

    def _halt(self, reason: str) -> None:
        playing = self.phase == PLAYING
        now = self.clock.now()
        if playing:
            self._played_until(now)
        self.emit(Stopped(now, reason, self.track if playing else None, playing and self.recorded,
                          playing and self.refused_now))
        self.halted = reason
        self.phase = DONE

    # --- Last.fm ----------------------------------------------------------------------------------
    def _now_playing(self, at: float) -> None:
        s = self.track.item
        accepted, reason = True, None
        if self.client is not None:
            try:
                answer = self.client.now_playing({
                    "artist": s.artist, "track": s.track, "album": s.album, "album_artist": s.album_artist,
                    "track_number": s.track_number, "duration": s.duration})
                accepted, reason = answer.accepted, answer.reason or None
            except LastfmError as exc:
                accepted, reason = False, str(exc)
        if LISTENBRAINZ in self.targets:
            failed = listenbrainz_playing_now(self.app, s.artist, s.track, s.album, s.duration)
            if failed and self.client is None:
                accepted, reason = False, failed
        self.emit(NowPlaying(self.clock.now(), self.track, at, accepted, reason, self._following()))

    def _record(self) -> None:
        """Put the current track in the ledger, timed from its real start; it is sent at the next flush."""
        self.reached = True
        plan = self._plan(self.start)
        ledger = self.app.ledger
        recorded = record_plan(ledger, plan, self.setlist.force, self.session, targets=self.targets)
        if (recorded.refused or recorded.kept) and self._overlaps_only_mine(plan):
            # `n` started this track before the last one's full length was over: that row is this session's own.
            recorded = record_plan(ledger, plan, force=True, session=self.session, targets=self.targets)
        if recorded.refused or recorded.kept:
            self._refuse(recorded.refused)
            return
        standing = ledger.standing([identity(s.artist, s.track, s.timestamp) for s in recorded.already])
        for entry in recorded.fresh + list(standing.values()):
            self.mine[entry.id] = self.index
            self.unsettled.add(entry.id)
        self.send_due = True

    def _overlaps_only_mine(self, plan: Plan) -> bool:
        clash = self.app.ledger.overlapping(plan.started_at, plan.finished_at, self.session)
        return bool(clash) and all(e.id in self.mine for e in clash)

    def _flush(self) -> None:
        retry = bool(self.unsettled) and self.last_attempt is not None \
            and self.clock.now() >= self.last_attempt + RETRY_SECONDS
        if self.send_due or retry:
            self._send()

    def _send(self) -> None:
        """Send every pending scrobble (this session's and any left by earlier commands), then report ours."""
        self.send_due = False
        self.last_attempt = self.clock.now()
        log, listenbrainz = send_everywhere(self.app)
        self.last_stop = log.stopped or (listenbrainz.stopped if listenbrainz is not None else None)
        now = self.clock.now()
        for entry in self.app.ledger.get(sorted(self.unsettled)):
            track = self.tracks[self.mine[entry.id]]
            status = _status(entry)
            if status in (PENDING, IN_FLIGHT):
                if entry.id not in self.shown_waiting:
                    self.shown_waiting.add(entry.id)
                    why = "daily limit reached" if entry.deferred else str(log.stopped or "kept for later")
                    self.emit(Scrobbled(now, track, entry.timestamp, "waiting", why))
                continue
            self.unsettled.discard(entry.id)
            message = entry.to_json()["reason"] or entry.message or \
                str(entry.targets.get(LISTENBRAINZ, {}).get("message") or "") or None
            self.emit(Scrobbled(now, track, entry.timestamp, status, message, entry.corrections))
        if self.unsettled and log.stopped is not None:
            self.emit(Problem(now, f"Last.fm did not take the scrobbles ({log.stopped}); "
                                   f"{len(self.unsettled)} waiting, tried again within a minute"))

    def _close(self) -> Finished:
        self.closing = True
        if self.unsettled:
            self._send()  # the last attempt; what Last.fm still refuses waits for the next command
        return self._summary()

    def _summary(self) -> Finished:
        self.release()
        statuses = [_status(e) for e in self.app.ledger.get(self.mine)]
        waiting = sum(1 for s in statuses if s in (PENDING, IN_FLIGHT))
        ignored = statuses.count(IGNORED)
        failed = statuses.count(FAILED)
        if self.halted == "interrupted":
            status = ExitStatus.INTERRUPTED
        elif waiting:
            status = self.last_stop.exit_status if self.last_stop is not None else ExitStatus.TRY_LATER
        elif self.refused:
            status = ExitStatus.ERROR
        elif ignored or failed:
            status = ExitStatus.PARTLY_IGNORED
        else:
            status = ExitStatus.OK
        done = Finished(self.clock.now(), statuses.count(ACCEPTED), ignored, failed, waiting, self.refused,
                        self.app.requests(), self.halted, int(status))
        self.emit(done)
        return done
