"""Choosing records of the collection by artist, genre, format, year and plays, as typed results."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from collection.names import fold
from collection.store import Store, entry_slug
from errors import UsageError
from scrobble.timeparse import iso_utc

_YEARS = re.compile(r"^(\d{4})(?:\s*(?:-|\.\.)\s*(\d{4}))?$|^(\d{3})0s$")


@dataclass
class Filters:
    """What `albums list`, `albums pick` and `queue add` choose by; unset fields choose everything."""

    artist: str | None = None
    genre: str | None = None
    format: str | None = None
    added_since: str | None = None
    added_before: str | None = None
    limit: int | None = None
    year: str | None = None  # 1977, 1970-1979 or 1970s: the release year
    played: bool | None = None  # True: played at least once, False: never (needs the listening history)

    def any(self) -> bool:
        # An empty value is still a filter given (and an empty year is refused), never silently none.
        return any(v is not None for v in (self.artist, self.genre, self.format, self.added_since,
                                           self.added_before, self.year))

    def check(self) -> None:
        """Refuse a filter given empty (it would choose every album) and a year that cannot be read."""
        for option, value in (("--artist", self.artist), ("--genre", self.genre), ("--format", self.format)):
            if value is not None and not value.strip():
                raise UsageError(f"{option} is empty: give a name, or leave {option} out")
        if self.year is not None:
            year_range(self.year)


def year_range(text: str) -> tuple[int, int]:
    """The years `1977`, `1970-1979` or `1970s` stand for, inclusive."""
    found = _YEARS.match(text.strip().lower())
    if not found:
        raise UsageError(f"cannot read {text[:40]!r} as a year (try 1977, 1970-1979 or 1970s)")
    if found.group(3):
        decade = int(found.group(3)) * 10
        return decade, decade + 9
    first = int(found.group(1))
    last = int(found.group(2) or first)
    if last < first:
        raise UsageError(f"{text[:40]!r}: the first year comes first")
    return first, last


def _texts(value: object) -> list[str]:
    """An index field that should be a list of names, whatever it really holds (a name, a number, null)."""
    items = value if isinstance(value, list) else [value]
    return [str(item.get("name") or "") if isinstance(item, dict) else str(item) for item in items
            if item is not None and not isinstance(item, (list, bool))]


def entry_year(entry: dict) -> int | None:
    """The release year of an index entry (`date_release_year`, `year`), if it holds a plausible one."""
    for key in ("date_release_year", "year"):
        text = str(entry.get(key) or "")[:4]
        if text.isdigit() and 1000 < int(text) < 3000:
            return int(text)
    return None


def matches(entry: dict, f: Filters) -> bool:
    """Whether an index entry passes the filters read from the index (all but `played`)."""
    if f.artist:
        names = _texts(entry.get("release_artist")) + _texts(entry.get("artists"))
        if not any(fold(f.artist) in fold(n) for n in names):
            return False
    if f.genre:
        genres = _texts(entry.get("genre_names")) + _texts(entry.get("styles"))
        if fold(f.genre) not in {fold(g) for g in genres}:
            return False
    if f.format and fold(f.format) not in {fold(x) for x in _texts(entry.get("formats"))}:
        return False
    added = str(entry.get("date_added") or "")[:10]
    if f.added_since and (not added or added < f.added_since):
        return False
    if f.added_before and (not added or added >= f.added_before):
        return False
    if f.year is not None:
        first, last = year_range(f.year)
        year = entry_year(entry)
        if year is None or not first <= year <= last:
            return False
    return True


@dataclass
class AlbumSummary:
    """One record as a list shows it: from the index, with its plays when the history is known."""

    slug: str
    artist: str
    title: str
    year: int | None
    formats: list[str]
    genres: list[str]
    added: str | None
    plays: int | None = None  # listens of the record; None without a listening history
    last_played: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"slug": self.slug, "artist": self.artist, "title": self.title, "year": self.year,
                "formats": self.formats, "genres": self.genres, "added": self.added,
                "plays": self.plays, "last_played": iso_utc(self.last_played)}


@dataclass
class AlbumList:
    """The records the filters leave, in the index's order; `history` says whether plays are known."""

    albums: list[AlbumSummary] = field(default_factory=list)
    history: bool = False
    total: int = 0  # records in the collection

    def to_json(self) -> dict[str, Any]:
        return {"count": len(self.albums), "total": self.total, "history": self.history,
                "albums": [a.to_json() for a in self.albums]}


def summary_of(entry: dict, slug: str) -> AlbumSummary:
    return AlbumSummary(
        slug=slug, artist=str(entry.get("release_artist") or ""), title=str(entry.get("release_name") or ""),
        year=entry_year(entry), formats=list(dict.fromkeys(_texts(entry.get("formats")))),
        genres=_texts(entry.get("genre_names")), added=str(entry.get("date_added") or "")[:10] or None)


def list_albums(store: Store, filters: Filters,
                plays: Mapping[str, tuple[int, int]] | None = None) -> AlbumList:
    """The records of the index the filters leave; `plays` ({slug: (latest play, listens)}, from the
    listening history) fills in plays and is needed to filter by `played`."""
    if filters.played is not None and plays is None:
        raise UsageError("--played and --unplayed need the listening history: run `python main.py lastfm sync`")
    filters.check()  # a bad filter is refused even when the collection is empty
    result = AlbumList(history=plays is not None)
    seen: set[str] = set()
    for entry in store.index():
        slug = entry_slug(entry)
        if not slug or slug in seen:
            continue
        seen.add(slug)
        result.total += 1
        if not matches(entry, filters):
            continue
        summary = summary_of(entry, slug)
        if plays is not None:
            last, count = plays.get(slug, (None, 0))
            summary.plays, summary.last_played = count, last
            if filters.played is not None and filters.played != bool(count):
                continue
        result.albums.append(summary)
    if filters.limit:
        result.albums = result.albums[:filters.limit]
    return result
