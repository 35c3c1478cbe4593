"""`listenbrainz login`, `status`, `logout` and `import-history`: the ListenBrainz account and the history sent
there."""

from __future__ import annotations

import sys

import click

from app import App
from cli.group import AppGroup
from cli.options import json_option, pass_app
from cli.output import emit_json
from errors import ExitStatus
from listenbrainz.account import account_status, sign_in


@click.group(cls=AppGroup)
def listenbrainz() -> None:
    """The ListenBrainz account (sign in with your user token, status, sign out) and carrying the history over.

    \b
    Example:
      python main.py listenbrainz login
    """


@listenbrainz.command("login")
@pass_app
def listenbrainz_login(app: App) -> None:
    """Sign in to ListenBrainz with your user token (from https://listenbrainz.org/settings/).

    The token is read from standard input (or a hidden prompt on a
    terminal), checked with ListenBrainz, and kept privately in the state
    folder; it is never taken as an argument, printed or logged.

    \b
    Examples:
      python main.py listenbrainz login
      printf '%s\\n' "$LISTENBRAINZ_TOKEN" | python main.py listenbrainz login
    """
    token = (click.prompt("ListenBrainz user token", hide_input=True) if sys.stdin.isatty()
             else sys.stdin.readline().rstrip("\r\n"))
    saved = sign_in(app, token)
    click.echo(f"signed in to ListenBrainz as {saved.username}")


@listenbrainz.command("status")
@json_option
@pass_app
def listenbrainz_status(app: App, as_json: bool) -> ExitStatus:
    """Whether you are signed in, whether ListenBrainz still takes the token, and what waits to go there.

    \b
    Example:
      python main.py listenbrainz status --json
    """
    info = account_status(app)
    if as_json:
        emit_json(info.to_json())
        return info.exit_status
    if not info.signed_in:
        click.echo("signed out: run `python main.py listenbrainz login`")
    else:
        valid = {True: "valid", False: "REVOKED", None: "not checked"}[info.token_valid]
        click.echo(f"signed in as {info.username} (token {valid})")
        if info.listen_count is not None:
            click.echo(f"ListenBrainz listen count: {info.listen_count}")
    click.echo(f"listens go to: {', '.join(info.targets)}")
    click.echo(f"ledger: {info.accepted} sent, {info.pending} pending, {info.in_flight} in flight, "
               f"{info.refused} refused")
    if info.problem:
        click.echo(info.problem, err=True)
    return info.exit_status


@listenbrainz.command("logout")
@pass_app
def listenbrainz_logout(app: App) -> None:
    """Forget the saved ListenBrainz token.

    \b
    Example:
      python main.py listenbrainz logout
    """
    click.echo("signed out of ListenBrainz" if app.listenbrainz_tokens.clear() else "was not signed in to ListenBrainz")
