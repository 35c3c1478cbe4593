"""`albums show`, `albums check` and `albums pick`: the collection as the scrobbler sees it."""

from __future__ import annotations

import click

from app import App
from cli.group import AppGroup
from cli.options import json_option, medium_options, pass_app
from cli.output import echo, emit_json
from collection.views import album_view, check_albums
from errors import ExitStatus


@click.group(cls=AppGroup)
def albums() -> None:
    """Look at the collection's albums as the scrobbler sees them.

    \b
    Example:
      python main.py albums show "rush 2112"
    """


@albums.command("show")
@click.argument("album")
@medium_options
@json_option
@pass_app
def albums_show(app: App, album: str, medium: str | None, split_index: bool, as_json: bool) -> None:
    """Show ALBUM's scrobble-ready tracks, durations and where each duration came from.

    ALBUM is a slug, a Discogs release id or URL, or words from the artist and title.

    \b
    Example:
      python main.py albums show 814617 --json
    """
    view = album_view(app.store, album, medium, split_index)
    if as_json:
        emit_json(view.to_json())
        return
    found = view.album
    echo(f"{found.artist} — {found.title}  [{found.slug}]")
    echo(f"formats: {', '.join(found.formats) or '-'}   media: {', '.join(found.media) or '-'}")
    for t, (length, source) in zip(view.tracks, view.lengths()):
        artist = f"{t.artist} — " if t.artist != found.artist else ""
        echo(f"{t.number:>3}  {t.position:<6} {length:>7}  {source:<8} {artist}{t.title}")
    for warning in found.warnings:
        echo(f"warning: {warning}", err=True)


@albums.command("check")
@json_option
@pass_app
def albums_check(app: App, as_json: bool) -> ExitStatus:
    """Load every album of the index and report the ones that cannot be used, and warnings.

    Exits 1 when any album is broken; the others are still checked.

    \b
    Example:
      python main.py albums check
    """
    report = check_albums(app.store)
    if as_json:
        emit_json(report.to_json())
    else:
        for slug, error in report.broken:
            echo(f"{slug}: {error}")
        for slug, warning in report.warnings:
            echo(f"{slug}: warning: {warning}")
        echo(f"{report.albums - len(report.broken)} of {report.albums} albums are usable")
    return ExitStatus.ERROR if report.broken else ExitStatus.OK
