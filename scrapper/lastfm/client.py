"""The one module that owns pylast: builds the network, throttles, limits, redacts, and turns its errors into ours.

pylast's `scrobble_many` and `now_playing` discard Last.fm's answer (accepted,
ignored, corrections), and its Album getters make one request per field. So
the calls here go through pylast's own request and signing layer
(`pylast._Request`, pinned with pylast==7.2.0 in requirements.txt) and read
the XML in `lastfm.responses`. That is the only use of pylast's private API.
"""

from __future__ import annotations

import logging
import math
import ssl
import xml.parsers.expat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import httpx2
import pylast

from config import DEFAULT_API_URL, Settings
from errors import (
    ConfigError, LastfmError, LastfmNotFound, LastfmTemporary, OutcomeUnknown, PrivateProfile, RequestNotSent,
    RussfmError, SessionInvalid, TokenExpired, TokenNotAuthorised,
)
from lastfm import responses
from lastfm.retry import RetryPolicy
from lastfm.throttle import THROTTLE_FILE, Throttle

log = logging.getLogger("russfm.lastfm")
# pylast logs every answer at DEBUG, auth.getSession's session key included;
# nothing of it may reach a log, whatever level the application sets.
logging.getLogger("pylast").setLevel(logging.WARNING)

REQUESTS_PER_SECOND = 5
# Last.fm asks for at most 5 requests a second; requests count until their answer has come
# (see lastfm/throttle.py), so a window of a second is kept whatever the network does.
THROTTLE_WINDOW = 1.0
SECRET_PARAMS = {"sk", "api_sig", "password", "authToken", "token"}
TEMPORARY_CODES = {8, 11, 16, 29}
MAX_CODE_DIGITS = 3  # Last.fm's error codes run from 2 to 29; a longer one is not a code
NOT_SENT_ERRORS = ("ConnectError", "ConnectTimeout", "PoolTimeout", "UnsupportedProtocol")
# The largest real answers (1,000 top albums, 200 recent tracks) are well under a megabyte.
MAX_ANSWER_BYTES = 8 * 1024 * 1024
# A hard stop for one paged read, whatever the answer claims: 50,000 top albums, or 10,000 scrobbles
# in one reconciliation window. Copying a whole history sets its own bound.
MAX_PAGES = 50
T = TypeVar("T")
LASTFM_SITE = "https://www.last.fm"


def redact(params: dict[str, str]) -> dict[str, str]:
    return {k: ("***" if k in SECRET_PARAMS else v) for k, v in params.items()}


class AnswerTooLarge(httpx2.TransportError):
    """The answer grew past MAX_ANSWER_BYTES; it was not read further."""


class _Transport(httpx2.BaseTransport):
    """Every request pylast makes passes here: throttled, timed out, size-limited, counted, logged without secrets."""

    def __init__(self, context: ssl.SSLContext, timeout: float, throttle: Throttle) -> None:
        self._timeout = timeout
        self._throttle = throttle
        self._inner = httpx2.HTTPTransport(verify=context)
        self.requests = 0

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        place = self._throttle.wait()
        try:
            return self._send(request)
        finally:
            self._throttle.done(place)

    def _send(self, request: httpx2.Request) -> httpx2.Response:
        request.extensions["timeout"] = {
            "connect": min(5.0, self._timeout), "read": self._timeout,
            "write": self._timeout, "pool": self._timeout,
        }
        # Compressed answers could expand past any limit after they were counted.
        request.headers["Accept-Encoding"] = "identity"
        self.requests += 1
        if log.isEnabledFor(logging.DEBUG):
            params = dict(parse_qsl(request.url.query.decode() if isinstance(request.url.query, bytes)
                                    else str(request.url.query)))
            params.update(parse_qsl(request.content.decode("utf-8", "replace")))
            log.debug("POST %s %s", params.get("method", "?"), redact(params))
        response = self._inner.handle_request(request)
        try:
            body = _read_limited(response)
        finally:
            response.close()
        log.debug("answer HTTP %s, %d bytes", response.status_code, len(body))
        return httpx2.Response(response.status_code, headers=response.headers, content=body, request=request)

    def close(self) -> None:
        """pylast closes its client, and with it this transport, after every call: the connection is kept
        for the next request (no TLS handshake each time) until the client itself is closed."""

    def shut(self) -> None:
        self._inner.close()


