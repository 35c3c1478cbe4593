"""The emulated ListenBrainz: users and tokens, stored listens, playing now, rate limits, faults and request checks.

Strict where the real server is strict (see /1/submit-listens in the server's api.py and api_tools.py):
the `Authorization: Token …` header, the three listen types and their counts, 10,240 bytes per listen,
the top-level keys of each listen, `listened_at` between 2002-10-01 and an hour ahead, MBIDs that are
UUIDs. Listens are keyed by (listened_at, user, recording_msid) and a repeat of the key is dropped.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from bisect import bisect_left, bisect_right, insort
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

MAX_LISTENS_PER_REQUEST = 1000
MAX_LISTEN_SIZE = 10240
MAX_REQUEST_SIZE = MAX_LISTENS_PER_REQUEST * MAX_LISTEN_SIZE
DEFAULT_ITEMS_PER_GET = 25
MAX_ITEMS_PER_GET = 1000
LISTEN_MINIMUM_TS = 1033430400  # 2002-10-01T00:00:00Z
ALLOWED_SKEW = 3600  # listened_at may be this far ahead of the server's clock
LISTEN_TYPES = ("single", "playing_now", "import")
SINGLE_MBIDS = ("release_mbid", "recording_mbid", "release_group_mbid", "track_mbid")
MULTI_MBIDS = ("artist_mbids", "work_mbids")
MSID_NAMESPACE = uuid.UUID("6d1c0a2e-96b3-4a5e-9c53-8f0c5b8a7a31")
ENDPOINTS = ("submit-listens", "validate-token", "listens", "listen-count")
FAULT_KINDS = ("http", "stall", "drop_after_commit", "delay")


class ApiError(Exception):
    def __init__(self, code: int, error: str) -> None:
        super().__init__(error)
        self.code = code
        self.error = error


@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False


@dataclass
class Fault:
    endpoint: str
    times: int = 1
    after: int = 0
    http: int | None = None  # answer this status (5xx) without doing the work
    stall: float | None = None  # do the work only after this many seconds (the client times out first)
    delay: float | None = None  # do the work, then wait this long before answering
    drop_after_commit: bool = False  # do the work, then hang up without an answer

    @classmethod
    def from_json(cls, spec: dict) -> Fault:
        kinds = [k for k in FAULT_KINDS if spec.get(k)]
        if len(kinds) != 1:
            raise ValueError("a fault needs exactly one of " + ", ".join(FAULT_KINDS))
        endpoint = str(spec.get("endpoint", "*"))
        if endpoint != "*" and endpoint not in ENDPOINTS:
            raise ValueError(f"endpoint must be * or one of {', '.join(ENDPOINTS)}")
        return cls(endpoint=endpoint, times=int(spec.get("times", 1)), after=int(spec.get("after", 0)),
                   http=int(spec["http"]) if spec.get("http") else None,
                   stall=float(spec["stall"]) if spec.get("stall") else None,
                   delay=float(spec["delay"]) if spec.get("delay") else None,
                   drop_after_commit=bool(spec.get("drop_after_commit")))


def recording_msid(track_metadata: dict) -> str:
    """A stable id from the names as submitted, as MessyBrainz gives one per distinct submission."""
    names = [track_metadata.get("artist_name", ""), track_metadata.get("track_name", ""),
             track_metadata.get("release_name", "") or ""]
    return str(uuid.uuid5(MSID_NAMESPACE, json.dumps(names)))


def _is_uuid(value: object) -> bool:
    try:
        uuid.UUID(str(value))
        return isinstance(value, str)
    except ValueError:
        return False


@dataclass
class UserListens:
    """One user's listens, sorted by (listened_at, msid), with the keys seen for duplicate dropping."""

    order: list[tuple[int, str]] = field(default_factory=list)
    listens: dict[tuple[int, str], dict] = field(default_factory=dict)

    def add(self, listen: dict) -> bool:
        key = (int(listen["listened_at"]), str(listen["recording_msid"]))
        if key in self.listens:
            return False  # ON CONFLICT DO NOTHING
        self.listens[key] = listen
        insort(self.order, key)
        return True


@dataclass
class State:
    tokens: dict[str, str] = field(default_factory=dict)  # token -> user name
    listens: dict[str, UserListens] = field(default_factory=dict)
    playing_now: dict[str, tuple[dict, float]] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    log: list[dict] = field(default_factory=list)
    rate_limit: int = 1000  # requests per window, per token (or per address without one)
    rate_window: float = 10.0
    windows: dict[str, tuple[float, int]] = field(default_factory=dict)  # who -> (window start, used)
    max_items_per_get: int = MAX_ITEMS_PER_GET


