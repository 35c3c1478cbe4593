"""The ledger: every scrobble and its state, in sqlite tables shared by every process, read fresh on each use.

Rows are JSON values by key in the `scrobbles`, `jobs` and `meta` tables of
ledger.sqlite (sqlitedict's layout, which earlier versions wrote through
sqlitedict; its commit thread hangs for ever when the disk is full, so
writes go through sqlite3 and fail in one line instead). Queries use
expression indexes over those JSON values, so no process ever works from a
copy read earlier. Every change is a read-modify-write done while holding
the ledger lock and committed before the lock is released; a write that
fails leaves the file as the last commit left it. The ledger never touches
the network.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from errors import StateError
from scrobble.rows import (  # noqa: F401 - the states are read from here by the rest of the scrobbling code
    ACCEPTED, ACTIVE, ADDING, CANCELLED, FAILED, IGNORED, IN_FLIGHT, LIVE, NOT_FOR_LASTFM, PAUSED, PENDING, Entry,
    Job, entry_from_row, identity,
)
from statefiles import cannot_open, file_lock, private_file, process_running, storage_problem, write_failed

LEDGER_FILE = "ledger.sqlite"
LEDGER_LOCK = "ledger.lock"
TABLES = ("scrobbles", "jobs", "meta")
LOCK_WAIT_SECONDS = 60.0  # writes are short; this only guards against a stuck process
MAX_TRACK_SECONDS = 24 * 3600  # bounds the search for listens that reach into a time span
SESSIONS = "live_sessions"  # meta key: play-along sessions running now and the time they hold, by session id
HOLD_AHEAD = 60  # a running session holds at least until a minute from now, however long it pauses
IN_FLIGHT_REACH = 3600  # how long before a sync a batch still in flight may have been sent and stored late

# Columns computed from the JSON of each row (virtual, so sqlitedict's own rows stay as they are),
# and indexes over them that answer the queries below without reading the rows themselves.
COLUMNS = {"status": "$.status", "job": "$.job", "ts": "$.timestamp", "slug": "$.slug", "span": "$.span",
           "sent_at": "$.sent_at", "duration": "$.duration", "lb": "$.targets.listenbrainz.status"}
STATUS, JOB, TS, SLUG, SPAN, SENT = "status", "job", "ts", "slug", "span", "sent_at"
# Queries led by a time write `+status` so that the planner keeps to the time index.
INDEXES = {
    "ledger_time": "ts, status, duration",
    "ledger_state": "status, job, ts, slug, span",
    "ledger_sent": "status, sent_at",
    "ledger_lb": "lb, job, ts",
}
TARGET_COLUMNS = {"listenbrainz": "lb"}  # each other service's state, as a column of its own


def _session_shape(s: dict[str, Any]) -> bool:
    return all(isinstance(s.get(k), int) and not isinstance(s.get(k), bool) for k in ("pid", "start", "end")) \
        and all(isinstance(s.get(k), str) for k in ("artist", "album"))


def _process_start(pid: int) -> str | None:
    """Which process holds `pid` (the boot and its start time, where /proc tells them), else None.

    After a reboot, or once ids wrap around, a session killed without letting its time go would otherwise
    see its id given to another process and hold time for as long as that one runs."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        stat = Path(f"/proc/{pid}/stat").read_text()
        return f"{boot}:{stat.rsplit(')', 1)[1].split()[19]}"  # field 22, starttime (fields 3… follow the name)
    except (OSError, IndexError):
        return None


def _alive(session: dict[str, Any]) -> bool:
    """The session's own process still runs (not another one given the same id since)."""
    if not process_running(session["pid"]):
        return False
    started = session.get("process")
    return not isinstance(started, str) or started == _process_start(session["pid"])


