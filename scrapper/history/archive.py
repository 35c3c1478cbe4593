"""The listening archive: the user's scrobbles copied from Last.fm into a private sqlite3 file, indexed for queries.

Tables (schema version in `meta`):
- `scrobbles`: one row per scrobble, unique on (timestamp, artist, track, album),
  with the album group it belongs to and the copy that last saw it;
- `albums`: one row per (artist, album, album mbid) seen, with its album key
  and the collection slug it matched; re-matching the collection rewrites
  only these rows;
- `collection_keys` and `records`: the matcher's keys and mbids, and the
  records of the index, saved with the stamp of the collection index they
  came from, so that neither the album files nor the index are read again
  until the index changes;
- `meta`: schema version, user, copy in progress, generation, last sync.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from collection.matching import Matcher
from collection.names import album_key
from collection.store import Store, entry_slug
from errors import CollectionError, RussfmError, StateError
from statefiles import cannot_open, private_file, storage_problem, write_failed

ARCHIVE_FILE = "archive.sqlite"
SCHEMA_VERSION = 1
BUSY_SECONDS = 30.0
WEEK = 7 * 86400
SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE albums (
    id INTEGER PRIMARY KEY,
    artist TEXT NOT NULL, album TEXT NOT NULL, album_mbid TEXT NOT NULL,
    key TEXT NOT NULL,
    slug TEXT,
    UNIQUE (artist, album, album_mbid));
CREATE INDEX albums_slug ON albums (slug) WHERE slug IS NOT NULL;
CREATE TABLE scrobbles (
    timestamp INTEGER NOT NULL, artist TEXT NOT NULL, track TEXT NOT NULL, album TEXT NOT NULL,
    album_id INTEGER NOT NULL REFERENCES albums (id),
    seen INTEGER NOT NULL,
    PRIMARY KEY (timestamp, artist, track, album)) WITHOUT ROWID;
CREATE INDEX scrobbles_album ON scrobbles (album_id, timestamp);
CREATE TABLE collection_keys (
    kind TEXT NOT NULL, value TEXT NOT NULL, slug TEXT NOT NULL,
    PRIMARY KEY (kind, value)) WITHOUT ROWID;
CREATE TABLE records (position INTEGER PRIMARY KEY, slug TEXT NOT NULL, artist TEXT NOT NULL, title TEXT NOT NULL);
"""
# meta keys
VERSION, USER, WINDOW, GENERATION, COMPLETE, SYNCED_AT, COLLECTION = (
    "schema_version", "user", "window", "generation", "complete", "synced_at", "collection")
KEY, MBID = "key", "mbid"
NO_ARCHIVE = "no listening history yet: run `python main.py lastfm sync` first"


class NoArchive(RussfmError):
    """There is no finished copy of the listening history to read."""


def archive_path(state_dir: Path) -> Path:
    return Path(state_dir) / ARCHIVE_FILE


def index_stamp(store: Store) -> str:
    """What identifies the collection index as it is now: its path, size and modification time."""
    try:
        found = store.index_path.stat()
    except OSError as exc:
        raise CollectionError(f"{store.index_path}: cannot read ({exc.strerror})") from None
    return f"{store.index_path.resolve()}\t{found.st_size}\t{found.st_mtime_ns}"


@dataclass
class Window:
    """One copy of user.getRecentTracks between fixed bounds, walked back in time and resumable page by page.

    `end` is fixed when the copy begins. Each request asks for the newest
    page of [start, to], and `to` moves down to the oldest time the last
    page held: scrobbles stored meanwhile with older times (the queue lays
    albums into the past) cannot shift pages still to be read, and the copy
    ends on a page that is not full, whatever totals were claimed before.
    """

    user: str
    start: int | None  # None: the whole history
    end: int
    began: float
    generation: int
    whole: bool  # a whole-history copy: rows it did not see are dropped when it ends
    pages_done: int = 0
    bound: int | None = None  # unused: kept so that a copy interrupted by an older version still resumes
    to: int | None = None  # the upper bound of the next request (None: `end`)
    page: int = 1  # the page of [start, to] asked next (above 1 only when one second holds a full page)

    @property
    def upper(self) -> int:
        return self.end if self.to is None else self.to


