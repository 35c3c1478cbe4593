"""Listens in ListenBrainz's JSON shape, from ledger entries and archived scrobbles, and the checks made before
sending (size, time, MBIDs) so that one bad listen never costs a refused batch."""

from __future__ import annotations

import json
import uuid
from typing import Any

from collection.names import fold
from collection.tracklist import parse_position

SUBMISSION_CLIENT = "russfm"
CLIENT_VERSION = "1.0"  # the ledger's and archive's shape that listens are built from
MAX_LISTEN_SIZE = 10240  # bytes of one listen's JSON
LISTEN_MINIMUM_TS = 1033430400  # 2002-10-01T00:00:00Z: ListenBrainz refuses anything older
FUTURE_SKEW = 3600  # ListenBrainz refuses listens more than an hour ahead of its clock


def is_mbid(value: object) -> bool:
    if not isinstance(value, str) or len(value) != 36:
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def track_listen(artist: str, track: str, album: str = "", listened_at: int | None = None, duration: int = 0,
                 track_number: int | None = None, disc: int | None = None, release_mbid: str = "") -> dict[str, Any]:
    """One listen: `listened_at` is the start (None for playing_now); additional_info carries what is known."""
    info: dict[str, Any] = {"submission_client": SUBMISSION_CLIENT, "submission_client_version": CLIENT_VERSION}
    if duration and duration > 0:
        info["duration_ms"] = int(duration) * 1000
    if track_number:
        info["tracknumber"] = int(track_number)
    if disc:
        info["discnumber"] = int(disc)
    if is_mbid(release_mbid):
        info["release_mbid"] = release_mbid.lower()
    meta: dict[str, Any] = {"artist_name": artist, "track_name": track}
    if album:
        meta["release_name"] = album
    meta["additional_info"] = info
    listen: dict[str, Any] = {"track_metadata": meta}
    if listened_at is not None:
        listen = {"listened_at": int(listened_at), **listen}
    return listen


def entry_listen(entry: Any, release_mbid: str = "") -> dict[str, Any]:
    """A ledger entry as a listen (duck-typed on scrobble.rows.Entry, which this package does not import)."""
    disc = parse_position(entry.position).disc if entry.position else None
    return track_listen(entry.artist, entry.track, entry.album, entry.timestamp, entry.duration,
                        entry.track_number, disc, release_mbid)


def size(listen: dict[str, Any]) -> int:
    return len(json.dumps(listen, ensure_ascii=False).encode())


def problem(listen: dict[str, Any], now: float) -> str | None:
    """Why ListenBrainz would refuse this listen, or None."""
    meta = listen["track_metadata"]
    if not meta.get("artist_name") or not meta.get("track_name"):
        return "a listen needs an artist and a track name"
    stamp = listen.get("listened_at")
    if stamp is not None and stamp < LISTEN_MINIMUM_TS:
        return "ListenBrainz takes no listen before 2002-10-01"
    if stamp is not None and stamp > now + FUTURE_SKEW:
        return "ListenBrainz takes no listen in the future"
    if size(listen) > MAX_LISTEN_SIZE:
        return f"the listen is larger than ListenBrainz's {MAX_LISTEN_SIZE} bytes"
    return None


def same_listen(stored: dict, artist: str, track: str, listened_at: int) -> bool:
    """ListenBrainz holds this listen: the same start and the same names (folded as the ledger folds them)."""
    meta = stored.get("track_metadata") or {}
    return (stored.get("listened_at") == listened_at and fold(str(meta.get("artist_name", ""))) == fold(artist)
            and fold(str(meta.get("track_name", ""))) == fold(track))
