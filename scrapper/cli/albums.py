"""`albums show`, `albums check` and `albums pick`: the collection as the scrobbler sees it."""

from __future__ import annotations

import click

from app import App
from cli.group import AppGroup
from cli.listing import album_lines, media_column
from cli.options import json_option, pass_app, selection_options
from cli.output import emit_json
from collection.selection import Selection
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
@selection_options
@json_option
@pass_app
def albums_show(app: App, album: str, medium: str | None, split_index: bool, sides: list[str], disc: int | None,
                box_title: bool, as_json: bool) -> None:
    """Show ALBUM's scrobble-ready tracks, durations and where each duration came from.

    ALBUM is a slug, a Discogs release id or URL, or words from the artist and title.
    --medium, --side, --disc, --split-index and --box-title choose tracks as
    `scrobble album` does, with the same numbers.

    \b
    Examples:
      python main.py albums show 814617 --json
      python main.py albums show "rush 2112" --side A --split-index
    """
    view = album_view(app.store, album, Selection(medium, tuple(sides), disc, split_index, box_title))
    if as_json:
        emit_json(view.to_json())
        return
    found = view.album
    click.echo(f"{found.artist} — {found.title}  [{found.slug}]")
    click.echo(f"formats: {', '.join(found.formats) or '-'}   media: {', '.join(found.media) or '-'}")
    places = media_column([(t.medium, t.disc) for t in view.tracks])
    starts = album_lines([t.album or found.title for t in view.tracks], found.title)
    for t, (length, source), place, start in zip(view.tracks, view.lengths(), places, starts):
        if start:
            click.echo(start)
        artist = f"{t.artist} — " if t.artist != found.artist else ""
        click.echo(f"{t.number:>3}  {t.position:<6} {place}{length:>7}  {source:<8} {artist}{t.title}")
    for warning in found.warnings:
        click.echo(f"warning: {warning}", err=True)


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
            click.echo(f"{slug}: {error}")
        for slug, warning in report.warnings:
            click.echo(f"{slug}: warning: {warning}")
        click.echo(f"{report.albums - len(report.broken)} of {report.albums} albums are usable")
    return ExitStatus.ERROR if report.broken else ExitStatus.OK
