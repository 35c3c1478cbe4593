"""Albums as Last.fm knows them (album.getInfo, cached): durations for tracks the collection could not time,
whole tracklists for records that are not in the collection, and album search."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cache import Cache
from collection.album import Album, album_from_lastfm, fill_from_lastfm
from collection.lastfm_fields import safe_url
from collection.matching import Matcher
from collection.names import fold
from collection.tracklist import Track
from errors import AlbumNotFound, LastfmNotFound, LastfmTemporary, UsageError
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
    """One album.getInfo per album (cached); a failure leaves the tracks to the 180 s default.

    The tracks of a box's albums are looked up under the title they are
    scrobbled with (each album of the box), then, for any still untimed,
    under the box's own title.
    """

    def fill(album: Album, tracks: list[Track]) -> list[Track]:
        inner = [t.album for t in tracks if t.duration is None and t.album and t.album != album.title]
        for title in [*dict.fromkeys(inner), album.title]:
            def asked(track: Track, title: str = title) -> bool:
                return track.duration is None and (title == album.title or track.album == title)

            places = [i for i, t in enumerate(tracks) if asked(t)]
            if not places:
                continue
            try:
                info = album_info(client, cache, album.artist, title)
            except LastfmTemporary as exc:
                log.warning("no Last.fm durations for %s: %s", album.slug, exc)
                return tracks
            if not info:
                continue
            lengths = [(item["name"], seconds) for item in info.get("tracks", [])
                       if isinstance(seconds := item.get("duration"), int) and 0 < seconds < 6 * 3600]
            filled = fill_from_lastfm([tracks[i] for i in places], lengths)
            tracks = list(tracks)
            for i, track in zip(places, filled):
                tracks[i] = track
        return tracks

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


@dataclass
class Found:
    """One album of a Last.fm search, and the collection album it is when it is one."""

    artist: str
    title: str
    url: str | None
    listeners: int | None
    slug: str | None

    def to_json(self) -> dict[str, Any]:
        return {"artist": self.artist, "title": self.title, "listeners": self.listeners, "url": self.url,
                "in_collection": self.slug}


def search_albums(client: LastFM, cache: Cache, matcher: Matcher, query: str, limit: int = 10) -> list[Found]:
    """album.search (one request), each result's listeners from its album.getInfo (cached, so scrobbling
    one of them next with --lastfm costs nothing more), and the collection album each one is."""
    query = " ".join(query.split())
    if not query:
        raise UsageError("search for something: give words from an album title")
    found = []
    for item in client.search_albums(query, limit)[:limit]:
        artist, title = item["artist"], item["name"]
        if not artist or not title:
            continue
        try:
            info = album_info(client, cache, artist, title)
        except LastfmTemporary as exc:
            log.warning("no listeners for %s — %s: %s", artist, title, exc)
            info = None
        listeners = (info or {}).get("listeners")
        slug = matcher.slug_of({"artist": artist, "album": title, "album_mbid": item.get("mbid") or ""})
        found.append(Found(artist, title, safe_url(item.get("url")),
                           listeners if isinstance(listeners, int) else None, slug))
    return found
