"""Lengths of time as the listening-history commands read and say them: chart periods, `6mo`, `8 months ago`."""

from __future__ import annotations

import re
from datetime import datetime

from errors import UsageError
from scrobble.timeparse import parse_span

DAY = 86400
# Last.fm's own chart periods (user.getTopAlbums): a month is 30 days, a year 365.
# `m` means minutes everywhere (`45m ago`, `--for 10m`); months are `mo`.
PERIODS: dict[str, int | None] = {"7d": 7, "1mo": 30, "3mo": 90, "6mo": 180, "12mo": 365, "all": None}
PERIOD_NAMES = {"7d": "last 7 days", "1mo": "last month", "3mo": "last 3 months", "6mo": "last 6 months",
                "12mo": "last 12 months", "all": "all time"}
DEFAULT_PERIOD = "1mo"
_CALENDAR = re.compile(r"^(\d{1,3})\s*(w|wk|weeks?|mo|mos|months?|y|yr|years?)$")
_BARE_M = re.compile(r"^(\d{1,3})\s*m$")
_UNIT_DAYS = {"w": 7, "m": 30, "y": 365}


def _months_hint(text: str) -> str | None:
    found = _BARE_M.match(text.strip().lower())
    if found:
        return (f"{text.strip()!r} would be {found.group(1)} minutes: `m` means minutes everywhere; "
                f"write {found.group(1)}mo for months")
    return None


def check_period(text: str) -> str:
    """One of PERIODS, or a UsageError that names the choices (and says `6m` is minutes)."""
    value = text.strip().lower()
    if value in PERIODS:
        return value
    raise UsageError(_months_hint(value) or f"unknown period {text[:40]!r}; choose from {', '.join(PERIODS)}")


def parse_age(text: str) -> int:
    """Seconds for `2w`, `6mo` (months of 30 days), `1y` (365 days) or what parse_span reads (`90d`, `36h`…).

    A bare `6m` is refused: it means minutes everywhere else, and nobody asks
    for a record not played for six minutes.
    """
    value = text.strip().lower()
    found = _CALENDAR.match(value)
    if found:
        return int(found.group(1)) * _UNIT_DAYS[found.group(2)[0]] * DAY
    hint = _months_hint(value)
    if hint:
        raise UsageError(hint)
    try:
        return parse_span(value)
    except UsageError:
        raise UsageError(f"cannot read {text[:40]!r} as a length of time (try 6mo, 1y, 90d or 2w)") from None


def local_date(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d")


def ago(ts: float, now: float) -> str:
    """`today`, `yesterday`, `5 days ago`, `3 weeks ago`, `8 months ago`, `2 years ago`."""
    days = int((now - ts) // DAY)
    if days < 1:
        return "today"
    if days < 2:
        return "yesterday"
    for limit, size, unit in ((14, 1, "day"), (60, 7, "week"), (730, 30.4, "month")):
        if days < limit:
            count = int(days // size)
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return f"{int(days // 365.25)} years ago"
