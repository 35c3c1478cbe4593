"""The lock that guards sending, shared by every process of one state folder, with interactive commands first.

Only the holder of `send.lock` decides what to send, sends it, and settles
in-flight rows. Interactive commands (`scrobble album`, `scrobble track`, a
play-along session) hold a shared lock on `send.wanted` while they wait and
send; the queue runner takes `send.lock` one batch at a time and lets them
go first, so it never delays them by more than the batch it is sending.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from errors import Busy
from statefiles import POLL_SECONDS, busy_message, file_lock, is_locked

SEND_LOCK = "send.lock"
WANT_LOCK = "send.wanted"


@contextmanager
def interactive_turn(state_dir: Path, command: str, wait: float) -> Iterator[None]:
    """Hold the send lock for an interactive command, waiting up to `wait` seconds for it."""
    with file_lock(state_dir / WANT_LOCK, command, wait=wait, shared=True):
        with file_lock(state_dir / SEND_LOCK, command, wait=wait, what="cannot send now"):
            yield


@contextmanager
def queue_turn(state_dir: Path, command: str, wait: float) -> Iterator[None]:
    """Hold the send lock for one batch of the queue runner, after any interactive command that wants it."""
    deadline = time.monotonic() + wait
    while is_locked(state_dir / WANT_LOCK):
        if time.monotonic() >= deadline:
            raise Busy(busy_message(state_dir / SEND_LOCK, "the queue waits for a command that is sending"))
        time.sleep(POLL_SECONDS)
    with file_lock(state_dir / SEND_LOCK, command, wait=max(0.0, deadline - time.monotonic()),
                   what="the queue waits for a command that is sending"):
        yield