def _read_limited(response: httpx2.Response) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_ANSWER_BYTES:
        raise AnswerTooLarge(f"the answer announces {int(declared)} bytes")
    body = bytearray()
    for chunk in response.iter_raw():
        body += chunk
        if len(body) > MAX_ANSWER_BYTES:
            raise AnswerTooLarge(f"the answer grew past {MAX_ANSWER_BYTES // (1024 * 1024)} MB")
    return bytes(body)


def _scrub(text: str, secrets: list[str]) -> str:
    """Secrets out, and on one line: whatever the network said ends up in a one-line message."""
    for secret in secrets:
        text = text.replace(secret, "***")
    return " ".join(text.split())[:300]


def translate(exc: BaseException, method: str, secrets: list[str], write: bool = False) -> RussfmError:
    """pylast's many failure shapes (str or int status, bare IndexError…) as the project's errors."""
    if isinstance(exc, pylast.WSError):
        details = _scrub(str(exc.details or ""), secrets)
        if isinstance(exc.status, int):  # pylast's own: an HTTP 5xx status without an answer from the API
            msg = f"{method}: Last.fm answered HTTP {exc.status}"
            return OutcomeUnknown(msg, method=method) if write else LastfmTemporary(msg, method=method)
        status = str(exc.status or "").strip()
        code = int(status) if status.isdigit() and len(status) <= MAX_CODE_DIGITS else None
        if code is None:
            # An <error> without a code, or with one no API error has: Last.fm refused, for a reason it
            # did not give in a form this tool knows.
            shown = status[:12] + ("…" if len(status) > 12 else "")
            what = "without an error code" if not status else f"with an error code that does not exist ({shown!r})"
            return LastfmError(f"{method}: Last.fm refused the request {what}: {details or 'no reason given'}",
                               None, method)
        message = f"{method}: Last.fm error {code}: {details or 'no reason given'}"
        if code == 9:
            return SessionInvalid(
                "Last.fm no longer accepts the saved session (it was revoked or has expired); "
                "sign in again with: python main.py lastfm login", code, method)
        if code == 14:
            return TokenNotAuthorised(message, code, method)
        if code == 15:
            return TokenExpired("the sign-in token expired before it was approved; run `lastfm login` again",
                                code, method)
        if code == 17:
            return PrivateProfile(f"{method}: this Last.fm user's listening history is private (error 17)",
                                  code, method)
        if code in TEMPORARY_CODES:
            return LastfmTemporary(message, code, method)
        if code == 6:
            return LastfmNotFound(message, code, method)
        return LastfmError(message, code, method)
    if isinstance(exc, pylast.NetworkError):
        underlying = exc.underlying_error
        name = type(underlying).__name__
        reason = _scrub(str(underlying), secrets)
        if isinstance(underlying, AnswerTooLarge):
            msg = f"{method}: Last.fm's answer is too large to be real ({reason})"
            return OutcomeUnknown(msg, method=method) if write else LastfmError(msg, method=method)
        if "CERTIFICATE_VERIFY_FAILED" in reason:
            return ConfigError(f"{method}: TLS certificate not trusted ({reason}); check LASTFM_CA_BUNDLE")
        msg = f"{method}: cannot reach Last.fm ({name}: {reason})"
        if name in NOT_SENT_ERRORS:
            return RequestNotSent(msg, method=method)
        return OutcomeUnknown(msg, method=method) if write else LastfmTemporary(msg, method=method)
    # MalformedResponseError, the bare IndexError/AttributeError pylast lets out of odd bodies,
    # bodies that are not UTF-8, and XML nested too deeply to walk.
    msg = f"{method}: Last.fm sent an answer that cannot be read ({type(exc).__name__})"
    return OutcomeUnknown(msg, method=method) if write else LastfmTemporary(msg, method=method)


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


