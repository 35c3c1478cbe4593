"""What queueing part of the shelf would mean, before it is queued: the records, their scrobbles, days at the cap."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from app import App
from collection.lookup import load_album
from errors import CollectionError, UsageError
from scrobble.daily_cap import daily_cap
from scrobble.planner import lay_out
from scrobble.queue import Filters, select

MAX_PREVIEW_ALBUMS = 5000


def filtered_slugs(app: App, filters: Filters) -> list[str]:
    """The records of the index the filters leave, in index order: the rule `queue add --artist …` uses."""
    if not filters.any():
        raise UsageError("choose records by artist, genre, format or year")
    return select(app.store, [], False, filters)[0]


@dataclass
class QueuePreview:
    slugs: list[str]
    scrobbles: int
    days_at_cap: int
    cap: int
    errors: list[str] = field(default_factory=list)  # records that cannot be read: left out when queued

    def to_json(self) -> dict[str, Any]:
        return {"albums": len(self.slugs), "scrobbles": self.scrobbles, "days_at_cap": self.days_at_cap,
                "daily_cap": self.cap, "errors": self.errors}


def preview_queue(app: App, slugs: list[str], medium: str | None = None) -> QueuePreview:
    """How many scrobbles these records make (timed as `queue add` times them) and how many days of the
    daily cap they take."""
    if len(slugs) > MAX_PREVIEW_ALBUMS:
        raise UsageError(f"{len(slugs)} records: queue at most {MAX_PREVIEW_ALBUMS} from the page")
    count = 0
    ok: list[str] = []
    errors: list[str] = []
    for slug in slugs:
        try:
            album = load_album(app.store, slug)
            laid, _, _ = lay_out(album, album.playable(medium, False))
        except (CollectionError, UsageError) as exc:
            errors.append(str(exc))
            continue
        ok.append(slug)
        count += len(laid)
    cap = daily_cap(app.settings, app.ledger, app.clock()).value
    return QueuePreview(ok, count, math.ceil(count / cap) if count else 0, cap, errors)