class ListenBrainz:
    """The service, independent of HTTP: `handle` takes a request and gives a Reply."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.state = State()
        self.clock = clock
        self.lock = threading.RLock()

    # --- accounts and steering ---------------------------------------------------------
    def add_user(self, name: str, token: str | None = None) -> str:
        token = token or str(uuid.UUID(bytes=secrets.token_bytes(16)))
        with self.lock:
            self.state.tokens[token] = name
            self.state.listens.setdefault(name, UserListens())
        return token

    def token_of(self, name: str) -> str:
        return next(t for t, n in self.state.tokens.items() if n == name)

    def revoke(self, name: str) -> int:
        with self.lock:
            gone = [t for t, n in self.state.tokens.items() if n == name]
            for token in gone:
                del self.state.tokens[token]
        return len(gone)

    def add_fault(self, spec: dict) -> None:
        fault = Fault.from_json(spec)
        with self.lock:
            self.state.faults.append(fault)

    def configure(self, rate_limit: int | None = None, rate_window: float | None = None,
                  max_items_per_get: int | None = None) -> None:
        with self.lock:
            if rate_limit is not None:
                if int(rate_limit) < 1:
                    raise ValueError("rate_limit must be at least 1")
                self.state.rate_limit = int(rate_limit)
            if rate_window is not None:
                if float(rate_window) <= 0:
                    raise ValueError("rate_window must be above 0")
                self.state.rate_window = float(rate_window)
            if max_items_per_get is not None:
                self.state.max_items_per_get = max(1, int(max_items_per_get))
            self.state.windows.clear()

    def reset(self) -> None:
        """Forget listens, faults, counts and limits; keep users and tokens."""
        with self.lock:
            for name in self.state.listens:
                self.state.listens[name] = UserListens()
            self.state.playing_now.clear()
            self.state.faults.clear()
            self.state.counts.clear()
            self.state.log.clear()
            self.state.windows.clear()
            self.state.rate_limit, self.state.rate_window = 1000, 10.0
            self.state.max_items_per_get = MAX_ITEMS_PER_GET

    def add_listens(self, user: str, listens: list[dict]) -> int:
        """Store listens as if submitted earlier (another player, an old import); returns how many were new."""
        with self.lock:
            store = self.state.listens.setdefault(user, UserListens())
            added = 0
            for listen in listens:
                stored = self._stored(listen, user)
                added += store.add(stored)
            return added

    def listens_of(self, user: str) -> list[dict]:
        """Every stored listen of the user, oldest first, in ListenBrainz's shape."""
        with self.lock:
            store = self.state.listens.get(user, UserListens())
            return [store.listens[k] for k in store.order]

    def requests(self) -> dict:
        with self.lock:
            return {"total": sum(self.state.counts.values()), "by_endpoint": dict(self.state.counts),
                    "log": list(self.state.log)}

    # --- requests ------------------------------------------------------------------------
    def handle(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes,
               address: str = "127.0.0.1") -> Reply:
        endpoint, user_in_path = self._route(path)
        if endpoint is None:
            return self._json(404, {"code": 404, "error": "The requested URL was not found on the server."})
        with self.lock:
            self.state.counts[endpoint] += 1
            entry: dict[str, Any] = {"endpoint": endpoint, "method": method, "at": self.clock()}
            self.state.log.append(entry)
            fault = self._take_fault(endpoint)
            token = self._token(headers)
            limited = self._rate(token or address)
        if limited is not None:
            entry["status"] = 429
            return limited
        rate_headers = self._rate_headers(token or address)
        if fault and fault.http:
            entry["status"] = fault.http
            return Reply(fault.http, b"<html><body><h1>502 Bad Gateway</h1></body></html>",
                         {"Content-Type": "text/html", **rate_headers})
        if fault and fault.stall:
            time.sleep(fault.stall)  # the work is done, and stored, only after the wait
        try:
            status, data = self._dispatch(endpoint, method, user_in_path, query, token, body, entry)
        except ApiError as exc:
            status, data = exc.code, {"code": exc.code, "error": exc.error}
        entry["status"] = status
        reply = self._json(status, data, rate_headers)
        if fault and fault.delay:
            reply.delay = fault.delay
        if fault and fault.drop_after_commit:
            reply.drop = True
        return reply

    @staticmethod
    def _route(path: str) -> tuple[str | None, str]:
        parts = [p for p in path.split("/") if p]
        if parts[:1] != ["1"]:
            return None, ""
        if parts[1:] == ["submit-listens"]:
            return "submit-listens", ""
        if parts[1:] == ["validate-token"]:
            return "validate-token", ""
        if len(parts) == 4 and parts[1] == "user" and parts[3] in ("listens", "listen-count"):
            return parts[3], parts[2]
        return None, ""

    @staticmethod
    def _json(status: int, data: object, headers: dict[str, str] | None = None) -> Reply:
        return Reply(status, json.dumps(data).encode(), {"Content-Type": "application/json", **(headers or {})})

    def _token(self, headers: dict[str, str]) -> str | None:
        value = headers.get("authorization", "")
        kind, _, token = value.partition(" ")
        return token.strip() if kind.lower() == "token" and token.strip() else None

    def _user_of(self, token: str | None) -> str:
        if token is None:
            raise ApiError(401, "You need to provide an Authorization header.")
        user = self.state.tokens.get(token)
        if user is None:
            raise ApiError(401, "Invalid authorization token.")
        return user

    def _take_fault(self, endpoint: str) -> Fault | None:
        for fault in self.state.faults:
            if fault.times > 0 and fault.endpoint in ("*", endpoint):
                if fault.after > 0:
                    fault.after -= 1  # let this many matching requests through first
                    return None
                fault.times -= 1
                if fault.times == 0:
                    self.state.faults.remove(fault)
                return fault
        return None

    # --- rate limits ------------------------------------------------------------------------
    def _window(self, who: str) -> tuple[float, int]:
        now = self.clock()
        start, used = self.state.windows.get(who, (now, 0))
        if now - start >= self.state.rate_window:
            start, used = now, 0
        return start, used

    def _rate(self, who: str) -> Reply | None:
        start, used = self._window(who)
        if used >= self.state.rate_limit:
            self.state.windows[who] = (start, used)
            return self._json(429, {"code": 429, "error": "You have exceeded your rate limit. See the X-RateLimit-* "
                                    "response headers for more information on your current rate limit."},
                              self._rate_headers(who))
        self.state.windows[who] = (start, used + 1)
        return None

    def _rate_headers(self, who: str) -> dict[str, str]:
        with self.lock:
            start, used = self._window(who)
            reset_in = max(0.0, start + self.state.rate_window - self.clock())
        return {"X-RateLimit-Limit": str(self.state.rate_limit),
                "X-RateLimit-Remaining": str(max(0, self.state.rate_limit - used)),
                "X-RateLimit-Reset-In": str(int(reset_in + 0.999)),
                "X-RateLimit-Reset": str(int(start + self.state.rate_window))}

    # --- the API ---------------------------------------------------------------------------
    def _dispatch(self, endpoint: str, method: str, user: str, query: dict[str, str], token: str | None,
                  body: bytes, entry: dict) -> tuple[int, object]:
        if endpoint == "submit-listens":
            if method != "POST":
                raise ApiError(405, "The method is not allowed for the requested URL.")
            return 200, self._submit(self._user_of(token), body, entry)
        if method != "GET":
            raise ApiError(405, "The method is not allowed for the requested URL.")
        if endpoint == "validate-token":
            with self.lock:
                name = self.state.tokens.get(token or "")
            if token is None:
                return 400, {"code": 400, "error": "You need to provide an Authorization header."}
            if name is None:
                return 200, {"code": 200, "message": "Token invalid.", "valid": False}
            return 200, {"code": 200, "message": "Token valid.", "valid": True, "user_name": name}
        with self.lock:
            if user not in self.state.listens:
                raise ApiError(404, "Cannot find user: %s" % user)
        if endpoint == "listen-count":
            return 200, {"payload": {"count": len(self.listens_of(user))}}
        return 200, self._read(user, query)

    def _submit(self, user: str, body: bytes, entry: dict) -> dict:
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "Cannot parse JSON document: the body is not JSON.") from None
        if not isinstance(data, dict) or "listen_type" not in data or "payload" not in data:
            raise ApiError(400, "Invalid JSON document submitted.")
        listen_type, payload = data["listen_type"], data["payload"]
        if listen_type not in LISTEN_TYPES:
            raise ApiError(400, "JSON document must contain a valid listen_type: single, playing_now or import.")
        if not isinstance(payload, list) or not payload:
            raise ApiError(400, "JSON document does not contain any listens")
        entry["listen_type"], entry["listens"] = listen_type, len(payload)
        if len(payload) > MAX_LISTENS_PER_REQUEST:
            raise ApiError(400, f"Too many listens. You may not submit more than {MAX_LISTENS_PER_REQUEST} "
                                "listens at once.")
        if len(body) > MAX_REQUEST_SIZE:
            raise ApiError(400, f"JSON document is too large. In aggregate, listens may not be larger than "
                                f"{MAX_REQUEST_SIZE} characters.")
        if listen_type != "import" and len(payload) > 1:
            raise ApiError(400, "JSON document contains more than one listen for a single/playing_now. "
                                "It should contain only one.")
        for listen in payload:
            self._validate(listen, listen_type)
        with self.lock:
            if listen_type == "playing_now":
                info = payload[0]["track_metadata"].get("additional_info") or {}
                seconds = info.get("duration") or (info.get("duration_ms") or 0) // 1000 or 600
                self.state.playing_now[user] = (payload[0], self.clock() + seconds)
            else:
                store = self.state.listens.setdefault(user, UserListens())
                entry["stored"] = sum(store.add(self._stored(listen, user)) for listen in payload)
        return {"status": "ok"}

    def _validate(self, listen: object, listen_type: str) -> None:
        if not isinstance(listen, dict):
            raise ApiError(400, "JSON document must contain listens as objects.")
        if len(json.dumps(listen).encode()) > MAX_LISTEN_SIZE:
            raise ApiError(400, f"JSON document is too large. Each listen may not be larger than {MAX_LISTEN_SIZE} "
                                "bytes.")
        if listen_type in ("single", "import"):
            if "listened_at" not in listen:
                raise ApiError(400, "JSON document must contain the key listened_at at the top level.")
            stamp = listen["listened_at"]
            if isinstance(stamp, bool) or not isinstance(stamp, int):
                raise ApiError(400, "JSON document must contain an int value for listened_at.")
            if set(listen) - {"listened_at", "track_metadata"}:
                raise ApiError(400, "JSON document may only contain listened_at and track_metadata top level keys")
            if stamp < LISTEN_MINIMUM_TS:
                raise ApiError(400, f"Value for key listened_at is too low. listened_at timestamp should be greater "
                                    f"than {LISTEN_MINIMUM_TS} (2002-10-01 00:00:00 UTC).")
            if stamp > self.clock() + ALLOWED_SKEW:
                raise ApiError(400, "Value for key listened_at is too high.")
        else:
            if "listened_at" in listen:
                raise ApiError(400, "JSON document must not contain listened_at while submitting playing_now.")
            if set(listen) - {"track_metadata"}:
                raise ApiError(400, "JSON document may only contain track_metadata as top level key when "
                                    "submitting playing_now.")
        meta = listen.get("track_metadata")
        if not isinstance(meta, dict) or "track_name" not in meta or "artist_name" not in meta:
            raise ApiError(400, "JSON document does not contain a valid metadata.track_name and/or "
                                "track_metadata.artist_name.")
        if not meta["track_name"] or not isinstance(meta["track_name"], str):
            raise ApiError(400, "JSON document does not contain required track_metadata.track_name.")
        if not meta["artist_name"]:
            raise ApiError(400, "JSON document does not contain required track_metadata.artist_name.")
        if not isinstance(meta["artist_name"], str):
            raise ApiError(400, "artist_name must be a single string.")
        if "release_name" in meta and not isinstance(meta["release_name"], str):
            raise ApiError(400, "release_name must be a single string.")
        info = meta.get("additional_info", {})
        if not isinstance(info, dict):
            raise ApiError(400, "track_metadata.additional_info must be an object.")
        for key in SINGLE_MBIDS:
            if key in info and not _is_uuid(info[key]):
                raise ApiError(400, f"{key} MBID format invalid.")
        for key in MULTI_MBIDS:
            if key in info and not (isinstance(info[key], list) and all(_is_uuid(v) for v in info[key])):
                raise ApiError(400, f"{key} MBID format invalid.")
        for key in ("duration_ms", "duration"):
            if key in info and (isinstance(info[key], bool) or not isinstance(info[key], int) or info[key] <= 0):
                raise ApiError(400, f"Value for {key} is invalid, should be a positive integer.")

    def _stored(self, listen: dict, user: str) -> dict:
        meta = json.loads(json.dumps(listen["track_metadata"]))
        return {"listened_at": int(listen["listened_at"]), "inserted_at": int(self.clock()),
                "recording_msid": recording_msid(meta), "user_name": user, "track_metadata": meta}

    def _read(self, user: str, query: dict[str, str]) -> dict:
        def number(name: str) -> int | None:
            value = query.get(name)
            if value is None:
                return None
            if not value.isdigit():
                raise ApiError(400, f"'{name}' should be a non-negative integer")
            return int(value)

        min_ts, max_ts, count = number("min_ts"), number("max_ts"), number("count")
        if min_ts is not None and max_ts is not None:
            raise ApiError(400, "You may only specify max_ts or min_ts, not both.")
        count = min(DEFAULT_ITEMS_PER_GET if count is None else count, self.state.max_items_per_get)
        with self.lock:
            store = self.state.listens[user]
            order = store.order
            if min_ts is not None:  # the oldest `count` after min_ts, shown newest first
                start = bisect_right(order, (min_ts, "\uffff"))
                keys = order[start:start + count][::-1]
            else:
                end = bisect_left(order, (max_ts, "")) if max_ts is not None else len(order)
                keys = order[max(0, end - count):end][::-1]
            listens = [store.listens[k] for k in keys]
            latest = order[-1][0] if order else 0
            oldest = order[0][0] if order else 0
        return {"payload": {"count": len(listens), "user_id": user, "latest_listen_ts": latest,
                            "oldest_listen_ts": oldest, "listens": listens}}
