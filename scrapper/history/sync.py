"""`lastfm sync`: the user's scrobbles copied into the archive, page by page, resumable, with few requests.

Each copy is a window of user.getRecentTracks with its upper bound fixed when
it begins, walked newest page first, each page committed with the number of
pages done; a killed or failed copy resumes at the next page. The first copy
is the whole history; later ones reach back one day before the newest
scrobble held (late arrivals from players that cache), or further, to the
oldest scrobble this tool sent since the last sync (the queue fills the past
13½ days).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app import App
from collection.matching import Matcher
from errors import ConfigError, ExitStatus, LastfmNotFound, LastfmTemporary, PrivateProfile, RussfmError
from history.archive import Archive, Window
from history.periods import DAY
from lastfm.responses import Page
from scrobble.timeparse import iso_utc
from statefiles import file_lock

if TYPE_CHECKING:  # the client pulls in pylast: loaded only when a request is made
    from lastfm.client import LastFM

PAGE_SIZE = 200  # the largest page user.getRecentTracks gives
SLACK_PAGES = 2  # pages a window may grow by while it is copied (late arrivals inside it)
SYNC_LOCK = "sync.lock"
Progress = Callable[[int, int], None]  # (pages of this window done, pages it should have)


@dataclass
class SyncResult:
    user: str
    pages: int = 0
    new: int = 0  # scrobbles the archive did not hold
    total: int = 0  # scrobbles held afterwards
    requests: int = 0
    resumed: bool = False  # an interrupted copy was taken up again
    full: bool = False
    refused: int = 0  # rows left out because their time was impossible
    newest: int | None = None
    stopped: RussfmError | None = None  # a temporary failure ended the run; the next one resumes

    @property
    def exit_status(self) -> ExitStatus:
        return self.stopped.exit_status if self.stopped else ExitStatus.OK

    def to_json(self) -> dict[str, Any]:
        return {"user": self.user, "pages": self.pages, "new": self.new, "total": self.total,
                "requests": self.requests, "resumed": self.resumed, "full": self.full, "refused": self.refused,
                "newest": iso_utc(self.newest), "stopped": str(self.stopped) if self.stopped else None}


def recent_page(client: LastFM, user: str, page: int, limit: int, start: int | None = None,
                end: int | None = None) -> Page:
    """One page of the user's scrobbles; an unknown or private user is said in words, not codes."""
    try:
        return client.recent_page(user, page, limit, start=start, end=end)
    except PrivateProfile as exc:
        raise PrivateProfile(f"{user}'s listening history is private on Last.fm (error 17): it can be read once "
                             "\"Hide recent listening information\" is off in the Last.fm privacy settings",
                             exc.code, exc.method) from None
    except LastfmNotFound as exc:
        raise LastfmNotFound(f"Last.fm has no user {user!r} (error 6); check LASTFM_USERNAME or the config's "
                             "\"username\"", exc.code, exc.method) from None


def sync(app: App, full: bool = False, on_page: Progress | None = None) -> SyncResult:
    """Bring the archive up to date (`full`: copy everything again, dropping what Last.fm no longer has)."""
    user = app.lastfm_user()
    client = app.reader()
    before = client.requests
    result = SyncResult(user, full=full)
    with file_lock(app.settings.state_dir / SYNC_LOCK, app.command, what="the archive is being synced"), \
            Archive.create(app.settings.state_dir) as archive:
        matcher = archive.matcher(app.store)
        try:
            _sync(app, archive, client, user, matcher, full, result, on_page)
        except LastfmTemporary as exc:
            result.stopped = exc
        finally:
            result.requests = client.requests - before
            result.total = archive.count()
            result.newest = archive.newest()
    return result


def _sync(app: App, archive: Archive, client: LastFM, user: str, matcher: Matcher, full: bool,
          result: SyncResult, on_page: Progress | None) -> None:
    window = None if full else archive.window()
    if window is not None and not window.pages_done:
        window = None  # nothing of it was copied: a new copy does better
    owner = window.user if window else archive.user
    if owner and owner.casefold() != user.casefold() and not full:
        raise ConfigError(f"the archive holds {owner}'s scrobbles, not {user}'s: "
                          f"`lastfm sync --full` replaces them with {user}'s")
    result.resumed = window is not None
    if window is None:
        whole = full or not archive.complete
        now = app.clock()
        window = archive.begin(user, None if whole else _incremental_start(app, archive), int(now), now, whole)
    _copy(client, archive, window, matcher, result, on_page)
    if window.whole or result.resumed:
        # Up to now: what arrived while the whole history was copied, or since the copy was interrupted
        # (then with the usual day of overlap, as time has passed).
        start = window.end - (DAY if result.resumed else 0)
        reach = _ledger_reach(app, archive.synced_at)
        now = app.clock()
        catch_up = archive.begin(user, min(start, reach) if reach is not None else start, int(now), now, False)
        _copy(client, archive, catch_up, matcher, result, on_page)


def _incremental_start(app: App, archive: Archive) -> int | None:
    """One day before the newest scrobble held, or the oldest one this tool sent since the last sync."""
    newest = archive.newest()
    if newest is None:
        return None  # nothing held: reading everything is reading nothing
    reach = _ledger_reach(app, archive.synced_at)
    return min(newest - DAY, reach) if reach is not None else newest - DAY


def _ledger_reach(app: App, since: float | None) -> int | None:
    """The oldest timestamp of the scrobbles this tool had accepted since `since` (queued albums lie up to
    13½ days back), or None."""
    return None if since is None else app.ledger.earliest_accepted_since(since)


def _copy(client: LastFM, archive: Archive, window: Window, matcher: Matcher, result: SyncResult,
          on_page: Progress | None) -> None:
    """Walk the window's pages from the first not done; each page is committed before the next is asked."""
    page = window.pages_done + 1
    while True:
        found = recent_page(client, window.user, page, PAGE_SIZE, window.start, window.end)
        # The claimed page count is never trusted beyond what the total implies, nor the window's bound.
        implied = math.ceil(found.total / PAGE_SIZE) if found.total is not None else found.total_pages
        if window.bound is None:
            window.bound = implied + SLACK_PAGES
        last = min(found.total_pages, implied, window.bound)
        result.new += archive.add_page(window, page, found.items, matcher)
        result.pages += 1
        result.refused += found.refused
        if on_page:
            on_page(page, max(last, page))
        if page >= last or not (found.items or found.refused):
            break
        page += 1
    archive.finish(window)
