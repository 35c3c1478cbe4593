"""The one place that opens what a command needs (collection, ledger, cache, session, Last.fm) and closes it."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING

from cache import Cache
from collection.store import Store
from config import Settings
from config import TARGET_NAMES
from errors import ConfigError, ListenBrainzNotSignedIn, NotSignedIn, StateError
from lastfm.session import Session, SessionStore
from listenbrainz.token import Token, TokenStore
from scrobble.ledger import Ledger

if TYPE_CHECKING:  # the clients pull in pylast, httpx2 and requests: loaded only by commands that talk to a service
    from lastfm.client import LastFM
    from listenbrainz.client import ListenBrainz


class App:
    """Settings plus lazily opened resources; `close()` closes whatever was opened."""

    def __init__(self, settings: Settings, command: str = "russfm", clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.command = command
        self.clock = clock
        self._opened: list[Ledger | Cache] = []
        self._clients: dict[bool, LastFM] = {}
        self._listenbrainz: ListenBrainz | None = None
        self._listenbrainz_unsigned: ListenBrainz | None = None
        self.chosen_targets: tuple[str, ...] = ()  # --to on the command line, which wins over the settings

    @cached_property
    def store(self) -> Store:
        return Store(self.settings.data_dir)

    @cached_property
    def ledger(self) -> Ledger:
        ledger = Ledger(self.settings.state_dir, self.command, self.clock)
        self._opened.append(ledger)
        return ledger

    @cached_property
    def cache(self) -> Cache:
        cache = Cache(self.settings.state_dir)
        self._opened.append(cache)
        return cache

    @cached_property
    def sessions(self) -> SessionStore:
        return SessionStore(self.settings.state_dir)

    def _saved(self) -> Session | None:
        """The saved session for reading: None when there is none, or when it is damaged and LASTFM_USERNAME
        says whose data to read (reads need no session; only sending stops on a damaged one)."""
        try:
            return self.sessions.load()
        except (StateError, ConfigError):
            if self.settings.username:
                return None
            raise

    def session(self) -> Session:
        """The saved session, or NotSignedIn."""
        found = self.sessions.load()
        if found is None:
            raise NotSignedIn("not signed in to Last.fm: run `python main.py lastfm login`")
        return found

    def client(self, signed: bool = False) -> LastFM:
        """A Last.fm client; `signed` ones carry the session key (writes). Both scrub the saved key from errors."""
        if signed not in self._clients:
            from lastfm.client import LastFM

            self.settings.require_credentials()
            key = self.session().key if signed else ""
            try:
                saved = self.sessions.load()
            except (StateError, ConfigError):
                saved = None  # a damaged file holds no key to keep out of messages; `lastfm login` replaces it
            self._clients[signed] = LastFM(self.settings, key, known_secrets=(saved.key,) if saved else ())
        return self._clients[signed]

    def reader(self) -> LastFM:
        """A client to read the user's data with: signed when that user is the one signed in, so that a
        history hidden from others can still be read by its owner."""
        saved = self._saved()
        return self.client(signed=bool(saved and saved.username.casefold() == self.lastfm_user().casefold()))

    def requests(self) -> int:
        """Requests made to Last.fm by this command so far."""
        return sum(c.requests for c in self._clients.values())

    @cached_property
    def listenbrainz_tokens(self) -> TokenStore:
        return TokenStore(self.settings.state_dir)

    def listenbrainz_token(self) -> Token:
        """The saved ListenBrainz token, or ListenBrainzNotSignedIn."""
        found = self.listenbrainz_tokens.load()
        if found is None:
            raise ListenBrainzNotSignedIn("not signed in to ListenBrainz: run `python main.py listenbrainz login`")
        return found

    def listenbrainz(self, signed: bool = True) -> ListenBrainz:
        """The ListenBrainz client, carrying the saved token unless `signed` is False (validating a new one)."""
        from listenbrainz.client import ListenBrainz

        if not signed:
            if self._listenbrainz is not None:
                self._listenbrainz.close()
            self._listenbrainz = None
            self._listenbrainz_unsigned = ListenBrainz(self.settings)
            return self._listenbrainz_unsigned
        if self._listenbrainz is None:
            self._listenbrainz = ListenBrainz(self.settings, self.listenbrainz_token().token)
        return self._listenbrainz

    def listenbrainz_requests(self) -> int:
        """Requests made to ListenBrainz by this command so far."""
        return sum(c.requests for c in (self._listenbrainz, self._listenbrainz_unsigned) if c is not None)

    def targets(self) -> tuple[str, ...]:
        """Where listens go: --to, else RUSSFM_TARGETS or the config's "targets", else every service signed in
        to (Last.fm when none is, so that its sign-in message says what to do)."""
        chosen = self.chosen_targets or self.settings.targets
        if chosen:
            return chosen
        signed = []
        if self.sessions.load() is not None:
            signed.append(TARGET_NAMES[0])
        if self.listenbrainz_tokens.load() is not None:
            signed.append(TARGET_NAMES[1])
        return tuple(signed) or (TARGET_NAMES[0],)

    def lastfm_user(self) -> str:
        """Whose Last.fm data to read: LASTFM_USERNAME, else the signed-in user."""
        if self.settings.username:
            return self.settings.username
        saved = self.sessions.load()
        if saved:
            return saved.username
        raise ConfigError("no Last.fm user: set LASTFM_USERNAME (or \"username\" in the config), "
                          "or sign in with `python main.py lastfm login`")

    def close(self) -> None:
        while self._opened:
            self._opened.pop().close()
        while self._clients:
            self._clients.popitem()[1].close()
        for client in (self._listenbrainz, self._listenbrainz_unsigned):
            if client is not None:
                client.close()
        self._listenbrainz = self._listenbrainz_unsigned = None
