"""`listenbrainz login`, `status`, `logout` and `import-history`: the ListenBrainz account and the history sent
there."""

from __future__ import annotations

import sys

import click

from app import App
from cli.group import AppGroup
from cli.options import json_option, pass_app
from cli.output import echo, emit_json, plain_progress, plural, progress_bar
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
    echo(f"signed in to ListenBrainz as {saved.username}")


@listenbrainz.command("status")
@click.option("--compare", is_flag=True,
              help="Also read ListenBrainz over the archive's time range (about a request per 1,000 listens "
                   "there) and count the archive's listens it lacks, and the reverse.")
@json_option
@pass_app
def listenbrainz_status(app: App, compare: bool, as_json: bool) -> ExitStatus:
    """Whether you are signed in, whether ListenBrainz still takes the token, and what waits to go there.

    \b
    Examples:
      python main.py listenbrainz status --json
      python main.py listenbrainz status --compare
    """
    info = account_status(app)
    if compare and info.signed_in and info.token_valid:
        from listenbrainz.carry import compare as compare_archive

        bar = progress_bar(app.settings, None, "listen", as_json)
        try:
            info.comparison = compare_archive(app, lambda n: bar.update(n) if bar is not None else None).to_json()
        finally:
            if bar is not None:
                bar.close()
    if as_json:
        emit_json(info.to_json())
        return info.exit_status
    if not info.signed_in:
        echo("signed out: run `python main.py listenbrainz login`")
    else:
        valid = {True: "valid", False: "REVOKED", None: "not checked"}[info.token_valid]
        echo(f"signed in as {info.username} (token {valid})")
        if info.listen_count is not None:
            echo(f"ListenBrainz listen count: {info.listen_count}")
    echo(f"listens go to: {', '.join(info.targets)}")
    echo(f"ledger: {info.accepted} sent, {info.pending} pending, {info.in_flight} in flight, "
               f"{info.refused} refused")
    if info.comparison is not None:
        c = info.comparison
        echo(f"archive: {c['archive']} listens; ListenBrainz lacks {c['missing_on_listenbrainz']} of them "
                   f"and holds {c['only_on_listenbrainz']} the archive lacks in that time "
                   f"({plural(c['requests'], 'request')})")
    if info.problem:
        echo(info.problem, err=True)
    return info.exit_status


@listenbrainz.command("logout")
@pass_app
def listenbrainz_logout(app: App) -> None:
    """Forget the saved ListenBrainz token.

    \b
    Example:
      python main.py listenbrainz logout
    """
    echo("signed out of ListenBrainz" if app.listenbrainz_tokens.clear() else "was not signed in to ListenBrainz")


@listenbrainz.command("import-history")
@click.option("--from-start", is_flag=True, help="Go through the whole archive again, not from where the last "
                                                  "run stopped (what ListenBrainz holds is still skipped).")
@json_option
@pass_app
def listenbrainz_import_history(app: App, from_start: bool, as_json: bool) -> ExitStatus:
    """Send the archive (the Last.fm history `lastfm sync` copied) to ListenBrainz, oldest first.

    Up to 1,000 listens a request, at the rate ListenBrainz's headers allow,
    skipping what it already holds (read by time ranges). Safe to stop or
    kill: the next run resumes at the batch where it stopped. Ends with the
    count sent, already there and refused. Exit 3 when some were refused,
    75 when ListenBrainz could not be reached (run it again later).

    \b
    Examples:
      python main.py lastfm sync
      python main.py listenbrainz import-history
    """
    from listenbrainz.carry import import_history

    bar = None
    plain = plain_progress(app.settings, as_json)

    def on_total(total: int, done: int) -> None:
        nonlocal bar
        bar = progress_bar(app.settings, total, "listen", as_json)
        if bar is not None and done:
            bar.update(done)
        elif plain and done:
            echo(f"resuming after {done} of {total} listens")

    def on_progress(count: int) -> None:
        if bar is not None:
            bar.update(count)

    try:
        result = import_history(app, from_start, on_total, on_progress)
    finally:
        if bar is not None:
            bar.close()
    if as_json:
        emit_json(result.to_json())
    else:
        for line in result.refusals:
            echo(f"  refused  {line}")
        echo(f"{result.sent} sent, {result.already} already there, {result.refused} refused "
                   f"(of {result.total} in the archive); {plural(result.requests, 'request')} to ListenBrainz, "
                   f"{result.reads} of them reads")
    if result.stopped is not None:
        echo(f"error: {result.stopped}; run it again to go on from there", err=True)
    return result.exit_status
