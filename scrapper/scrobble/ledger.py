"""The ledger: every scrobble and its state (pending, in_flight, accepted, ignored, failed), in sqlitedict.

Each state change is committed before the next step, so a kill at any
moment leaves a true record. The ledger never touches the network.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlitedict import SqliteDict

from collection.names import fold
from statefiles import private_file

LEDGER_FILE = "ledger.sqlite"
PENDING, IN_FLIGHT, ACCEPTED, IGNORED, FAILED, CANCELLED = (
    "pending", "in_flight", "accepted", "ignored", "failed", "cancelled",
)
LIVE = (PENDING, IN_FLIGHT, ACCEPTED)  # a listen that stands, or will


@dataclass
class Entry:
    id: str
    artist: str
    track: str
    album: str
    album_artist: str
    timestamp: int
    duration: int
    track_number: int | None = None
    position: str = ""
    slug: str = ""
    duration_source: str = ""
    job: str | None = None
    status: str = PENDING
    batch: str | None = None
    sent_at: float | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    code: int | None = None
    message: str = ""
    corrections: dict[str, str] = field(default_factory=dict)
    deferred: str = ""
    offset: int = 0  # queued albums: start of this track within its album
    span: int = 0  # queued albums: the album's whole length

    @property
    def key(self) -> tuple[str, str, int]:
        return identity(self.artist, self.track, self.timestamp)

    @property
    def timed(self) -> bool:
        """Queued albums are timed only when they are sent; until then timestamp is 0."""
        return self.timestamp > 0

    @property
    def end(self) -> int:
        return self.timestamp + max(self.duration, 1)

    def item(self) -> dict[str, Any]:
        """What track.scrobble gets."""
        return {
            "artist": self.artist, "track": self.track, "timestamp": self.timestamp,
            "album": self.album, "album_artist": self.album_artist,
            "track_number": self.track_number, "duration": self.duration or None,
        }


def identity(artist: str, track: str, timestamp: int) -> tuple[str, str, int]:
    return (fold(artist), fold(track), int(timestamp))


class Ledger:
    """All entries are read once on open; writes go through and are committed per step."""

    def __init__(self, state_dir: Path, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        path = private_file(Path(state_dir) / LEDGER_FILE)
        self._db = SqliteDict(str(path), tablename="scrobbles", autocommit=False,
                              encode=json.dumps, decode=json.loads, outer_stack=False)
        self._meta = SqliteDict(str(path), tablename="meta", autocommit=False,
                                encode=json.dumps, decode=json.loads, outer_stack=False)
        self._jobs = SqliteDict(str(path), tablename="jobs", autocommit=False,
                                encode=json.dumps, decode=json.loads, outer_stack=False)
        self.entries: dict[str, Entry] = {k: Entry(**v) for k, v in self._db.items()}
        self._by_key = {e.key: e for e in self.entries.values() if e.status in LIVE and e.timed}
        self.jobs: dict[str, dict] = dict(self._jobs.items())

    def close(self) -> None:
        self._db.close()
        self._meta.close()
        self._jobs.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reading ---------------------------------------------------------------------
    def live(self, key: tuple[str, str, int]) -> Entry | None:
        return self._by_key.get(key)

    def with_status(self, *statuses: str) -> list[Entry]:
        return [e for e in self.entries.values() if e.status in statuses]

    def overlapping(self, start: int, end: int, exclude: Iterable[str] = ()) -> list[Entry]:
        """Standing listens whose time span meets [start, end)."""
        skip = set(exclude)
        return sorted(
            (e for e in self.entries.values()
             if e.status in LIVE and e.timed and e.id not in skip and e.timestamp < end and start < e.end),
            key=lambda e: e.timestamp,
        )

    def accepted_since(self, since: float) -> list[float]:
        """When each scrobble accepted since `since` was sent, oldest first."""
        return sorted(e.sent_at or 0 for e in self.entries.values()
                      if e.status == ACCEPTED and (e.sent_at or 0) >= since)

    def latest(self, limit: int) -> list[Entry]:
        return sorted(self.entries.values(), key=lambda e: (e.timestamp, e.id), reverse=True)[:limit]

    def meta(self, key: str, default: Any = None) -> Any:
        return self._meta.get(key, default)

    # --- writing (each call ends with a commit) --------------------------------------------
    def _put(self, entries: Iterable[Entry]) -> None:
        now = self.clock()
        rows = {}
        for entry in entries:
            entry.updated_at = now
            self.entries[entry.id] = entry
            rows[entry.id] = dict(vars(entry))  # flat fields: no need for asdict's deep copy
            if entry.status in LIVE and entry.timed:
                self._by_key[entry.key] = entry
            elif self._by_key.get(entry.key) is entry:
                del self._by_key[entry.key]
        self._db.update(rows)  # one executemany for the whole step
        self._db.commit()

    def retime(self, entries: list[Entry], start: int) -> None:
        """Give queued entries of one album their times, the album starting at `start`."""
        for e in entries:
            e.timestamp = start + e.offset
        self._put(entries)

    def untime(self, entries: list[Entry]) -> None:
        """Queued entries that must be timed afresh (their times grew too old unsent)."""
        for e in entries:
            if self._by_key.get(e.key) is e:
                del self._by_key[e.key]
            e.timestamp = 0
        self._put(entries)

    def save_job(self, job: dict) -> None:
        self.jobs[job["id"]] = job
        self._jobs[job["id"]] = job
        self._jobs.commit()

    def _next_ids(self, count: int) -> list[str]:
        start = int(self._meta.get("next_id", 1))
        self._meta["next_id"] = start + count
        self._meta.commit()
        return [f"{n:012d}" for n in range(start, start + count)]

    def add(self, rows: list[dict[str, Any]]) -> list[Entry]:
        """New pending entries; rows whose (artist, track, timestamp) already stands are skipped."""
        fresh = []
        seen: set[tuple[str, str, int]] = set()
        for row in rows:
            key = identity(row["artist"], row["track"], row["timestamp"])
            if row["timestamp"] and (key in self._by_key or key in seen):
                continue
            seen.add(key)
            fresh.append(row)
        now = self.clock()
        entries = [Entry(id=i, created_at=now, **row) for i, row in zip(self._next_ids(len(fresh)), fresh)]
        self._put(entries)
        return entries

    def mark_in_flight(self, entries: list[Entry], batch: str) -> None:
        now = self.clock()
        for e in entries:
            e.status, e.batch, e.sent_at = IN_FLIGHT, batch, now
        self._put(entries)

    def mark(self, entries: list[Entry], status: str, code: int | None = None, message: str = "",
             deferred: str = "") -> None:
        for e in entries:
            e.status, e.code, e.message, e.deferred = status, code, message, deferred
            if status == PENDING:
                e.batch = None
        self._put(entries)

    def settle(self, verdicts: list[tuple[Entry, str, int, str, dict[str, str], str]]) -> None:
        """Write a batch's verdicts at once: (entry, status, code, message, corrections, deferred)."""
        for entry, status, code, message, corrections, deferred in verdicts:
            entry.status, entry.code, entry.message = status, code, message
            entry.corrections, entry.deferred = corrections, deferred
            if status == PENDING:
                entry.batch = None
        self._put([v[0] for v in verdicts])

    def set_meta(self, **values: Any) -> None:
        for key, value in values.items():
            self._meta[key] = value
        self._meta.commit()
