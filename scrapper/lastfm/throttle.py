"""A sliding-window request limit shared by every process of one state folder.

The times of recent requests live in a small file under a lock, so a cron
`queue run`, a play-along session and a one-off command together stay
within Last.fm's 5 requests a second. A request holds its place from when
it starts until its answer has come, and then counts from that moment: it
reached Last.fm somewhere in between, so the spacing Last.fm sees never
falls below the window however slow the network was.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from errors import StateError
from statefiles import FILE_MODE, private_file, process_running, write_failed

THROTTLE_FILE = "requests.times"
ABANDONED = 120.0  # a request unanswered this long is given up, whatever its process
Record = tuple[float, int]  # (time, pid): an answered request's answer time, or minus a waiting one's start
POLL_SECONDS = 0.05


class Throttle:
    def __init__(self, path: Path | None, limit: int, window: float,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep) -> None:
        self.path = path
        self.limit = limit
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._local: list[Record] = []  # used only without a state folder
        self._thread_lock = threading.Lock()
        self.waited = 0.0
        if path is not None:
            private_file(path)

    def _take(self, times: list[Record], now: float) -> tuple[list[Record], float]:
        """(records kept, seconds to wait); when the wait is 0, a request starting `now` was added.

        Answered requests are kept as the time their answer came; requests still waiting for
        theirs as minus their start, with the process that sent them, and count until they are
        answered, or their process is gone.
        """
        # Times ahead of now come from a clock that was set back: they cannot block forever.
        answered = sorted(r for r in times if now - self.window < r[0] <= now)
        waiting = [r for r in times if r[0] < 0 and now - ABANDONED < -r[0] <= now and process_running(r[1])]
        busy = len(answered) + len(waiting)
        if busy < self.limit:
            return answered + waiting + [(-now, os.getpid())], 0.0
        ages_out = busy - self.limit  # this many answered requests must leave the window first
        if ages_out < len(answered):
            return answered + waiting, answered[ages_out][0] + self.window - now
        return answered + waiting, POLL_SECONDS  # all places held by requests still waiting

    def wait(self) -> Record:
        """Block until one more request fits in the window, then count it as started now; returns its
        place, to be given to `done` when the answer has come."""
        started: list[float] = []

        def take(times: list[Record]) -> tuple[list[Record], float]:
            # The time is read under the file lock: one read before it could be older than what another
            # process wrote meanwhile, and its entries would then look like a clock set back.
            started[:] = [self._clock()]
            return self._take(times, started[0])

        while True:
            with self._thread_lock:  # not held while sleeping: another thread's `done` may be what frees a place
                pause = self._update(take)
            if pause <= 0:
                return (-started[0], os.getpid())
            self.waited += pause
            self._sleep(pause)

    def done(self, place: Record) -> None:
        """The request's answer has come: from now on it counts from this moment."""
        now = self._clock()

        def finish(times: list[Record]) -> tuple[list[Record], float]:
            if place in times:  # places of requests started at the same instant are alike: answer one
                times[times.index(place)] = (now, place[1])
            return times, 0.0

        with self._thread_lock:
            try:
                self._update(finish)
            except StateError:
                pass  # the place is freed when this process ends, as a killed process's is

    def _update(self, change: Callable[[list[Record]], tuple[list[Record], float]]) -> float:
        """Apply `change` to the recorded times (in the shared file under its lock); the pause it asks for."""
        if self.path is None:
            self._local, pause = change(self._local)
            return pause
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        except OSError as exc:
            raise write_failed(self.path, exc) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # held for microseconds: a read and a write
            raw = os.pread(fd, 4096, 0)
            try:
                times = [(float(t), int(pid)) for t, pid in json.loads(raw or b"[]")]
            except (ValueError, TypeError):
                times = []  # a damaged record only costs one window of caution
            kept, pause = change(times)
            if pause <= 0:
                # Written over the old record, then cut to length: the block the file already has takes it,
                # so a full disk does not leave the record empty.
                data = json.dumps(kept).encode()
                os.pwrite(fd, data, 0)
                os.ftruncate(fd, len(data))
            return pause
        except OSError as exc:
            raise write_failed(self.path, exc) from None
        finally:
            os.close(fd)
