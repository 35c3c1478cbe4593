"""`lastfm login`, `lastfm status`, `lastfm logout`: the Last.fm account."""

from __future__ import annotations

import sys

import click

from app import App
from cli.group import AppGroup
from cli.options import json_option, pass_app
from cli.output import echo, emit_json
from errors import ExitStatus, RussfmError
from history.archive import collection_matcher
from lastfm.auth import sign_in_mobile, sign_in_web
from scrobble.account import account_status
from scrobble.lastfm_albums import search_albums


@click.group(cls=AppGroup)
def lastfm() -> None:
    """The Last.fm account (sign in, status, sign out), the listening history, and album search.

    \b
    Example:
      python main.py lastfm login
    """


def open_browser(url: str) -> None:
    import webbrowser

    try:
        webbrowser.get()
    except webbrowser.Error:
        return  # no browser on this machine: the printed URL is enough
    webbrowser.open(url)


@lastfm.command("login")
@click.option("--no-browser", is_flag=True, help="Only print the approval URL.")
@click.option("--username", help="Sign in with user name and password instead (headless machines).")
@click.option("--password-stdin", is_flag=True, help="With --username: read the password from standard input.")
@click.option("--poll-every", type=click.FloatRange(0.01, 60), default=3.0, hidden=True)
@pass_app
def lastfm_login(app: App, no_browser: bool, username: str | None, password_stdin: bool,
                 poll_every: float) -> None:
    """Sign in to Last.fm and keep the session privately in the state folder.

    By default this opens Last.fm's approval page (or prints its URL) and
    waits until you approve. The page is on the site of the API endpoint in
    use (www.last.fm for Last.fm itself; LASTFM_AUTH_URL or "auth_url" in
    the config to choose another). Already signed in, it says so and does
    nothing (`lastfm logout` first). On a machine without a browser, use a mobile
    session: the password is read from standard input, never stored.

    \b
    Examples:
      python main.py lastfm login
      printf '%s\\n' "$PASSWORD" | python main.py lastfm login --username me --password-stdin
    """
    try:
        saved = app.sessions.load()
    except RussfmError:
        saved = None  # a damaged saved session: signing in again replaces it
    if saved is not None:
        echo(f"already signed in to Last.fm as {saved.username}; to sign in again or as someone else, "
             "run `python main.py lastfm logout` first")
        return
    if username:
        if not password_stdin:
            raise click.UsageError("--username needs --password-stdin (a password is never taken as an argument)")
        password = (click.prompt("Password", hide_input=True) if sys.stdin.isatty()
                    else sys.stdin.readline().rstrip("\r\n"))
        if not password:
            raise click.UsageError("no password on standard input")
        session = sign_in_mobile(app, username, password)
    else:
        def show(url: str) -> None:
            echo("Approve this application on Last.fm:")
            echo(f"  {url}")
            echo("Waiting for approval (Ctrl-C to give up)…")
            if not no_browser:
                open_browser(url)

        session = sign_in_web(app, show, poll_every)
    echo(f"signed in to Last.fm as {session.username}")


@lastfm.command("status")
@json_option
@pass_app
def lastfm_status(app: App, as_json: bool) -> ExitStatus:
    """Whether you are signed in, whether Last.fm still takes the session, and today's scrobbles.

    \b
    Example:
      python main.py lastfm status --json
    """
    info = account_status(app)
    if as_json:
        emit_json(info.to_json())
        return info.exit_status
    if not info.signed_in:
        echo("signed out: run `python main.py lastfm login`")
    else:
        valid = {True: "valid", False: "REVOKED", None: "not checked"}[info.session_valid]
        echo(f"signed in as {info.username} (session {valid})")
        if info.playcount is not None:
            echo(f"Last.fm play count: {info.playcount}")
    echo(f"sent in the last 24 hours: {info.sent_24h} of {info.cap.value} "
         f"(daily cap {info.cap.describe()}); {info.remaining_today} left")
    echo(f"pending: {info.pending}, in flight: {info.in_flight}")
    if info.targets != ("lastfm",):
        echo(f"listens go to: {', '.join(info.targets)}")
    if info.problem:
        echo(info.problem, err=True)
    return info.exit_status


@lastfm.command("search")
@click.argument("query")
@click.option("--limit", type=click.IntRange(1, 50), default=10, show_default=True, help="How many albums.")
@json_option
@pass_app
def lastfm_search(app: App, query: str, limit: int, as_json: bool) -> None:
    """Search Last.fm's albums; each result says whether it is a record of your collection.

    One album.search, then one album.getInfo per result not asked in the
    last 30 days (for its listeners; cached, so scrobbling a result next
    with `scrobble album --lastfm ARTIST TITLE` costs nothing more).

    \b
    Example:
      python main.py lastfm search "moving pictures" --limit 5
    """
    found = search_albums(app.client(), app.cache, collection_matcher(app.settings.state_dir, app.store),
                          query, limit)
    if as_json:
        emit_json([f.to_json() for f in found])
        return
    if not found:
        echo(f"Last.fm found no album for {query!r}")
    for f in found:
        listeners = f"{f.listeners:,} listeners" if f.listeners is not None else "listeners unknown"
        owned = f"  in your collection: {f.slug}" if f.slug else ""
        echo(f"{f.artist} — {f.title}  ({listeners})  {f.url or ''}{owned}")


@lastfm.command("logout")
@pass_app
def lastfm_logout(app: App) -> None:
    """Forget the saved Last.fm session.

    \b
    Example:
      python main.py lastfm logout
    """
    echo("signed out" if app.sessions.clear() else "was not signed in")