class Archive:
    """The archive file; writes commit before they return, reads see the latest commit."""

    def __init__(self, path: Path, create: bool = False) -> None:
        """Open the archive at `path`; a file without the schema gets it only when `create` (else NoArchive)."""
        self.path = path
        self._groups: dict[tuple[str, str, str], int] | None = None
        try:
            self._sql = sqlite3.connect(path, timeout=BUSY_SECONDS)
        except sqlite3.DatabaseError as exc:
            raise cannot_open(path, exc) from None
        try:
            self._open(create)
        except BaseException:
            self._sql.close()
            raise

    def _open(self, create: bool) -> None:
        try:
            self._sql.execute("PRAGMA journal_mode=WAL")
            # Losing the last page to a power cut costs one request when the copy resumes.
            self._sql.execute("PRAGMA synchronous=NORMAL")
            fresh = not self._sql.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone()
            if fresh and not create:
                raise NoArchive(NO_ARCHIVE)
            if fresh:
                with self._writing():
                    self._sql.executescript(f"BEGIN IMMEDIATE; {SCHEMA}")
                    self._set_meta(VERSION, SCHEMA_VERSION)
            version = self.meta(VERSION)
        except sqlite3.DatabaseError as exc:
            raise self._failed(exc) from None
        if version != SCHEMA_VERSION:
            raise StateError(f"{self.path} has archive schema {version!r}, this tool reads {SCHEMA_VERSION}; "
                             "move it aside and run `lastfm sync`")

    @classmethod
    def create(cls, state_dir: Path) -> Archive:
        """Open the archive, creating it (0600) when there is none."""
        return cls(private_file(archive_path(state_dir)), create=True)

    @classmethod
    def existing(cls, state_dir: Path) -> Archive | None:
        """The archive, or None when `lastfm sync` never made one."""
        path = archive_path(state_dir)
        if not path.is_file():
            return None
        try:
            return cls(path)
        except NoArchive:
            return None  # created by a sync that has not written its schema yet

    @classmethod
    def finished(cls, state_dir: Path) -> Archive:
        """The archive of a finished first copy, or NoArchive saying how to make one."""
        archive = cls.existing(state_dir)
        if archive is not None and archive.complete:
            return archive
        if archive is not None:
            archive.close()
        raise NoArchive(NO_ARCHIVE + (" (the first copy is unfinished)" if archive is not None else ""))

    def close(self) -> None:
        self._sql.close()

    def _failed(self, exc: sqlite3.DatabaseError) -> StateError:
        if storage_problem(exc):
            return write_failed(self.path, exc)
        return StateError(f"{self.path} cannot be used ({exc}); move it aside and run `lastfm sync`")

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """One transaction: committed at the end, or rolled back, the file left as it was, and said in one line."""
        try:
            with self._sql:
                yield
        except sqlite3.DatabaseError as exc:
            raise self._failed(exc) from None

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- meta ------------------------------------------------------------------------------
    def meta(self, key: str, default: Any = None) -> Any:
        row = self._sql.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        if row is None:
            return default
        try:
            return json.loads(row[0])
        except ValueError:
            raise StateError(f"{self.path}: meta {key} is damaged; run `lastfm sync --full`") from None

    def _set_meta(self, key: str, value: Any) -> None:
        self._sql.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value)))

    @property
    def user(self) -> str | None:
        return self.meta(USER)

    @property
    def complete(self) -> bool:
        """Whether a whole-history copy has finished (later copies keep it up to date)."""
        return bool(self.meta(COMPLETE, False))

    @property
    def synced_at(self) -> float | None:
        """When the last finished copy began."""
        return self.meta(SYNCED_AT)

    # --- copying ---------------------------------------------------------------------------
    def window(self) -> Window | None:
        """The copy a killed or failed sync left unfinished."""
        data = self.meta(WINDOW)
        if data is None:
            return None
        try:
            return Window(**data)
        except TypeError:
            raise StateError(f"{self.path}: the copy in progress is damaged; run `lastfm sync --full`") from None

    def begin(self, user: str, start: int | None, end: int, began: float, whole: bool) -> Window:
        """A new copy; a whole-history one takes a new generation, so that its sweep keeps only what it saw."""
        generation = int(self.meta(GENERATION, 0)) + (1 if whole else 0)
        window = Window(user, start, end, began, generation, whole)
        with self._writing():
            self._set_meta(WINDOW, asdict(window))
            self._set_meta(GENERATION, generation)
        return window

    def _group_ids(self) -> dict[tuple[str, str, str], int]:
        if self._groups is None:
            rows = self._sql.execute("SELECT artist, album, album_mbid, id FROM albums").fetchall()
            self._groups = {(a, b, m): int(i) for a, b, m, i in rows}
        return self._groups

    def add_page(self, window: Window, plays: list[dict], matcher: Matcher, to: int, page: int) -> int:
        """Store one page and where the copy goes on (`to`, `page`), in one transaction; returns the new
        scrobbles."""
        done = window.pages_done + 1
        groups = self._group_ids()
        try:
            with self._writing():
                rows = []
                for play in plays:
                    group = (play["artist"], play["album"], play["album_mbid"])
                    if group not in groups:
                        cursor = self._sql.execute(
                            "INSERT INTO albums (artist, album, album_mbid, key, slug) VALUES (?, ?, ?, ?, ?)",
                            (*group, album_key(play["artist"], play["album"]) if play["album"] else "",
                             matcher.slug_of(play)))
                        groups[group] = int(cursor.lastrowid or 0)
                    rows.append((play["timestamp"], play["artist"], play["track"], play["album"], groups[group]))
                before = self._sql.total_changes
                self._sql.executemany(
                    "INSERT OR IGNORE INTO scrobbles (timestamp, artist, track, album, album_id, seen) "
                    "VALUES (?, ?, ?, ?, ?, ?)", [(*row, window.generation) for row in rows])
                added = self._sql.total_changes - before
                if window.whole and added < len(rows):
                    # Rows held from an earlier copy: this copy saw them, so its sweep keeps them.
                    self._sql.executemany(
                        "UPDATE scrobbles SET seen = ?, album_id = ? WHERE timestamp = ? AND artist = ? "
                        "AND track = ? AND album = ? AND seen < ?",
                        [(window.generation, row[4], *row[:4], window.generation) for row in rows])
                self._set_meta(WINDOW, {**asdict(window), "pages_done": done, "to": to, "page": page})
                if window.whole and done == 1:
                    self._set_meta(USER, window.user)  # the archive is this user's from its first row on
        except BaseException:
            self._groups = None  # album rows of the rolled-back page are gone
            raise
        window.pages_done, window.to, window.page = done, to, page
        return added

    def finish(self, window: Window) -> None:
        """The copy is done: a whole-history copy drops what it did not see (deleted on Last.fm)."""
        with self._writing():
            if window.whole:
                self._sql.execute("DELETE FROM scrobbles WHERE seen < ? AND timestamp <= ?",
                                  (window.generation, window.end))
                self._sql.execute("DELETE FROM albums WHERE id NOT IN (SELECT album_id FROM scrobbles)")
                self._set_meta(COMPLETE, True)
            self._set_meta(SYNCED_AT, window.began)
            self._sql.execute("DELETE FROM meta WHERE key = ?", (WINDOW,))
        self._groups = None

    # --- matching the collection ---------------------------------------------------------------
    def matcher(self, store: Store) -> Matcher:
        """The collection's matcher: the saved keys, or new ones when the collection index changed."""
        fresh = self.refresh_matches(store)
        if fresh is not None:
            return fresh
        matcher = Matcher()
        for kind, value, slug in self._sql.execute("SELECT kind, value, slug FROM collection_keys"):
            (matcher.by_key if kind == KEY else matcher.by_mbid)[value] = slug
        return matcher

    def refresh_matches(self, store: Store) -> Matcher | None:
        """When the collection index changed since the keys were saved: a new matcher and the index's records,
        saved, and every album group matched again (a few thousand rows, not every scrobble). None when
        nothing changed."""
        stamp = index_stamp(store)
        if self.meta(COLLECTION) == stamp:
            return None
        matcher = Matcher.from_store(store)
        groups = self._sql.execute("SELECT id, artist, album, album_mbid, slug FROM albums").fetchall()
        changed = []
        for group, artist, album, mbid, slug in groups:
            now = matcher.slug_of({"artist": artist, "album": album, "album_mbid": mbid})
            if now != slug:
                changed.append((now, group))
        with self._writing():
            self._sql.execute("DELETE FROM collection_keys")
            self._sql.executemany("INSERT INTO collection_keys (kind, value, slug) VALUES (?, ?, ?)",
                                  [(KEY, k, s) for k, s in matcher.by_key.items()]
                                  + [(MBID, m, s) for m, s in matcher.by_mbid.items()])
            self._sql.executemany("UPDATE albums SET slug = ? WHERE id = ?", changed)
            self._sql.execute("DELETE FROM records")
            self._sql.executemany("INSERT INTO records (slug, artist, title) VALUES (?, ?, ?)", index_records(store))
            self._set_meta(COLLECTION, stamp)
        return matcher

    # --- reading ---------------------------------------------------------------------------
    def count(self) -> int:
        return int(self._sql.execute("SELECT count(*) FROM scrobbles").fetchone()[0])

    def newest(self) -> int | None:
        return self._sql.execute("SELECT max(timestamp) FROM scrobbles").fetchone()[0]

    def oldest(self) -> int | None:
        return self._sql.execute("SELECT min(timestamp) FROM scrobbles").fetchone()[0]

    def latest(self, limit: int) -> list[dict[str, Any]]:
        """The newest scrobbles, newest first, as plays ({"artist", "track", "album", "album_mbid", "timestamp"})."""
        rows = self._sql.execute(
            "SELECT s.timestamp, s.artist, s.track, s.album, a.album_mbid FROM scrobbles s "
            "JOIN albums a ON a.id = s.album_id ORDER BY s.timestamp DESC LIMIT ?", (limit,))
        return [{"timestamp": ts, "artist": artist, "track": track, "album": album, "album_mbid": mbid}
                for ts, artist, track, album, mbid in rows]

    def plays_after(self, after: tuple[int, str, str, str] | None, limit: int) -> list[dict[str, Any]]:
        """Up to `limit` scrobbles after `after` (a play's (timestamp, artist, track, album)), oldest first, as plays."""
        where, args = "", ()  # type: tuple[str, tuple]
        if after is not None:
            where, args = "WHERE (s.timestamp, s.artist, s.track, s.album) > (?, ?, ?, ?)", tuple(after)
        rows = self._sql.execute(
            "SELECT s.timestamp, s.artist, s.track, s.album, a.album_mbid FROM scrobbles s "
            f"JOIN albums a ON a.id = s.album_id {where} ORDER BY s.timestamp, s.artist, s.track, s.album LIMIT ?",
            (*args, limit))
        return [{"timestamp": ts, "artist": artist, "track": track, "album": album, "album_mbid": mbid}
                for ts, artist, track, album, mbid in rows]

    def weekly(self, start: int, end: int) -> dict[int, int]:
        """Scrobbles per week counted from `start`: {week number: scrobbles}."""
        rows = self._sql.execute(
            "SELECT (timestamp - ?) / ?, count(*) FROM scrobbles WHERE timestamp >= ? AND timestamp < ? GROUP BY 1",
            (start, WEEK, start, end))
        return {int(week): int(n) for week, n in rows}

    def group_plays(self, start: int, end: int) -> list[tuple[str | None, str, str, str, int]]:
        """(slug, album key, artist, album, scrobbles) per album group with plays in [start, end); the album
        and its key are "" for scrobbles without one."""
        rows = self._sql.execute(
            "SELECT a.slug, a.key, a.artist, a.album, p.n FROM (SELECT album_id, count(*) AS n FROM scrobbles "
            "WHERE timestamp >= ? AND timestamp < ? GROUP BY album_id) AS p JOIN albums AS a ON a.id = p.album_id",
            (start, end))
        return [(slug, key, artist, album, int(n)) for slug, key, artist, album, n in rows]

    def records(self) -> list[tuple[str, str, str]]:
        """(slug, artist, title) of the records of the collection index, as last matched."""
        return self._sql.execute("SELECT slug, artist, title FROM records ORDER BY position").fetchall()

    def records_played(self) -> dict[str, tuple[int, int]]:
        """{collection slug: (latest play, plays)} of every record with plays."""
        rows = self._sql.execute(
            "SELECT a.slug, max(s.timestamp), count(*) FROM albums a JOIN scrobbles s ON s.album_id = a.id "
            "WHERE a.slug IS NOT NULL GROUP BY a.slug")
        return {slug: (int(last), int(n)) for slug, last, n in rows}

    def records_listened(self, pause: int) -> dict[str, tuple[int, int]]:
        """{collection slug: (latest play, listens)}: a listen is a run of the record's scrobbles with no
        more than `pause` seconds between two of them, so an album played through counts once."""
        rows = self._sql.execute(
            "SELECT slug, max(ts), sum(fresh) FROM (SELECT a.slug AS slug, s.timestamp AS ts, "
            "CASE WHEN s.timestamp - lag(s.timestamp) OVER (PARTITION BY a.slug ORDER BY s.timestamp) <= ? "
            "THEN 0 ELSE 1 END AS fresh FROM albums a JOIN scrobbles s ON s.album_id = a.id "
            "WHERE a.slug IS NOT NULL) GROUP BY slug", (pause,))
        return {slug: (int(last), int(n)) for slug, last, n in rows}

    def weekday_hours(self, start: int, end: int) -> Iterator[tuple[int, int, int]]:
        """(weekday 0 = Sunday, hour, scrobbles) in local time, as the C library's time zone sees it."""
        rows = self._sql.execute(
            "SELECT strftime('%w %H', timestamp, 'unixepoch', 'localtime') AS t, count(*) "
            "FROM scrobbles WHERE timestamp >= ? AND timestamp < ? GROUP BY t", (start, end))
        for when, n in rows:
            day, hour = when.split()
            yield int(day), int(hour), int(n)


def index_records(store: Store) -> list[tuple[str, str, str]]:
    """(slug, artist, title) of each record of the collection index, in its order; a slug repeated counts once."""
    found: dict[str, tuple[str, str, str]] = {}
    for entry in store.index():
        slug = entry_slug(entry)
        if slug and slug not in found:
            found[slug] = (slug, str(entry.get("release_artist") or ""), str(entry.get("release_name") or ""))
    return list(found.values())


def collection_matcher(state_dir: Path, store: Store) -> Matcher:
    """The archive's saved matcher (matched again if the collection index changed), else one built now: a
    command that only matches names to records is not stopped by an archive it cannot use."""
    try:
        archive = Archive.existing(state_dir)
        if archive is None:
            return Matcher.from_store(store)
        with archive:
            return archive.matcher(store)
    except StateError:
        return Matcher.from_store(store)
