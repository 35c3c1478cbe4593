"""The Spotify and Last.fm data an album file holds: stored track lengths and the artist names they give."""

from __future__ import annotations

from collection.duration_format import is_track_length
from collection.names import star_key
from collection.tracklist import shown
from errors import CollectionError


def _services(data: dict, name: str) -> dict:
    services = data.get("services")
    found = services.get(name) if isinstance(services, dict) else None
    return found if isinstance(found, dict) else {}


def _lastfm_album(data: dict) -> dict:
    raw = _services(data, "lastfm").get("raw_data")
    album = raw.get("album") if isinstance(raw, dict) else None
    return album if isinstance(album, dict) else {}


def _lastfm_items(album: dict) -> list[object]:
    """album.getInfo's tracks: a list, or one object when the album has one track."""
    tracks = album.get("tracks")
    items = tracks.get("track") if isinstance(tracks, dict) else None
    return items if isinstance(items, list) else [items] if isinstance(items, dict) else []


def lastfm_tracks(data: dict, where: str) -> list[tuple[str, int]]:
    """(name, seconds) from the album.getInfo answer stored in `services.lastfm.raw_data`; a track Last.fm
    has no length for (0, null) is left out, a length no track can have is an error."""
    out: list[tuple[str, int]] = []
    for i, item in enumerate(_lastfm_items(_lastfm_album(data))):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            continue
        value = item.get("duration")
        if isinstance(value, str):  # Last.fm sends numbers as text in some answers
            text = value.strip()
            value = (int(text) if len(text) <= 12 else -1) if text.isascii() and text.isdigit() else None
        if not isinstance(value, int) or isinstance(value, bool) or value == 0:
            continue
        if not is_track_length(value):
            raise CollectionError(
                f"{where}: services.lastfm.raw_data.album.tracks.track[{i}].duration: {shown(value)} "
                "is not a track length (1 s to 24 h)"
            )
        out.append((item["name"], value))
    return out


def _object(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list:
    return value if isinstance(value, list) else []


def _names(values: list[object]) -> set[str]:
    return {star_key(v) for v in values if isinstance(v, str) and v.strip()}


def other_artist_names(data: dict) -> frozenset[str]:
    """The artist names Spotify and Last.fm give in the file (as `star_key`s), to tell a name that ends in
    `*` from a Discogs name variation."""
    found: set[str] = set()
    spotify = _services(data, "spotify")
    raw = _object(spotify.get("raw_data"))
    items = _list(_object(raw.get("tracks")).get("items"))
    for holder in [raw, *items, *_list(spotify.get("tracks"))]:
        artists = holder.get("artists") if isinstance(holder, dict) else None
        found |= _names([a.get("name") for a in artists if isinstance(a, dict)] if isinstance(artists, list) else [])
    album = _lastfm_album(data)
    found |= _names([album.get("artist")])
    for item in _lastfm_items(album):
        artist = item.get("artist") if isinstance(item, dict) else None
        found |= _names([artist.get("name") if isinstance(artist, dict) else artist])
    return frozenset(found)
