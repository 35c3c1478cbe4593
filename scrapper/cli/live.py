"""`scrobble album --live` at a terminal: keys in cbreak mode, a status line redrawn each second, events as text or JSON."""

from __future__ import annotations

import os
import select
import shutil
import sys
import termios
import time
import tty
from collections import deque
from collections.abc import Callable
from typing import Any, TextIO

import click
from app import App
from collection.duration_format import format_duration
from errors import ExitStatus
from scrobble.live import ENTER, NEXT, PAUSE, QUIT, SKIP_SIDE, Player, Setlist, prepare
from scrobble.live_session import live_turn
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
from scrobble.planner import PlanOptions
from scrobble.send import find_record
from scrobble.timeparse import local_clock, local_time

from cli.output import echo, json_text, plural, safe

TICK_SECONDS = 1.0  # the status line is redrawn at most this often
BAR_WIDTH = 24
KEYS = {" ": PAUSE, "n": NEXT, "N": NEXT, "q": QUIT, "Q": QUIT, "s": SKIP_SIDE, "S": SKIP_SIDE,
        "\n": ENTER, "\r": ENTER}


class TerminalClock:
    """Real time. On a terminal, `wait` also returns keys (stdin in cbreak mode while the clock is entered,
    its settings restored on every exit) and calls `on_tick` each second it waits; elsewhere it sleeps."""

    def __init__(self, stream: TextIO, on_tick: Callable[[], None] | None = None) -> None:
        self.interactive = stream.isatty()
        self.fd = stream.fileno() if self.interactive else -1
        self.on_tick = on_tick
        self.keys: deque[str] = deque()
        self._saved: list[Any] | None = None

    def __enter__(self) -> TerminalClock:
        if self.interactive:
            self._saved = termios.tcgetattr(self.fd)
            tty.setcbreak(self.fd)  # keys arrive one by one, unechoed; Ctrl-C still interrupts
        return self

    def __exit__(self, *exc: object) -> None:
        if self._saved is not None:
            termios.tcsetattr(self.fd, termios.TCSADRAIN, self._saved)
            self._saved = None

    def now(self) -> float:
        return time.time()

    def wait(self, until: float) -> str | None:
        while not self.keys:
            left = until - time.time()
            if left <= 0:
                return None
            if not self.interactive:
                time.sleep(left)
                return None
            ready, _, _ = select.select([self.fd], [], [], min(left, TICK_SECONDS))
            if not ready:
                if self.on_tick and left > TICK_SECONDS:  # a whole second went by: time to redraw
                    self.on_tick()
                continue
            data = os.read(self.fd, 64)
            if not data:  # the terminal went away: no more keys, only time
                self.interactive = False
            self.keys.extend(KEYS[c] for c in data.decode(errors="ignore") if c in KEYS)
        return self.keys.popleft()


def _title(track: LiveTrack, album_artist: str = "") -> str:
    s = track.item
    artist = f"{s.artist} — " if s.artist != album_artist else ""
    return f"{s.position or s.track_number}  {artist}{s.track}"


def bar(progress: Progress, width: int = BAR_WIDTH) -> str:
    """`[#####--|--]`: the played part, and the threshold mark while it lies ahead."""
    length = max(progress.track.duration, 1)
    cells = ["#" if i < width * progress.elapsed / length else "-" for i in range(width)]
    if progress.track.counts and not progress.scrobbled and progress.elapsed < progress.track.threshold:
        cells[min(width - 1, int(width * progress.track.threshold / length))] = "|"
    return "[" + "".join(cells) + "]"


def status_line(progress: Progress) -> str:
    track = progress.track
    if not track.counts:
        note = "too short to scrobble"
    elif progress.scrobbled:
        note = "scrobbled"
    else:
        note = f"scrobbled at {format_duration(int(track.threshold))}"
    line = (f"{_title(track, track.item.album_artist)} {bar(progress)} "
            f"{format_duration(int(progress.elapsed))}/{format_duration(track.duration)} {note}")
    if progress.paused:
        line += "  PAUSED (space resumes)"
    if progress.next is not None:
        line += f"  · next: {_title(progress.next, track.item.album_artist)}"
    return line


