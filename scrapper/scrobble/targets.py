"""Where listens go (`--to`, RUSSFM_TARGETS, the config's "targets", or every service signed in to), and sending
what waits for ListenBrainz under its own send lock."""

from __future__ import annotations

import logging
from collections.abc import Callable

from app import App
from config import parse_targets
from errors import Busy, ListenBrainzError, UsageError
from lastfm.retry import RetryPolicy
from listenbrainz.listens import is_mbid, track_listen
from scrobble.lb_sender import SEND_LOCK, ListenSender, OutsideQueue, Selection, TargetLog
from scrobble.rows import LASTFM, LISTENBRAINZ, Entry
from scrobble.sender import SETTLE_MARGIN
from statefiles import file_lock

log = logging.getLogger("russfm.targets")


def choose_targets(app: App, given: str | None) -> tuple[str, ...]:
    """Apply `--to` (if given) to this command; the targets in force. A service named but not signed in to
    is refused here, before anything is recorded for it."""
    if given is not None:
        chosen = parse_targets(given, "--to")
        if not chosen:
            raise UsageError("--to names no service (lastfm, listenbrainz)")
        app.chosen_targets = chosen
    targets = app.targets()
    if LISTENBRAINZ in targets:
        app.listenbrainz_token()  # NotSignedIn names the command to run
    return targets


def release_mbids(app: App) -> Callable[[Entry], str]:
    """An entry's release MBID from its album file (`services.lastfm.mbid`), read once per album; "" if none."""
    known: dict[str, str] = {}

    def of(entry: Entry) -> str:
        if not entry.slug:
            return ""
        if entry.slug not in known:
            mbid = ""
            try:
                data, _ = app.store.read_album(entry.slug)
                services = data.get("services") if isinstance(data, dict) else None
                lastfm = services.get("lastfm") if isinstance(services, dict) else None
                found = lastfm.get("mbid") if isinstance(lastfm, dict) else None
                mbid = found.strip().lower() if isinstance(found, str) and is_mbid(found.strip()) else ""
            except Exception:  # noqa: BLE001 - an unreadable album only costs its MBID
                mbid = ""
            known[entry.slug] = mbid
        return known[entry.slug]

    return of


def listen_sender(app: App, on_batch: Callable[[int], None] | None = None) -> ListenSender:
    token = app.listenbrainz_token()
    return ListenSender(app.ledger, app.listenbrainz(), token.username, RetryPolicy(base_delay=app.settings.retry_delay),
                        release_mbids(app), on_batch)


def send_to_listenbrainz(app: App, selection: Selection | None = None,
                         on_batch: Callable[[int], None] | None = None) -> TargetLog:
    """Settle what a gone process left in flight, then send what waits (outside the queue by default)."""
    result = TargetLog()
    before = app.listenbrainz_requests()
    try:
        sender = listen_sender(app, on_batch)
        with file_lock(app.settings.state_dir / SEND_LOCK, app.command, wait=app.settings.lock_wait,
                       what="cannot send to ListenBrainz now"):
            sender.reconcile_in_flight(app.settings.listenbrainz_timeout + SETTLE_MARGIN)
            result = sender.send_all(selection or OutsideQueue())
    except (ListenBrainzError, Busy) as exc:
        result.stopped = exc
    result.requests = app.listenbrainz_requests() - before
    return result


def listenbrainz_playing_now(app: App, artist: str, track: str, album: str, duration: int) -> str | None:
    """Show a track as playing now on ListenBrainz (nothing is recorded); the failure, if any, as one line."""
    try:
        app.listenbrainz().submit("playing_now", [track_listen(artist, track, album, None, duration)])
    except ListenBrainzError as exc:
        log.warning("ListenBrainz playing_now: %s", exc)
        return str(exc)
    return None


def lastfm_is_target(app: App) -> bool:
    return LASTFM in app.targets()


def listenbrainz_is_target(app: App) -> bool:
    return LISTENBRAINZ in app.targets()
