"""The site's listening data, `public/lastfm/stats.json`: the profile, the last scrobbles, top records and artists
of four periods, a year of weekly listening, how much of the collection is played. Every value checked.

From the archive when there is one (one request: the profile); without one,
from Last.fm (the profile, one user.getRecentTracks, and the four periods of
user.getTopAlbums and user.getTopArtists, the overall albums shared with
`lastfm-enhance`), and then without the weekly counts, which only the archive
can give.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app import App
from collection.lastfm_fields import safe_count, safe_text, safe_time, safe_url
from collection.matching import Matcher
from collection.store import JsonFormat, read_json, write_json
from errors import CollectionError, LastfmError
from history.archive import Archive, collection_matcher, index_records
from history.stats import Record, add_plays, tops
from scrobble.timeparse import iso_utc

if TYPE_CHECKING:
    from lastfm.client import LastFM

log = logging.getLogger("russfm.site_stats")
STATS_FILE = Path("lastfm") / "stats.json"
FORMAT = JsonFormat(indent=2, ensure_ascii=False, trailing_newline=True)
DAY = 86400
TOP = 10
WEEKS = 52
# Last.fm's period names, as the site reads them, and their length in days (None: all time).
SITE_PERIODS: dict[str, int | None] = {"7day": 7, "1month": 30, "12month": 365, "overall": None}


def week_label(moment: datetime) -> str:
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def weeks_back(now: float) -> list[datetime]:
    """The Mondays (00:00 UTC) that start the last 52 ISO weeks, this one last."""
    today = datetime.fromtimestamp(now, timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    this_monday = today - timedelta(days=today.weekday())
    return [this_monday - timedelta(weeks=WEEKS - 1 - i) for i in range(WEEKS)]


def _album(artist: object, album: object, plays: object, slug: str | None) -> dict[str, Any] | None:
    entry = {"artist": safe_text(artist), "album": safe_text(album), "plays": safe_count("userplaycount", plays),
             "slug": slug}
    return entry if entry["artist"] and entry["album"] and entry["plays"] is not None else None


def _artist(artist: object, plays: object) -> dict[str, Any] | None:
    entry = {"artist": safe_text(artist), "plays": safe_count("userplaycount", plays)}
    return entry if entry["artist"] and entry["plays"] is not None else None


def _recent(play: dict, matcher: Matcher, now: float) -> dict[str, Any] | None:
    entry = {"artist": safe_text(play.get("artist")), "track": safe_text(play.get("track")),
             "album": safe_text(play.get("album")) or "", "played_at": safe_time(iso_utc(play.get("timestamp")), now),
             "slug": matcher.slug_of(play)}
    return entry if entry["artist"] and entry["track"] and entry["played_at"] else None


def _kept(items: list[dict[str, Any] | None]) -> list[dict[str, Any]]:
    return [item for item in items if item is not None][:TOP]


def _profile(client: LastFM, user: str, now: float, previous: dict[str, Any]) -> dict[str, Any]:
    """The user's profile (one request); when Last.fm cannot say, the profile as the file last held it."""
    try:
        info = client.user_info(user)
    except LastfmError as exc:
        log.warning("the Last.fm profile could not be read (%s); the one in stats.json is kept", exc)
        return previous if isinstance(previous, dict) else {}
    registered = info.get("registered")
    return {"name": safe_text(info.get("name")) or user, "url": safe_url(info.get("url")),
            "playcount": safe_count("userplaycount", info.get("playcount")),
            "registered": safe_time(iso_utc(registered), now) if isinstance(registered, int) else None}


def _from_archive(app: App, archive: Archive, now: int) -> dict[str, Any]:
    matcher = archive.matcher(app.store)  # matched again first if the collection changed
    records = {slug: Record(slug, artist, title) for slug, artist, title in archive.records()}
    top_albums, top_artists = {}, {}
    for name, days in SITE_PERIODS.items():
        start = now - days * DAY if days else 0
        albums, artists = tops(archive.group_plays(start, now + 1), records)
        top_albums[name] = _kept([_album(a.artist, a.album, a.plays, a.slug) for a in albums])
        top_artists[name] = _kept([_artist(a.artist, a.plays) for a in artists])
    mondays = weeks_back(now)
    counts = archive.weekly(int(mondays[0].timestamp()), now + 1)
    add_plays(records, archive.records_played())
    played = [r for r in records.values() if r.last_played is not None]
    return {
        "recent": _kept([_recent(p, matcher, now) for p in archive.latest(TOP)]),
        "top_albums": top_albums, "top_artists": top_artists,
        "weekly": [{"week": week_label(monday), "scrobbles": counts.get(i, 0)} for i, monday in enumerate(mondays)],
        "collection": {"albums": len(records), "played": len(played),
                       "played_12month": sum(1 for r in played if (r.last_played or 0) >= now - 365 * DAY)},
    }


def _from_lastfm(app: App, client: LastFM, user: str, now: int,
                 overall: list[dict] | None) -> dict[str, Any]:
    """Without an archive: what the charts say (the first page of each period; 12 months in full for the
    records played in that time)."""
    matcher = collection_matcher(app.settings.state_dir, app.store)
    records = {slug for slug, _, _ in index_records(app.store)}
    top_albums, top_artists = {}, {}
    played_year: set[str] = set()
    played_ever: set[str] = set()
    for name in SITE_PERIODS:
        if name == "overall" and overall is not None:
            albums = sorted(overall, key=lambda a: -(a.get("playcount") or 0))
        else:
            albums = client.top_albums_page(user, name, 1000 if name == "12month" else TOP)
        slugs = [matcher.slug_of({"artist": a["artist"], "album": a["name"], "album_mbid": a.get("mbid")})
                 for a in albums]
        if name == "12month":
            played_year = {s for s in slugs if s in records}
        if name == "overall":
            played_ever = {s for s in slugs if s in records}
        top_albums[name] = _kept([_album(a["artist"], a["name"], a["playcount"], slug)
                                  for a, slug in zip(albums, slugs)])
        top_artists[name] = _kept([_artist(a["name"], a["playcount"]) for a in client.top_artists(user, name, TOP)])
    page = client.recent_page(user, 1, TOP)
    return {
        "recent": _kept([_recent(p, matcher, now) for p in page.items]),
        "top_albums": top_albums, "top_artists": top_artists, "weekly": [],
        "collection": {"albums": len(records), "played": len(played_ever), "played_12month": len(played_year)},
    }


def write_site_stats(app: App, overall: list[dict] | None = None, dry_run: bool = False,
                     on_problem: Callable[[str], None] | None = None) -> bool:
    """Compute stats.json and write it when its content changes; True when it was (or would be) written.
    `overall` is the user's every album with plays, when the caller has already asked for them."""
    now = int(app.clock())
    path = app.settings.data_dir / STATS_FILE
    previous: dict[str, Any] = {}
    fmt = FORMAT
    if path.exists():
        try:
            data, fmt = read_json(path)
            previous = data if isinstance(data, dict) else {}
        except CollectionError:
            previous = {}  # a broken file is simply written anew
    user = app.lastfm_user()
    client = app.reader()
    archive = Archive.existing(app.settings.state_dir)
    try:
        if archive is not None and archive.complete:
            body = _from_archive(app, archive, now)
        else:
            body = _from_lastfm(app, client, user, now, overall)
    except LastfmError as exc:
        if on_problem:
            on_problem(f"stats.json kept as it was: {exc}")
        return False
    finally:
        if archive is not None:
            archive.close()
    stats = {"user": _profile(client, user, now, previous.get("user", {})), **body}
    if dry_run:
        return stats != previous
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_json(path, stats, fmt)
