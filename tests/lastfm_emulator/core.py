"""The emulated service: accounts, tokens, sessions, catalogue, scrobbles, faults and request checks."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from bisect import bisect_right, insort
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable

from .history import generate_plays
from .xml import error_document, nested_document, padded_document

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
CONFIG_KEYS = ("daily_cap", "cap_mode", "dedupe", "rate_limit", "private_users", "approve_as")
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
    # A hostile answer too large to hold: the server sends these chunks instead of `body`,
    # announced by Content-Length `length`, or with chunked transfer encoding.
    stream: Iterator[bytes] | None = None
    length: int = 0
    chunked: bool = False


FAULT_KINDS = ("error", "http", "delay", "stall", "drop_after_commit", "body", "size", "nested")


@dataclass
class Fault:
    method: str
    times: int
    after: int = 0
    error: int | None = None
    http: int | None = None
    status: int | None = None
    delay: float | None = None
    stall: float | None = None
    drop_after_commit: bool = False
    body: str | None = None
    size: int | None = None
    nested: int | None = None
    chunked: bool = False

    @classmethod
    def from_json(cls, spec: dict) -> Fault:
        kinds = [k for k in FAULT_KINDS if k != "body" and spec.get(k)]
        kinds += ["body"] if isinstance(spec.get("body"), str) else []
        if len(kinds) != 1:
            raise ValueError("a fault needs exactly one of " + ", ".join(FAULT_KINDS))
        if spec.get("chunked") and kinds[0] not in ("size", "nested"):
            raise ValueError("chunked goes with a size or nested fault")
        return cls(
            method=str(spec.get("method", "*")).lower(),
            times=int(spec.get("times", 1)),
            after=int(spec.get("after", 0)),
            error=int(spec["error"]) if spec.get("error") else None,
            http=int(spec["http"]) if spec.get("http") else None,
            status=int(spec["status"]) if spec.get("status") else None,
            delay=float(spec["delay"]) if spec.get("delay") else None,
            stall=float(spec["stall"]) if spec.get("stall") else None,
            drop_after_commit=bool(spec.get("drop_after_commit")),
            body=spec["body"] if isinstance(spec.get("body"), str) else None,
            size=int(spec["size"]) if spec.get("size") else None,
            nested=int(spec["nested"]) if spec.get("nested") else None,
            chunked=bool(spec.get("chunked")),
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


@lru_cache(maxsize=1 << 16)
def name_key(text: str) -> str:
    """How Last.fm compares names: case and runs of spaces ignored. Cached: histories repeat names."""
    return " ".join(text.casefold().split())


AlbumKey = tuple[str, str]  # (album artist, album), as name keys
TrackKey = tuple[str, str]  # (artist, track), as name keys
# A scrobble in timestamp order: (timestamp, arrival index, scrobble, artist key, album key, track key);
# the arrival index keeps equal timestamps in arrival order and the tuples comparable.
Entry = tuple[int, int, Scrobble, str, AlbumKey | None, TrackKey]


class History(list):
    """One user's scrobbles in arrival order (what tests read and append to), indexed for fast reads.

    Beside the list it keeps the scrobbles in timestamp order (for paging and `from`/`to` by
    bisection), arrival times in order (for the rolling daily cap), the exact keys the dedupe
    switch compares, and per-artist, per-album and per-track play counts. Appends are folded in
    lazily, on the next read, by length; any other change to the list drops the indexes, which the
    next read rebuilds.
    """

    # Above this many unfolded scrobbles a merge of the sorted runs beats one insertion each.
    INSERT_AT_MOST = 256

    def __init__(self, items: Iterable[Scrobble] = ()) -> None:
        super().__init__(items)
        self._drop()

    def _drop(self) -> None:
        self._folded = 0
        self._entries: list[Entry] = []  # oldest first
        self._stamps: list[int] = []  # the entries' timestamps, for bisection
        self._received: list[float] = []  # arrival times, sorted
        self._keys: set[tuple[str, str, int]] = set()
        self._artist_plays: Counter[str] = Counter()
        self._album_plays: Counter[AlbumKey] = Counter()
        self._track_plays: Counter[TrackKey] = Counter()
        self._artist_names: dict[str, str] = {}
        self._album_names: dict[AlbumKey, tuple[str, str]] = {}

    def _changed(self, result: Any) -> Any:
        self._drop()
        return result

    def __setitem__(self, index: Any, value: Any) -> None:
        self._changed(super().__setitem__(index, value))

    def __delitem__(self, index: Any) -> None:
        self._changed(super().__delitem__(index))

    def __imul__(self, times: Any) -> History:  # type: ignore[override, misc]
        super().__imul__(times)
        return self._changed(self)

    def insert(self, index: Any, value: Scrobble) -> None:
        self._changed(super().insert(index, value))

    def pop(self, index: Any = -1) -> Scrobble:
        return self._changed(super().pop(index))

    def remove(self, value: Scrobble) -> None:
        self._changed(super().remove(value))

    def clear(self) -> None:
        self._changed(super().clear())

    def sort(self, *args: Any, **kwargs: Any) -> None:
        self._changed(super().sort(*args, **kwargs))

    def reverse(self) -> None:
        self._changed(super().reverse())

    def refresh(self) -> History:
        """Fold in what was appended since the last read."""
        if len(self) > self._folded:
            self._fold()
        return self

    def _fold(self) -> None:
        new = []
        for arrival in range(self._folded, len(self)):
            s = self[arrival]
            artist = name_key(s.artist)
            album = (name_key(s.album_artist or s.artist), name_key(s.album)) if s.album else None
            track = (artist, name_key(s.track))
            new.append((s.timestamp, arrival, s, artist, album, track))
            self._keys.add((s.artist, s.track, s.timestamp))
            self._artist_plays[artist] += 1
            self._track_plays[track] += 1
            self._artist_names.setdefault(artist, s.artist)
            if album:
                self._album_plays[album] += 1
                self._album_names.setdefault(album, (s.album_artist or s.artist, s.album))
        received = sorted(s.received_at for s in self[self._folded:])
        self._folded = len(self)
        new.sort()
        if not self._entries or new[0][0] >= self._stamps[-1]:
            self._entries.extend(new)
            self._stamps.extend(e[0] for e in new)
        elif len(new) <= self.INSERT_AT_MOST:
            for entry in new:
                at = bisect_right(self._stamps, entry[0])
                self._entries.insert(at, entry)
                self._stamps.insert(at, entry[0])
        else:
            self._entries = sorted(self._entries + new)  # two sorted runs: a linear merge
            self._stamps = [e[0] for e in self._entries]
        if len(received) <= self.INSERT_AT_MOST:
            for at in received:
                insort(self._received, at)
        else:
            self._received = sorted(self._received + received)

    def span(self, low: int, high: int) -> tuple[int, int]:
        """Where the scrobbles with low <= timestamp <= high sit in timestamp order: [start, end)."""
        self.refresh()
        return bisect_right(self._stamps, low - 1), bisect_right(self._stamps, high)

    def entries(self, start: int, end: int) -> list[Entry]:
        """Scrobbles start..end-1 in timestamp order, oldest first, with their name keys."""
        return self.refresh()._entries[start:end]

    def has(self, artist: str, track: str, timestamp: int) -> bool:
        return (artist, track, timestamp) in self.refresh()._keys

    def received_since(self, moment: float) -> int:
        """How many scrobbles arrived after `moment`."""
        self.refresh()
        return len(self._received) - bisect_right(self._received, moment)

    @property
    def artist_plays(self) -> Counter[str]:
        return self.refresh()._artist_plays

    @property
    def album_plays(self) -> Counter[AlbumKey]:
        return self.refresh()._album_plays

    @property
    def track_plays(self) -> Counter[TrackKey]:
        return self.refresh()._track_plays

    @property
    def artist_names(self) -> dict[str, str]:
        """The first spelling seen of each artist."""
        return self.refresh()._artist_names

    @property
    def album_names(self) -> dict[AlbumKey, tuple[str, str]]:
        """The first spelling seen of each album: (album artist, album)."""
        return self.refresh()._album_names


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
    scrobbles: dict[str, list[Scrobble]] = field(default_factory=dict)  # each a History, once read
    now_playing: dict[str, tuple[dict, float]] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    daily_cap: int | None = None
    cap_mode: str = "code5"
    dedupe: bool = False
    rate_limit: float | None = None
    private_users: set[str] = field(default_factory=set)  # casefolded names
    approve_as: str | None = None  # a user who approves every web sign-in at once (unattended tests)
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
            self.state.scrobbles.setdefault(name, History())

    def history(self, user: str) -> History:
        """The user's scrobbles; a plain list a test put in `state.scrobbles` is adopted here."""
        with self.lock:
            found = self.state.scrobbles.get(user)
            if not isinstance(found, History):
                found = self.state.scrobbles[user] = History(found or ())
            return found

    def load_catalogue(self, data: dict) -> None:
        with self.lock:
            for album in data.get("albums", []):
                self.state.albums.append(dict(album))
            for kind, mapping in (data.get("corrections") or {}).items():
                self.state.corrections.setdefault(kind, {}).update(mapping)
            for user, items in (data.get("scrobbles") or {}).items():
                self.add_scrobbles(user, items)

    def add_scrobbles(self, user: str, items: Iterable[dict]) -> int:
        """Append earlier scrobbles as given (no filters); unknown users are created."""
        with self.lock:
            received = self.clock() - 86400 * 30  # long enough ago not to count toward today's cap
            plays = [Scrobble(
                user, str(item["artist"]), str(item["track"]), str(item.get("album", "")),
                str(item.get("album_artist", "")), int(item["timestamp"]), received,
                str(item.get("track_number", "")), str(item.get("duration", "")),
            ) for item in items]
            if user not in self.state.users:
                self.add_user(user, secrets.token_hex(8))
            self.history(user).extend(plays)
            return len(plays)

    def generate_history(self, user: str, count: int, *, until: float | None = None,
                         span_days: float | None = None, seed: int = 0, albums: list[dict] | None = None) -> int:
        """Append `count` plausible scrobbles: whole albums played through, oldest at until - span.

        Albums come from `albums`, else the catalogue's albums with tracks, else invented names.
        Returns how many were added.
        """
        with self.lock:
            pool = albums if albums is not None else [a for a in self.state.albums if a.get("tracks")]
            end = int(self.clock() if until is None else until)
            plays = [Scrobble(user, *play) for play in generate_plays(count, end, span_days, seed, pool)]
            if user not in self.state.users:
                self.add_user(user, secrets.token_hex(8))
            history = self.history(user)
            history.extend(plays)
            history.refresh()  # index now rather than on the first read
            return len(plays)

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
        unknown = set(options) - set(CONFIG_KEYS)
        if unknown:
            raise ValueError("unknown settings: " + ", ".join(sorted(unknown)))
        with self.lock:
            for key, value in options.items():
                if key == "private_users":
                    if isinstance(value, str):
                        raise ValueError("private_users is a list of user names")
                    value = {str(name).casefold() for name in value or ()}
                setattr(self.state, key, value)

    def is_private(self, user: str) -> bool:
        return user.casefold() in self.state.private_users

    def reset(self) -> None:
        """Forget scrobbles, faults, counts and limits; keep accounts, sessions and catalogue."""
        with self.lock:
            for user in self.state.scrobbles:
                self.state.scrobbles[user] = History()
            self.state.now_playing.clear()
            self.state.faults.clear()
            self.state.counts.clear()
            self.state.request_times.clear()
            self.state.daily_cap, self.state.cap_mode = None, "code5"
            self.state.dedupe, self.state.rate_limit = False, None
            self.state.private_users = set()
            self.state.approve_as = None
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
        if fault and (fault.size or fault.nested):
            length, chunks = padded_document(fault.size) if fault.size else nested_document(fault.nested or 0)
            return Reply(200, b"", stream=chunks, length=length, chunked=fault.chunked)
        if fault and fault.stall:
            time.sleep(fault.stall)  # a slow service: the work is done, and stored, only after the wait
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
