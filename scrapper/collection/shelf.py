"""The shelf: the collection searched as you type, ranked as `albums show` ranks words, and each record's cover."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from collection.lookup import index_entries, rank_words
from collection.names import fold
from collection.store import Store
from errors import CollectionError

SHELF_LIMIT = 40
COVER_SIZES = ("small", "medium", "hi-res")  # the collector's own image files, smallest first


@dataclass(frozen=True)
class ShelfItem:
    """One record of the index, as a shelf lists it."""

    slug: str
    artist: str
    title: str
    year: str
    formats: str

    def to_json(self) -> dict[str, Any]:
        return {"slug": self.slug, "artist": self.artist, "title": self.title, "year": self.year,
                "formats": self.formats}


def _text(value: object) -> str:
    return " ".join(str(value).split()) if isinstance(value, (str, int)) and not isinstance(value, bool) else ""


def _formats(value: object) -> str:
    items = value if isinstance(value, list) else [value]
    return ", ".join(dict.fromkeys(t for t in (_text(v) for v in items) if t))  # a box lists Vinyl per disc


class ShelfIndex:
    """The index read once, its names folded once: a keystroke's search is a pass over plain strings."""

    def __init__(self, store: Store) -> None:
        self.rows: list[tuple[ShelfItem, str, str]] = []
        for entry, slug in index_entries(store):
            year = _text(entry.get("date_release_year") or entry.get("year"))[:4]
            item = ShelfItem(slug, _text(entry.get("release_artist")) or "?", _text(entry.get("release_name")) or "?",
                             year if year.isdigit() else "", _formats(entry.get("formats")))
            self.rows.append((item, fold(str(entry.get("release_artist") or "")),
                              fold(str(entry.get("release_name") or ""))))

    def __len__(self) -> int:
        return len(self.rows)


@dataclass
class ShelfSearch:
    query: str
    items: list[ShelfItem]
    matches: int  # how many records match, of which `items` are the first

    def to_json(self) -> dict[str, Any]:
        return {"query": self.query, "matches": self.matches, "items": [i.to_json() for i in self.items]}


def search_shelf(shelf: ShelfIndex, query: str, limit: int = SHELF_LIMIT) -> ShelfSearch:
    """Records matching the words, best rank first (artist and title exactly, whole artist, whole title,
    then words that start the artist's and title's words), then by artist and title; no words: the shelf."""
    wanted = fold(query)
    tokens = wanted.split()
    if not tokens:
        ordered = sorted(shelf.rows, key=lambda r: (r[1], r[2]))
        return ShelfSearch(query, [r[0] for r in ordered[:limit]], len(ordered))
    ranked = []
    for item, artist, title in shelf.rows:
        # Every rank needs each word inside the artist or the title: a cheap test first, the ranking after.
        if not all(t in artist or t in title for t in tokens):
            continue
        rank = rank_words(wanted, tokens, artist, title)
        if rank is not None:
            ranked.append((rank, artist, title, item))
    ranked.sort(key=lambda r: r[:3])
    return ShelfSearch(query, [r[3] for r in ranked[:limit]], len(ranked))


def cover_path(store: Store, slug: str) -> Path | None:
    """The record's smallest cover among the collection's own image files, or None."""
    try:
        folder = store.album_path(slug).parent
    except CollectionError:
        return None
    for size in COVER_SIZES:
        path = folder / f"{slug}-{size}.jpg"
        try:
            if path.is_file():
                return path
        except OSError:
            return None
    return None
