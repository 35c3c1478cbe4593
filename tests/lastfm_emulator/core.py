"""The emulated service: accounts, tokens, sessions, catalogue, scrobbles, faults and request checks."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any, Callable

from .xml import error_document

MAX_BATCH = 50
MAX_AGE = 14 * 86400
TOKEN_TTL = 3600
FUTURE_TOLERANCE = 300
ARTIST_FILTER = {"various", "various artists", "unknown artist", "[unknown]", "unknown"}

# HTTP statuses Last.fm was seen to use with each error code; the body decides for pylast.
ERROR_HTTP = {3: 400, 4: 403, 6: 400, 9: 403, 10: 403, 13: 403, 14: 403, 15: 403, 17: 403, 26: 403, 29: 429}
ERROR_TEXT = {
    3: "Invalid Method - No method with that name in this package",
    4: "Authentication Failed - You do not have permissions to access the service",
    6: "Invalid parameters - Your request is missing a required parameter",
    8: "Operation failed - Most likely the backend service failed. Please try again.",
    9: "Invalid session key - Please re-authenticate",
    10: "Invalid API key - You must be granted a valid key by last.fm",
    11: "Service Offline - This service is temporarily offline. Try again later.",
    13: "Invalid method signature supplied",
    14: "Unauthorized Token - This token has not been authorized",
    15: "This token has expired",
    16: "There was a temporary error processing your request. Please try again",
    26: "Suspended API key - Access for your account has been suspended, please contact Last.fm",
    29: "Rate Limit Exceeded - Your IP has made too many requests in a short period",
}
SIGNED_METHODS = {"auth.gettoken", "auth.getsession", "auth.getmobilesession"}
WRITE_METHODS = {"track.scrobble", "track.updatenowplaying"}


class ApiError(Exception):
    def __init__(self, code: int, message: str | None = None, http: int | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.message = message or ERROR_TEXT.get(code, "Error")
        self.http = http or ERROR_HTTP.get(code, 400)


@dataclass
class Reply:
    status: int
    body: bytes
    delay: float = 0.0
    drop: bool = False


@dataclass
class Fault:
    method: str
    times: int
    after: int = 0
    error: int | None = None
    http: int | None = None
    status: int | None = None
    delay: float | None = None
    drop_after_commit: bool = False
    body: str | None = None

    @classmethod
    def from_json(cls, spec: dict) -> Fault:
        kinds = [k for k in ("error", "http", "delay", "drop_after_commit") if spec.get(k)]
        kinds += ["body"] if isinstance(spec.get("body"), str) else []
        if len(kinds) != 1:
            raise ValueError("a fault needs exactly one of error, http, delay, drop_after_commit, body")
        return cls(
            method=str(spec.get("method", "*")).lower(),
            times=int(spec.get("times", 1)),
            after=int(spec.get("after", 0)),
            error=int(spec["error"]) if spec.get("error") else None,
            http=int(spec["http"]) if spec.get("http") else None,
            status=int(spec["status"]) if spec.get("status") else None,
            delay=float(spec["delay"]) if spec.get("delay") else None,
            drop_after_commit=bool(spec.get("drop_after_commit")),
            body=spec["body"] if isinstance(spec.get("body"), str) else None,
        )


@dataclass
class Scrobble:
    user: str
    artist: str
    track: str
    album: str
    album_artist: str
    timestamp: int
    received_at: float
    track_number: str = ""
    duration: str = ""

    def to_json(self) -> dict:
        return {
            "artist": self.artist, "track": self.track, "album": self.album,
            "album_artist": self.album_artist, "timestamp": self.timestamp,
            "track_number": self.track_number, "duration": self.duration,
            "received_at": self.received_at,
        }


@dataclass
class Token:
    issued: float
    user: str | None = None
    used: bool = False


@dataclass
class State:
    api_key: str
    api_secret: str
    users: dict[str, str] = field(default_factory=dict)  # name -> password
    registered: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, Token] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)  # sk -> user
    albums: list[dict] = field(default_factory=list)
    corrections: dict[str, dict[str, str]] = field(default_factory=dict)
    scrobbles: dict[str, list[Scrobble]] = field(default_factory=dict)
    now_playing: dict[str, tuple[dict, float]] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    daily_cap: int | None = None
    cap_mode: str = "code5"
    dedupe: bool = False
    rate_limit: float | None = None
    counts: Counter = field(default_factory=Counter)
    request_times: list[tuple[float, str]] = field(default_factory=list)


def md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def signature(params: dict[str, str], secret: str) -> str:
    """Last.fm's api_sig: sorted names and raw values, then the secret, MD5."""
    text = "".join(f"{k}{params[k]}" for k in sorted(params) if k not in ("api_sig", "format", "callback"))
    return md5(text + secret)


