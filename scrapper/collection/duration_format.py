"""Parsing the duration strings Discogs writes (`m:ss`, `mm:ss`, `h:mm:ss`)."""

from __future__ import annotations

import re

_CLOCK = re.compile(r"^(?:(\d{1,2}):)?(\d{1,3}):(\d{2})$")
LONGEST_TRACK = 24 * 3600
# Beyond this a length is nonsense anyway, and str() of an int with thousands
# of digits raises, so longer values are shown as this bound.
_LONGEST_SHOWN = 10_000 * 3600 - 1


def is_track_length(seconds: int) -> bool:
    """True for a believable length of one track: 1 s to 24 h."""
    return 1 <= seconds <= LONGEST_TRACK


def parse_duration(value: object) -> int | None:
    """Seconds, or None when the value is empty, not a duration, or no believable track length."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if is_track_length(value) else None
    if not isinstance(value, str):
        return None
    match = _CLOCK.match(value.strip())
    if not match:
        return None
    hours, minutes, seconds = match.groups()
    if int(seconds) >= 60 or (hours is not None and int(minutes) >= 60):
        return None
    total = int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds)
    return total if is_track_length(total) else None


def format_duration(seconds: int) -> str:
    """`m:ss` or `h:mm:ss`, for any int (a negative one gets a leading `-`)."""
    if seconds < 0:
        return "-" + format_duration(-seconds)
    if seconds > _LONGEST_SHOWN:
        return ">" + format_duration(_LONGEST_SHOWN)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
