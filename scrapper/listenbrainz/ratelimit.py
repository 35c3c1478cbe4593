"""ListenBrainz's rate limit as its answers state it, shared by every process of one state folder.

ListenBrainz publishes no numbers: each answer says how many requests are
left in the current window (`X-RateLimit-Remaining`) and when it resets
(`X-RateLimit-Reset-In`, seconds). The latest of these is kept in a small
file under a lock; each request takes one of the remaining places before it
leaves, so a cron `queue run`, a play-along session and an import together
never spend more than was left, and a 429 makes every process wait out the
window.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from statefiles import FILE_MODE, private_file

RATE_FILE = "listenbrainz.ratelimit"
MAX_WAIT = 3600.0  # a reset time further than this is a broken header, not a rule
SAME_WINDOW = 1.0  # reset times this close belong to the same window


def _number(headers: Mapping[str, str], name: str) -> float | None:
    try:
        value = float(headers.get(name, ""))
    except ValueError:
        return None
    return value if 0 <= value < 1e9 else None


class RateLimit:
    def __init__(self, path: Path | None, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.path = path
        self._clock = clock
        self._sleep = sleep
        self._local: dict = {}
        self.waited = 0.0
        if path is not None:
            private_file(path)

    def _update(self, change: Callable[[dict], tuple[dict | None, float]]) -> float:
        """Apply `change` to the stored state (under the file lock); the pause it asks for."""
        if self.path is None:
            kept, pause = change(dict(self._local))
            if kept is not None:
                self._local = kept
            return pause
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            raw = os.pread(fd, 4096, 0)
            try:
                state = json.loads(raw or b"{}")
                if not isinstance(state, dict):
                    state = {}
            except ValueError:
                state = {}  # a damaged record costs nothing but the next answer's headers
            kept, pause = change(state)
            if kept is not None:
                os.ftruncate(fd, 0)
                os.pwrite(fd, json.dumps(kept).encode(), 0)
            return pause
        finally:
            os.close(fd)

    def wait(self) -> None:
        """Block until the window has a place left, and take it."""
        while True:
            def take(state: dict) -> tuple[dict | None, float]:
                now = self._clock()
                remaining, reset_at = state.get("remaining"), state.get("reset_at")
                if not isinstance(remaining, int) or not isinstance(reset_at, (int, float)) or now >= reset_at:
                    return None, 0.0  # no window known, or it is over: go
                if remaining <= 0:
                    return None, min(reset_at - now, MAX_WAIT)
                return {**state, "remaining": remaining - 1}, 0.0

            pause = self._update(take)
            if pause <= 0:
                return
            self.waited += pause
            self._sleep(pause)

    def learn(self, headers: Mapping[str, str], limited: bool = False) -> float:
        """Keep what an answer said about the window; returns its seconds to the reset. A 429 (`limited`)
        closes the window for everyone until then."""
        remaining = _number(headers, "X-RateLimit-Remaining")
        reset_in = _number(headers, "X-RateLimit-Reset-In")
        if limited:
            remaining, reset_in = 0, max(reset_in if reset_in is not None else 1.0, 1.0)
        if remaining is None or reset_in is None:
            return reset_in or 0.0
        reset_in = min(reset_in, MAX_WAIT)

        def keep(state: dict) -> tuple[dict | None, float]:
            reset_at = self._clock() + reset_in
            left = int(remaining)
            old_left, old_reset = state.get("remaining"), state.get("reset_at")
            # Answers come back out of order: within one window the smallest count left is the true one.
            if isinstance(old_left, int) and isinstance(old_reset, (int, float)) \
                    and abs(old_reset - reset_at) <= SAME_WINDOW:
                left = min(left, old_left)
            return {"remaining": left, "reset_at": reset_at}, 0.0

        self._update(keep)
        return reset_in
