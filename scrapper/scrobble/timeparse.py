"""Reading the times users type: ISO 8601, `HH:MM`, `45m ago`, `now`, unix seconds."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from errors import UsageError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PART = re.compile(r"(\d+)\s*(s|sec|secs|seconds?|m|min|mins|minutes?|h|hr|hrs|hours?|d|days?)")
_AGO = re.compile(rf"^((?:{_PART.pattern}\s*)+)ago$")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_DURATION = re.compile(rf"^((?:{_PART.pattern}\s*)+)$")


def _seconds(parts: str) -> int:
    return sum(int(n) * _UNITS[unit[0]] for n, unit in _PART.findall(parts))


def parse_span(text: str) -> int:
    """`90m`, `1h30m`, `2 days` as seconds; plain digits are seconds."""
    value = text.strip().lower()
    if value.isdigit():
        return int(value)
    if not _DURATION.match(value):
        raise UsageError(f"cannot read {text!r} as a length of time (try 90m, 1h30m or 2d)")
    return _seconds(value)


def parse_time(text: str, now: float) -> int:
    """Unix seconds (UTC) for what the user typed; naive times are local time."""
    value = text.strip().lower()
    if value == "now":
        return int(now)
    if value.isdigit() and len(value) >= 9:
        return int(value)
    ago = _AGO.match(value)
    if ago:
        return int(now) - _seconds(ago.group(1))
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
    except ValueError:
        raise UsageError(
            f"cannot read {text!r} as a time (try 2026-11-25T21:30, 21:30, 45m ago or now)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return int(moment.timestamp())


def iso_utc(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def local_clock(ts: float) -> str:
    return datetime.fromtimestamp(ts).astimezone().strftime("%Y-%m-%d %H:%M:%S")
