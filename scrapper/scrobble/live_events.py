"""What a play-along session is made of and reports: the tracks it plays, and the events it emits (with their JSON)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from errors import ExitStatus

from scrobble.planner import MIN_SCROBBLE_SECONDS, PlannedScrobble
from scrobble.timeparse import iso_utc

SCROBBLE_AFTER_SECONDS = 240  # Last.fm: half the track or 4 minutes, whichever comes first


@dataclass(frozen=True)
class LiveTrack:
    """A track to play: its scrobble fields (the timestamp is set when it starts) and the side it is on."""

    item: PlannedScrobble
    side: str | None
    disc: int | None

    @property
    def duration(self) -> int:
        return self.item.duration

    @property
    def counts(self) -> bool:
        """Last.fm takes only tracks longer than 30 s."""
        return self.duration > MIN_SCROBBLE_SECONDS

    @property
    def threshold(self) -> float:
        """Seconds of playing after which the track is scrobbled."""
        return min(self.duration / 2, SCROBBLE_AFTER_SECONDS)

    @property
    def face(self) -> tuple[int | None, str | None]:
        return self.disc, self.side

    @property
    def face_name(self) -> str:
        if self.side:
            return f"side {self.side}"
        return f"disc {self.disc}" if self.disc else "the record"

    def to_json(self) -> dict[str, Any]:
        s = self.item
        return {"number": s.track_number, "position": s.position, "artist": s.artist, "track": s.track,
                "duration": s.duration, "side": self.side, "disc": self.disc, "scrobbled_after": (
                    self.threshold if self.counts else None)}



@dataclass
class Event:
    """Something that happened, at `at` on the session's clock."""

    kind: ClassVar[str] = ""
    at: float

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"event": self.kind, "time": iso_utc(self.at)}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = value.to_json() if isinstance(value, LiveTrack) else (
                round(value, 3) if isinstance(value, float) else value)
        return out


@dataclass
class Started(Event):
    kind: ClassVar[str] = "started"
    album: str
    album_artist: str
    slug: str
    tracks: int
    started_at: float
    interactive: bool


@dataclass
class NowPlaying(Event):
    kind: ClassVar[str] = "now_playing"
    track: LiveTrack
    started_at: float
    accepted: bool  # Last.fm showed it (not retried when it did not: its rules ask so)
    reason: str | None = None  # why Last.fm ignored it, or why the request failed
    next: LiveTrack | None = None


@dataclass
class Scrobbled(Event):
    kind: ClassVar[str] = "scrobbled"
    track: LiveTrack
    timestamp: int
    status: str  # accepted, ignored, failed, or waiting (kept to be sent again)
    reason: str | None = None
    corrections: dict[str, str] = field(default_factory=dict)


@dataclass
class Paused(Event):
    kind: ClassVar[str] = "paused"
    track: LiveTrack


@dataclass
class Resumed(Event):
    kind: ClassVar[str] = "resumed"
    track: LiveTrack
    paused_for: float


def face_json(name: str | None) -> tuple[str | None, int | None]:
    """A face's name as text says it (`side A`, `disc 2`) as the tracks' JSON gives it: side "A", disc 2."""
    if name and name.startswith("side "):
        return name[5:], None
    if name and name.startswith("disc ") and name[5:].isdigit():
        return None, int(name[5:])
    return None, None


@dataclass
class Skipped(Event):
    """A track left with `n` (`scrobbled`: it had reached its threshold), or a whole side left out."""

    kind: ClassVar[str] = "skipped"
    track: LiveTrack | None
    side: str | None
    scrobbled: bool

    def to_json(self) -> dict[str, Any]:
        out = super().to_json()
        out["side"], out["disc"] = face_json(self.side)
        return out


@dataclass
class SideDone(Event):
    kind: ClassVar[str] = "side_done"
    side: str
    next_side: str
    waits_for_key: bool  # on a terminal: Enter starts the next side, s skips it, q stops
    resumes_at: float | None  # otherwise: when the next side starts
    skipped: bool = False  # `side` was skipped rather than played

    def to_json(self) -> dict[str, Any]:
        out = super().to_json()
        out["side"], out["disc"] = face_json(self.side)
        out["next_side"], out["next_disc"] = face_json(self.next_side)
        return out


@dataclass
class SideStarted(Event):
    kind: ClassVar[str] = "side_started"
    side: str
    turned_in: float  # seconds between the end of the last side and this one

    def to_json(self) -> dict[str, Any]:
        out = super().to_json()
        out["side"], out["disc"] = face_json(self.side)
        return out


@dataclass
class Stopped(Event):
    kind: ClassVar[str] = "stopped"
    reason: str  # "key" (q) or "interrupted" (Ctrl-C)
    track: LiveTrack | None
    scrobbled: bool
    refused: bool = False  # the track was not scrobbled because its time overlaps another listen


@dataclass
class Problem(Event):
    kind: ClassVar[str] = "problem"
    message: str
    track: LiveTrack | None = None


@dataclass
class Finished(Event):
    kind: ClassVar[str] = "finished"
    accepted: int
    ignored: int
    failed: int
    waiting: int
    refused: int
    requests: int
    stopped: str | None
    exit_status: int

    @property
    def status(self) -> ExitStatus:
        return ExitStatus(self.exit_status)


@dataclass
class Progress:
    """The current track as a status line shows it."""

    track: LiveTrack
    elapsed: float
    scrobbled: bool
    paused: bool
    next: LiveTrack | None
