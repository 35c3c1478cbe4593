"""Serving the ListenBrainz emulator over HTTPS on 127.0.0.1 (a trustme CA, as the Last.fm one), with inspection
endpoints."""

from __future__ import annotations

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

from .core import ListenBrainz, Reply


def inspect(lb: ListenBrainz, http_method: str, path: str, query: str, body: bytes) -> tuple[int, object]:
    """The `/_emulator/...` endpoints tests and people use to look inside and steer."""
    args = dict(parse_qsl(query))
    name = path[len("/_emulator/"):].strip("/")
    try:
        payload = json.loads(body or b"{}") if http_method == "POST" else {}
    except ValueError:
        return 400, {"error": "body is not JSON"}
    if http_method == "GET" and name == "listens":
        return 200, lb.listens_of(args.get("user", ""))
    if http_method == "GET" and name == "playing-now":
        found = lb.state.playing_now.get(args.get("user", ""))
        return 200, found[0] if found and found[1] > lb.clock() else None
    if http_method == "GET" and name == "requests":
        return 200, lb.requests()
    if http_method == "POST" and name == "fault":
        try:
            lb.add_fault(payload)
        except (ValueError, TypeError) as exc:
            return 400, {"error": str(exc)}
        return 200, {"ok": True}
    if http_method == "POST" and name == "config":
        try:
            lb.configure(**payload)
        except (ValueError, TypeError) as exc:
            return 400, {"error": str(exc)}
        return 200, {"ok": True}
    if http_method == "POST" and name == "listens":
        try:
            added = lb.add_listens(str(payload["user"]), list(payload["listens"]))
        except (KeyError, ValueError, TypeError) as exc:
            return 400, {"error": f"want {{\"user\", \"listens\": [{{listened_at, track_metadata}}]}}: {exc!r}"}
        return 200, {"added": added}
    if http_method == "POST" and name == "user":
        user = args.get("user", "")
        if not user:
            return 400, {"error": "want ?user=NAME[&token=T]"}
        return 200, {"user": user, "token": lb.add_user(user, args.get("token") or None)}
    if http_method == "POST" and name == "revoke":
        return 200, {"revoked": lb.revoke(args.get("user", ""))}
    if http_method == "POST" and name == "reset":
        lb.reset()
        return 200, {"ok": True}
    return 404, {"error": f"no such endpoint {http_method} {path}"}


class _Handler(BaseHTTPRequestHandler):
    server: ListenBrainzHTTPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet by default
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _serve(self, http_method: str) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if url.path.startswith("/_emulator/"):
            status, data = inspect(self.server.lb, http_method, url.path, url.query, body)
            self._send(status, json.dumps(data).encode(), {"Content-Type": "application/json"})
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        reply = self.server.lb.handle(http_method, url.path, dict(parse_qsl(url.query, keep_blank_values=True)),
                                      headers, body, self.client_address[0])
        self._answer(reply)

    def _answer(self, reply: Reply) -> None:
        if reply.delay:
            time.sleep(reply.delay)
        if reply.drop:
            # The listens are stored; the client never hears about it.
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        try:
            self._send(reply.status, reply.body, reply.headers)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True

    def do_GET(self) -> None:  # noqa: N802
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._serve("PUT")


class ListenBrainzHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, lb: ListenBrainz, ssl_context: ssl.SSLContext, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.lb = lb
        self.ssl_context = ssl_context

    def get_request(self):  # type: ignore[no-untyped-def]
        sock, addr = super().get_request()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def handle_error(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        pass  # clients that time out or hang up are part of the tests


class RunningListenBrainz:
    """The emulator listening on a real socket, with its CA bundle written to disk."""

    def __init__(self, lb: ListenBrainz | None = None, port: int = 0, folder: Path | None = None) -> None:
        self.lb = lb or ListenBrainz()
        self._own_folder = folder is None
        self.folder = Path(folder or tempfile.mkdtemp(prefix="listenbrainz-emulator-"))
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        self.ca_bundle = str(self.folder / "listenbrainz-ca.pem")
        ca.cert_pem.write_to_path(self.ca_bundle)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        self.httpd = ListenBrainzHTTPServer(self.lb, context, port)
        self.port = self.httpd.server_address[1]
        self.url = f"https://127.0.0.1:{self.port}/"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> RunningListenBrainz:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._own_folder:
            shutil.rmtree(self.folder, ignore_errors=True)

    def describe(self, user: str | None = None) -> dict:
        user = user or next(iter(self.lb.state.tokens.values()), None)
        return {"url": self.url, "ca_bundle": self.ca_bundle, "user": user,
                "token": self.lb.token_of(user) if user else None}

    def __enter__(self) -> RunningListenBrainz:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
