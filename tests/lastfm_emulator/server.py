"""Serving the emulator over HTTPS on 127.0.0.1, with inspection endpoints and a WSGI adapter."""

from __future__ import annotations

import html
import json
import shutil
import socket
import ssl
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import trustme

from .core import Emulator, Reply

API_PATH = "/2.0/"
HEADERS = {"Content-Type": "text/xml; charset=UTF-8", "Access-Control-Allow-Origin": "*", "Server": "openresty"}


def merged_params(query: str, body: bytes) -> dict[str, str]:
    """Query string and form body together, as Last.fm reads them (pylast puts `username` in the query)."""
    params = dict(parse_qsl(query, keep_blank_values=True))
    params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return params


def inspect(emu: Emulator, http_method: str, path: str, query: str, body: bytes) -> tuple[int, object]:
    """The `/_emulator/...` endpoints tests and people use to look inside and steer."""
    args = dict(parse_qsl(query))
    name = path[len("/_emulator/"):].strip("/")
    try:
        payload = json.loads(body or b"{}") if http_method == "POST" else {}
    except json.JSONDecodeError:
        return 400, {"error": "body is not JSON"}
    if http_method == "GET" and name == "scrobbles":
        return 200, emu.scrobbles_of(args.get("user", ""))
    if http_method == "GET" and name == "requests":
        return 200, emu.request_counts()
    if http_method == "POST" and name == "approve":
        ok = emu.approve(args.get("token", ""), args.get("user"))
        return (200 if ok else 404), {"approved": ok}
    if http_method == "POST" and name == "expire":
        ok = emu.expire(args.get("token", ""))
        return (200 if ok else 404), {"expired": ok}
    if http_method == "POST" and name == "revoke":
        return 200, {"revoked": emu.revoke(args.get("user", ""))}
    if http_method == "POST" and name == "session":
        user = args.get("user", "")
        if user not in emu.state.users:
            return 404, {"error": f"no user {user}"}
        return 200, {"user": user, "key": emu.create_session(user)}
    if http_method == "POST" and name == "fault":
        try:
            emu.add_fault(payload)
        except (ValueError, TypeError) as exc:
            return 400, {"error": str(exc)}
        return 200, {"ok": True}
    if http_method == "POST" and name == "faults/clear":
        emu.clear_faults()
        return 200, {"ok": True}
    if http_method == "POST" and name == "config":
        try:
            emu.configure(**payload)
        except (ValueError, TypeError) as exc:
            return 400, {"error": str(exc)}
        return 200, {"ok": True}
    if http_method == "POST" and name == "catalogue":
        emu.load_catalogue(payload)
        return 200, {"ok": True}
    if http_method == "POST" and name == "scrobbles":
        try:
            added = emu.add_scrobbles(str(payload["user"]), payload["scrobbles"])
        except (KeyError, ValueError, TypeError) as exc:
            return 400, {"error": f"want {{\"user\", \"scrobbles\": [{{artist, track, timestamp, …}}]}}: {exc!r}"}
        return 200, {"added": added}
    if http_method == "POST" and name == "history":
        try:
            added = emu.generate_history(
                str(payload["user"]), int(payload["count"]), seed=int(payload.get("seed", 0)),
                span_days=payload.get("span_days"), until=payload.get("until"),
            )
        except (KeyError, ValueError, TypeError) as exc:
            return 400, {"error": f"want {{\"user\", \"count\"[, \"seed\", \"span_days\", \"until\"]}}: {exc!r}"}
        return 200, {"added": added}
    if http_method == "POST" and name == "reset":
        emu.reset()
        return 200, {"ok": True}
    return 404, {"error": f"no such endpoint {http_method} {path}"}


