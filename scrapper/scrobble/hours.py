"""Listening hours for queued records: the daily stretches of local time they may be placed in, with gaps."""

from __future__ import annotations

import re
from dataclasses import dataclass
import os
from datetime import date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from errors import UsageError

_HOURS = re.compile(r"^(\d{1,2})(?::00)?\s*-\s*(\d{1,2})(?::00)?$")
DEFAULT_GAP = 10 * 60  # between records placed in listening hours: the time to change the record
HOUR = 3600


@dataclass(frozen=True)
class Hours:
    """From `start` to `end` o'clock, local time, every day; an end at or before the start is the next day."""

    start: int  # 0 to 23
    end: int  # 1 to 24

    @property
    def seconds(self) -> int:
        """How long the stretch lasts on an ordinary day."""
        return ((self.end - self.start) % 24 or 24) * HOUR

    def describe(self) -> str:
        return f"{self.start:02d}:00–{self.end % 24:02d}:00"

    def to_list(self) -> list[int]:
        return [self.start, self.end]

    def windows(self, low: int, high: int, zone: str | None = None) -> list[tuple[int, int]]:
        """The stretches of [low, high), earliest first (daylight saving time changes their length), in `zone`
        (a name such as Europe/Paris) or else in local time."""
        out: list[tuple[int, int]] = []
        where = _zone(zone)
        day = datetime.fromtimestamp(low, where).date() - timedelta(days=1)
        last = datetime.fromtimestamp(high, where).date()
        while day <= last:
            begin = datetime(day.year, day.month, day.day, tzinfo=where) + timedelta(hours=self.start)
            finish = datetime(day.year, day.month, day.day, tzinfo=where) + timedelta(hours=self.end)
            if self.end <= self.start:
                finish += timedelta(days=1)
            a, b = max(low, int(begin.timestamp())), min(high, int(finish.timestamp()))
            if a < b:
                out.append((a, b))
            day += timedelta(days=1)
        return out


def _zone(name: str | None) -> tzinfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ValueError, OSError):  # no longer known to this system: local time, as without a zone
        return None


def chosen_zone() -> str | None:
    """The zone listening hours are chosen in, when TZ names one (Asia/Tokyo); else None, local time.

    A `queue run` from cron often runs in another zone than the shell that queued the albums (a server on
    UTC, TZ set in the user's profile): the job keeps the zone its hours were meant in."""
    name = os.environ.get("TZ", "").lstrip(":").strip()
    return name if name and _zone(name) is not None else None


def parse_hours(text: str) -> Hours:
    """`18-01` (6 pm to 1 am), `9-17`, `20:00-23:00`."""
    found = _HOURS.match(text.strip())
    if not found:
        raise UsageError(f"cannot read {text[:40]!r} as listening hours (try 18-01 for 6 pm to 1 am)")
    start, end = int(found.group(1)), int(found.group(2))
    if start > 23 or not 0 <= end <= 24:
        raise UsageError(f"{text[:40]!r}: listening hours go from 0 to 24")
    if start == end % 24:
        raise UsageError(f"{text[:40]!r} is the whole day: leave --hours out (--gap alone keeps time between albums)")
    return Hours(start, end or 24)


def hours_of(value: object) -> Hours | None:
    """The hours a job keeps (`[start, end]`), if any."""
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return Hours(value[0], value[1])
    return None


def _pieces(gap: tuple[int, int], allowed: list[tuple[int, int]] | None) -> list[tuple[int, int]]:
    if allowed is None:
        return [gap]
    return [(max(gap[0], a), min(gap[1], b)) for a, b in allowed if a < gap[1] and b > gap[0]]


def place_within(gaps: list[tuple[int, int]], span: int, allowed: list[tuple[int, int]] | None = None,
                 lead: int = 0) -> int | None:
    """The earliest start where `span` fits inside a free gap (and inside the allowed stretches, if any),
    `lead` seconds after the gap opens; the gap list is updated to exclude what was taken."""
    for i, gap in enumerate(gaps):
        for a, b in _pieces(gap, allowed):
            if b - a >= span + lead:
                start = a + lead
                # The gap is kept free before the album, whatever is placed before it later.
                rest = [(gap[0], a)] if a > gap[0] else []
                rest += [(start + span, gap[1])] if start + span < gap[1] else []
                gaps[i:i + 1] = rest
                return start
    return None
