"""Track durations from Last.fm's album.getInfo, for tracks neither Discogs nor Spotify could time."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from cache import Cache
from collection.album import Album
from collection.names import fold, title_key
from collection.tracklist import Track
from errors import LastfmNotFound, LastfmTemporary
from scrobble.planner import DurationFiller

if TYPE_CHECKING:
    from lastfm.client import LastFM

log = logging.getLogger("russfm.durations")
MAX_AGE = 30 * 86400  # a record's track lengths hardly change


def cache_key(artist: str, title: str) -> str:
    """The cache key of an album.getInfo answer: the names as asked, folded."""
    return f"{fold(artist)}\t{fold(title)}"


def lastfm_durations(client: LastFM, cache: Cache) -> DurationFiller:
    """One album.getInfo per album (cached); a failure leaves the tracks to the 180 s default."""

    def fill(album: Album, tracks: list[Track]) -> list[Track]:
        key = cache_key(album.artist, album.title)
        found, info = cache.get(key, MAX_AGE)
        if not found:
            try:
                info = client.album_info(album.artist, album.title)
            except LastfmNotFound:
                info = None
            except LastfmTemporary as exc:
                log.warning("no Last.fm durations for %s: %s", album.slug, exc)
                return tracks
            cache.put(key, info)
        if not info:
            return tracks
        by_title: dict[str, int] = {}
        for item in info.get("tracks", []):
            seconds = item.get("duration")
            if isinstance(seconds, int) and 0 < seconds < 6 * 3600:
                by_title.setdefault(title_key(item["name"]), seconds)
        return [
            t.with_duration(by_title[title_key(t.title)], "lastfm")
            if t.duration is None and title_key(t.title) in by_title else t
            for t in tracks
        ]

    return fill
