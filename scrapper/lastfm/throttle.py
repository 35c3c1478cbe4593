"""A sliding-window limiter: never more than N requests inside any window of the given length."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class Throttle:
    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()
        self.waited = 0.0

    def wait(self) -> None:
        """Block until one more request fits, then count it as sent now."""
        with self._lock:
            while True:
                now = self._clock()
                while self._sent and self._sent[0] <= now - self.window:
                    self._sent.popleft()
                if len(self._sent) < self.limit:
                    self._sent.append(now)
                    return
                pause = self._sent[0] + self.window - now
                self.waited += pause
                self._sleep(pause)
