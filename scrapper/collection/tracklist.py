"""Turning a Discogs tracklist (headings, index works, odd positions) into playable tracks."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from collection.duration_format import parse_duration
from collection.names import clean_track_title, join_artists
from errors import CollectionError

_MEDIA_PREFIX = re.compile(
    r"^(CD|SACD|DVD|BD|BLU-?RAY|MC|CASS(?:ETTE)?)\s*(\d*)\s*[-.]\s*(\d+)[a-z]?$", re.I
)
_DISC_TRACK = re.compile(r"^(\d+)\s*[-.]\s*(\d+)[a-z]?$")
_SIDE = re.compile(r"^([A-Z]{1,2})(?:\s*[-.]?\s*(?:\d+|[IVXLC]+)[a-z]?)?$")
_ODD_SIDE = re.compile(r"^\d+([A-Z])(\d+)$")
_MEDIA_NAMES = {
    "cd": "cd", "sacd": "cd", "dvd": "dvd", "bd": "bluray", "bluray": "bluray",
    "blu-ray": "bluray", "mc": "cassette", "cass": "cassette", "cassette": "cassette",
}
MEDIA = ("vinyl", "cd", "bluray", "dvd", "cassette")


@dataclass(frozen=True)
class Position:
    medium: str | None = None
    disc: int | None = None
    side: str | None = None


def parse_position(position: str) -> Position:
    """Side and disc from `A1`, `B`, `A-I`, `1-1`, `CD1-1`, `BD-3`, `2.03`, `9B4`."""
    text = position.strip()
    if not text:
        return Position()
    match = _MEDIA_PREFIX.match(text)
    if match:
        medium = _MEDIA_NAMES[match.group(1).lower()]
        return Position(medium, int(match.group(2)) if match.group(2) else 1, None)
    match = _DISC_TRACK.match(text)
    if match:
        return Position(None, int(match.group(1)), None)
    match = _SIDE.match(text) or _ODD_SIDE.match(text)
    if match:
        side = match.group(1)
        disc = (ord(side) - ord("A")) // 2 + 1 if len(side) == 1 else None
        return Position("vinyl", disc, side)
    return Position()


@dataclass
class Track:
    title: str
    artist: str
    position: str
    medium: str | None
    disc: int | None
    side: str | None
    duration: int | None
    duration_source: str | None
    number: int = 0
    parts: list[Track] = field(default_factory=list)

    def with_duration(self, seconds: int, source: str) -> Track:
        return replace(self, duration=seconds, duration_source=source)


def _field(row: dict, name: str, where: str, kinds: tuple[type, ...], default: object) -> object:
    value = row.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, kinds):
        expected = " or ".join(k.__name__ for k in kinds)
        raise CollectionError(
            f"{where}.{name}: expected {expected}, got {type(value).__name__}"
        )
    return value


def _make_track(row: dict, where: str, album_artist: str) -> Track:
    title = clean_track_title(_field(row, "title", where, (str,), ""))  # type: ignore[arg-type]
    if not title:
        raise CollectionError(f"{where}.title: a track has no title")
    position = str(_field(row, "position", where, (str, int), "")).strip()
    artists = _field(row, "artists", where, (list,), [])
    raw_duration = _field(row, "duration", where, (str, int), "")
    seconds = parse_duration(raw_duration)
    place = parse_position(position)
    return Track(
        title=title,
        artist=join_artists(artists) or album_artist,  # type: ignore[arg-type]
        position=position,
        medium=place.medium,
        disc=place.disc,
        side=place.side,
        duration=seconds,
        duration_source="discogs" if seconds else None,
    )


def _is_blank(row: dict) -> bool:
    return not str(row.get("position") or "").strip() and parse_duration(row.get("duration")) is None


def build_tracks(rows: object, album_artist: str, where: str = "tracklist") -> list[Track]:
    """Playable tracks in tracklist order; headings dropped, index works collapsed.

    Rows that lost their `type: heading` (no type, no position, no duration in
    a release whose other rows have positions) are headings too.
    """
    if not isinstance(rows, list):
        raise CollectionError(f"{where}: expected a list, got {type(rows).__name__}")
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise CollectionError(f"{where}[{i}]: expected an object, got {type(row).__name__}")
        _field(row, "type", f"{where}[{i}]", (str,), "")
        _field(row, "parent", f"{where}[{i}]", (str,), "")
    has_positions = any(str(r.get("position") or "").strip() for r in rows)
    index_titles = {
        str(r.get("title") or "") for r in rows if r.get("type") == "index"
    }
    tracks: list[Track] = []
    for i, row in enumerate(rows):
        kind = row.get("type") or ""
        here = f"{where}[{i}]"
        if kind == "heading":
            continue
        parent = row.get("parent")
        if parent and parent in index_titles:
            continue  # folded into its index track below
        if kind == "index":
            parts = [
                _make_track(sub, f"{where}[{j}]", album_artist)
                for j, sub in enumerate(rows)
                if sub.get("parent") == row.get("title") and sub.get("type") != "index"
            ]
            own = _make_track(row, here, album_artist)
            if not parts:
                if own.position or own.duration:
                    tracks.append(own)
                continue
            known = [p.duration for p in parts]
            total = sum(d for d in known if d) if all(known) else None
            first = parts[0]
            tracks.append(
                replace(
                    own,
                    position=first.position,
                    medium=first.medium,
                    disc=first.disc,
                    side=first.side,
                    duration=total or own.duration,
                    duration_source="discogs" if (total or own.duration) else None,
                    parts=parts,
                )
            )
            continue
        if not kind and has_positions and _is_blank(row):
            continue  # a heading that lost its type
        tracks.append(_make_track(row, here, album_artist))
    return tracks


def split_index(tracks: list[Track]) -> list[Track]:
    """Index works as their separate movements instead of one track."""
    out: list[Track] = []
    for track in tracks:
        out.extend(track.parts or [track])
    return out
