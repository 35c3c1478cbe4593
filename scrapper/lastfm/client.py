"""The one module that owns pylast: builds the network, throttles, redacts, and turns its errors into ours.

pylast's `scrobble_many` and `now_playing` discard Last.fm's answer (accepted,
ignored, corrections), and its Album getters make one request per field. So
the calls here go through pylast's own request and signing layer
(`pylast._Request`, pinned with pylast==7.2.0 in requirements.txt) and read
the XML in `lastfm.responses`. That is the only use of pylast's private API.
"""

from __future__ import annotations

import logging
import ssl
import xml.parsers.expat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx2
import pylast

from config import Settings
from errors import (
    ConfigError, LastfmError, LastfmNotFound, LastfmTemporary, OutcomeUnknown, RequestNotSent,
    SessionInvalid, TokenExpired, TokenNotAuthorised,
)
from lastfm import responses
from lastfm.throttle import Throttle

log = logging.getLogger("russfm.lastfm")
# pylast logs every answer at DEBUG, auth.getSession's session key included;
# nothing of it may reach a log, whatever level the application sets.
logging.getLogger("pylast").setLevel(logging.WARNING)

REQUESTS_PER_SECOND = 5
# Last.fm asks for at most 5 requests a second. The window is a little longer
# than a second so that jitter on the way cannot squeeze six into one second.
THROTTLE = Throttle(REQUESTS_PER_SECOND, 1.1)
SECRET_PARAMS = {"sk", "api_sig", "password", "authToken", "token"}
TEMPORARY_CODES = {8, 11, 16, 29}
NOT_SENT_ERRORS = ("ConnectError", "ConnectTimeout", "PoolTimeout", "UnsupportedProtocol")


def redact(params: dict[str, str]) -> dict[str, str]:
    return {k: ("***" if k in SECRET_PARAMS else v) for k, v in params.items()}


class _Transport(httpx2.BaseTransport):
    """Every request pylast makes passes here: throttled, timed out, counted, logged without secrets."""

    def __init__(self, context: ssl.SSLContext, timeout: float, throttle: Throttle) -> None:
        self._context = context
        self._timeout = timeout
        self._throttle = throttle
        self.requests = 0

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        self._throttle.wait()
        request.extensions["timeout"] = {
            "connect": min(5.0, self._timeout), "read": self._timeout,
            "write": self._timeout, "pool": self._timeout,
        }
        self.requests += 1
        if log.isEnabledFor(logging.DEBUG):
            params = dict(parse_qsl(request.url.query.decode() if isinstance(request.url.query, bytes) else str(request.url.query)))
            params.update(parse_qsl(request.content.decode("utf-8", "replace")))
            log.debug("POST %s %s", params.get("method", "?"), redact(params))
        # pylast closes its client, and with it this transport, after each call.
        inner = httpx2.HTTPTransport(verify=self._context)
        try:
            response = inner.handle_request(request)
            response.read()
        finally:
            inner.close()
        log.debug("answer HTTP %s, %d bytes", response.status_code, len(response.content))
        return response


def _secrets_of(network: pylast.LastFMNetwork) -> list[str]:
    return [s for s in (network.api_secret, network.session_key, network.password_hash) if s]


def _scrub(text: str, secrets: list[str]) -> str:
    """Secrets out, and on one line: whatever the network said ends up in a one-line message."""
    for secret in secrets:
        text = text.replace(secret, "***")
    return " ".join(text.split())[:300]


def translate(exc: BaseException, method: str, secrets: list[str], write: bool = False) -> LastfmError:
    """pylast's many failure shapes (str or int status, bare IndexError…) as the project's errors."""
    if isinstance(exc, pylast.WSError):
        status = str(exc.status)
        details = _scrub(str(exc.details or ""), secrets)
        if status.isdigit() and int(status) >= 500:
            msg = f"{method}: Last.fm answered HTTP {status}"
            return OutcomeUnknown(msg) if write else LastfmTemporary(msg)
        code = int(status) if status.isdigit() else None
        message = f"{method}: Last.fm error {code}: {details}"
        if code == 9:
            return SessionInvalid(
                "Last.fm no longer accepts the saved session (it was revoked or has expired); "
                "sign in again with: python main.py lastfm login", code)
        if code == 14:
            return TokenNotAuthorised(message, code)
        if code == 15:
            return TokenExpired("the sign-in token expired before it was approved; run `lastfm login` again", code)
        if code in TEMPORARY_CODES:
            return LastfmTemporary(message, code)
        if code == 6:
            return LastfmNotFound(message, code)
        return LastfmError(message, code)
    if isinstance(exc, pylast.NetworkError):
        underlying = exc.underlying_error
        name = type(underlying).__name__
        reason = _scrub(str(underlying), secrets)
        if "CERTIFICATE_VERIFY_FAILED" in reason:
            return ConfigError(f"{method}: TLS certificate not trusted ({reason}); check LASTFM_CA_BUNDLE")
        msg = f"{method}: cannot reach Last.fm ({name}: {reason})"
        if name in NOT_SENT_ERRORS:
            return RequestNotSent(msg)
        return OutcomeUnknown(msg) if write else LastfmTemporary(msg)
    # MalformedResponseError, and the bare IndexError/AttributeError pylast lets out of odd bodies.
    msg = f"{method}: Last.fm sent an answer that cannot be read ({type(exc).__name__})"
    return OutcomeUnknown(msg) if write else LastfmTemporary(msg)