def approval_site(settings: Settings) -> str:
    """Where a web sign-in is approved: LASTFM_AUTH_URL if set, else the site of the API endpoint in use
    (www.last.fm for Last.fm's own, the endpoint's host for another one, such as the local emulator)."""
    if settings.auth_url:
        return settings.auth_url.rstrip("/")
    parts = urlsplit(settings.api_url)
    if parts.netloc == urlsplit(DEFAULT_API_URL).netloc:
        return LASTFM_SITE
    return f"{parts.scheme}://{parts.netloc}"


class LastFM:
    """Plain-data access to Last.fm; each method is one request unless it says otherwise.

    Reads that fail for a temporary reason (errors 8, 11, 16, 29, 5xx,
    network) are tried again with backoff; writes are never retried here.
    """

    def __init__(self, settings: Settings, session_key: str = "", known_secrets: tuple[str, ...] = (),
                 retry: RetryPolicy | None = None) -> None:
        settings.require_credentials()
        self.settings = settings
        throttle_path = settings.state_dir / THROTTLE_FILE if settings.state_dir else None
        self.throttle = Throttle(throttle_path, REQUESTS_PER_SECOND, THROTTLE_WINDOW)
        self._transport = _Transport(_ssl_context(settings), settings.timeout, self.throttle)
        self.network = pylast.LastFMNetwork(
            api_key=settings.api_key, api_secret=settings.api_secret, session_key=session_key,
            proxy={"https://": self._transport},
        )
        self.network.ws_server = _ws_server(settings.api_url)
        self.retry = retry or RetryPolicy(base_delay=settings.retry_delay)
        # Secrets this client may meet in an answer, even ones it does not send (the saved session key).
        self._secrets = [s for s in (settings.api_secret, session_key, *known_secrets) if s]
        self.warnings: list[str] = []

    @property
    def requests(self) -> int:
        """Requests this client has made so far."""
        return self._transport.requests

    def close(self) -> None:
        self._transport.shut()

    def _add_secret(self, secret: str) -> None:
        if secret and secret not in self._secrets:
            self._secrets.append(secret)

    @contextmanager
    def _errors(self, method: str, write: bool = False) -> Iterator[None]:
        try:
            yield
        except LastfmError:
            raise
        except (pylast.PyLastError, IndexError, AttributeError, ValueError, RecursionError,
                xml.parsers.expat.ExpatError) as exc:
            # UnicodeDecodeError is a ValueError: pylast decodes the body without a guard.
            raise translate(exc, method, self._secrets, write) from None

    def call(self, method: str, params: dict[str, Any], sign: bool = False, write: bool = False,
             parse: Callable[[Any], T] | None = None) -> Any:
        """One request through pylast's signing layer (reads: retried); `parse` reads the DOM inside the guard."""
        attempt = 0
        while True:
            try:
                with self._errors(method, write):
                    request = pylast._Request(self.network, method, params)
                    if sign:
                        request.sign_it()
                    doc = request.execute()
                    return parse(doc) if parse else doc
            except LastfmTemporary as exc:
                attempt += 1
                if write or attempt >= self.retry.attempts:
                    raise
                log.info("%s failed (%s); trying again", method, exc)
                self.retry.pause(attempt - 1, longer=exc.code == 29)

    def pages(self, method: str, params: dict[str, Any], parse: Callable[[Any], responses.Page],
              limit: int, max_pages: int = MAX_PAGES) -> Iterator[responses.Page]:
        """Page after page, never trusting the claimed page count beyond what `total` and the page size imply."""
        page = 1
        last = max_pages
        while True:
            found = self.call(method, {**params, "limit": limit, "page": page}, parse=parse)
            if page == 1:
                implied = math.ceil(found.total / limit) if found.total is not None else found.total_pages
                claimed = min(found.total_pages, implied)
                if claimed > max_pages:
                    self.warnings.append(f"{method}: Last.fm claims {claimed} pages; reading only the first "
                                         f"{max_pages}")
                    log.warning("%s", self.warnings[-1])
                last = min(claimed, max_pages)
            yield found
            if page >= last or not found.items:
                return
            page += 1

    # --- sign-in -----------------------------------------------------------------------
    def get_token(self) -> str:
        token = self.call("auth.getToken", {}, sign=True, parse=lambda d: responses.text(responses.root(d, "token")))
        self._add_secret(token)
        return token

    def auth_url(self, token: str) -> str:
        return f"{approval_site(self.settings)}/api/auth/?api_key={self.settings.api_key}&token={token}"

    def get_session(self, token: str) -> tuple[str, str]:
        name, key = self.call("auth.getSession", {"token": token}, sign=True, parse=responses.session)
        self._add_secret(key)
        return name, key

    def mobile_session(self, username: str, password: str) -> tuple[str, str]:
        # pylast sends the documented-deprecated authToken form; Last.fm still takes it.
        token = pylast.md5(username + pylast.md5(password))
        self._add_secret(password)
        self._add_secret(token)
        try:
            name, key = self.call("auth.getMobileSession", {"username": username, "authToken": token},
                                  sign=True, parse=responses.session)
        except LastfmError as exc:
            if exc.code == 4:  # Last.fm's words: "Authentication Failed - You do not have permissions…"
                raise LastfmError("Last.fm did not accept this user name and password; check them and try again",
                                  exc.code, exc.method) from None
            raise
        self._add_secret(key)
        return name, key

    # --- reads --------------------------------------------------------------------------
    def user_info(self, user: str | None = None) -> dict:
        return self.call("user.getInfo", {"user": user} if user else {}, parse=responses.user_info)

    def album_info(self, artist: str, album: str, username: str | None = None,
                   autocorrect: bool = True) -> dict:
        params: dict[str, Any] = {"artist": artist, "album": album, "autocorrect": int(autocorrect)}
        if username:
            params["username"] = username
        return self.call("album.getInfo", params, parse=responses.album_info)

    def recent_page(self, user: str, page: int = 1, limit: int = 200, start: int | None = None,
                    end: int | None = None) -> responses.Page:
        """One page of the user's scrobbles, newest first; `now_playing` set when a track is playing."""
        params: dict[str, Any] = {"user": user, "limit": limit, "page": page}
        if start is not None:
            params["from"] = start
        if end is not None:
            params["to"] = end
        return self.call("user.getRecentTracks", params, parse=responses.recent_tracks)

    def recent_tracks(self, user: str, start: int, end: int, limit: int = 200,
                      max_pages: int = MAX_PAGES) -> list[dict]:
        """Every dated scrobble of `user` with start <= timestamp <= end (pages through)."""
        params = {"user": user, "from": start, "to": end}
        return [play for page in self.pages("user.getRecentTracks", params, responses.recent_tracks, limit,
                                            max_pages)
                for play in page.items]

    def top_albums(self, user: str, period: str = "overall", limit: int = 1000,
                   max_pages: int = MAX_PAGES) -> list[dict]:
        """The user's albums with plays in the period (pages through; the largest pages Last.fm allows)."""
        params = {"user": user, "period": period}
        return [item for page in self.pages("user.getTopAlbums", params, responses.top_albums, limit, max_pages)
                for item in page.items]

    def top_albums_page(self, user: str, period: str, limit: int) -> list[dict]:
        """The user's first `limit` albums of the period, with plays (one request)."""
        return self.call("user.getTopAlbums", {"user": user, "period": period, "limit": limit, "page": 1},
                         parse=responses.top_albums).items

    def top_artists(self, user: str, period: str = "overall", limit: int = 10) -> list[dict]:
        """The user's first `limit` artists of the period, with plays (one request)."""
        return self.call("user.getTopArtists", {"user": user, "period": period, "limit": limit, "page": 1},
                         parse=responses.top_artists).items

    def track_correction(self, artist: str, track: str) -> tuple[str, str]:
        """The names Last.fm stores a scrobble of this artist and track under (as given when it corrects none)."""
        return self.call("track.getCorrection", {"artist": artist, "track": track},
                         parse=lambda d: responses.track_correction(d, artist, track))

    def search_albums(self, query: str, limit: int = 10) -> list[dict]:
        return self.call("album.search", {"album": query, "limit": limit, "page": 1},
                         parse=responses.album_search)

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
