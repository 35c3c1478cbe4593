"""`albums pick`: one record of the collection to put on, at random among those the filters and the history leave."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from app import App
from errors import RussfmError
from history.archive import Archive, NoArchive, index_records
from history.periods import ago, local_date
from history.stats import Record, add_plays
from collection.browse import Filters
from scrobble.queue import select
from scrobble.timeparse import iso_utc


class NothingToPick(RussfmError):
    """No record is left once the filters are applied."""


@dataclass
class Pick:
    record: Record
    candidates: int  # records the filters left, the chosen one among them
    history: bool  # whether the archive was read (plays and last play known)
    reasons: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"slug": self.record.slug, "artist": self.record.artist, "title": self.record.title,
                "plays": self.record.plays if self.history else None,
                "last_played": iso_utc(self.record.last_played), "candidates": self.candidates,
                "reasons": self.reasons}


def _reasons(record: Record, history: bool, now: float) -> list[str]:
    if not history:
        return ["chosen at random (no listening history yet: `lastfm sync` copies it)"]
    if record.last_played is None:
        return ["never played"]
    return [f"last played {local_date(record.last_played)}, {ago(record.last_played, now)}",
            f"played {record.plays} time{'s' if record.plays != 1 else ''}"]


def known_plays(app: App, required: bool = False) -> dict[str, tuple[int, int]] | None:
    """{slug: (latest play, listens)} of the records played, from the archive of `lastfm sync`; None when
    there is no archive (NoArchive instead when `required`)."""
    try:
        archive = Archive.finished(app.settings.state_dir)
    except NoArchive:
        if required:
            raise
        return None
    with archive:
        archive.refresh_matches(app.store)
        return archive.records_played()


def pick_record(app: App, filters: Filters, unplayed: bool = False, not_since: int | None = None,
                seed: int | None = None) -> Pick:
    """A record chosen at random among those the filters leave; `unplayed` and `not_since` (seconds) need
    the archive, which otherwise only explains the choice."""
    now = app.clock()
    slugs, _ = select(app.store, [], not filters.any(), filters)
    records = {slug: Record(slug, artist, title) for slug, artist, title in index_records(app.store)}
    try:
        archive: Archive | None = Archive.finished(app.settings.state_dir)
    except NoArchive:
        if unplayed or not_since is not None:
            raise
        archive = None
    if archive is not None:
        with archive:
            archive.refresh_matches(app.store)
            add_plays(records, archive.records_played())
    left = [records[s] for s in dict.fromkeys(slugs) if s in records]
    if unplayed:
        left = [r for r in left if r.last_played is None]
    elif not_since is not None:
        left = [r for r in left if r.last_played is None or r.last_played < now - not_since]
    if not left:
        if not slugs:
            raise NothingToPick("no record of the collection matches these filters")
        since = f" since {local_date(now - not_since)}" if not_since is not None and not unplayed else ""
        raise NothingToPick(f"nothing to pick: each of the {len(set(slugs))} records the filters leave "
                            f"was played{since}")
    chosen = random.Random(seed).choice(left)
    return Pick(chosen, len(left), archive is not None, _reasons(chosen, archive is not None, now))
