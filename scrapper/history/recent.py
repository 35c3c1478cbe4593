"""`lastfm recent`: the latest scrobbles straight from Last.fm (one request), each with the record it is from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app import App
from errors import UsageError
from history.archive import collection_matcher
from history.sync import PAGE_SIZE, recent_page
from scrobble.timeparse import iso_utc


@dataclass
class RecentPlay:
    artist: str
    track: str
    album: str
    timestamp: int | None  # None while it is playing
    slug: str | None = None

    @property
    def now_playing(self) -> bool:
        return self.timestamp is None

    def to_json(self) -> dict[str, Any]:
        return {"artist": self.artist, "track": self.track, "album": self.album,
                "timestamp": self.timestamp, "time": iso_utc(self.timestamp), "now_playing": self.now_playing,
                "slug": self.slug}


@dataclass
class RecentResult:
    user: str
    plays: list[RecentPlay] = field(default_factory=list)  # the one playing now first, then newest first
    requests: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"user": self.user, "plays": [p.to_json() for p in self.plays], "requests": self.requests}


def recent_plays(app: App, limit: int = 10) -> RecentResult:
    if not 1 <= limit <= PAGE_SIZE:
        raise UsageError(f"--limit must be 1 to {PAGE_SIZE}")
    user = app.lastfm_user()
    client = app.reader()
    before = client.requests
    page = recent_page(client, user, 1, limit)
    matcher = collection_matcher(app.settings.state_dir, app.store)
    playing = [page.now_playing] if page.now_playing else []
    result = RecentResult(user, requests=client.requests - before)
    for play in playing + page.items[:limit]:
        result.plays.append(RecentPlay(play["artist"], play["track"], play["album"], play.get("timestamp"),
                                       matcher.slug_of(play)))
    return result
