"""Records of the collection played lately: from the archive when there is one, with the ledger's newer sends."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app import App
from collection.store import entry_slug
from history.archive import Archive, collection_matcher
from scrobble.ledger import ACCEPTED, IN_FLIGHT, PENDING
from scrobble.timeparse import iso_utc

SCAN = 500  # scrobbles read from each source: plenty for a handful of records


@dataclass
class PlayedRecord:
    slug: str
    artist: str
    title: str
    last_played: int
    source: str  # archive or ledger

    def to_json(self) -> dict[str, Any]:
        return {"slug": self.slug, "artist": self.artist, "title": self.title,
                "last_played": iso_utc(self.last_played), "source": self.source}


def recently_played(app: App, limit: int = 8) -> list[PlayedRecord]:
    """The latest records played, newest first, each once."""
    latest: dict[str, tuple[int, str]] = {}
    archive = Archive.existing(app.settings.state_dir)
    if archive is not None:
        with archive:
            plays = archive.latest(SCAN)
        if plays:
            matcher = collection_matcher(app.settings.state_dir, app.store)
            for play in plays:
                slug = matcher.slug_of(play)
                if slug and slug not in latest:
                    latest[slug] = (int(play["timestamp"]), "archive")
    for entry in app.ledger.latest(SCAN):
        if entry.slug and entry.timed and entry.status in (ACCEPTED, PENDING, IN_FLIGHT):
            if entry.timestamp > latest.get(entry.slug, (0, ""))[0]:
                latest[entry.slug] = (entry.timestamp, "ledger")
    if not latest:
        return []
    names: dict[str, tuple[str, str]] = {}
    for row in app.store.index():
        slug = entry_slug(row)
        if slug in latest:
            names[slug] = (str(row.get("release_artist") or "?"), str(row.get("release_name") or "?"))
    out = [PlayedRecord(slug, *names[slug], when, source) for slug, (when, source) in latest.items()
           if slug in names]
    out.sort(key=lambda r: -r.last_played)
    return out[:limit]
