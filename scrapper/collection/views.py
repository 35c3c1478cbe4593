"""What `albums show` and `albums check` report, as types that own their JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from collection.album import Album, describe_length, with_default_durations
from collection.lookup import find_album, iter_albums
from collection.selection import Selection, selected_tracks
from collection.store import Store
from collection.tracklist import Track
from errors import CollectionError


@dataclass
class AlbumView:
    """An album as the scrobbler sees it: the selected playable tracks, with lengths and albums as a plan uses
    them."""

    album: Album
    tracks: list[Track]

    def lengths(self) -> list[tuple[str, str]]:
        return [describe_length(t) for t in self.tracks]

    def to_json(self) -> dict[str, Any]:
        a = self.album
        # The durations a plan would use: an untimed track is 180 s, "default", as in the text and the plan.
        timed = with_default_durations(self.tracks)
        return {
            "slug": a.slug, "title": a.title, "artist": a.artist, "discogs_id": a.discogs_id,
            "formats": a.formats, "media": a.media, "box_albums": a.box_albums, "warnings": a.warnings,
            "tracks": [{
                "number": t.number, "position": t.position, "side": t.side, "disc": t.disc,
                "medium": t.medium, "artist": t.artist, "title": t.title, "album": t.album or a.title,
                "duration": t.duration, "duration_source": source, "length": length,
            } for t, (length, source) in zip(timed, self.lengths())],
        }


def album_view(store: Store, query: str, selection: Selection = Selection()) -> AlbumView:
    album = find_album(store, query)
    return AlbumView(album, selected_tracks(album, selection))


@dataclass
class CheckReport:
    """Every album of the index: the broken ones with their one-line error, and the warnings of the others."""

    albums: int = 0
    broken: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"albums": self.albums, "broken": [{"slug": s, "error": e} for s, e in self.broken],
                "warnings": [{"slug": s, "warning": w} for s, w in self.warnings]}


def check_albums(store: Store) -> CheckReport:
    report = CheckReport()
    for slug, found in iter_albums(store):
        report.albums += 1
        if isinstance(found, CollectionError):
            report.broken.append((slug, str(found)))
        else:
            report.warnings += [(slug, w) for w in found.warnings]
    return report
