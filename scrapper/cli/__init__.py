"""The command line: the root group, the global options, and the one place errors become exit statuses."""

from __future__ import annotations

import click

from cli.group import AppGroup
from cli.options import add_global_params


@click.group(cls=AppGroup, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Connect a vinyl collection's static JSON to Last.fm.

    Global options (--data-dir, --state-dir, --config, -v, -q) work before
    or after the command.

    \b
    Example:
      python main.py scrobble album 2112-814617 --dry-run
    """


add_global_params(cli)


def _register() -> None:
    from cli import albums, enhance, lastfm, listenbrainz, queue, scrobble
    from cli import history  # noqa: F401 - registers lastfm sync/stats/recent and albums pick

    cli.add_command(albums.albums)
    cli.add_command(scrobble.scrobble)
    scrobble.scrobble.add_command(queue.queue)
    cli.add_command(lastfm.lastfm)
    cli.add_command(enhance.lastfm_enhance)
    cli.add_command(listenbrainz.listenbrainz)


_register()