class Ledger:
    """The shared ledger. Reads are fresh queries; writes need `with ledger.locked():` around the
    read-modify-write, and each write call commits before it returns."""

    def __init__(self, state_dir: Path, command: str = "russfm", clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.command = command
        self.state_dir = Path(state_dir)
        self.path = private_file(self.state_dir / LEDGER_FILE)
        self._lock_depth = 0
        self._atomic = 0
        try:
            self._sql = sqlite3.connect(self.path, timeout=LOCK_WAIT_SECONDS)
        except sqlite3.DatabaseError as exc:
            raise cannot_open(self.path, exc) from None
        try:
            self._sql.execute("PRAGMA journal_mode=WAL")
            # A power cut must not take a committed step back.
            self._sql.execute("PRAGMA synchronous=FULL")
            for table in TABLES:  # sqlitedict's table shape
                self._sql.execute(f'CREATE TABLE IF NOT EXISTS "{table}" (key TEXT PRIMARY KEY, value BLOB)')
            self._add_columns()
            for name, columns in INDEXES.items():
                self._sql.execute(f"CREATE INDEX IF NOT EXISTS {name} ON scrobbles({columns})")
            self._sql.commit()
        except sqlite3.DatabaseError as exc:
            self._sql.close()
            if storage_problem(exc):
                raise write_failed(self.path, exc) from None
            raise StateError(f"{self.path} cannot be used ({exc}); move it aside to start afresh") from None

    def _add_columns(self) -> None:
        have = {row[1] for row in self._sql.execute("PRAGMA table_xinfo(scrobbles)")}
        for name, path in COLUMNS.items():
            if name in have:
                continue
            try:
                self._sql.execute(f"ALTER TABLE scrobbles ADD COLUMN {name} "
                                  f"GENERATED ALWAYS AS (json_extract(value, '{path}')) VIRTUAL")
            except sqlite3.OperationalError as exc:
                if "duplicate column" not in str(exc):  # another process added it first
                    raise

    def close(self) -> None:
        self._sql.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the lock -----------------------------------------------------------------------
    @contextmanager
    def locked(self) -> Iterator[Ledger]:
        """Hold the ledger lock (re-entrant within this object) for one read-modify-write."""
        if self._lock_depth:
            self._lock_depth += 1
            try:
                yield self
            finally:
                self._lock_depth -= 1
            return
        with file_lock(self.state_dir / LEDGER_LOCK, self.command, wait=LOCK_WAIT_SECONDS,
                       what="the ledger is busy"):
            self._lock_depth = 1
            try:
                yield self
            finally:
                self._lock_depth = 0

    def _require_lock(self) -> None:
        if not self._lock_depth:
            raise RuntimeError("ledger writes need `with ledger.locked():`")

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """Several writes committed together, or not at all (a job and its scrobbles)."""
        self._require_lock()
        self._atomic += 1
        try:
            yield
        except BaseException:
            if self._atomic == 1:
                self._sql.rollback()
            raise
        finally:
            self._atomic -= 1
        if not self._atomic:
            self._commit()

    def _commit(self) -> None:
        try:
            self._sql.commit()
        except sqlite3.DatabaseError as exc:
            self._sql.rollback()
            raise write_failed(self.path, exc) from None

    def _write(self, table: str, rows: dict[str, Any] | None = None, gone: Iterable[str] = ()) -> None:
        """Replace these rows and delete those keys, committed at once (at the end of `atomic()` inside one)."""
        self._require_lock()
        try:
            if rows:
                self._sql.executemany(f'REPLACE INTO "{table}" (key, value) VALUES (?, ?)',
                                      [(key, json.dumps(value)) for key, value in rows.items()])
            doomed = [(key,) for key in gone]
            if doomed:
                self._sql.executemany(f'DELETE FROM "{table}" WHERE key = ?', doomed)
        except sqlite3.DatabaseError as exc:
            if not self._atomic:
                self._sql.rollback()
            raise write_failed(self.path, exc) from None
        if not self._atomic:
            self._commit()

    # --- reading --------------------------------------------------------------------------
    def _select(self, where: str, args: Iterable[Any] = (), order: str = "", limit: int | None = None) -> list[Entry]:
        sql = f"SELECT key, value FROM scrobbles WHERE {where}"
        if order:
            sql += f" ORDER BY {order}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        try:
            rows = self._sql.execute(sql, tuple(args)).fetchall()
            return [entry_from_row(key, json.loads(value)) for key, value in rows]
        except (ValueError, RecursionError):
            raise StateError(f"{self.path} holds a row that is not JSON; the ledger file may be damaged") from None

    def get(self, ids: Iterable[str]) -> list[Entry]:
        """The current rows of these ids (gone ones left out), in the order asked."""
        wanted = list(ids)
        found: dict[str, Entry] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            marks = ",".join("?" * len(chunk))
            found.update((e.id, e) for e in self._select(f"key IN ({marks})", chunk))
        return [found[i] for i in wanted if i in found]

    def with_status(self, *statuses: str, outside_queue: bool = False) -> list[Entry]:
        marks = ",".join("?" * len(statuses))
        where = f"{STATUS} IN ({marks})" + (f" AND {JOB} IS NULL" if outside_queue else "")
        return self._select(where, statuses, order=f"{TS}, key")

    def count(self, status: str, outside_queue: bool = False) -> int:
        where = f"{STATUS} = ?" + (f" AND {JOB} IS NULL" if outside_queue else "")
        return int(self._sql.execute(f"SELECT count(*) FROM scrobbles WHERE {where}", (status,)).fetchone()[0])

    def live_spans(self, start: int, end: int) -> list[tuple[int, int]]:
        """(start, end) of every standing timed listen, and of the time running play-along sessions hold, that
        meets [start, end), earliest first."""
        marks = ",".join("?" * len(LIVE))
        rows = self._sql.execute(
            f"SELECT {TS}, duration, json_extract(value, '$.played') FROM scrobbles "
            f"WHERE {TS} > 0 AND {TS} >= ? AND {TS} < ? AND +{STATUS} IN ({marks}) ORDER BY {TS}",
            (start - MAX_TRACK_SECONDS, end, *LIVE)).fetchall()
        spans = [(int(ts), int(ts) + max((p if isinstance(p, int) and p > 0 else 0)
                                         or (d if isinstance(d, int) else 0), 1))
                 for ts, d, p in rows if isinstance(ts, int)]
        spans += [(e.timestamp, e.end) for e in self.held(start, end)]
        return sorted((s, e) for s, e in spans if e > start)

    def overlapping(self, start: int, end: int, session: str | None = None) -> list[Entry]:
        """Standing listens whose time span meets [start, end), then the play-along sessions (but `session`)
        whose held time does."""
        marks = ",".join("?" * len(LIVE))
        found = self._select(f"{TS} > 0 AND {TS} >= ? AND {TS} < ? AND +{STATUS} IN ({marks})",
                             (start - MAX_TRACK_SECONDS, end, *LIVE), order=f"{TS}, key")
        return [e for e in found if start < e.end] + self.held(start, end, session)

    # --- play-along sessions ----------------------------------------------------------------
    def sessions(self) -> dict[str, dict[str, Any]]:
        """Play-along sessions whose process still runs, by id (a killed one holds nothing any more)."""
        found = self.meta(SESSIONS, {})
        if not isinstance(found, dict):
            return {}
        return {sid: s for sid, s in found.items() if isinstance(s, dict) and _session_shape(s) and _alive(s)}

    def held(self, start: int, end: int, but: str | None = None) -> list[Entry]:
        """The time running play-along sessions hold (from their start to their planned end, and never less
        than to a minute from now) that meets [start, end), each as an entry with the status `playing along`."""
        out = []
        now = int(self.clock())
        for sid, s in self.sessions().items():
            until = max(int(s["end"]), now + HOLD_AHEAD)
            if sid != but and s["start"] < end and start < until:
                out.append(Entry(id=f"session:{sid}", artist=s["artist"], track=s["album"], album=s["album"],
                                 album_artist=s["artist"], timestamp=int(s["start"]),
                                 duration=until - int(s["start"]), status="playing along now"))
        return out

    def hold(self, session: str, start: int, end: int, artist: str, album: str) -> None:
        """Hold [start, end) for a play-along session of this process (a later call moves its end)."""
        self._require_lock()
        found = self.meta(SESSIONS, {})
        found = {k: v for k, v in found.items() if k in self.sessions()} if isinstance(found, dict) else {}
        found[session] = {"pid": os.getpid(), "process": _process_start(os.getpid()), "start": int(start),
                          "end": int(end), "artist": artist, "album": album}
        self.set_meta(**{SESSIONS: found})

    def release(self, session: str) -> None:
        self._require_lock()
        found = self.sessions()
        if session in found:
            del found[session]
            self.set_meta(**{SESSIONS: found})

    def standing(self, keys: Iterable[tuple[str, str, int]]) -> dict[tuple[str, str, int], Entry]:
        """Standing entries with these (artist, track, timestamp) identities."""
        wanted = set(keys)
        stamps = sorted({k[2] for k in wanted})
        out: dict[tuple[str, str, int], Entry] = {}
        marks = ",".join("?" * len(LIVE))
        for start in range(0, len(stamps), 500):
            chunk = stamps[start:start + 500]
            found = self._select(f"{TS} IN ({','.join('?' * len(chunk))}) AND +{STATUS} IN ({marks})",
                                 (*chunk, *LIVE))
            out.update((e.key, e) for e in found if e.key in wanted)
        return out

    def accepted_since(self, since: float) -> list[float]:
        """When each scrobble accepted since `since` was sent, oldest first."""
        rows = self._sql.execute(
            f"SELECT {SENT} FROM scrobbles WHERE {STATUS} = ? AND {SENT} >= ? "
            f"AND typeof({SENT}) IN ('integer', 'real') ORDER BY {SENT}",
            (ACCEPTED, since)).fetchall()
        return [float(r[0]) for r in rows]

    def accepted_between(self, start: int, end: int) -> int:
        """Accepted scrobbles with a time in [start, end]."""
        row = self._sql.execute(f"SELECT count(*) FROM scrobbles WHERE {TS} >= ? AND {TS} <= ? AND +{STATUS} = ?",
                                (start, end, ACCEPTED)).fetchone()
        return int(row[0])

    def earliest_sent_since(self, since: float) -> int | None:
        """The oldest timestamp among scrobbles that may have reached Last.fm since `since`: those sent, or
        confirmed, since then (a batch sent before and confirmed after counts), and those still in flight
        that were sent up to an hour before (a request is stored within minutes if at all, so older ones
        were there for whatever read their time after `since`)."""
        row = self._sql.execute(
            f"SELECT min({TS}) FROM scrobbles WHERE {TS} > 0 AND (({STATUS} = ? AND {SENT} >= ?) OR "
            f"({STATUS} = ? AND ({SENT} >= ? OR json_extract(value, '$.updated_at') >= ?)))",
            (IN_FLIGHT, since - IN_FLIGHT_REACH, ACCEPTED, since, since)).fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def latest(self, limit: int) -> list[Entry]:
        return self._select("1", order=f"{TS} DESC, key DESC", limit=limit)

    def accepted(self) -> list[Entry]:
        return self._select(f"{STATUS} = ?", (ACCEPTED,))

    # --- the queue's view -------------------------------------------------------------------
    def job_counts(self) -> dict[str, Counter[str]]:
        rows = self._sql.execute(
            f"SELECT {JOB}, {STATUS}, count(*) FROM scrobbles WHERE {JOB} IS NOT NULL GROUP BY 1, 2").fetchall()
        out: dict[str, Counter[str]] = {}
        for job, status, n in rows:
            out.setdefault(str(job), Counter())[status] = int(n)
        return out

    def ignored_of_jobs(self) -> list[Entry]:
        return self._select(f"{STATUS} = ? AND {JOB} IS NOT NULL", (IGNORED,))

    def untimed_albums(self, job: str | None = None) -> dict[str, dict[str, tuple[int, int]]]:
        """{job: {album slug: (length, scrobbles)}} of albums still waiting to be timed."""
        sql = (f"SELECT {JOB}, {SLUG}, max({SPAN}), count(*) FROM scrobbles "
               f"WHERE {STATUS} = ? AND {JOB} IS NOT NULL AND {TS} = 0")
        args: list[Any] = [PENDING]
        if job is not None:
            sql += f" AND {JOB} = ?"
            args.append(job)
        out: dict[str, dict[str, tuple[int, int]]] = {}
        for j, slug, span, n in self._sql.execute(sql + " GROUP BY 1, 2", args).fetchall():
            out.setdefault(str(j), {})[str(slug)] = (int(span or 0), int(n))
        return out

    def pending_of_jobs(self, jobs: list[str], timed: bool, before: int | None = None,
                        limit: int | None = None) -> list[Entry]:
        """Pending entries of these jobs, timed (oldest first) or not."""
        if not jobs:
            return []
        marks = ",".join("?" * len(jobs))
        where = f"{STATUS} = ? AND {JOB} IN ({marks}) AND " + (f"{TS} > 0" if timed else f"{TS} = 0")
        args: list[Any] = [PENDING, *jobs]
        if before is not None:
            where += f" AND {TS} < ?"
            args.append(before)
        return self._select(where, args, order=f"{TS}, key", limit=limit)

    def untimed_album(self, job: str, slug: str) -> list[Entry]:
        found = self._select(f"{STATUS} = ? AND {JOB} = ? AND {TS} = 0 AND {SLUG} = ?", (PENDING, job, slug))
        return sorted(found, key=lambda e: (e.offset, e.id))

    def entries_of_job(self, job: str, status: str) -> list[Entry]:
        return self._select(f"{STATUS} = ? AND {JOB} = ?", (status, job))

    def queued_slugs(self) -> set[str]:
        """Albums with scrobbles still waiting in some job."""
        rows = self._sql.execute(
            f"SELECT DISTINCT {SLUG} FROM scrobbles WHERE ({STATUS} IN (?, ?) OR lb IN (?, ?)) AND {JOB} IS NOT NULL",
            (PENDING, IN_FLIGHT, PENDING, IN_FLIGHT)).fetchall()
        return {str(r[0]) for r in rows}

    def jobs(self) -> dict[str, Job]:
        """Every job, by id; ordered by number."""
        rows = self._sql.execute('SELECT key, value FROM jobs').fetchall()
        try:
            found = [Job.from_row(json.loads(v)) for _, v in rows]
        except (ValueError, RecursionError):
            raise StateError(f"{self.path} holds a queue job that is not JSON") from None
        return {j.id: j for j in sorted(found, key=lambda j: int(j.id) if j.id.isdigit() else 0)}

    def job(self, job_id: str) -> Job | None:
        row = self._sql.execute("SELECT value FROM jobs WHERE key = ?", (str(job_id),)).fetchone()
        try:
            return Job.from_row(json.loads(row[0])) if row else None
        except (ValueError, RecursionError):
            raise StateError(f"{self.path} holds a queue job that is not JSON") from None

    def meta(self, key: str, default: Any = None) -> Any:
        row = self._sql.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        if row is None:
            return default
        try:
            return json.loads(row[0])
        except ValueError:
            return default

    # --- writing (under the lock; each call ends with a commit) -----------------------------------
    def _stored_targets(self, ids: list[str]) -> dict[str, dict]:
        """Each stored row's other-service states, read now (under the lock)."""
        found: dict[str, dict] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            rows = self._sql.execute(f"SELECT key, json_extract(value, '$.targets') FROM scrobbles "
                                     f"WHERE key IN ({','.join('?' * len(chunk))})", chunk).fetchall()
            for key, value in rows:
                parsed = json.loads(value) if isinstance(value, str) else None
                found[key] = parsed if isinstance(parsed, dict) else {}
        return found

    def _put(self, entries: Iterable[Entry], own_targets: bool = False) -> None:
        """Write entries. Each keeps the other-service states stored now, unless the caller owns them
        (`own_targets`): a Last.fm verdict written from rows read before a request never undoes what the
        ListenBrainz sender settled meanwhile, and the other way round."""
        self._require_lock()
        now = self.clock()
        rows = {}
        entries = list(entries)
        if not own_targets and entries:
            stored = self._stored_targets([e.id for e in entries])
            for entry in entries:
                if entry.id in stored:
                    entry.targets = stored[entry.id]
        for entry in entries:
            entry.updated_at = now
            rows[entry.id] = dict(vars(entry))  # flat fields: no need for asdict's deep copy
        self._write("scrobbles", rows)  # one executemany for the whole step

    def _next_ids(self, count: int) -> list[str]:
        top = self._sql.execute("SELECT max(key) FROM scrobbles").fetchone()[0]
        start = max(int(top) + 1 if top and str(top).isdigit() else 1, int(self.meta("next_id", 1)))
        return [f"{n:012d}" for n in range(start, start + count)]

    def add(self, rows: list[dict[str, Any]]) -> list[Entry]:
        """New pending entries; rows whose (artist, track, timestamp) already stands are skipped."""
        self._require_lock()
        timed = [identity(r["artist"], r["track"], r["timestamp"]) for r in rows if r["timestamp"]]
        standing = self.standing(timed) if timed else {}
        fresh = []
        seen: set[tuple[str, str, int]] = set()
        for row in rows:
            key = identity(row["artist"], row["track"], row["timestamp"])
            if row["timestamp"] and (key in standing or key in seen):
                continue
            seen.add(key)
            fresh.append(row)
        now = self.clock()
        entries = [Entry(id=i, created_at=now, **row) for i, row in zip(self._next_ids(len(fresh)), fresh)]
        self._put(entries, own_targets=True)
        return entries

    def retime(self, entries: list[Entry], start: int) -> None:
        """Give queued entries of one album their times, the album starting at `start`."""
        for e in entries:
            e.timestamp = start + e.offset
        self._put(entries)

    def untime(self, entries: list[Entry]) -> None:
        """Queued entries that must be timed afresh (their times grew too old unsent)."""
        for e in entries:
            e.timestamp = 0
        self._put(entries)

    def mark_in_flight(self, entries: list[Entry], batch: str) -> None:
        now = self.clock()
        for e in entries:
            e.status, e.batch, e.sent_at = IN_FLIGHT, batch, now
        self._put(entries)

    def _cancelled_jobs(self, entries: Iterable[Entry]) -> set[str]:
        jobs = {e.job for e in entries if e.job}
        return {j for j in jobs if (found := self.job(j)) is not None and found.status == CANCELLED}

    def mark(self, entries: list[Entry], status: str, code: int | None = None, message: str = "",
             deferred: str = "") -> None:
        self.settle([(e, status, code, message, e.corrections, deferred) for e in entries])

    def settle(self, verdicts: list[tuple[Entry, str, int | None, str, dict[str, str], str]]) -> None:
        """Write verdicts at once: (entry, status, code, message, corrections, deferred). An entry going back
        to pending whose job was cancelled meanwhile (it was in flight then) is cancelled instead."""
        cancelled = self._cancelled_jobs(v[0] for v in verdicts if v[1] == PENDING)
        for entry, status, code, message, corrections, deferred in verdicts:
            if status == PENDING and entry.job in cancelled:
                status = CANCELLED
            entry.status, entry.code, entry.message = status, code, message
            entry.corrections, entry.deferred = corrections, deferred
            if status in (PENDING, CANCELLED):
                entry.batch = None
        self._put([v[0] for v in verdicts])

    def remove(self, entries: list[Entry]) -> None:
        """Forget entries that never reached Last.fm (a queue job whose adding was interrupted)."""
        self._write("scrobbles", gone=[e.id for e in entries])

    def save_job(self, job: Job) -> None:
        self._write("jobs", {job.id: asdict(job)})

    def delete_job(self, job_id: str) -> None:
        self._write("jobs", gone=[job_id])

    def next_job_id(self) -> str:
        self._require_lock()
        ids = [int(k) for (k,) in self._sql.execute("SELECT key FROM jobs").fetchall() if str(k).isdigit()]
        return str(max(ids, default=0) + 1)

    def set_played(self, entries: list[Entry], seconds: int) -> None:
        """A track left early: it holds only the `seconds` it really played (its duration sent stays as it is)."""
        for e in entries:
            e.played = max(1, min(int(seconds), e.duration)) if seconds < e.duration else 0
        self._put(entries)

    def set_meta(self, **values: Any) -> None:
        self._write("meta", dict(values))

    # --- other services' states (one column each; Last.fm's is `status`) -----------------------------
    def _column(self, target: str) -> str:
        if target not in TARGET_COLUMNS:
            raise ValueError(f"no ledger column for service {target!r}")
        return TARGET_COLUMNS[target]

    def target_with_status(self, target: str, *statuses: str) -> list[Entry]:
        marks = ",".join("?" * len(statuses))
        return self._select(f"{self._column(target)} IN ({marks})", statuses, order=f"{TS}, key")

    def target_count(self, target: str, status: str, outside_queue: bool = False,
                     jobs: list[str] | None = None) -> int:
        where, args = f"{self._column(target)} = ?", [status]
        if outside_queue:
            where += f" AND {JOB} IS NULL"
        if jobs is not None:
            where += f" AND {JOB} IN ({','.join('?' * len(jobs))})"
            args += jobs
        return int(self._sql.execute(f"SELECT count(*) FROM scrobbles WHERE {where}", args).fetchone()[0])

    def target_job_counts(self, target: str) -> dict[str, Counter[str]]:
        """{job: Counter of this service's states} for queued entries sent to it."""
        column = self._column(target)
        rows = self._sql.execute(f"SELECT {JOB}, {column}, count(*) FROM scrobbles "
                                 f"WHERE {JOB} IS NOT NULL AND {column} IS NOT NULL GROUP BY 1, 2").fetchall()
        out: dict[str, Counter[str]] = {}
        for job, status, n in rows:
            out.setdefault(str(job), Counter())[str(status)] = int(n)
        return out

    def target_pending(self, target: str, jobs: list[str] | None = None, outside_queue: bool = False,
                       limit: int | None = None) -> list[Entry]:
        """Timed entries waiting for this service: outside the queue, or of these jobs; oldest first."""
        where, args = f"{self._column(target)} = ? AND {TS} > 0", [PENDING]
        parts = []
        if outside_queue:
            parts.append(f"{JOB} IS NULL")
        if jobs:
            parts.append(f"{JOB} IN ({','.join('?' * len(jobs))})")
            args += jobs
        if not parts:
            return []
        return self._select(f"{where} AND ({' OR '.join(parts)})", args, order=f"{TS}, key", limit=limit)

    def target_untimed_albums(self, target: str, jobs: list[str]) -> dict[str, dict[str, int]]:
        """{job: {album slug: length}} of queued albums this service waits for that are not timed yet."""
        if not jobs:
            return {}
        rows = self._sql.execute(
            f"SELECT {JOB}, {SLUG}, max({SPAN}) FROM scrobbles WHERE {self._column(target)} = ? AND {TS} = 0 "
            f"AND {JOB} IN ({','.join('?' * len(jobs))}) GROUP BY 1, 2", (PENDING, *jobs)).fetchall()
        out: dict[str, dict[str, int]] = {}
        for job, slug, span in rows:
            out.setdefault(str(job), {})[str(slug)] = int(span or 0)
        return out

    def target_of_job(self, target: str, job: str, status: str) -> list[Entry]:
        return self._select(f"{self._column(target)} = ? AND {JOB} = ?", (status, job))

    def untimed_of_album(self, job: str, slug: str) -> list[Entry]:
        """Every untimed entry of one queued album, whichever services it waits for."""
        found = self._select(f"{JOB} = ? AND {TS} = 0 AND {SLUG} = ? AND {STATUS} IN (?, ?)",
                             (job, slug, PENDING, NOT_FOR_LASTFM))
        return sorted(found, key=lambda e: (e.offset, e.id))

    def set_target(self, ids: Iterable[str], target: str,
                   change: Callable[[Entry], dict[str, Any] | None]) -> list[Entry]:
        """Rewrite one service's state of these entries from their rows as stored now; `change` gives the new
        state (None: leave it). The entries changed are returned."""
        self._require_lock()
        changed = []
        for entry in self.get(ids):
            state = change(entry)
            if state is not None:
                entry.targets = {**entry.targets, target: state}
                changed.append(entry)
        self._put(changed, own_targets=True)
        return changed