APPROVE_PATH = "/api/auth"
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Last.fm emulator: sign-in</title></head>
<body style="font-family: sans-serif; max-width: 32em; margin: 3em auto">
<h1>Last.fm emulator</h1>
{body}
</body></html>
"""


def approval_page(emu: Emulator, http_method: str, query: str, body: bytes) -> tuple[int, str]:
    """The page `lastfm login` sends a person to: GET shows it, POST approves the token as the chosen user."""
    params = merged_params(query, body)
    token = params.get("token", "")
    if token not in emu.state.tokens:
        return 404, PAGE.format(body="<p>No such sign-in request (the token is unknown). Run "
                                     "<code>lastfm login</code> again and open the address it prints.</p>")
    if http_method == "POST":
        user = params.get("user", "")
        if not emu.approve(token, user):
            return 400, PAGE.format(body=f"<p>No account named {html.escape(user)}.</p>")
        return 200, PAGE.format(body=f"<p>Access allowed as <b>{html.escape(user)}</b>. "
                                     "Go back to the terminal: the sign-in finishes there.</p>")
    options = "".join(f'<option>{html.escape(name)}</option>' for name in emu.state.users)
    if not options:
        return 409, PAGE.format(body="<p>The emulator has no accounts: start it with <code>--user NAME:PASSWORD</code>.</p>")
    return 200, PAGE.format(body=(
        "<p>An application asks to scrobble for you.</p>"
        f'<form method="post" action="{APPROVE_PATH}/"><input type="hidden" name="token" value="{html.escape(token)}">'
        f'<label>Account <select name="user">{options}</select></label> '
        "<button>Yes, allow access</button></form>"))


class _Handler(BaseHTTPRequestHandler):
    server: EmulatorHTTPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet by default
        pass

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send_stream(self, reply: Reply) -> None:
        assert reply.stream is not None
        self.send_response(reply.status)
        for key, value in HEADERS.items():
            self.send_header(key, value)
        if reply.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(reply.length))
        self.end_headers()
        for chunk in reply.stream:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if reply.chunked else chunk)
        if reply.chunked:
            self.wfile.write(b"0\r\n\r\n")

    def _serve(self, http_method: str) -> None:
        url = urlsplit(self.path)
        body = self._read_body()
        if url.path.startswith("/_emulator/"):
            status, data = inspect(self.server.emulator, http_method, url.path, url.query, body)
            self._send(status, json.dumps(data).encode(), {"Content-Type": "application/json"})
            return
        if url.path.rstrip("/") == APPROVE_PATH:
            status, page = approval_page(self.server.emulator, http_method, url.query, body)
            self._send(status, page.encode(), {"Content-Type": "text/html; charset=utf-8"})
            return
        if url.path.rstrip("/") != API_PATH.rstrip("/"):
            self._send(404, b"not found", {"Content-Type": "text/plain"})
            return
        reply = self.server.emulator.handle(http_method, merged_params(url.query, body))
        self._answer(reply)

    def _answer(self, reply: Reply) -> None:
        if reply.delay:
            time.sleep(reply.delay)
        if reply.drop:
            # The work is done and committed; the client never hears about it.
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        try:
            if reply.stream is not None:
                self._send_stream(reply)
            else:
                self._send(reply.status, reply.body, HEADERS)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            # Clients with a size limit hang up halfway through a hostile answer.
            self.close_connection = True

    def do_GET(self) -> None:  # noqa: N802
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, emulator: Emulator, ssl_context: ssl.SSLContext, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.emulator = emulator
        self.ssl_context = ssl_context

    def get_request(self):  # type: ignore[no-untyped-def]
        sock, addr = super().get_request()
        # Headers and body go out in separate writes; without this each answer waits for the
        # client's delayed acknowledgement (some 40 ms) before its body leaves.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # The handshake happens in the handler's thread, so one slow client blocks no one.
        return self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def handle_error(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        pass  # clients that time out or hang up are part of the tests


class RunningEmulator:
    """An emulator listening on a real socket, with its CA bundle written to disk."""

    def __init__(self, emulator: Emulator | None = None, port: int = 0, folder: Path | None = None) -> None:
        self.emulator = emulator or Emulator()
        self._own_folder = folder is None
        self.folder = Path(folder or tempfile.mkdtemp(prefix="lastfm-emulator-"))
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        self.ca_bundle = str(self.folder / "emulator-ca.pem")
        ca.cert_pem.write_to_path(self.ca_bundle)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        self.httpd = EmulatorHTTPServer(self.emulator, context, port)
        self.port = self.httpd.server_address[1]
        self.url = f"https://127.0.0.1:{self.port}{API_PATH}"
        self.base = f"https://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> RunningEmulator:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._own_folder:
            shutil.rmtree(self.folder, ignore_errors=True)

    def describe(self) -> dict:
        return {
            "url": self.url,
            "ca_bundle": self.ca_bundle,
            "api_key": self.emulator.state.api_key,
            "api_secret": self.emulator.state.api_secret,
        }

    def __enter__(self) -> RunningEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wsgi_app(emulator: Emulator):  # type: ignore[no-untyped-def]
    """The same service as a WSGI app, for mounting in-process (httpx2.WSGITransport)."""

    def app(environ, start_response):  # type: ignore[no-untyped-def]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        path, query = environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", "")
        if path.startswith("/_emulator/"):
            status, data = inspect(emulator, environ["REQUEST_METHOD"], path, query, body)
            start_response(f"{status} X", [("Content-Type", "application/json")])
            return [json.dumps(data).encode()]
        reply = emulator.handle(environ["REQUEST_METHOD"], merged_params(query, body))
        if reply.drop:
            raise ConnectionResetError("emulator dropped the connection after committing")
        if reply.stream is not None:
            length = [] if reply.chunked else [("Content-Length", str(reply.length))]
            start_response(f"{reply.status} X", list(HEADERS.items()) + length)
            return reply.stream
        start_response(f"{reply.status} X", list(HEADERS.items()))
        return [reply.body]

    return app
