"""`albums pick`: one record of the collection to put on, at random among those the filters and the history leave."""

from __future__ import annotations

import random
from datetime import datetime
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


LISTEN_PAUSE = 3600  # more than an hour between two scrobbles of a record: a new listen


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
    there is no archive (NoArchive instead when `required`). A listen is the record played through (its
    scrobbles with no more than LISTEN_PAUSE between them), not one track."""
    try:
        archive = Archive.finished(app.settings.state_dir)
    except NoArchive:
        if required:
            raise
        return None
    with archive:
        archive.refresh_matches(app.store)
        return archive.records_listened(LISTEN_PAUSE)


def _midnight(now: float) -> int:
    return int(datetime.fromtimestamp(now).replace(hour=0, minute=0, second=0, microsecond=0).timestamp())


def played_today(app: App, now: float) -> set[str]:
    """Records of the collection with a listen since local midnight in the ledger (sent or waiting; the
    archive may not have it yet)."""
    return {e.slug for e in app.ledger.overlapping(_midnight(now), int(now) + 1) if e.slug}


def pick_record(app: App, filters: Filters, unplayed: bool = False, not_since: int | None = None,
                seed: int | None = None) -> Pick:
    """A record chosen at random among those the filters leave; `unplayed` and `not_since` (seconds) need
    the archive, which otherwise only explains the choice. Never a record whose file is missing (it could
    not be scrobbled) nor one played today."""
    now = app.clock()
    slugs, _ = select(app.store, [], not filters.any(), filters)
    records = {slug: Record(slug, artist, title) for slug, artist, title in index_records(app.store)}
    plays = known_plays(app, required=unplayed or not_since is not None)
    if plays is not None:
        add_plays(records, plays)
    chosen_by_filters = [records[s] for s in dict.fromkeys(slugs) if s in records]
    if not chosen_by_filters:
        raise NothingToPick("no record of the collection matches these filters")
    midnight = _midnight(now)
    today = played_today(app, now)
    left = [r for r in chosen_by_filters if app.store.has_album(r.slug)]
    missing = len(chosen_by_filters) - len(left)
    fresh = [r for r in left if r.slug not in today and not (r.last_played and r.last_played >= midnight)]
    played_now = len(left) - len(fresh)
    left = fresh
    if unplayed:
        left = [r for r in left if r.last_played is None]
    elif not_since is not None:
        left = [r for r in left if r.last_played is None or r.last_played < now - not_since]
    if not left:
        why = [f"{missing} without an album file"] if missing else []
        why += [f"{played_now} played today"] if played_now else []
        if len(fresh) > len(left):
            why.append(f"{len(fresh) - len(left)} " + ("played before" if unplayed else
                                                      f"played since {local_date(now - (not_since or 0))}"))
        raise NothingToPick(f"nothing to pick among the {len(chosen_by_filters)} records the filters leave: "
                            + ", ".join(why))
    chosen = random.Random(seed).choice(left)
    return Pick(chosen, len(left), plays is not None, _reasons(chosen, plays is not None, now))
