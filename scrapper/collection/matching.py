"""Which collection album a Last.fm play belongs to: by artist and title, by album mbid, compilations by track artist."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from collection.album import Album
from collection.lookup import load_album
from collection.names import VARIOUS_ARTISTS, album_key
from collection.store import Store, entry_slug
from errors import CollectionError


def album_mbid(album: Album) -> str:
    """The album's Last.fm (MusicBrainz) id from `services.lastfm.mbid`, or ""."""
    services = album.data.get("services")
    lastfm = services.get("lastfm") if isinstance(services, dict) else None
    mbid = lastfm.get("mbid") if isinstance(lastfm, dict) else None
    return mbid.strip().lower() if isinstance(mbid, str) else ""


def _keys(album: Album) -> set[str]:
    """The album keys a play of this album can carry.

    Last.fm's recent tracks name the track artist, never the album artist, so
    a compilation is found by its title with any of its track artists (or
    with "Various Artists" itself, as some players send it). The albums of a
    box set are scrobbled under their own titles: see `_box_keys`.
    """
    keys = {album_key(album.artist, album.title)}
    if album.artist == VARIOUS_ARTISTS:
        for track in album.tracks:
            for part in [track, *track.parts]:
                if part.artist:
                    keys.add(album_key(part.artist, album.title))
    return keys


def _box_keys(album: Album) -> set[str]:
    """The keys of the albums inside a box set, which find the box when no record holds that album alone
    (a compilation's with its track artists too, as for its own title)."""
    keys = {album_key(album.artist, title) for title in album.box_albums}
    if album.artist == VARIOUS_ARTISTS:
        for track in album.tracks:
            for part in [track, *track.parts]:
                if part.artist and part.album:
                    keys.add(album_key(part.artist, part.album))
    return keys - _keys(album)


@dataclass
class Matcher:
    """Album keys and mbids of the collection, each pointing at one slug; built once, then asked per play."""

    by_key: dict[str, str] = field(default_factory=dict)
    by_mbid: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_albums(cls, albums: Iterable[Album]) -> Matcher:
        """A key several records share (an LP and its deluxe box) goes to the one with the shortest title,
        the plain edition, then to the first in the index; the title of an album inside a box goes to the box
        only when no record is that album itself. An mbid goes to the first in the index."""
        matcher = cls()
        ranks: dict[str, tuple[bool, int]] = {}
        for album in albums:
            for inside, keys in ((False, _keys(album)), (True, _box_keys(album))):
                for key in keys:
                    rank = (inside, len(album.title))
                    if key not in matcher.by_key or rank < ranks[key]:
                        matcher.by_key[key] = album.slug
                        ranks[key] = rank
            mbid = album_mbid(album)
            if mbid:
                matcher.by_mbid.setdefault(mbid, album.slug)
        return matcher

    @classmethod
    def from_store(cls, store: Store) -> Matcher:
        """From every album of the index that loads; a broken album file matches nothing.

        Albums are read one at a time rather than through `iter_albums`, which
        holds them all: for thousands of albums that is half the time and a
        sixth of the memory.
        """
        def albums() -> Iterator[Album]:
            for slug in dict.fromkeys(filter(None, map(entry_slug, store.index()))):
                try:
                    yield load_album(store, slug)
                except CollectionError:
                    continue

        return cls.from_albums(albums())

    def slug_of(self, play: Mapping[str, object]) -> str | None:
        """The slug of the record this play ({"artist", "album", "album_mbid"…}) is from, or None."""
        mbid = str(play.get("album_mbid") or "").strip().lower()
        if mbid and mbid in self.by_mbid:
            return self.by_mbid[mbid]
        album = str(play.get("album") or "")
        if not album.strip():
            return None
        return self.by_key.get(album_key(str(play.get("artist") or ""), album))
