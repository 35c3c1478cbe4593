"""lastfm-enhance: Last.fm play counts, listeners and tags written back into the static JSON.

Requests are the cost: the user's plays for every album come from a few pages
of user.getTopAlbums; album.getInfo is asked only for albums whose cached
answer is older than --max-age, or that the top albums do not name and that
have new plays in the ledger.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from app import App
from cache import Cache
from collection.lastfm_fields import apply_album, apply_index, check, current, safe_time
from collection.album import album_from_data
from collection.lookup import resolve_many
from collection.names import album_key
from collection.store import Store, entry_slug
from errors import CollectionError, LastfmError, LastfmNotFound, LastfmTemporary
from history.archive import Archive
from history.site_stats import write_site_stats
from history.sync import sync
from scrobble.ledger import Ledger
from scrobble.timeparse import iso_utc

if TYPE_CHECKING:
    from lastfm.client import LastFM

log = logging.getLogger("russfm.enhance")
DEFAULT_MAX_AGE = 7 * 86400
FIRST_RUN_LOOKBACK = 14 * 86400
LAST_RUN = "enhance\tlast run"
OUTAGE_AFTER = 3


@dataclass
class AlbumOutcome:
    slug: str
    status: str  # updated, unchanged, failed
    matched: bool = False
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)
    error: str = ""
    asked: bool = False  # album.getInfo was asked (not answered from the cache)


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


@dataclass
class EnhanceReport:
    albums: list[AlbumOutcome] = field(default_factory=list)
    requests: int = 0
    seconds: float = 0.0
    files_written: int = 0
    warnings: list[str] = field(default_factory=list)
    user_plays_read: bool = True  # user.getTopAlbums answered
    stats_changed: bool = False  # public/lastfm/stats.json was (or, dry, would be) rewritten

    def count(self, status: str) -> int:
        return sum(1 for a in self.albums if a.status == status)

    @property
    def unmatched(self) -> int:
        return sum(1 for a in self.albums if not a.matched and a.status != "failed")

    def summary(self, dry_run: bool) -> str:
        plays = (f"{self.unmatched} not in the user's top albums" if self.user_plays_read
                 else "the user's play counts could not be read (kept as they were)")
        return (f"{_count(len(self.albums), 'album')}: {self.count('updated')} "
                f"{'would change' if dry_run else 'updated'}, "
                f"{self.count('unchanged')} unchanged, {plays}, {self.count('failed')} failed; "
                f"{_count(self.requests, 'request')} in {self.seconds:.1f} s; "
                f"{_count(self.files_written, 'file')} written"
                + ("; stats.json " + ("would change" if dry_run else "rewritten") if self.stats_changed else ""))

    def to_json(self) -> dict:
        return {
            "updated": self.count("updated"), "unchanged": self.count("unchanged"),
            "failed": self.count("failed"), "unmatched": self.unmatched if self.user_plays_read else None,
            "user_plays_read": self.user_plays_read, "stats_changed": self.stats_changed,
            "requests": self.requests,
            "seconds": round(self.seconds, 3), "files_written": self.files_written, "warnings": self.warnings,
            "albums": [{"slug": a.slug, "status": a.status, "matched": a.matched, "error": a.error or None,
                        "refused": a.refused,
                        "changes": {k: {"old": old, "new": new} for k, (old, new) in a.changes.items()}}
                       for a in self.albums if a.status != "unchanged" or a.refused],
        }


def _parse_iso(value: Any, now: float) -> int | None:
    when = safe_time(value, now)
    return int(datetime.fromisoformat(when.replace("Z", "+00:00")).timestamp()) if when else None


def archived_plays(app: App) -> dict[str, int] | None:
    """{slug: newest play} of every record played, from the listening archive; None without a finished one."""
    archive = Archive.existing(app.settings.state_dir)
    if archive is None:
        return None
    with archive:
        if not archive.complete:
            return None
        archive.refresh_matches(app.store)
        return {slug: latest for slug, (latest, _) in archive.records_played().items()}


def _ledger_latest(ledger: Ledger) -> tuple[dict[str, int], dict[str, int], dict[str, float]]:
    """Latest accepted play per slug and per album key, and when each key last got a play."""
    by_slug: dict[str, int] = {}
    by_key: dict[str, int] = {}
    sent: dict[str, float] = {}
    for e in ledger.accepted():
        key = album_key(e.album_artist or e.artist, e.album)
        if e.slug:
            by_slug[e.slug] = max(by_slug.get(e.slug, 0), e.timestamp)
        by_key[key] = max(by_key.get(key, 0), e.timestamp)
        sent[key] = max(sent.get(key, 0.0), e.sent_at or 0.0)
        if e.slug:
            sent[e.slug] = max(sent.get(e.slug, 0.0), e.sent_at or 0.0)
    return by_slug, by_key, sent


def enhance(app: App, queries: list[str] | None = None, max_age: float = DEFAULT_MAX_AGE, refresh: bool = False,
            dry_run: bool = False, on_album: Callable[[AlbumOutcome], None] | None = None,
            sync_first: bool = False, stats: bool = True) -> EnhanceReport:
    started = time.monotonic()
    report = EnhanceReport()
    store, cache = app.store, app.cache
    username = app.lastfm_user()
    client = app.reader()
    requests_before = client.requests
    if sync_first:
        synced = sync(app)
        if synced.stopped:
            report.warnings.append(f"the listening history could not be brought up to date ({synced.stopped})")
    now = app.clock()
    entries = {slug: e for e in store.index() if (slug := entry_slug(e))}
    if queries:
        slugs, problems = resolve_many(store, queries)
        report.albums.extend(AlbumOutcome(query, "failed", error=why) for query, why in problems)
    else:
        slugs = list(entries)

    top: dict[str, int] | None
    overall: list[dict] | None = None
    try:
        top = {}
        overall = client.top_albums(username)
        for item in overall:
            if item["playcount"] is None:
                continue
            key = album_key(item["artist"], item["name"])
            top[key] = top.get(key, 0) + item["playcount"]
    except LastfmError as exc:
        top = None
        report.user_plays_read = False
        report.warnings.append(f"the user's play counts could not be read ({exc}); they are kept as they were")

    by_slug, by_key, sent = _ledger_latest(app.ledger)
    recent: dict[str, int] = {}
    played = archived_plays(app)
    if played is not None:  # the whole history: each record's newest play, whenever it was
        for slug, latest in played.items():
            by_slug[slug] = max(by_slug.get(slug, 0), latest)
    else:
        last_run = cache.entry(LAST_RUN)
        since = last_run[1] if last_run else now - FIRST_RUN_LOOKBACK
        try:
            for play in client.recent_tracks(username, int(since), int(now)):
                key = album_key(play["artist"], play["album"])
                recent[key] = max(recent.get(key, 0), play["timestamp"])
        except LastfmError as exc:
            report.warnings.append(f"user.getRecentTracks failed ({exc}); last scrobble times from the ledger only")

    # The records' own titles: a box's album that is also a record alone keeps its plays for that record.
    alone = {album_key(str(e.get("release_artist") or ""), str(e.get("release_name") or "")) for e in entries.values()}
    index_changed = False
    outage = 0  # temporary failures in a row: after a few, Last.fm is not asked again this run
    for slug in slugs:
        outcome = AlbumOutcome(slug, "unchanged")
        report.albums.append(outcome)
        try:
            values = _enhance_album(store, client, username, cache, slug, top, recent, by_slug, by_key, sent,
                                    max_age, refresh, dry_run, now, outcome,
                                    offline=outage >= OUTAGE_AFTER, alone=alone)
            outage = 0 if outcome.asked else outage
        except LastfmTemporary as exc:
            outage += 1
            outcome.status, outcome.error = "failed", str(exc)
            values = None
        except (CollectionError, LastfmError) as exc:
            outcome.status, outcome.error = "failed", str(exc)
            values = None
        entry = entries.get(slug)
        if entry is not None and values is not None and apply_index(entry, values, now):
            index_changed = True
        if outcome.status == "updated" and not dry_run:
            report.files_written += 1
        if on_album:
            on_album(outcome)
    if index_changed and not dry_run and store.save_index():
        report.files_written += 1
    if stats:
        report.stats_changed = write_site_stats(app, overall, dry_run, report.warnings.append)
        report.files_written += int(report.stats_changed and not dry_run)
    if not dry_run:
        cache.put(LAST_RUN, now)
    report.requests = client.requests - requests_before
    report.seconds = time.monotonic() - started
    return report


def _enhance_album(store: Store, client: LastFM, username: str, cache: Cache, slug: str,
                   top: dict[str, int] | None, recent: dict[str, int],
                   by_slug: dict[str, int], by_key: dict[str, int], sent: dict[str, float],
                   max_age: float, refresh: bool, dry_run: bool, now: float,
                   outcome: AlbumOutcome, offline: bool = False, alone: set[str] | None = None) -> dict[str, Any]:
    """Update one album's file (unless dry_run); returns its Last.fm values as they now stand.

    A box set's tracks are scrobbled under the titles of its albums: their plays count for the box, except
    an album the collection also holds alone (`alone`, the records' own keys)."""
    data, fmt = store.read_album(slug)  # read once: the model and the rewrite share it
    album = album_from_data(data, slug, store.album_path(slug))
    assert isinstance(data, dict)
    key = album_key(album.artist, album.title)
    inner = {album_key(album.artist, title) for title in album.box_albums} - {key} - (alone or set())
    outcome.matched = top is not None and any(k in top for k in {key, *inner})
    cached = cache.entry(f"enhance\t{key}")
    fresh = cached is not None and not refresh and (now - cached[0]) <= max_age
    played_since = cached is not None and max(sent.get(key, 0.0), sent.get(slug, 0.0)) > cached[0]
    info: dict | None
    if fresh and (outcome.matched or not played_since):
        info = cached[1]  # type: ignore[index]
    elif offline:
        raise LastfmTemporary("Last.fm did not answer the albums before this one; not asked again this run")
    else:
        outcome.asked = True
        try:
            info = client.album_info(album.artist, album.title, username=username, autocorrect=True)
        except LastfmNotFound:
            info = {"not_found": True}
        cache.put(f"enhance\t{key}", info)
    before = current(data)
    raw: dict[str, Any] = {}
    if info and not info.get("not_found"):
        for name in ("listeners", "playcount", "url", "mbid", "tags"):
            if info.get(name) is not None or name in ("listeners", "playcount"):
                raw[name] = info.get(name)
        if info.get("userplaycount") is not None and top is not None:
            raw["userplaycount"] = info["userplaycount"]
    if outcome.matched:
        raw["userplaycount"] = sum((top or {}).get(k, 0) for k in {key, *inner})
    elif top is not None and "userplaycount" not in raw:
        raw["userplaycount"] = 0  # not among everything the user played
    latest = max(filter(None, [_parse_iso(before.get("last_scrobbled"), now), by_slug.get(slug),
                               *(by_key.get(k) for k in {key, *inner}), *(recent.get(k) for k in {key, *inner})]),
                 default=None)
    if latest:
        raw["last_scrobbled"] = iso_utc(latest)
    checked = check(raw, now)
    outcome.refused = checked.refused
    target = copy.deepcopy(data) if dry_run else data
    outcome.changes = apply_album(target, checked.values, iso_utc(now) or "", now)
    if outcome.changes:
        outcome.status = "updated"
        if not dry_run:
            store.write_album(slug, data, fmt)
    return current(target)