def _ssl_context(settings: Settings) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=settings.ca_bundle) if settings.ca_bundle \
            else ssl.create_default_context()
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot load LASTFM_CA_BUNDLE {settings.ca_bundle}: {exc.__class__.__name__}") from None


def _ws_server(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.netloc:
        raise ConfigError(f"LASTFM_API_URL must be an https:// URL, got {url!r}")
    return parts.netloc, parts.path or "/"


class LastFM:
    """Plain-data access to Last.fm; each method is one request unless it says otherwise."""

    def __init__(self, settings: Settings, session_key: str = "", throttle: Throttle = THROTTLE) -> None:
        settings.require_credentials()
        self.settings = settings
        self._transport = _Transport(_ssl_context(settings), settings.timeout, throttle)
        self.network = pylast.LastFMNetwork(
            api_key=settings.api_key, api_secret=settings.api_secret, session_key=session_key,
            proxy={"https://": self._transport},
        )
        self.network.ws_server = _ws_server(settings.api_url)

    @property
    def requests(self) -> int:
        """Requests this client has made so far."""
        return self._transport.requests

    @contextmanager
    def _errors(self, method: str, write: bool = False) -> Iterator[None]:
        try:
            yield
        except LastfmError:
            raise
        except (pylast.PyLastError, IndexError, AttributeError, ValueError,
                xml.parsers.expat.ExpatError) as exc:
            raise translate(exc, method, _secrets_of(self.network), write) from None

    def call(self, method: str, params: dict[str, Any], sign: bool = False, write: bool = False,
             parse: Callable[[Any], Any] | None = None) -> Any:
        """One request through pylast's signing layer; `parse` reads the DOM inside the error guard."""
        with self._errors(method, write):
            request = pylast._Request(self.network, method, params)
            if sign:
                request.sign_it()
            doc = request.execute()
            return parse(doc) if parse else doc

    # --- sign-in -----------------------------------------------------------------------
    def get_token(self) -> str:
        return self.call("auth.getToken", {}, sign=True,
                         parse=lambda d: responses.text(responses.root(d, "token")))

    def auth_url(self, token: str) -> str:
        return f"{self.network.homepage}/api/auth/?api_key={self.settings.api_key}&token={token}"

    def get_session(self, token: str) -> tuple[str, str]:
        return self.call("auth.getSession", {"token": token}, sign=True, parse=responses.session)

    def mobile_session(self, username: str, password: str) -> tuple[str, str]:
        # pylast sends the documented-deprecated authToken form; Last.fm still takes it.
        token = pylast.md5(username + pylast.md5(password))
        return self.call("auth.getMobileSession", {"username": username, "authToken": token},
                         sign=True, parse=responses.session)

    # --- reads --------------------------------------------------------------------------
    def user_info(self, user: str | None = None) -> dict:
        return self.call("user.getInfo", {"user": user} if user else {}, parse=responses.user_info)

    def album_info(self, artist: str, album: str, username: str | None = None,
                   autocorrect: bool = True) -> dict:
        params: dict[str, Any] = {"artist": artist, "album": album, "autocorrect": int(autocorrect)}
        if username:
            params["username"] = username
        return self.call("album.getInfo", params, parse=responses.album_info)

    def recent_tracks(self, user: str, start: int, end: int, limit: int = 200) -> list[dict]:
        """Every dated scrobble of `user` with start <= timestamp <= end (pages through)."""
        plays: list[dict] = []
        page = 1
        while True:
            found, pages = self.call(
                "user.getRecentTracks",
                {"user": user, "from": start, "to": end, "limit": limit, "page": page},
                parse=responses.recent_tracks,
            )
            plays.extend(found)
            if page >= pages:
                return plays
            page += 1

    def top_albums(self, user: str, page: int = 1, limit: int = 1000) -> tuple[list[dict], int]:
        return self.call("user.getTopAlbums",
                         {"user": user, "period": "overall", "limit": limit, "page": page},
                         parse=responses.top_albums)

    def all_top_albums(self, user: str, limit: int = 1000) -> list[dict]:
        """Every album the user ever played, with plays (pages through; largest pages Last.fm allows)."""
        albums, pages = self.top_albums(user, 1, limit)
        page = 2
        while page <= pages:
            more, pages = self.top_albums(user, page, limit)
            albums.extend(more)
            page += 1
        return albums

    # --- writes -------------------------------------------------------------------------
    def scrobble(self, items: list[dict]) -> list[responses.ItemResult]:
        """One track.scrobble request of up to 50 items, with Last.fm's verdict on each."""
        if not 1 <= len(items) <= 50:
            raise ValueError("a batch holds 1 to 50 scrobbles")
        params: dict[str, Any] = {}
        for i, item in enumerate(items):
            for wire, key in (("artist", "artist"), ("track", "track"), ("timestamp", "timestamp"),
                              ("album", "album"), ("albumArtist", "album_artist"),
                              ("trackNumber", "track_number"), ("duration", "duration")):
                value = item.get(key)
                if value not in (None, ""):
                    params[f"{wire}[{i}]"] = value
        return self.call("track.scrobble", params, write=True,
                         parse=lambda d: responses.scrobble_results(d, len(items)))

    def now_playing(self, item: dict) -> responses.ItemResult:
        params = {wire: item[key] for wire, key in (
            ("artist", "artist"), ("track", "track"), ("album", "album"),
            ("albumArtist", "album_artist"), ("trackNumber", "track_number"), ("duration", "duration"),
        ) if item.get(key) not in (None, "")}
        return self.call("track.updateNowPlaying", params, write=True, parse=responses.now_playing_result)
