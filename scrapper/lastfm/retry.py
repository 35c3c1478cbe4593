"""How long to wait before trying Last.fm again: bounded exponential backoff with jitter."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

ATTEMPTS = 4


@dataclass
class RetryPolicy:
    attempts: int = ATTEMPTS
    base_delay: float = 2.0
    max_delay: float = 60.0
    sleep: Callable[[float], None] = time.sleep

    def delay(self, attempt: int, longer: bool = False) -> float:
        """Exponential backoff with full jitter; rate limiting (error 29) waits longer."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** attempt) * (3 if longer else 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def pause(self, attempt: int, longer: bool = False) -> None:
        self.sleep(self.delay(attempt, longer))
