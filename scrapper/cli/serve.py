"""`serve`: the page for a phone by the record player, over the same core as the commands."""

from __future__ import annotations

import logging
import signal
import sys
from typing import TYPE_CHECKING

import click

from app import App
from cli.options import pass_app
from errors import ExitStatus, StateError

if TYPE_CHECKING:
    from web.server import PageServer


def _qr(address: str) -> None:
    """The address as a QR code on the terminal, for a phone's camera."""
    import segno

    segno.make(address, error="l").terminal(out=sys.stdout, compact=True)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but this machine's own needs the access token (0.0.0.0: every "
                   "network of this machine).")
@click.option("--port", type=click.IntRange(0, 65535), default=8808, show_default=True,
              help="Port to listen on (0: any free one).")
@click.option("--open", "open_browser", is_flag=True, help="Open the page in this machine's browser.")
@click.option("--speed", type=click.FloatRange(1, 1000), default=1.0, hidden=True,
              help="Play-along sessions this many times faster than real time, timed in the past (demos, tests).")
@pass_app
def serve(app: App, host: str, port: int, open_browser: bool, speed: float) -> ExitStatus:
    """Serve the page: find a record, play along, scrobble and queue from a phone.

    On 127.0.0.1 (the default) only this machine can open it. With --host
    0.0.0.0 (or this machine's address) a phone on the same network can:
    the address printed then carries the access token (also shown as a QR
    code), which the page keeps in a cookie. Ctrl-C stops the server; a
    play-along session in progress stops as Ctrl-C stops `--live`.

    \b
    Examples:
      python main.py serve
      python main.py serve --host 0.0.0.0 --port 8808
    """
    from web.server import PageServer

    logging.getLogger("russfm.serve").setLevel(logging.INFO if not app.settings.quiet else logging.WARNING)
    try:
        server = PageServer(app.settings, host, port, speed)
    except OSError as exc:
        raise StateError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    previous = signal.signal(signal.SIGTERM, _interrupt)  # a service manager's stop is a Ctrl-C too
    try:
        _announce(server)
        if open_browser:
            import webbrowser

            webbrowser.open(server.token_address or server.address)
        server.serve_forever()  # returns on Ctrl-C (werkzeug takes the KeyboardInterrupt)
    except KeyboardInterrupt:
        pass
    finally:
        click.echo("stopping", err=True)
        server.close()
        signal.signal(signal.SIGTERM, previous)
    return ExitStatus.OK


def _announce(server: PageServer) -> None:
    if server.token_address:
        click.echo(f"serving on {server.address} (beyond this machine: the access token is needed)")
        click.echo(f"open on your phone: {server.token_address}")
        if sys.stdout.isatty():
            _qr(server.token_address)
    else:
        click.echo(f"serving on {server.address} (this machine only)")
    click.echo("Ctrl-C stops it", err=True)
    sys.stdout.flush()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
