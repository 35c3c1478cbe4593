"""Lengths of time as the listening-history commands read and say them: chart periods, `6m`, `8 months ago`."""

from __future__ import annotations

import re
from datetime import datetime

from errors import UsageError
from scrobble.timeparse import parse_span

DAY = 86400
# Last.fm's own chart periods (user.getTopAlbums): a month is 30 days, a year 365.
PERIODS: dict[str, int | None] = {"7d": 7, "1m": 30, "3m": 90, "6m": 180, "12m": 365, "all": None}
PERIOD_NAMES = {"7d": "last 7 days", "1m": "last month", "3m": "last 3 months", "6m": "last 6 months",
                "12m": "last 12 months", "all": "all time"}
_CALENDAR = re.compile(r"^(\d{1,3})\s*(w|wk|weeks?|m|mo|months?|y|yr|years?)$")
_UNIT_DAYS = {"w": 7, "m": 30, "y": 365}


def parse_age(text: str) -> int:
    """Seconds for `2w`, `6m` (months of 30 days), `1y` (365 days) or what parse_span reads (`90d`, `36h`…).

    Unlike parse_span, a bare `m` means months here: nobody asks for a
    record not played for six minutes.
    """
    value = text.strip().lower()
    found = _CALENDAR.match(value)
    if found:
        return int(found.group(1)) * _UNIT_DAYS[found.group(2)[0]] * DAY
    try:
        return parse_span(value)
    except UsageError:
        raise UsageError(f"cannot read {text[:40]!r} as a length of time (try 6m, 1y, 90d or 2w)") from None


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
