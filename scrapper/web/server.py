"""The app factory and the threaded server: the guard on every request, one App per request, errors as sentences."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from werkzeug.wrappers import Response
from flask import Flask, g, jsonify, redirect, render_template, request
from werkzeug.exceptions import HTTPException
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from app import App
from collection.shelf import ShelfIndex
from collection.store import Store
from config import Settings
from errors import (
    AlbumNotFound,
    AmbiguousAlbum,
    Busy,
    CollectionError,
    ConfigError,
    LastfmError,
    LastfmTemporary,
    NotSignedIn,
    OverlapError,
    RussfmError,
    SessionInvalid,
)
from web.live import LiveHost
from web.security import COOKIE, HEADERS, LOCAL_HOSTS, access_token, same_secret, served_hosts

log = logging.getLogger("russfm.serve")
HERE = Path(__file__).resolve().parent


class Collection:
    """The index and its shelf, shared by every request and read again when collection.json changes."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._store: Store | None = None
        self._shelf: ShelfIndex | None = None
        self._kept: dict[str, tuple[tuple[int, int] | None, float, object]] = {}

    def _fresh(self) -> tuple[Store, ShelfIndex]:
        try:
            found = (self.data_dir / "collection.json").stat()
            stamp: tuple[int, int] | None = (found.st_mtime_ns, found.st_size)
        except OSError:
            stamp = None
        with self._lock:
            if self._store is None or self._shelf is None or stamp != self._stamp or stamp is None:
                store = Store(self.data_dir)
                shelf = ShelfIndex(store)  # reads the index; a broken one raises CollectionError here
                self._store, self._shelf, self._stamp = store, shelf, stamp
            return self._store, self._shelf

    def store(self) -> Store:
        return self._fresh()[0]

    def remembered(self, key: str, ttl: float, make: Callable[[], object]) -> object:
        """`make()`'s value, kept `ttl` seconds while the index stays the same (the shelf's pick for tonight
        does not change on every reload, and costs a pass over the index only now and then)."""
        self._fresh()
        with self._lock:
            stamp, at, value = self._kept.get(key, (None, 0.0, None))
            if stamp == self._stamp and time.monotonic() - at < ttl:
                return value
        value = make()
        with self._lock:
            self._kept[key] = (self._stamp, time.monotonic(), value)
        return value

    def shelf(self) -> ShelfIndex:
        return self._fresh()[1]


class PageApp(App):
    """A request's App: its own ledger and clients (sqlite connections stay in their thread), the shared index."""

    def __init__(self, settings: Settings, collection: Collection) -> None:
        super().__init__(settings, "serve")
        self.collection = collection

    @cached_property
    def store(self) -> Store:
        return self.collection.store()


@dataclass
class PageConfig:
    settings: Settings
    host: str = "127.0.0.1"
    port: int = 8808
    speed: float = 1.0  # play-along sessions faster than real time (demos and tests)
    token: str | None = None  # required beyond this machine
    allowed: set[str] = field(default_factory=set)
    csrf: str = ""


def status_of(exc: RussfmError) -> int:
    """The HTTP status of a core error: the request's fault (4xx) or Last.fm's (5xx)."""
    if isinstance(exc, (AlbumNotFound,)):
        return 404
    if isinstance(exc, (Busy, OverlapError, NotSignedIn, SessionInvalid)):
        return 409
    if isinstance(exc, LastfmTemporary):
        return 503
    if isinstance(exc, LastfmError):
        return 502
    if isinstance(exc, (ConfigError,)):
        return 500
    if isinstance(exc, CollectionError) and not isinstance(exc, AlbumNotFound):
        return 422
    return 400


def wants_json() -> bool:
    return request.path.endswith(".json") or request.headers.get("X-Requested-With") == "fetch"


def refuse(status: int, message: str) -> Response:
    """One plain sentence, as JSON for the page's scripts or as a small page."""
    response: Response
    if wants_json():
        response = jsonify({"error": message})
    else:
        response = Response(render_template("message.html", title="Not done", message=message), mimetype="text/html")
    response.status_code = status
    return response


