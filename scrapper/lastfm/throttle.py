"""A sliding-window request limit shared by every process of one state folder.

The times of recent requests live in a small file under a lock, so a cron
`queue run`, a play-along session and a one-off command together stay
within Last.fm's 5 requests a second.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from statefiles import FILE_MODE, private_dir

THROTTLE_FILE = "requests.times"


class Throttle:
    def __init__(self, path: Path | None, limit: int, window: float,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep) -> None:
        self.path = path
        self.limit = limit
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._local: list[float] = []  # used only without a state folder
        self._thread_lock = threading.Lock()
        self.waited = 0.0
        if path is not None:
            private_dir(path.parent)

    def _take(self, times: list[float]) -> tuple[list[float], float]:
        """(times kept, seconds to wait); when the wait is 0, now was added to the times."""
        now = self._clock()
        # Times ahead of now come from a clock that was set back: they cannot block forever.
        recent = [t for t in times if now - self.window < t <= now]
        if len(recent) < self.limit:
            return recent + [now], 0.0
        return recent, recent[-self.limit] + self.window - now

    def wait(self) -> None:
        """Block until one more request fits in the window, then count it as sent now."""
        with self._thread_lock:
            while True:
                if self.path is None:
                    self._local, pause = self._take(self._local)
                else:
                    pause = self._shared_take()
                if pause <= 0:
                    return
                self.waited += pause
                self._sleep(pause)

    def _shared_take(self) -> float:
        assert self.path is not None
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # held for microseconds: a read and a write
            raw = os.pread(fd, 4096, 0)
            try:
                times = [float(t) for t in json.loads(raw or b"[]")]
            except (ValueError, TypeError):
                times = []  # a damaged record only costs one window of caution
            kept, pause = self._take(times)
            if pause <= 0:
                data = json.dumps(kept[-self.limit:]).encode()
                os.ftruncate(fd, 0)
                os.pwrite(fd, data, 0)
            return pause
        finally:
            os.close(fd)
