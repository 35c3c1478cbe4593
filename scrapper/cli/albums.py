"""`albums show`, `albums check` and `albums pick`: the collection as the scrobbler sees it."""

from __future__ import annotations

import click

from app import App
from cli.group import AppGroup
from cli.listing import album_lines, media_column
from cli.options import json_option, pass_app, selection_options
from cli.output import echo, emit_json, plural
from collection.browse import Filters, list_albums
from collection.selection import Selection
from collection.views import album_view, check_albums
from errors import ExitStatus
from history.periods import local_date
from history.pick import known_plays


@click.group(cls=AppGroup)
def albums() -> None:
    """Look at the collection's albums as the scrobbler sees them.

    \b
    Example:
      python main.py albums show "rush 2112"
    """


@albums.command("show")
@click.argument("words", nargs=-1, required=True, metavar="ALBUM")
@selection_options
@json_option
@pass_app
def albums_show(app: App, words: tuple[str, ...], medium: str | None, split_index: bool, sides: list[str],
                disc: int | None, box_title: bool, as_json: bool) -> None:
    """Show ALBUM's scrobble-ready tracks, durations and where each duration came from.

    ALBUM is a slug, a Discogs release id or URL, or words from the artist
    and title, quoted or not (`albums show rush 2112`). --medium, --side,
    --disc, --split-index and --box-title choose tracks as `scrobble album`
    does, with the same numbers.

    \b
    Examples:
      python main.py albums show 814617 --json
      python main.py albums show "rush 2112" --side A --split-index
    """
    view = album_view(app.store, " ".join(words), Selection(medium, tuple(sides), disc, split_index, box_title))
    if as_json:
        emit_json(view.to_json())
        return
    found = view.album
    echo(f"{found.artist} — {found.title}  [{found.slug}]")
    echo(f"formats: {', '.join(found.formats) or '-'}   media: {', '.join(found.media) or '-'}")
    places = media_column([(t.medium, t.disc) for t in view.tracks])
    starts = album_lines([t.album or found.title for t in view.tracks], found.title)
    for t, (length, source), place, start in zip(view.tracks, view.lengths(), places, starts):
        if start:
            echo(start)
        artist = f"{t.artist} — " if t.artist != found.artist else ""
        echo(f"{t.number:>3}  {t.position:<6} {place}{length:>7}  {source:<8} {artist}{t.title}")
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
        echo(f"{report.albums - len(report.broken)} of {plural(report.albums, 'album')} "
                   f"{'is' if report.albums == 1 else 'are'} usable")
    return ExitStatus.ERROR if report.broken else ExitStatus.OK


@albums.command("list")
@click.option("--artist", help="Albums whose artist contains this.")
@click.option("--genre", help="Albums with this genre or style.")
@click.option("--format", "fmt", help="Albums with this format (Vinyl, CD…).")
@click.option("--year", help="Released this year or in these years: 1977, 1970-1979, 1970s.")
@click.option("--played/--unplayed", default=None,
              help="Only albums played at least once, or never (needs `lastfm sync`).")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many albums.")
@json_option
@pass_app
def albums_list(app: App, artist: str | None, genre: str | None, fmt: str | None, year: str | None,
                played: bool | None, limit: int | None, as_json: bool) -> None:
    """List the collection's albums, or those the filters leave, with their slugs.

    With a listening history (`lastfm sync`) each album says how often it
    was played; no requests are made.

    \b
    Examples:
      python main.py albums list --artist rush
      python main.py albums list --genre "Prog Rock" --year 1970s --json
    """
    filters = Filters(artist=artist, genre=genre, format=fmt, year=year, played=played, limit=limit)
    found = list_albums(app.store, filters, known_plays(app, required=played is not None))
    if as_json:
        emit_json(found.to_json())
        return
    for a in found.albums:
        year_text = f" ({a.year})" if a.year else ""
        line = f"{a.slug}  {a.artist} — {a.title}{year_text}  {', '.join(a.formats) or '-'}"
        if a.plays is not None:
            line += (f"  played {plural(a.plays, 'time')}, last {local_date(a.last_played)}"
                     if a.plays and a.last_played else "  never played")
        echo(line)
    echo(f"{len(found.albums)} of {plural(found.total, 'album')}")
