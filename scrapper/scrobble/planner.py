"""The offline planner: a record's tracks laid out as a believable listening schedule."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from collection.album import Album, with_default_durations
from collection.duration_format import format_duration
from collection.selection import Selection, selected_tracks
from collection.tracklist import Track
from errors import PlanError, UsageError
from scrobble.timeparse import local_clock

MIN_SCROBBLE_SECONDS = 30  # Last.fm: only tracks longer than 30 s
MAX_AGE_SECONDS = 14 * 86400  # Last.fm drops scrobbles older than this
SAFETY_MARGIN_SECONDS = 12 * 3600  # scrobbles right at the limit vanish silently
OLDEST_ALLOWED = MAX_AGE_SECONDS - SAFETY_MARGIN_SECONDS
FUTURE_GRACE_SECONDS = 60
MAX_SIDE_GAP = 86400  # a day to turn a record over is generous

DurationFiller = Callable[[Album, list[Track]], list[Track]]


@dataclass
class PlanOptions:
    finished_at: int | None = None
    started_at: int | None = None
    sides: list[str] = field(default_factory=list)
    disc: int | None = None
    tracks: str | None = None
    side_gap: int = 0
    include_short: bool = False
    medium: str | None = None
    split_index: bool = False
    box_title: bool = False

    def selection(self) -> Selection:
        return Selection(self.medium, tuple(self.sides), self.disc, self.split_index, self.box_title)


@dataclass
class PlannedScrobble:
    artist: str
    track: str
    album: str
    album_artist: str
    timestamp: int
    duration: int
    track_number: int
    position: str
    duration_source: str
    medium: str | None = None
    disc: int | None = None
    side: str | None = None

    def ledger_row(self, slug: str, job: str | None = None, offset: int = 0, span: int = 0) -> dict[str, Any]:
        """The ledger entry's fields for this scrobble (the one place a planned scrobble becomes a row)."""
        return {
            "artist": self.artist, "track": self.track, "album": self.album, "album_artist": self.album_artist,
            "timestamp": self.timestamp, "duration": self.duration, "track_number": self.track_number,
            "position": self.position, "slug": slug, "duration_source": self.duration_source, "job": job,
            "offset": offset, "span": span,
        }


@dataclass
class Plan:
    album: str
    album_artist: str
    slug: str
    started_at: int
    finished_at: int
    scrobbles: list[PlannedScrobble]
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "album": self.album,
            "album_artist": self.album_artist,
            "slug": self.slug,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "scrobbles": [asdict(s) for s in self.scrobbles],
        }


def parse_track_spec(spec: str, count: int) -> set[int]:
    """`1-3,5` as track numbers, each checked against the album's length."""
    wanted: set[int] = set()
    for part in spec.split(","):
        part = part.strip()
        match = re.fullmatch(r"(\d+)(?:\s*-\s*(\d+))?", part)
        if not match:
            raise UsageError(f"--tracks: cannot read {part!r} (use numbers and ranges like 1-3,5)")
        low = int(match.group(1))
        high = int(match.group(2) or low)
        if low < 1 or high < low or high > count:
            raise UsageError(f"--tracks: {part} is outside tracks 1-{count}")
        wanted.update(range(low, high + 1))
    return wanted


def select_tracks(album: Album, options: PlanOptions) -> list[Track]:
    tracks = selected_tracks(album, options.selection())
    if options.tracks:
        numbers = parse_track_spec(options.tracks, len(album.playable(options.medium, options.split_index)))
        tracks = [t for t in tracks if t.number in numbers]
    if not tracks:
        raise PlanError(f"{album.slug}: the selection has no tracks")
    return tracks


def _gap_before(previous: Track | None, track: Track, gap: int) -> int:
    if previous is None or not gap:
        return 0
    if previous.side != track.side or previous.disc != track.disc:
        return gap  # time to flip the record or change discs
    return 0


def layout(tracks: list[Track], side_gap: int = 0) -> tuple[list[int], int]:
    """Each track's start within the listening, and the listening's whole length."""
    offsets: list[int] = []
    elapsed = 0
    previous: Track | None = None
    for track in tracks:
        elapsed += _gap_before(previous, track, side_gap)
        offsets.append(elapsed)
        elapsed += track.duration or 0
        previous = track
    return offsets, elapsed


def is_short(track: Track) -> bool:
    return (track.duration or 0) <= MIN_SCROBBLE_SECONDS


def check_window(started: int, finished: int, now: float) -> None:
    """Nothing in the future, nothing Last.fm would drop as too old."""
    if finished > now + FUTURE_GRACE_SECONDS:
        raise PlanError(
            f"the listening would end at {local_clock(finished)}, in the future; "
            "give an earlier --finished-at or --started-at"
        )
    if started < now - OLDEST_ALLOWED:
        raise PlanError(
            f"the listening would start at {local_clock(started)}; Last.fm takes nothing older "
            f"than 14 days and this tool keeps 12 hours clear of that limit"
        )


def lay_out(album: Album, tracks: list[Track], side_gap: int = 0,
            include_short: bool = False) -> tuple[list[PlannedScrobble], list[tuple[str, str]], int]:
    """The tracks as scrobbles timed from 0, the short ones left out (their time still passes),
    and the listening's whole length."""
    tracks = with_default_durations(tracks)
    offsets, elapsed = layout(tracks, side_gap)
    scrobbles: list[PlannedScrobble] = []
    skipped: list[tuple[str, str]] = []
    for track, offset in zip(tracks, offsets):
        if is_short(track) and not include_short:
            skipped.append((track.title, f"{format_duration(track.duration or 0)} is 30 s or less"))
            continue
        scrobbles.append(PlannedScrobble(
            artist=track.artist, track=track.title, album=track.album or album.title, album_artist=album.artist,
            timestamp=offset, duration=track.duration or 0, track_number=track.number,
            position=track.position, duration_source=track.duration_source or "default",
            medium=track.medium, disc=track.disc, side=track.side,
        ))
    return scrobbles, skipped, elapsed


def build_plan(
    album: Album,
    options: PlanOptions,
    now: float,
    fill_durations: DurationFiller | None = None,
) -> Plan:
    """Lay the selected tracks end to end so the last one ends at `finished_at`."""
    if not 0 <= options.side_gap <= MAX_SIDE_GAP:
        raise UsageError(f"--side-gap must be 0 to {MAX_SIDE_GAP} seconds")
    if options.started_at is not None and options.finished_at is not None:
        raise UsageError("give --started-at or --finished-at, not both")
    tracks = select_tracks(album, options)
    if fill_durations and any(t.duration is None for t in tracks):
        tracks = fill_durations(album, tracks)
    laid, skipped, elapsed = lay_out(album, tracks, options.side_gap, options.include_short)
    if options.started_at is not None:
        started = options.started_at
    else:
        started = (options.finished_at if options.finished_at is not None else int(now)) - elapsed
    finished = started + elapsed
    check_window(started, finished, now)
    if not laid:
        raise PlanError(f"{album.slug}: every selected track is 30 s or less (use --include-short)")
    scrobbles = [replace(s, timestamp=started + s.timestamp) for s in laid]
    return Plan(album.title, album.artist, album.slug, started, finished, scrobbles, skipped)
