"""Carrying the archive (the whole Last.fm history `lastfm sync` copied) over to ListenBrainz, and comparing the two.

Oldest first, up to 1,000 listens a request. Before each batch, what
ListenBrainz already holds in the batch's time range is read (reads page
forward by `min_ts` and are reused for the next batches, so a user with
nothing there costs one read in all) and those are skipped. The progress is
saved after every batch: a kill or an outage resumes at the batch where it
stopped, whose range is read again, so nothing is sent twice. A listen
counts as already there when ListenBrainz holds one at the same second with
the same artist or the same track (Last.fm may have corrected the other name
since this tool sent it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from app import App
from collection.names import fold
from errors import (
    Busy, ExitStatus, ListenBrainzError, ListenBrainzRefused, ListenBrainzTemporary, ListenBrainzUnknown, RussfmError,
)
from history.archive import Archive
from lastfm.retry import RetryPolicy
from listenbrainz.client import ListenBrainz
from listenbrainz.listens import problem, track_listen
from statefiles import file_lock, read_private_json, write_private_json

log = logging.getLogger("russfm.listenbrainz.import")
PROGRESS_FILE = "listenbrainz-import.json"
IMPORT_LOCK = "listenbrainz-import.lock"
BATCH_SIZE = 1000
FOREVER = 1 << 62


def _held_key(listen: dict) -> tuple[int, str, str]:
    meta = listen.get("track_metadata") or {}
    return int(listen["listened_at"]), fold(str(meta.get("artist_name", ""))), fold(str(meta.get("track_name", "")))


class Held:
    """What ListenBrainz holds, read forward by time and kept for the range still ahead."""

    def __init__(self, client: ListenBrainz, user: str) -> None:
        self.client = client
        self.user = user
        self.covered_from = 0
        self.covered_until = -1  # every listen in [covered_from, covered_until] is in `seen`
        self.seen: dict[int, set[tuple[str, str]]] = {}
        self.reads = 0

    def forget(self) -> None:
        """After an unanswered send: what was read may be out of date."""
        self.covered_until, self.seen = -1, {}

    def cover(self, start: int, end: int) -> None:
        if start < self.covered_from or start > self.covered_until + 1:  # not the range just read: start afresh
            self.covered_from, self.covered_until, self.seen = start, start - 1, {}
        while self.covered_until < end:
            page = self.client.listens_page(self.user, min_ts=self.covered_until)
            self.reads += 1
            for item in page:
                ts, artist, track = _held_key(item)
                self.seen.setdefault(ts, set()).add((artist, track))
            if not page:
                self.covered_until = FOREVER
                break
            newest = max(x["listened_at"] for x in page)
            oldest = min(x["listened_at"] for x in page)
            # The newest second of a page may go on in the next: only the seconds before it are complete.
            self.covered_until = max(self.covered_until + 1, newest - 1 if oldest != newest else newest)
        for ts in [t for t in self.seen if t < start]:
            del self.seen[ts]

    def holds(self, play: dict) -> bool:
        names = self.seen.get(int(play["timestamp"]), set())
        artist, track = fold(play["artist"]), fold(play["track"])
        return any(a == artist or t == track for a, t in names)


@dataclass
class ImportResult:
    total: int = 0  # plays in the archive
    sent: int = 0
    already: int = 0
    refused: int = 0
    requests: int = 0
    reads: int = 0
    resumed: bool = False
    refusals: list[str] = field(default_factory=list)  # one line each, the first few
    stopped: RussfmError | None = None

    @property
    def exit_status(self) -> ExitStatus:
        if self.stopped is not None:
            return self.stopped.exit_status
        return ExitStatus.PARTLY_IGNORED if self.refused else ExitStatus.OK

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["stopped"] = str(self.stopped) if self.stopped else None
        return out


def _describe(play: dict, why: object) -> str:
    def short(text: str) -> str:
        text = " ".join(str(text).split())
        return text if len(text) <= 60 else text[:59] + "…"

    return f"{short(play['artist'])} — {short(play['track'])} at {play['timestamp']}: {why}"


def _listen(play: dict) -> dict:
    return track_listen(play["artist"], play["track"], play["album"], int(play["timestamp"]),
                        release_mbid=str(play.get("album_mbid") or ""))


class Importer:
    def __init__(self, app: App, client: ListenBrainz, user: str, result: ImportResult,
                 on_progress: Callable[[int], None] | None) -> None:
        self.app, self.client, self.user, self.result = app, client, user, result
        self.held = Held(client, user)
        self.policy = RetryPolicy(base_delay=app.settings.retry_delay)
        self.on_progress = on_progress

    def send(self, plays: list[dict]) -> None:
        self._send(plays)

    def _send(self, plays: list[dict]) -> None:
        """Send these plays (none known to be there); refused ones are isolated. Raises when it must stop."""
        attempt = 0
        while plays:
            try:
                self.client.submit("import", [_listen(p) for p in plays])
                self.result.sent += len(plays)
                return
            except ListenBrainzUnknown:
                attempt += 1
                if attempt >= self.policy.attempts:
                    raise
                self.policy.pause(attempt - 1)
                self.held.forget()
                self.held.cover(min(p["timestamp"] for p in plays), max(p["timestamp"] for p in plays))
                there = [p for p in plays if self.held.holds(p)]
                self.result.sent += len(there)  # they went with the unanswered request
                plays = [p for p in plays if not self.held.holds(p)]
            except ListenBrainzTemporary:
                attempt += 1
                if attempt >= self.policy.attempts:
                    raise
                self.policy.pause(attempt - 1)
            except ListenBrainzRefused as exc:
                if len(plays) == 1:
                    self.result.refused += 1
                    if len(self.result.refusals) < 20:
                        self.result.refusals.append(_describe(plays[0], exc))
                    return
                half = len(plays) // 2
                self._send(plays[:half])
                self._send(plays[half:])
                return

    def classify(self, plays: list[dict]) -> list[dict]:
        """The plays (oldest first) still to send: those ListenBrainz holds or would refuse are counted."""
        self.held.cover(plays[0]["timestamp"], plays[-1]["timestamp"])
        todo = []
        now = self.app.clock()
        for play in plays:
            if self.held.holds(play):
                self.result.already += 1
            elif (why := problem(_listen(play), now)) is not None:
                self.result.refused += 1
                if len(self.result.refusals) < 20:
                    self.result.refusals.append(_describe(play, why))
            else:
                todo.append(play)
        return todo


def import_history(app: App, from_start: bool = False, on_total: Callable[[int, int], None] | None = None,
                   on_progress: Callable[[int], None] | None = None) -> ImportResult:
    """Send the archive to ListenBrainz, resuming where the last run stopped (unless `from_start`)."""
    token = app.listenbrainz_token()
    result = ImportResult()
    state = app.settings.state_dir
    path = state / PROGRESS_FILE
    before = app.listenbrainz_requests()
    importer: Importer | None = None
    with Archive.finished(state) as archive:
        result.total = archive.count()
        try:
            with file_lock(state / IMPORT_LOCK, app.command, what="another import-history is going"):
                saved = read_private_json(path)
                progress = saved if isinstance(saved, dict) and saved.get("user") == token.username \
                    and not from_start else {}
                cursor = progress.get("cursor")
                after: tuple[int, str, str, str] | None = None
                if isinstance(cursor, list) and len(cursor) == 4 and isinstance(cursor[0], int) \
                        and all(isinstance(c, str) for c in cursor[1:]):
                    after = (cursor[0], cursor[1], cursor[2], cursor[3])
                for key in ("sent", "already", "refused"):
                    setattr(result, key, int(progress.get(key, 0)) if isinstance(progress.get(key), int) else 0)
                result.resumed = after is not None
                done = int(progress.get("done", 0)) if after is not None and isinstance(progress.get("done"), int) else 0
                if on_total:
                    on_total(result.total, done)
                importer = Importer(app, app.listenbrainz(), token.username, result, on_progress)
                todo: list[dict] = []
                saved_at = after
                while True:
                    # Plays are read until 1,000 wait to be sent (or the archive ends): a stretch that is
                    # mostly there already still goes in full requests.
                    plays = archive.plays_after(after, BATCH_SIZE - len(todo))
                    if plays:
                        todo += importer.classify(plays)
                        last = plays[-1]
                        after = (int(last["timestamp"]), last["artist"], last["track"], last["album"])
                        done += len(plays)
                        if on_progress:
                            on_progress(len(plays))
                        if len(todo) < BATCH_SIZE:
                            continue
                    if todo:
                        importer.send(todo)
                        todo = []
                    if after is not None and after != saved_at:
                        write_private_json(path, {"user": token.username, "cursor": list(after), "done": done,
                                                  "sent": result.sent, "already": result.already,
                                                  "refused": result.refused})
                        saved_at = after
                    if not plays:
                        break
        except (ListenBrainzError, Busy) as exc:
            result.stopped = exc
        result.reads = importer.held.reads if importer is not None else 0
    result.requests = app.listenbrainz_requests() - before
    log.info("import-history: %d sent, %d already there, %d refused", result.sent, result.already, result.refused)
    return result


@dataclass
class Comparison:
    archive: int = 0
    listenbrainz: int = 0  # listens ListenBrainz holds in the archive's time range
    missing_on_listenbrainz: int = 0
    only_on_listenbrainz: int = 0
    requests: int = 0

    def to_json(self) -> dict[str, int]:
        return asdict(self)


def compare(app: App, on_page: Callable[[int], None] | None = None) -> Comparison:
    """How many archive listens ListenBrainz lacks, and how many it holds that the archive lacks (in the
    archive's time range): the whole range is read, about one request per 1,000 listens there."""
    token = app.listenbrainz_token()
    before = app.listenbrainz_requests()
    out = Comparison()
    with Archive.finished(app.settings.state_dir) as archive:
        oldest, newest = archive.oldest(), archive.newest()
        if oldest is None or newest is None:
            return out
        held = app.listenbrainz().listens_between(token.username, int(oldest), int(newest),
                                                  on_page=(lambda page: on_page(len(page))) if on_page else None)
        by_second: dict[int, list[tuple[str, str]]] = {}
        for item in held:
            ts, artist, track = _held_key(item)
            by_second.setdefault(ts, []).append((artist, track))
        out.listenbrainz = len(held)
        matched: set[tuple[int, int]] = set()
        after = None
        while True:
            plays = archive.plays_after(after, 5000)
            if not plays:
                break
            for play in plays:
                out.archive += 1
                ts = int(play["timestamp"])
                artist, track = fold(play["artist"]), fold(play["track"])
                found = next((i for i, (a, t) in enumerate(by_second.get(ts, []))
                              if (ts, i) not in matched and (a == artist or t == track)), None)
                if found is None:
                    out.missing_on_listenbrainz += 1
                else:
                    matched.add((ts, found))
            last = plays[-1]
            after = (int(last["timestamp"]), last["artist"], last["track"], last["album"])
        out.only_on_listenbrainz = out.listenbrainz - len(matched)
    out.requests = app.listenbrainz_requests() - before
    return out
