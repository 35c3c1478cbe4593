"""What keeps the page safe on a home network: the Host check, the access token and its cookie, CSRF, headers."""

from __future__ import annotations

import hmac
import ipaddress
import re
import secrets
import socket
from pathlib import Path

from statefiles import read_private_json, write_private_json

TOKEN_FILE = "page.token"
COOKIE = "russfm_page"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32,128}$")
LOCAL_NAMES = ("127.0.0.1", "localhost", "[::1]")
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")  # served without a token: only this machine reaches them
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; "
                               "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def access_token(state_dir: Path) -> str:
    """The page's access token, kept 0600 in the state folder (made on first use): a phone that opened the
    page once stays let in across restarts of `serve`."""
    path = state_dir / TOKEN_FILE
    try:
        saved = read_private_json(path)
    except Exception:  # a damaged file: a new token replaces it
        saved = None
    if isinstance(saved, dict) and isinstance(saved.get("token"), str) and _TOKEN.match(saved["token"]):
        return str(saved["token"])
    token = secrets.token_urlsafe(32)
    write_private_json(path, {"token": token})
    return token


def same_secret(given: str | None, secret: str) -> bool:
    return bool(given) and hmac.compare_digest(str(given).encode(), secret.encode())


def lan_address() -> str:
    """This machine's address on the local network (the one a phone can reach), else 127.0.0.1."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
        return str(probe.getsockname()[0])
    except OSError:
        return "127.0.0.1"
    finally:
        probe.close()


def served_hosts(host: str, port: int) -> tuple[str, set[str]]:
    """The address to print, and every Host header value the page answers to (others are refused: a web
    page elsewhere cannot reach the server through a name it controls)."""
    names: set[str] = set()
    if host in ("0.0.0.0", "::", ""):
        shown = lan_address()
        names.update({shown, socket.gethostname().lower(), f"{socket.gethostname().lower()}.local"})
        names.update(LOCAL_NAMES)
    else:
        shown = f"[{host}]" if ":" in host else host
        names.add(shown.lower())
        if is_loopback(host):
            names.update(LOCAL_NAMES)
    return shown, {f"{n}:{port}" for n in names}
