"""A play-along session driven from outside a terminal (the page): the live Player in a thread of its own,
commands in place of keys, and a state any thread can read.

The player is the one `scrobble album --live` runs; only its clock differs:
`CommandClock.wait` returns the commands the page sends (the same keys a
terminal gives), and `interrupt()` raises KeyboardInterrupt inside the
session's thread, so a server stopped with Ctrl-C ends the session exactly
as Ctrl-C ends `--live`. One session at a time per state folder: both hold
`live.lock` while they play.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app import App
from config import Settings
from errors import RussfmError
from statefiles import file_lock

from scrobble.live import ENTER, NEXT, PAUSE, PLAYING, QUIT, SKIP_SIDE, TURNING, Player, Setlist
from scrobble.live_events import Event, Finished, LiveTrack

LIVE_LOCK = "live.lock"
COMMANDS = {"pause": PAUSE, "resume": PAUSE, "skip": NEXT, "side": ENTER, "skip-side": SKIP_SIDE, "stop": QUIT}
MAX_EVENTS = 500  # a session of a long box set keeps its latest events
_INTERRUPT = "\x03"


@contextmanager
def live_turn(state_dir: Path, command: str) -> Iterator[None]:
    """Hold the play-along lock of the state folder, or Busy naming the session that holds it."""
    with file_lock(state_dir / LIVE_LOCK, command, wait=0.0, what="a play-along session is already running"):
        yield


class CommandClock:
    """Time for a session, with commands for keys. `speed` > 1 plays faster than real time (demos and tests):
    the clock then starts `lead` seconds in the past so that the session's scrobbles stay in the past."""

    interactive = True  # side turns wait for the page's "side B is on"

    def __init__(self, speed: float = 1.0, lead: float = 0.0, on_wait: Callable[[], None] | None = None) -> None:
        self.speed, self.lead, self.on_wait = speed, lead, on_wait
        self.origin = time.time()
        self.commands: queue.Queue[str] = queue.Queue()

    def now(self) -> float:
        return self.origin - self.lead + (time.time() - self.origin) * self.speed

    def wait(self, until: float) -> str | None:
        if self.on_wait is not None:
            self.on_wait()
        while True:
            left = (until - self.now()) / self.speed
            if left <= 0:
                return None
            try:
                key = self.commands.get(timeout=min(left, 3600.0))
            except queue.Empty:
                continue
            if key == _INTERRUPT:
                raise KeyboardInterrupt
            return key

    def press(self, key: str) -> None:
        self.commands.put(key)

    def interrupt(self) -> None:
        self.commands.put(_INTERRUPT)


@dataclass
class LiveState:
    """What a page shows of a session: the moment it was taken, and the events so far."""

    album: str
    album_artist: str
    slug: str
    phase: str  # ready, playing, turning, done
    track: LiveTrack | None
    elapsed: float
    taken_at: float
    paused: bool
    scrobbled: bool
    next: LiveTrack | None
    next_side: str | None  # while turning: the side to put on
    speed: float
    events: list[dict[str, Any]] = field(default_factory=list)
    finished: dict[str, Any] | None = None

    def to_json(self, now: float | None = None) -> dict[str, Any]:
        elapsed = self.elapsed
        if now is not None and self.phase == PLAYING and not self.paused:
            elapsed += max(0.0, now - self.taken_at)
        if self.track is not None:
            elapsed = min(elapsed, float(self.track.duration))
        return {"album": self.album, "album_artist": self.album_artist, "slug": self.slug, "phase": self.phase,
                "track": self.track.to_json() if self.track else None, "elapsed": round(elapsed, 1),
                "paused": self.paused, "scrobbled": self.scrobbled,
                "next": self.next.to_json() if self.next else None, "next_side": self.next_side,
                "speed": self.speed, "events": self.events, "finished": self.finished}


