"""The ledger's rows: a scrobble (`Entry`) and a queue job (`Job`), their states, and the checks that a row read
back is one."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from collection.names import fold
from errors import StateError
from lastfm.responses import reason_text
from scrobble.timeparse import iso_utc

PENDING, IN_FLIGHT, ACCEPTED, IGNORED, FAILED, CANCELLED = (
    "pending", "in_flight", "accepted", "ignored", "failed", "cancelled",
)
# A listen recorded only for other services (`--to listenbrainz`): never sent to Last.fm, but it stands.
NOT_FOR_LASTFM = "not_for_lastfm"
REFUSED = "refused"  # another service's state: it refused the listen as sent (HTTP 400)
LIVE = (PENDING, IN_FLIGHT, ACCEPTED, NOT_FOR_LASTFM)  # a listen that stands, or will
LASTFM, LISTENBRAINZ = "lastfm", "listenbrainz"
ACTIVE, PAUSED, ADDING = "active", "paused", "adding"


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
    played: int = 0  # a track left early while playing along: the seconds it really played (0: all of it)
    # Each other service's state of this listen, by service: {"status", "batch", "sent_at", "ts", "code",
    # "message"}. Last.fm's state is the fields above; a service missing here is not sent this listen.
    targets: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, int]:
        return identity(self.artist, self.track, self.timestamp)

    @property
    def timed(self) -> bool:
        """Queued albums are timed only when they are sent; until then timestamp is 0."""
        return self.timestamp > 0

    @property
    def end(self) -> int:
        """When the listening ended: a track left early holds only the time it played."""
        return self.timestamp + max(self.played or self.duration, 1)

    def to_json(self) -> dict[str, Any]:
        """The entry as commands show it (`scrobble history --json`, the send report)."""
        return {
            "artist": self.artist, "track": self.track, "album": self.album, "album_artist": self.album_artist,
            "timestamp": self.timestamp if self.timed else None, "time": iso_utc(self.timestamp) if self.timed else None,
            "status": self.status, "code": self.code, "reason": reason_text(self.code, self.message) or None,
            "message": self.message, "corrections": self.corrections, "job": self.job, "deferred": self.deferred,
            "slug": self.slug or None,
            "targets": {name: {"status": state.get("status"), "message": state.get("message", "")}
                        for name, state in self.targets.items()},
        }

    def target_status(self, target: str) -> str | None:
        """This listen's state on a service: Last.fm's own, another's from `targets`; None: not sent there."""
        if target == LASTFM:
            return None if self.status == NOT_FOR_LASTFM else self.status
        state = self.targets.get(target)
        return str(state.get("status")) if state else None

    def item(self) -> dict[str, Any]:
        """What track.scrobble gets."""
        return {
            "artist": self.artist, "track": self.track, "timestamp": self.timestamp,
            "album": self.album, "album_artist": self.album_artist,
            "track_number": self.track_number or None, "duration": self.duration or None,
        }


_ENTRY_FIELDS = {f.name for f in fields(Entry)}


def entry_from_row(key: str, row: object) -> Entry:
    """An Entry from its stored JSON; a row that is not one is reported, never half-read."""
    if not isinstance(row, dict) or not _ENTRY_FIELDS.issuperset(row):
        raise StateError(f"ledger row {key} is not a scrobble; the ledger file may be damaged")
    try:
        entry = Entry(**row)
    except TypeError:
        raise StateError(f"ledger row {key} misses fields; the ledger file may be damaged") from None
    wrong = [f.name for f in fields(Entry) if not _of_type(getattr(entry, f.name), _ENTRY_TYPES[f.name])]
    if wrong:
        raise StateError(f"ledger row {key} holds a value of the wrong type ({', '.join(wrong)}); "
                         "the ledger file may have been edited")
    return entry


def _of_type(value: object, kinds: tuple[type, ...]) -> bool:
    return isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)


_NUMBER = (int, float)
_ENTRY_TYPES: dict[str, tuple[type, ...]] = {
    **{name: (str,) for name in ("id", "artist", "track", "album", "album_artist", "position", "slug",
                                 "duration_source", "status", "message", "deferred")},
    **{name: (int,) for name in ("timestamp", "duration", "offset", "span", "played")},
    "track_number": (int, type(None)), "code": (int, type(None)), "job": (str, type(None)),
    "batch": (str, type(None)), "sent_at": (*_NUMBER, type(None)), "created_at": _NUMBER,
    "updated_at": _NUMBER, "corrections": (dict,), "targets": (dict,),
}


def target_fields(targets: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """The fields that send a new entry to these services and no other."""
    fields_: dict[str, Any] = {}
    if LASTFM not in targets:
        fields_["status"] = NOT_FOR_LASTFM
    others = {t: {"status": PENDING} for t in targets if t != LASTFM}
    if others:
        fields_["targets"] = others
    return fields_


def identity(artist: str, track: str, timestamp: int) -> tuple[str, str, int]:
    return (fold(artist), fold(track), int(timestamp))


@dataclass
class Job:
    """A queue job: albums queued together, and how they are timed."""

    id: str
    created_at: float
    status: str  # adding (being written), active, paused, cancelled
    albums: list[str]
    scheduled_at: int | None = None
    timing: str = "when sent"  # or "fixed"
    cleared_at: float | None = None  # finished and cleared from the lists (`queue clear`); kept for its number
    hours: list[int] | None = None  # [start, end] o'clock, local time: the albums are placed only then
    gap: int = 0  # seconds left free before each album placed
    zone: str | None = None  # the zone `hours` are in (TZ when the job was added, e.g. Asia/Tokyo); None: local

    @classmethod
    def from_row(cls, row: object) -> Job:
        if not isinstance(row, dict):
            raise StateError("a queue job in the ledger is not an object")
        known = {f.name for f in fields(cls)}
        try:
            job = cls(**{k: v for k, v in row.items() if k in known})
        except TypeError:
            raise StateError(f"queue job {str(row.get('id'))[:20]!r} in the ledger misses fields") from None
        if not (isinstance(job.id, str) and job.id.isdigit() and job.status in (ADDING, ACTIVE, PAUSED, CANCELLED)
                and isinstance(job.albums, list) and all(isinstance(a, str) for a in job.albums)
                and _of_type(job.scheduled_at, (int, type(None))) and _of_type(job.created_at, _NUMBER)
                and isinstance(job.timing, str) and _of_type(job.cleared_at, (*_NUMBER, type(None)))
                and (job.hours is None or (isinstance(job.hours, list) and len(job.hours) == 2
                                           and all(_of_type(h, (int,)) and 0 <= h <= 24 for h in job.hours)))
                and _of_type(job.gap, (int,)) and job.gap >= 0 and _of_type(job.zone, (str, type(None)))):
            raise StateError(f"queue job {str(job.id)[:20]!r} in the ledger holds a value of the wrong type; "
                             "the ledger file may have been edited")
        return job
