"""`lastfm stats`: what the archive says about a period's listening and about the records owned (no requests)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, TypeVar

from app import App
from history.archive import Archive
from history.periods import DAY, DEFAULT_PERIOD, PERIODS, check_period
from scrobble.timeparse import iso_utc

WEEKS = 26
TOP = 10
YEAR = 365 * DAY
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
T = TypeVar("T")


@dataclass
class AlbumPlays:
    artist: str
    album: str
    plays: int
    slug: str | None = None  # the record it is, when owned

    def to_json(self) -> dict[str, Any]:
        return {"artist": self.artist, "album": self.album, "plays": self.plays, "slug": self.slug}


@dataclass
class ArtistPlays:
    artist: str
    plays: int

    def to_json(self) -> dict[str, Any]:
        return {"artist": self.artist, "plays": self.plays}


@dataclass
class Record:
    """A record of the collection and when it was last played."""

    slug: str
    artist: str
    title: str
    last_played: int | None = None
    plays: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"slug": self.slug, "artist": self.artist, "title": self.title,
                "last_played": iso_utc(self.last_played), "plays": self.plays}


def add_plays(records: dict[str, Record], played: dict[str, tuple[int, int]]) -> None:
    """Fill in each record's latest play and plays from the archive's {slug: (latest, plays)}."""
    for slug, (last, plays) in played.items():
        if slug in records:
            records[slug].last_played, records[slug].plays = last, plays


@dataclass
class HistoryStats:
    user: str
    period: str
    start: int
    end: int  # exclusive: now + 1
    scrobbles: int
    per_day: float
    weeks: list[tuple[int, int]]  # (week start, scrobbles), oldest first
    top_albums: list[AlbumPlays]
    top_artists: list[ArtistPlays]
    records: int
    played_ever: int
    played_last_year: int
    longest_unplayed: list[Record]
    never_played: int
    never_played_examples: list[Record]
    weekdays: list[int]  # Monday first, local time
    hours: list[int]  # 0 to 23, local time
    synced_at: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "user": self.user, "period": self.period, "since": iso_utc(self.start), "until": iso_utc(self.end - 1),
            "scrobbles": self.scrobbles, "per_day": round(self.per_day, 2),
            "weeks": [{"start": iso_utc(start), "scrobbles": n} for start, n in self.weeks],
            "top_albums": [a.to_json() for a in self.top_albums],
            "top_artists": [a.to_json() for a in self.top_artists],
            "collection": {"records": self.records, "played_ever": self.played_ever,
                           "played_last_12_months": self.played_last_year},
            "longest_unplayed": [r.to_json() for r in self.longest_unplayed],
            "never_played": {"count": self.never_played, "records": [r.to_json() for r in self.never_played_examples]},
            "weekdays": dict(zip(WEEKDAYS, self.weekdays)), "hours": self.hours,
            "synced_at": iso_utc(self.synced_at),
        }


def _top(counts: Counter[str], spellings: dict[str, Counter[T]]) -> list[tuple[str, int, T]]:
    """The TOP keys by scrobbles, each with its most played spelling."""
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]
    return [(key, plays, spellings[key].most_common(1)[0][0]) for key, plays in ranked]


def tops(groups: list[tuple[str | None, str, str, str, int]],
         records: dict[str, Record]) -> tuple[list[AlbumPlays], list[ArtistPlays]]:
    """The TOP albums and artists of the archive's album groups (`Archive.group_plays`).

    Album groups of one record (or of one album key, for records not owned)
    count together, named as the collection names the record; artists count
    case aside, as Last.fm counts them.
    """
    album_counts: Counter[str] = Counter()
    album_names: dict[str, Counter[tuple[str, str]]] = {}
    album_slugs: dict[str, str | None] = {}
    artist_counts: Counter[str] = Counter()
    artist_names: dict[str, Counter[str]] = {}
    for slug, key, artist, album, plays in groups:
        artist_counts[artist.casefold()] += plays
        artist_names.setdefault(artist.casefold(), Counter())[artist] += plays
        if album:
            album_counts[slug or key] += plays
            album_names.setdefault(slug or key, Counter())[(artist, album)] += plays
            album_slugs[slug or key] = slug
    top_albums = []
    for key, plays, (artist, album) in _top(album_counts, album_names):
        owned = records.get(album_slugs[key] or "")
        if owned:
            artist, album = owned.artist or artist, owned.title or album
        top_albums.append(AlbumPlays(artist, album, plays, album_slugs[key]))
    return top_albums, [ArtistPlays(name, plays) for _, plays, name in _top(artist_counts, artist_names)]


def history_stats(app: App, period: str = DEFAULT_PERIOD) -> HistoryStats:
    """Everything `lastfm stats` shows for the period (a key of PERIODS), read from the archive."""
    period = check_period(period)
    now = int(app.clock())
    end = now + 1
    with Archive.finished(app.settings.state_dir) as archive:
        archive.refresh_matches(app.store)
        records = {slug: Record(slug, artist, title) for slug, artist, title in archive.records()}
        days = PERIODS[period]
        start = now - days * DAY if days else min(archive.oldest() or now, now)
        week_start = end - WEEKS * 7 * DAY
        weekly = archive.weekly(week_start, end)
        groups = archive.group_plays(start, end)
        played = archive.records_played()
        weekdays, hours = [0] * 7, [0] * 24
        for weekday, hour, plays in archive.weekday_hours(start, end):
            weekdays[(weekday + 6) % 7] += plays  # SQLite counts from Sunday
            hours[hour] += plays
        user, synced_at = archive.user or "", archive.synced_at

    top_albums, top_artists = tops(groups, records)
    add_plays(records, played)
    owned_played = sorted((r for r in records.values() if r.last_played is not None),
                          key=lambda r: (r.last_played or 0, r.slug))
    never = [r for r in records.values() if r.last_played is None]
    scrobbles = sum(plays for *_, plays in groups)
    return HistoryStats(
        user=user, period=period, start=start, end=end, scrobbles=scrobbles,
        per_day=scrobbles / max(1.0, (end - start) / DAY),
        weeks=[(week_start + i * 7 * DAY, weekly.get(i, 0)) for i in range(WEEKS)], top_albums=top_albums,
        top_artists=top_artists,
        records=len(records), played_ever=len(owned_played),
        played_last_year=sum(1 for r in owned_played if (r.last_played or 0) >= now - YEAR),
        longest_unplayed=owned_played[:TOP], never_played=len(never), never_played_examples=never[:TOP],
        weekdays=weekdays, hours=hours, synced_at=synced_at,
    )
