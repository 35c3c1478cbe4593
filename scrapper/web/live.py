"""The page's play-along session: at most one at a time, kept after it ends so that every device sees how it went."""

from __future__ import annotations

import threading

from config import Settings
from errors import Busy
from scrobble.live import Setlist
from scrobble.live_session import LiveSession


class LiveHost:
    """Holds the current (or last) session of this server."""

    def __init__(self, settings: Settings, speed: float = 1.0) -> None:
        self.settings, self.speed = settings, speed
        self.current: LiveSession | None = None
        self._lock = threading.Lock()

    def start(self, setlist: Setlist) -> LiveSession:
        with self._lock:
            if self.current is not None and self.current.running:
                raise Busy("a record is already playing along: stop it on the Now playing page first")
            session = LiveSession(self.settings, setlist, "serve", self.speed)
            session.start()  # Busy when `scrobble album --live` plays in a terminal on this state folder
            self.current = session
            return session

    def interrupt(self) -> None:
        session = self.current
        if session is not None:
            session.interrupt()
