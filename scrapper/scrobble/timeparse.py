"""Reading the times users type: ISO 8601, `HH:MM`, `45m ago`, `in 2h`, `now`, unix seconds."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from errors import UsageError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}
EARLIEST = 1009843200  # 2002-01-01 UTC: nothing this tool handles is older than Last.fm
AHEAD = 366 * 86400  # times typed for scheduling may lie up to a year ahead
MAX_SPAN = 10 * 366 * 86400
_PART = re.compile(r"(\d+)\s*(s|sec|secs|seconds?|m|min|mins|minutes?|h|hr|hrs|hours?|d|days?|w|weeks?|y|years?)")
_AGO = re.compile(rf"^((?:{_PART.pattern}\s*)+)ago$")
_IN = re.compile(rf"^in\s+((?:{_PART.pattern}\s*)+)$")  # a time ahead, for scheduling (`queue add --at`)
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_DURATION = re.compile(rf"^((?:{_PART.pattern}\s*)+)$")


def _seconds(parts: str) -> int:
    return sum(int(n) * _UNITS[unit[0]] for n, unit in _PART.findall(parts))


def parse_span(text: str, upper: int = MAX_SPAN) -> int:
    """`90m`, `1h30m`, `2 days` as seconds; plain digits are seconds. Lengths beyond `upper` are refused."""
    value = text.strip().lower()
    if value.isdigit() and len(value) < 20:
        seconds = int(value)
    elif _DURATION.match(value) and len(value) < 60:
        seconds = _seconds(value)
    else:
        raise UsageError(f"cannot read {text[:40]!r} as a length of time (try 90m, 1h30m or 2d)")
    if seconds > upper:
        raise UsageError(f"{text[:40]!r} is too long (at most {describe_span(upper)})")
    return seconds


def describe_span(seconds: int) -> str:
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} seconds"


def check_moment(ts: int, text: str, now: float) -> int:
    """A time someone typed, refused unless it lies between 2002 and a year from now."""
    if not EARLIEST <= ts <= now + AHEAD:
        raise UsageError(f"{text[:40]!r} is out of range (times go from 2002 to a year from now)")
    return ts


def parse_time(text: str, now: float) -> int:
    """Unix seconds (UTC) for what the user typed; naive times are local time. Never before 2002 or
    more than a year ahead."""
    return check_moment(_parse_time(text, now), text, now)


def _parse_time(text: str, now: float) -> int:
    value = text.strip().lower()
    if not value:  # an unset variable in a script: never taken for now
        raise UsageError("an empty time: give one such as 2026-11-25T21:30, 21:30, 45m ago or now")
    if len(value) > 60:
        raise UsageError(f"cannot read {text[:40]!r}… as a time")
    if value == "now":
        return int(now)
    if value.isdigit() and len(value) >= 9:
        return int(value)
    ago = _AGO.match(value)
    if ago:
        back = _seconds(ago.group(1))
        if back > MAX_SPAN:
            raise UsageError(f"{text[:40]!r} is out of range (times go from 2002 to a year from now)")
        return int(now) - back
    ahead = _IN.match(value)
    if ahead:
        forward = _seconds(ahead.group(1))
        if forward > MAX_SPAN:
            raise UsageError(f"{text[:40]!r} is out of range (times go from 2002 to a year from now)")
        return int(now) + forward
    clock = _CLOCK.match(value)
    if clock:
        hour, minute, second = int(clock.group(1)), int(clock.group(2)), int(clock.group(3) or 0)
        if hour > 23 or minute > 59 or second > 59:
            raise UsageError(f"{text!r} is not a time of day")
        today = datetime.fromtimestamp(now).astimezone()
        moment = today.replace(hour=hour, minute=minute, second=second, microsecond=0)
        if moment.timestamp() > now + 60:
            moment -= timedelta(days=1)  # a clock time still to come today means yesterday's
        return int(moment.timestamp())
    try:
        moment = datetime.fromisoformat(text.strip())
        if moment.tzinfo is None:
            moment = moment.astimezone()
        return int(moment.timestamp())
    except (ValueError, OverflowError, OSError):
        raise UsageError(
            f"cannot read {text[:40]!r} as a time (try 2026-11-25T21:30, 21:30, 45m ago or now)"
        ) from None


def iso_utc(ts: float | None) -> str | None:
    if ts is None:
        return None
    try:
        return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (ValueError, OverflowError, OSError):
        return f"@{ts}"  # shown as it is rather than failing a read command


def local_clock(ts: float) -> str:
    """A time as text shows it: local, with its offset from UTC (`2026-12-03 21:30:00+01:00`).

    One convention everywhere: text is local time with the zone shown, JSON is UTC (`iso_utc`). The
    text form is ISO 8601 too, so it can be pasted back into --at or --finished-at."""
    try:
        return datetime.fromtimestamp(ts).astimezone().isoformat(sep=" ", timespec="seconds")
    except (ValueError, OverflowError, OSError):
        return f"@{ts}"


def local_time(ts: float) -> str:
    """The local time of day (`21:30:00`), for lines under a heading that shows the date and zone."""
    try:
        return datetime.fromtimestamp(ts).astimezone().strftime("%H:%M:%S")
    except (ValueError, OverflowError, OSError):
        return f"@{ts}"