class Display:
    """Events as lines on stdout (or JSON, one object a line), and on a terminal a status line on stderr."""

    def __init__(self, as_json: bool, status: bool) -> None:
        self.as_json = as_json
        self.status = status and not as_json
        self.progress: Callable[[], Progress | None] = lambda: None
        self.drawn = False

    def event(self, event: Event) -> None:
        if self.as_json:
            click.echo(json_text(event.to_json(), indent=None))
            return
        self.clear()
        line = describe(event)
        if line:
            echo(line, err=isinstance(event, Problem))
        self.redraw()

    def redraw(self) -> None:
        progress = self.progress() if self.status else None
        if progress is None:
            return
        width = shutil.get_terminal_size().columns - 1
        click.echo("\r\033[K" + safe(status_line(progress))[:width], nl=False, err=True)
        self.drawn = True

    def clear(self) -> None:
        if self.drawn:
            click.echo("\r\033[K", nl=False, err=True)
            self.drawn = False


def describe(event: Event) -> str:
    """The line an event prints (empty: none)."""
    if isinstance(event, Started):
        keys = "; keys: space pauses, n next track, q stops" if event.interactive else ""
        return (f"{event.album_artist} — {event.album}  [{event.slug}]: {plural(event.tracks, 'track')}, "
                f"playing along from {local_clock(event.started_at)[11:]}{keys}")
    if isinstance(event, NowPlaying):
        line = f"▶ {_title(event.track, event.track.item.album_artist)} ({format_duration(event.track.duration)})"
        if not event.accepted:
            line += f"  (not shown as now playing: {event.reason})"
        return line
    if isinstance(event, Scrobbled):
        line = f"{local_time(event.timestamp)}  {_title(event.track, event.track.item.album_artist)}"
        if event.status == "accepted":
            fixes = ", ".join(f"{k} → {v}" for k, v in event.corrections.items())
            return f"  accepted  {line}" + (f"  (Last.fm corrected {fixes})" if fixes else "")
        if event.status == "waiting":
            return f"  waiting   {line}: {event.reason}; to be retried"
        return f"  {event.status.upper():<9} {line}: {event.reason}"
    if isinstance(event, Paused):
        return "paused (space resumes)"
    if isinstance(event, Resumed):
        return f"resumed after {format_duration(int(event.paused_for))}"
    if isinstance(event, Skipped):
        if event.track is None:
            return f"skipped {event.side}"
        verdict = "scrobbled: it had played long enough" if event.scrobbled else "not scrobbled"
        return f"skipped {_title(event.track, event.track.item.album_artist)} ({verdict})"
    if isinstance(event, SideDone):
        done = f"{event.side[:1].upper()}{event.side[1:]} {'skipped' if event.skipped else 'done'}"
        if event.waits_for_key:
            return f"{done}: turn to {event.next_side} and press Enter; s skips the side, q stops"
        when = local_clock(event.resumes_at)[11:] if event.resumes_at is not None else "now"
        return f"{done}: {event.next_side} starts at {when}"
    if isinstance(event, SideStarted):
        return f"{event.side} started ({format_duration(int(event.turned_in))} to turn)"
    if isinstance(event, Stopped):
        if event.track is None:
            return "stopped"
        verdict = "scrobbled" if event.scrobbled else (
            "not scrobbled: its time overlaps another listen" if event.refused
            else "not scrobbled: it had not played long enough")
        return f"stopped during {_title(event.track, event.track.item.album_artist)} ({verdict})"
    if isinstance(event, Problem):
        return f"warning: {event.message}"
    if isinstance(event, Finished):
        line = f"{event.accepted} accepted, {event.ignored + event.failed} ignored"
        if event.waiting:
            line += f", {event.waiting} waiting (sent by the next scrobble command)"
        if event.refused:
            line += f", {event.refused} not recorded"
        return line + f"; {plural(event.requests, 'request')} to Last.fm"
    return ""


def play_along(app: App, query: str | None, lastfm: tuple[str, str] | None, options: PlanOptions,
               force: bool, as_json: bool) -> ExitStatus:
    """Play the record along in real time; Ctrl-C stops cleanly (one last send attempt) and exits 130."""
    album = find_record(app, query, lastfm, signed=True)
    setlist = prepare(app, album, options, force)
    with live_turn(app.settings.state_dir, app.command):  # one session per state folder, the page's included
        return _play(app, setlist, as_json)


def _play(app: App, setlist: Setlist, as_json: bool) -> ExitStatus:
    display = Display(as_json, status=sys.stderr.isatty() and not app.settings.quiet)
    clock = TerminalClock(sys.stdin, on_tick=display.redraw)
    player = Player(app, setlist, clock, display.event)
    display.progress = player.progress
    try:
        with clock:
            summary = player.run()
    except KeyboardInterrupt:  # the terminal is restored by now; the stop still reports and sends what was due
        display.clear()
        summary = player.stop("interrupted")
    finally:
        player.release()
    display.clear()
    return summary.status
