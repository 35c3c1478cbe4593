"""Albums as Last.fm knows them (album.getInfo, cached): durations for tracks the collection could not time,
and whole tracklists for records that are not in the collection."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from cache import Cache
from collection.album import Album, album_from_lastfm
from collection.names import fold, title_key
from collection.tracklist import Track
from errors import AlbumNotFound, LastfmNotFound, LastfmTemporary
from scrobble.planner import DurationFiller

if TYPE_CHECKING:
    from lastfm.client import LastFM

log = logging.getLogger("russfm.lastfm_albums")
MAX_AGE = 30 * 86400  # a record's track lengths hardly change


def cache_key(artist: str, title: str) -> str:
    """The cache key of an album.getInfo answer: the names as asked, folded."""
    return f"{fold(artist)}\t{fold(title)}"


def album_info(client: LastFM, cache: Cache, artist: str, title: str) -> dict[str, Any] | None:
    """Last.fm's answer for the album (one request, then 30 days from the cache); None when it does not know it.
    Temporary failures are raised."""
    key = cache_key(artist, title)
    found, info = cache.get(key, MAX_AGE)
    if not found:
        try:
            info = client.album_info(artist, title)
        except LastfmNotFound:
            info = None
        cache.put(key, info)
    return info if isinstance(info, dict) else None


def lastfm_durations(client: LastFM, cache: Cache) -> DurationFiller:
    """One album.getInfo per album (cached); a failure leaves the tracks to the 180 s default."""

    def fill(album: Album, tracks: list[Track]) -> list[Track]:
        try:
            info = album_info(client, cache, album.artist, album.title)
        except LastfmTemporary as exc:
            log.warning("no Last.fm durations for %s: %s", album.slug, exc)
            return tracks
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


def lastfm_album(client: LastFM, cache: Cache, artist: str, title: str) -> Album:
    """A record that is not in the collection, with Last.fm's own tracklist and durations."""
    artist, title = " ".join(artist.split()), " ".join(title.split())
    if not artist or not title:
        raise AlbumNotFound("--lastfm needs an artist and an album title")
    info = album_info(client, cache, artist, title)
    if info is None:
        raise AlbumNotFound(f"Last.fm does not know the album {artist} — {title}")
    return album_from_lastfm(info, artist, title)
