"""The one module that talks to ListenBrainz (API v1, over `requests`): token check, submissions, reads by time.

A thin client of our own rather than liblistenbrainz, which is GPL-3.0: the
API is four JSON endpoints, and what matters here is ours to decide anyway —
how a failure is classed (never sent, or maybe stored), the rate limit
shared across processes, answers of bounded size, and a token that never
reaches a message or a log.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from config import Settings
from errors import (
    ListenBrainzError, ListenBrainzNotSent, ListenBrainzRefused, ListenBrainzTemporary, ListenBrainzTokenInvalid,
    ListenBrainzUnknown,
)
from listenbrainz.ratelimit import RATE_FILE, RateLimit

log = logging.getLogger("russfm.listenbrainz")
MAX_LISTENS_PER_REQUEST = 1000
MAX_ITEMS_PER_GET = 1000  # what is asked for; pages go on what comes back (older servers give 100)
MAX_ANSWER_BYTES = 8 * 1024 * 1024
RATE_LIMIT_WAITS = 5  # 429s waited out for one request before giving up for this run
MAX_READ_PAGES = 10_000  # a hard stop for one window read, whatever the answers say
USER_AGENT = "russfm (a record collection's scrobbler)"


def _one_line(text: str, secrets: list[str], limit: int = 200) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return " ".join(text.split())[:limit]


def _never_sent(exc: requests.RequestException) -> bool:
    """A failure to connect (refused, name not found, TLS handshake): the request never left."""
    if isinstance(exc, (requests.ConnectTimeout, requests.exceptions.SSLError)):
        return True
    seen: BaseException | None = exc
    for _ in range(6):
        if seen is None:
            break
        if isinstance(seen, (NewConnectionError, ConnectTimeoutError, NameResolutionError)):
            return True
        seen = getattr(seen, "reason", None) or (seen.args[0] if seen.args and
                                                 isinstance(seen.args[0], BaseException) else None)
    return False


class ListenBrainz:
    """A client for one user token (empty for reads only). `requests` counts every request sent."""

    def __init__(self, settings: Settings, token: str = "", clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.root = settings.listenbrainz_url
        self.timeout = settings.listenbrainz_timeout
        self._token = token
        self._secrets = [token]
        self._sleep = sleep
        path = Path(settings.state_dir) / RATE_FILE if settings.state_dir else None
        self.rate = RateLimit(path, clock, sleep)
        self._http = requests.Session()
        self._http.verify = settings.listenbrainz_ca_bundle or True
        self._http.headers.update({"User-Agent": USER_AGENT, "Accept-Encoding": "identity"})
        self._http.trust_env = False  # no proxy or netrc credentials picked up behind the user's back
        self.requests = 0

    def __repr__(self) -> str:
        return f"ListenBrainz({self.root!r}, token={'***' if self._token else 'none'})"

    def close(self) -> None:
        self._http.close()

    # --- the one request path ---------------------------------------------------------------
    def _call(self, method: str, path: str, params: dict[str, Any] | None = None, body: bytes | None = None,
              token: str | None = None, write: bool = False) -> dict:
        """One API call, waiting out 429s (nothing was done for them); errors as the project's exceptions."""
        token = self._token if token is None else token
        headers = {"Authorization": f"Token {token}"} if token else {}
        if body is not None:
            headers["Content-Type"] = "application/json"
        what = f"{method} /1/{path.split('?')[0]}"
        for _ in range(RATE_LIMIT_WAITS + 1):
            self.rate.wait()
            self.requests += 1
            log.debug("%s %s", what, {k: v for k, v in (params or {}).items()})
            try:
                answer = self._http.request(method, self.root + "1/" + path, params=params, data=body,
                                            headers=headers, timeout=(min(5.0, self.timeout), self.timeout),
                                            stream=True, allow_redirects=False)
                try:
                    raw = self._read(answer)
                finally:
                    answer.close()
            except requests.RequestException as exc:
                text = _one_line(f"{exc.__class__.__name__}: {exc}", self._secrets + [token])
                if _never_sent(exc):
                    raise ListenBrainzNotSent(f"ListenBrainz could not be reached ({text})") from None
                cls = ListenBrainzUnknown if write else ListenBrainzTemporary
                raise cls(f"no answer from ListenBrainz to {what} ({text})") from None
            log.debug("answer HTTP %s, %d bytes", answer.status_code, len(raw))
            if answer.status_code == 429:
                pause = self.rate.learn(answer.headers, limited=True)
                log.info("ListenBrainz's rate limit is reached: waiting %.0f s", pause)
                continue
            self.rate.learn(answer.headers)
            return self._decode(answer.status_code, raw, what, write, token)
        raise ListenBrainzTemporary(f"ListenBrainz kept answering 429 (rate limited) to {what}; try again later",
                                    429)

    def _read(self, answer: requests.Response) -> bytes:
        declared = answer.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > MAX_ANSWER_BYTES:
            raise requests.exceptions.ContentDecodingError(f"the answer announces {declared} bytes")
        body = bytearray()
        for chunk in answer.iter_content(65536):
            body += chunk
            if len(body) > MAX_ANSWER_BYTES:
                raise requests.exceptions.ContentDecodingError("the answer grew past 8 MB")
        return bytes(body)

    def _decode(self, status: int, raw: bytes, what: str, write: bool, token: str) -> dict:
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            data = None
        error = data.get("error") if isinstance(data, dict) else None
        message = _one_line(str(error if error is not None else raw[:200].decode("utf-8", "replace")),
                            self._secrets + [token])
        if status >= 500:
            cls = ListenBrainzUnknown if write else ListenBrainzTemporary
            raise cls(f"ListenBrainz failed {what} (HTTP {status})", status)
        if status == 401:
            raise ListenBrainzTokenInvalid("ListenBrainz does not take the saved token (revoked?): run "
                                           "`python main.py listenbrainz login`", 401)
        if status == 400:
            raise ListenBrainzRefused(f"ListenBrainz refused it: {message}", 400)
        if status != 200:
            raise ListenBrainzError(f"ListenBrainz answered HTTP {status} to {what}: {message}", status)
        if not isinstance(data, dict):
            cls = ListenBrainzUnknown if write else ListenBrainzTemporary
            raise cls(f"ListenBrainz's answer to {what} is not JSON", status)
        return data

    # --- the API --------------------------------------------------------------------------
    def validate_token(self, token: str) -> str | None:
        """The user name the token belongs to, or None when ListenBrainz does not take it."""
        self._secrets.append(token)
        data = self._call("GET", "validate-token", token=token)
        if data.get("valid") is True and isinstance(data.get("user_name"), str) and data["user_name"]:
            return str(data["user_name"])
        return None

    def submit(self, listen_type: str, payload: list[dict]) -> None:
        """POST /1/submit-listens; returns when ListenBrainz answered ok."""
        if not self._token:
            raise ListenBrainzError("submitting listens needs a signed-in client")
        body = json.dumps({"listen_type": listen_type, "payload": payload}, ensure_ascii=False).encode()
        data = self._call("POST", "submit-listens", body=body, write=True)
        if data.get("status") != "ok":
            raise ListenBrainzUnknown("ListenBrainz's answer to a submission is not {\"status\": \"ok\"}")

    def listens_page(self, user: str, min_ts: int | None = None, max_ts: int | None = None,
                     count: int = MAX_ITEMS_PER_GET) -> list[dict]:
        """One GET /1/user/<user>/listens: with min_ts the oldest after it, with max_ts the newest before it."""
        params: dict[str, Any] = {"count": count}
        if min_ts is not None:
            params["min_ts"] = max(0, int(min_ts))
        if max_ts is not None:
            params["max_ts"] = int(max_ts)
        data = self._call("GET", f"user/{quote(user, safe='')}/listens", params=params)
        payload = data.get("payload")
        found = payload.get("listens") if isinstance(payload, dict) else None
        if not isinstance(found, list):
            raise ListenBrainzTemporary("ListenBrainz's listens answer has no payload.listens list")
        return [x for x in found if isinstance(x, dict) and isinstance(x.get("listened_at"), int)
                and isinstance(x.get("track_metadata"), dict)]

    def listens_between(self, user: str, start: int, end: int,
                        on_page: Callable[[list[dict]], None] | None = None) -> list[dict]:
        """Every listen with start <= listened_at <= end, oldest first: pages forward by min_ts, paging on
        what came back. A page ends one second before its newest listen, so listens of one second split
        across pages are read again rather than missed; repeats are dropped."""
        found: dict[tuple[int, str], dict] = {}
        cursor = start - 1
        for _ in range(MAX_READ_PAGES):
            page = self.listens_page(user, min_ts=cursor)
            if on_page:
                on_page(page)
            if not page:
                break
            stamps = [x["listened_at"] for x in page]
            for item in page:
                if start <= item["listened_at"] <= end:
                    found[(item["listened_at"], str(item.get("recording_msid") or
                                                      json.dumps(item["track_metadata"], sort_keys=True)))] = item
            newest, oldest = max(stamps), min(stamps)
            if newest > end:
                break
            cursor = newest - 1 if newest - 1 > cursor and oldest != newest else newest
        return sorted(found.values(), key=lambda x: x["listened_at"])

    def listen_count(self, user: str) -> int:
        data = self._call("GET", f"user/{quote(user, safe='')}/listen-count")
        payload = data.get("payload")
        count = payload.get("count") if isinstance(payload, dict) else None
        if not isinstance(count, int):
            raise ListenBrainzTemporary("ListenBrainz's listen-count answer has no count")
        return count