class Emulator:
    """Thread-safe emulated Last.fm; `handle` answers one API request."""

    def __init__(self, api_key: str | None = None, api_secret: str | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.state = State(api_key or secrets.token_hex(16), api_secret or secrets.token_hex(16))
        self._recent: deque[float] = deque()
        self.log: Callable[[str], None] | None = None
        from . import methods  # the handlers need Emulator only at call time

        self._methods: dict[str, Callable[[Emulator, dict, str | None], bytes]] = methods.HANDLERS

    # --- set-up used by tests, the inspection endpoints and the CLI -------------------
    def add_user(self, name: str, password: str, registered: int | None = None) -> None:
        with self.lock:
            self.state.users[name] = password
            self.state.registered[name] = registered or int(self.clock()) - 10 * 365 * 86400
            self.state.scrobbles.setdefault(name, [])

    def load_catalogue(self, data: dict) -> None:
        with self.lock:
            for album in data.get("albums", []):
                self.state.albums.append(dict(album))
            for kind, mapping in (data.get("corrections") or {}).items():
                self.state.corrections.setdefault(kind, {}).update(mapping)
            for user, items in (data.get("scrobbles") or {}).items():
                if user not in self.state.users:
                    self.add_user(user, secrets.token_hex(8))
                for item in items:
                    self.state.scrobbles[user].append(Scrobble(
                        user, item["artist"], item["track"], item.get("album", ""),
                        item.get("album_artist", ""), int(item["timestamp"]), self.clock() - 86400 * 30,
                    ))

    def approve(self, token: str, user: str | None = None) -> bool:
        with self.lock:
            entry = self.state.tokens.get(token)
            name = user or next(iter(self.state.users), None)
            if entry is None or name not in self.state.users:
                return False
            entry.user = name
            return True

    def expire(self, token: str) -> bool:
        with self.lock:
            entry = self.state.tokens.get(token)
            if entry is None:
                return False
            entry.issued -= TOKEN_TTL + 1
            return True

    def revoke(self, user: str) -> int:
        with self.lock:
            keys = [sk for sk, name in self.state.sessions.items() if name == user]
            for sk in keys:
                del self.state.sessions[sk]
            return len(keys)

    def create_session(self, user: str) -> str:
        with self.lock:
            sk = secrets.token_hex(16)
            self.state.sessions[sk] = user
            return sk

    def add_fault(self, spec: dict) -> None:
        fault = Fault.from_json(spec)
        with self.lock:
            self.state.faults.append(fault)

    def clear_faults(self) -> None:
        with self.lock:
            self.state.faults.clear()

    def configure(self, **options: Any) -> None:
        with self.lock:
            for key in ("daily_cap", "cap_mode", "dedupe", "rate_limit"):
                if key in options:
                    setattr(self.state, key, options[key])

    def reset(self) -> None:
        """Forget scrobbles, faults, counts and limits; keep accounts, sessions and catalogue."""
        with self.lock:
            for user in self.state.scrobbles:
                self.state.scrobbles[user] = []
            self.state.now_playing.clear()
            self.state.faults.clear()
            self.state.counts.clear()
            self.state.request_times.clear()
            self.state.daily_cap, self.state.cap_mode = None, "code5"
            self.state.dedupe, self.state.rate_limit = False, None
            self._recent.clear()

    def scrobbles_of(self, user: str) -> list[dict]:
        with self.lock:
            return [s.to_json() for s in self.state.scrobbles.get(user, [])]

    def request_counts(self) -> dict:
        with self.lock:
            return {
                "total": sum(self.state.counts.values()),
                "by_method": dict(self.state.counts),
                "times": [t for t, _ in self.state.request_times],
            }

    # --- request handling -------------------------------------------------------------
    def handle(self, http_method: str, params: dict[str, str]) -> Reply:
        method = params.get("method", "").lower()
        with self.lock:
            now = self.clock()
            self.state.counts[method or "(none)"] += 1
            self.state.request_times.append((now, method))
            fault = self._take_fault(method)
            limited = self._over_rate(now)
        if self.log:
            shown = {k: ("***" if k in ("sk", "api_sig", "password", "authToken", "token") else v)
                     for k, v in params.items()}
            self.log(f"{http_method} {method or '(none)'} {shown}")
        if limited:
            return self._error(ApiError(29))
        if fault and fault.error:
            return self._error(ApiError(fault.error, http=fault.status))
        if fault and fault.http:
            return Reply(fault.http, b"<html><body>Service unavailable</body></html>")
        if fault and fault.body is not None:
            return Reply(fault.status or 200, fault.body.encode())
        try:
            body = self._dispatch(http_method, method, params)
        except ApiError as exc:
            return self._error(exc)
        reply = Reply(200, body)
        if fault and fault.delay:
            reply.delay = fault.delay
        if fault and fault.drop_after_commit:
            reply.drop = True
        return reply

    def _error(self, exc: ApiError) -> Reply:
        return Reply(exc.http, error_document(exc.code, exc.message))

    def _take_fault(self, method: str) -> Fault | None:
        for fault in self.state.faults:
            if fault.times > 0 and fault.method in ("*", method):
                if fault.after > 0:
                    fault.after -= 1  # let this many matching calls through first
                    continue
                fault.times -= 1
                if fault.times == 0:
                    self.state.faults.remove(fault)
                return fault
        return None

    def _over_rate(self, now: float) -> bool:
        limit = self.state.rate_limit
        self._recent.append(now)
        while self._recent and self._recent[0] <= now - 1.0:
            self._recent.popleft()
        return bool(limit) and len(self._recent) > limit  # type: ignore[operator]

    def _dispatch(self, http_method: str, method: str, params: dict[str, str]) -> bytes:
        if not method:
            raise ApiError(3)
        handler = self._methods.get(method)
        if handler is None:
            raise ApiError(3)
        if params.get("api_key") != self.state.api_key:
            raise ApiError(10)
        signed = "api_sig" in params
        if (method in SIGNED_METHODS or method in WRITE_METHODS) and not signed:
            raise ApiError(13)
        if signed and params["api_sig"] != signature(params, self.state.api_secret):
            raise ApiError(13)
        user = None
        if "sk" in params:
            with self.lock:
                user = self.state.sessions.get(params["sk"])
            if user is None:
                raise ApiError(9)
        if (method in WRITE_METHODS or method == "auth.getmobilesession") and http_method != "POST":
            raise ApiError(4, "Authentication Failed - You must use POST for this method")
        if method in WRITE_METHODS and user is None:
            raise ApiError(9)
        return handler(self, params, user)


def require(params: dict[str, str], *names: str) -> list[str]:
    missing = [n for n in names if not params.get(n, "").strip()]
    if missing:
        raise ApiError(6, f"Invalid parameters - Your request is missing the [{missing[0]}] parameter")
    return [params[n] for n in names]
