"""`lastfm sync`: the user's scrobbles copied into the archive, page by page, resumable, with few requests.

Each copy is a window of user.getRecentTracks with its upper bound fixed when
it begins, walked back in time: every request is the newest page up to the
oldest time the previous page held, so scrobbles stored meanwhile with older
times cannot shift what is still to be read, and the copy ends on a page
that is not full. Each page is committed with where the copy goes on; a
killed or failed copy resumes there. The first copy is the whole history;
later ones reach back one day before the newest scrobble held (late arrivals
from players that cache), or further, to the oldest scrobble this tool sent,
confirmed or had in flight since the last sync began (the queue fills the
past 13½ days).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app import App
from collection.matching import Matcher
from errors import (
    ConfigError, ExitStatus, LastfmError, LastfmNotFound, LastfmTemporary, PrivateProfile, RussfmError,
)
from history.archive import Archive, Window
from history.periods import DAY
from lastfm.responses import Page
from scrobble.timeparse import iso_utc
from statefiles import file_lock

if TYPE_CHECKING:  # the client pulls in pylast: loaded only when a request is made
    from lastfm.client import LastFM

PAGE_SIZE = 200  # the largest page user.getRecentTracks gives
# Pages read at one upper bound when a full page does not move it back in time (a full page of scrobbles
# within two seconds); more than this and Last.fm is not answering for the window asked.
PAGES_AT_ONE_BOUND = 50
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
    if window is not None and window.to is None:
        window.page = window.pages_done + 1  # left by an older version, which walked numbered pages
    if window is None:
        whole = full or not archive.complete
        now = app.clock()
        window = archive.begin(user, None if whole else _incremental_start(app, archive), int(now), now, whole)
    first = window
    _copy(client, archive, window, matcher, result, on_page)
    if window.whole or result.resumed:
        # Up to now: what arrived while the whole history was copied, or since the copy was interrupted
        # (then with the usual day of overlap, as time has passed), and what this tool sent meanwhile.
        start = window.end - (DAY if result.resumed else 0)
        since = [t for t in (archive.synced_at, first.began) if t is not None]
        reach = _ledger_reach(app, min(since))
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
    """The oldest time among the scrobbles this tool sent, had confirmed or still has in flight since
    `since` (queued albums lie up to 13½ days back), or None."""
    return None if since is None else app.ledger.earliest_sent_since(since)


def _copy(client: LastFM, archive: Archive, window: Window, matcher: Matcher, result: SyncResult,
          on_page: Progress | None) -> None:
    """Walk the window back in time from where it stands; each page is committed before the next is asked.

    A full page moves the bound to one second past its oldest scrobble (whether Last.fm's `to` counts
    its own second is not known: the second is read again, and the archive keeps one of each)."""
    while True:
        upper = window.upper
        found = recent_page(client, window.user, window.page, PAGE_SIZE, window.start, upper)
        full = len(found.items) + found.refused >= PAGE_SIZE
        oldest = min((play["timestamp"] for play in found.items), default=None)
        if full and oldest is not None and oldest + 1 < upper:
            to, page = oldest + 1, 1
        else:
            to, page = upper, window.page + 1
        if full and page > PAGES_AT_ONE_BOUND:
            raise LastfmError(f"user.getRecentTracks: Last.fm keeps giving full pages without going back in "
                              f"time before {iso_utc(upper)}; what was copied is kept, and `lastfm sync` resumes",
                              method="user.getRecentTracks")
        result.new += archive.add_page(window, found.items, matcher, to, page)
        result.pages += 1
        result.refused += found.refused
        if on_page:
            # The pages this window should still have, as the total of the page just read tells.
            left = -(-(found.total or 0) // PAGE_SIZE) if full else 1
            on_page(window.pages_done, window.pages_done + max(left - 1, 0))
        if not full:
            break
    archive.finish(window)