class LiveSession:
    """One session playing in a thread of this process; `state()` and `command()` are safe from any thread."""

    def __init__(self, settings: Settings, setlist: Setlist, command: str = "serve", speed: float = 1.0,
                 on_end: Callable[[LiveSession], None] | None = None) -> None:
        self.settings, self.setlist, self.speed, self.on_end = settings, setlist, speed, on_end
        length = sum(t.duration for t in setlist.tracks)
        lead = 0.0 if speed == 1 else float(length) * 2 + 3600
        self.clock = CommandClock(speed, lead, on_wait=self._take)
        self.command_name = command
        self._lock = threading.Lock()
        self._events: list[dict[str, Any]] = []
        self._seq = 0
        self._state: LiveState | None = None
        self._finished: Finished | None = None
        self._player: Player | None = None
        self._holding = ExitStack()
        self._thread = threading.Thread(target=self._run, name="play-along", daemon=True)
        self.error: str | None = None

    # --- starting and stopping ----------------------------------------------------------------
    def start(self) -> None:
        """Take the play-along lock (Busy when another session holds it), then play in the thread."""
        self._holding.enter_context(live_turn(self.settings.state_dir, self.command_name))
        self._thread.start()

    def command(self, name: str) -> None:
        """A page's button: pause, resume, skip, side, skip-side or stop."""
        key = COMMANDS.get(name)
        if key is None:
            raise KeyError(name)
        if name in ("pause", "resume"):
            state = self.state()
            if state.paused != (name == "resume"):
                return  # already as asked: two devices pressing pause at once do not undo each other
        self.clock.press(key)

    def interrupt(self) -> None:
        """Stop as Ctrl-C stops `--live`: nothing more is recorded, one last attempt sends what was due
        (waiting for the send lock and for Last.fm as long as a command would)."""
        if self._thread.is_alive():
            self.clock.interrupt()
            self._thread.join(self.settings.lock_wait + 2 * self.settings.timeout + 10)

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    # --- the session's thread -------------------------------------------------------------------
    def _run(self) -> None:
        app = App(self.settings, self.command_name, clock=time.time)
        try:
            player = Player(app, self.setlist, self.clock, self._event)
            self._player = player
            try:
                player.run()
            except KeyboardInterrupt:
                player.stop("interrupted")
        except RussfmError as exc:  # not signed in, a broken ledger: the page shows the one line
            self.error = str(exc)
        except Exception as exc:  # a fault of this tool: the page says the session stopped, the lock is let go
            self.error = f"the session stopped on an unexpected error ({exc.__class__.__name__})"
            raise
        finally:
            app.close()
            self._take()
            self._holding.close()
            if self.on_end is not None:
                self.on_end(self)

    def _event(self, event: Event) -> None:
        with self._lock:
            self._seq += 1
            data = event.to_json()
            data["seq"] = self._seq
            self._events.append(data)
            del self._events[:-MAX_EVENTS]
            if isinstance(event, Finished):
                self._finished = event
        self._take()

    def _take(self) -> None:
        """Note the player's state; called from the session's thread between its steps."""
        player, s = self._player, self.setlist
        now = self.clock.now()
        if player is None:
            state = LiveState(s.album, s.album_artist, s.slug, "ready", None, 0.0, now, False, False, None, None,
                              self.speed)
        else:
            progress = player.progress()
            turning = player.phase == TURNING
            state = LiveState(
                s.album, s.album_artist, s.slug, player.phase,
                progress.track if progress else (player.track if turning else None),
                progress.elapsed if progress else 0.0, now, bool(progress and progress.paused),
                bool(progress and progress.scrobbled), progress.next if progress else None,
                player.track.face_name if turning else None, self.speed)
        with self._lock:
            self._state = state

    def state(self, since: int = 0) -> LiveState:
        """The state, with the events after number `since`."""
        with self._lock:
            base = self._state
            events = [e for e in self._events if e["seq"] > since]
            finished = self._finished
        if base is None:
            s = self.setlist
            base = LiveState(s.album, s.album_artist, s.slug, "ready", None, 0.0, self.clock.now(), False, False,
                             None, None, self.speed)
        out = LiveState(**{**base.__dict__, "events": events})
        out.finished = finished.to_json() if finished is not None else None
        if self.error:
            out.finished = {"error": self.error}
        return out
