"""Signing in: the web token flow (approve in a browser) and the mobile session for headless machines."""

from __future__ import annotations

import time
from collections.abc import Callable

from typing import TYPE_CHECKING

from errors import LastfmTemporary, TokenNotAuthorised
from lastfm.session import Session

if TYPE_CHECKING:
    from app import App
    from lastfm.client import LastFM

POLL_SECONDS = 3.0


def web_login(
    client: LastFM,
    show_url: Callable[[str], None],
    poll_every: float = POLL_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> Session:
    """Get a token, show its approval URL, then poll until the user approves.

    Ends with TokenExpired when the hour runs out; Ctrl-C ends it at any time.
    """
    token = client.get_token()
    show_url(client.auth_url(token))
    while True:
        try:
            name, key = client.get_session(token)
            return Session(name, key)
        except (TokenNotAuthorised, LastfmTemporary):
            sleep(poll_every)


def mobile_login(client: LastFM, username: str, password: str) -> Session:
    name, key = client.mobile_session(username, password)
    return Session(name, key)


def sign_in_web(app: App, show_url: Callable[[str], None], poll_every: float = POLL_SECONDS) -> Session:
    """The web flow, and the session saved privately in the state folder."""
    session = web_login(app.client(), show_url, poll_every)
    app.sessions.save(session)
    return session


def sign_in_mobile(app: App, username: str, password: str) -> Session:
    """A mobile session from user name and password (used once, never stored), saved privately."""
    session = mobile_login(app.client(), username, password)
    app.sessions.save(session)
    return session
