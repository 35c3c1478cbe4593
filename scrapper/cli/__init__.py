"""The command line: the root group, the global options, and the one place errors become exit statuses."""

from __future__ import annotations

import click

from cli.group import AppGroup
from cli.options import add_global_params
from version import __version__


def _version_text() -> str:
    import platform
    from importlib.metadata import PackageNotFoundError, version

    def of(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    return (f"%(prog)s %(version)s (Python {platform.python_version()}, click {of('click')}, "
            f"pylast {of('pylast')})")


@click.group(cls=AppGroup, context_settings={"help_option_names": ["-h", "--help"]},
             invoke_without_command=True)
@click.version_option(__version__, "--version", message=_version_text())
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Connect a vinyl collection's static JSON to Last.fm.

    Global options (--data-dir, --state-dir, --config, -v, -q) work before
    or after the command.

    \b
    Example:
      python main.py scrobble album 2112-814617 --dry-run
    """
    if ctx.invoked_subcommand is None:  # `python main.py` alone: the help, as a start, not an error
        click.echo(ctx.get_help())


add_global_params(cli)


def _register() -> None:
    from cli import albums, enhance, lastfm, listenbrainz, queue, scrobble, serve
    from cli import history  # noqa: F401 - registers lastfm sync/stats/recent and albums pick

    cli.add_command(albums.albums)
    cli.add_command(scrobble.scrobble)
    scrobble.scrobble.add_command(queue.queue)
    cli.add_command(lastfm.lastfm)
    cli.add_command(enhance.lastfm_enhance)
    cli.add_command(serve.serve)
    cli.add_command(listenbrainz.listenbrainz)


_register()