def create_app(config: PageConfig) -> Flask:
    flask = Flask("russfm", template_folder=str(HERE / "templates"), static_folder=str(HERE / "static"))
    flask.config.update(MAX_CONTENT_LENGTH=64 * 1024, TEMPLATES_AUTO_RELOAD=False, JSON_SORT_KEYS=False)
    flask.jinja_env.autoescape = True
    collection = Collection(config.settings.data_dir)
    live = LiveHost(config.settings, config.speed)
    flask.extensions["russfm"] = {"config": config, "collection": collection, "live": live}

    @flask.before_request
    def guard() -> Response | None:
        g.started = time.perf_counter()
        if request.host.lower() not in config.allowed:
            return refuse(421, "This server answers only at the address `serve` printed.")
        if config.token is not None and not request.path.startswith("/static/"):  # the stylesheet holds no secret
            given = request.args.get("token")
            if given is not None and request.method == "GET":
                if not same_secret(given, config.token):
                    return refuse(403, "This access token is not the page's: open the address `serve` printed.")
                rest = [(k, v) for k, v in request.args.items(multi=True) if k != "token"]
                target = request.path + (f"?{urlencode(rest)}" if rest else "")
                response = redirect(target, code=303)  # the token leaves the address bar and the history
                response.set_cookie(COOKIE, config.token, httponly=True, samesite="Strict", max_age=400 * 86400)
                return response
            if not same_secret(request.cookies.get(COOKIE), config.token):
                return refuse(403, "This page needs its access token: open the address `serve` printed.")
        if request.method == "POST":
            sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf")
            if not same_secret(sent, config.csrf):
                return refuse(403, "This form is out of date or came from another site: reload the page and try again.")
        g.app = PageApp(config.settings, collection)
        g.csrf = config.csrf
        g.live = live
        return None

    @flask.teardown_request
    def close(exc: BaseException | None) -> None:
        app = g.pop("app", None)
        if app is not None:
            app.close()

    @flask.after_request
    def headers(response: Response) -> Response:
        if "started" in g:  # the server's own time for the request, for the benchmark and browsers' tools
            response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - g.started) * 1000:.1f}"
        for name, value in HEADERS.items():
            if name == "Cache-Control" and request.path.startswith(("/static/", "/cover/")):
                response.headers[name] = "private, max-age=3600"
                continue
            response.headers.setdefault(name, value)
        return response

    @flask.errorhandler(RussfmError)
    def core_error(exc: RussfmError) -> Response:
        message = str(exc)
        if isinstance(exc, AmbiguousAlbum):
            message += ": " + "; ".join(exc.candidates[:5])
        return refuse(status_of(exc), message)

    @flask.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        sentences = {404: "There is no such page.", 405: "This address does not take that kind of request.",
                     413: "That request is too large.", 400: "That request could not be read."}
        return refuse(exc.code or 400, sentences.get(exc.code or 400, "That request could not be served."))

    @flask.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        log.error("the page failed: %s", exc.__class__.__name__)
        return refuse(500, "Something went wrong in the server; the terminal running `serve` may say more.")

    @flask.context_processor
    def common() -> dict[str, Any]:
        session = live.current
        # The CSRF token only on pages of requests that passed the guard (never on a refusal's page).
        return {"csrf": g.get("csrf", ""), "playing": bool(session and session.running)}

    from web import pages

    pages.register(flask)
    return flask


class QuietHandler(WSGIRequestHandler):
    """Request lines without their query strings (a token or a search never reaches the log)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if os.environ.get("RUSSFM_SERVE_LOG", "1") == "0":
            return
        path = self.path.split("?", 1)[0]
        log.info("%s %s %s", self.command, path, code)


class PageServer:
    """The page served on host:port in threads; `close()` stops a play-along session as Ctrl-C stops `--live`."""

    def __init__(self, settings: Settings, host: str = "127.0.0.1", port: int = 8808, speed: float = 1.0) -> None:
        self.server: BaseWSGIServer
        import secrets

        config = PageConfig(settings, host, port, speed, csrf=secrets.token_urlsafe(32))
        if host not in LOCAL_HOSTS:  # any other address, even another loopback one, needs the token
            config.token = access_token(settings.state_dir)
        self.config = config
        self.flask = create_app(config)
        self.server = make_server(host, port, self.flask, threaded=True, request_handler=QuietHandler)
        config.port = self.server.server_port
        shown, config.allowed = served_hosts(host, config.port)
        self.address = f"http://{shown}:{config.port}/"

    @property
    def token_address(self) -> str | None:
        return f"{self.address}?token={self.config.token}" if self.config.token else None

    @property
    def live(self) -> LiveHost:
        live: LiveHost = self.flask.extensions["russfm"]["live"]
        return live

    def serve_forever(self) -> None:
        self.server.serve_forever(poll_interval=0.5)

    def close(self) -> None:
        self.live.interrupt()
        self.server.server_close()
