"""Command line for connecting the record collection to Last.fm (the only module that imports click)."""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import click

from collection.durations import format_duration
from collection.lookup import find_album, iter_albums
from collection.store import Store
from config import Settings, load_settings
from errors import EXIT_USAGE, AmbiguousAlbum, RussfmError
from scrobble.planner import Plan, PlanOptions, build_plan
from scrobble.timeparse import local_clock, parse_time

EXIT_INTERRUPTED = 130


class AppGroup(click.Group):
    """Turns the core's exceptions, Ctrl-C and broken pipes into messages and exit codes."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AmbiguousAlbum as exc:
            click.echo(f"error: {exc}", err=True)
            for candidate in exc.candidates:
                click.echo(f"  {candidate}", err=True)
            ctx.exit(exc.exit_code)
        except RussfmError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except BrokenPipeError:
            # The reader went away (`| head`): stop quietly, and keep Python's
            # exit-time flush from raising again.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(1)


def settings_of(ctx: click.Context) -> Settings:
    return ctx.find_object(Settings)  # type: ignore[return-value]


def emit_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def json_option(func: Callable) -> Callable:
    return click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")(func)


def medium_options(func: Callable) -> Callable:
    func = click.option(
        "--split-index", is_flag=True,
        help="Scrobble the movements of an index work (a suite) as separate tracks.",
    )(func)
    return click.option(
        "--medium",
        help="For releases on several media: vinyl (default when present), cd, bluray, dvd, cassette or all.",
    )(func)


def plan_options(func: Callable) -> Callable:
    """The options that choose what was played and when."""
    decorators = [
        click.option("--finished-at", help="When the last track ended (default: now). ISO 8601, HH:MM or '45m ago'."),
        click.option("--started-at", help="When the first track started, instead of --finished-at."),
        click.option("--side", "sides", multiple=True, help="Only this side (A, B…); repeat for more."),
        click.option("--disc", type=int, help="Only this disc (for LPs: sides A/B are disc 1, C/D disc 2)."),
        click.option("--tracks", help="Only these track numbers, e.g. 1-3,5 (numbers as `albums show` lists them)."),
        click.option("--side-gap", type=click.IntRange(min=0), default=0, show_default=True,
                     help="Seconds to turn the record over between sides."),
        click.option("--include-short", is_flag=True, help="Also scrobble tracks of 30 s or less."),
        medium_options,
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def make_plan_options(now: float, **opts: Any) -> PlanOptions:
    return PlanOptions(
        finished_at=parse_time(opts["finished_at"], now) if opts.get("finished_at") else None,
        started_at=parse_time(opts["started_at"], now) if opts.get("started_at") else None,
        sides=[s for part in opts.get("sides") or () for s in part.split(",") if s.strip()],
        disc=opts.get("disc"),
        tracks=opts.get("tracks"),
        side_gap=opts.get("side_gap") or 0,
        include_short=bool(opts.get("include_short")),
        medium=(opts.get("medium") or "").lower() or None,
        split_index=bool(opts.get("split_index")),
    )


@click.group(cls=AppGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--data-dir", type=click.Path(file_okay=False), envvar="RUSSFM_DATA_DIR",
              help="The collection's public/ folder (default: the repository's public/).")
@click.option("--state-dir", type=click.Path(file_okay=False), envvar="RUSSFM_STATE_DIR",
              help="Private folder for the session, ledger and caches (default: ~/.local/state/russfm).")
@click.option("--config", type=click.Path(dir_okay=False), envvar="RUSSFM_CONFIG",
              help='JSON config with a "lastfm" section (default: scrapper/config.json).')
@click.option("-v", "--verbose", count=True, help="Log what is done (-vv: every request, secrets redacted).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars; only results and errors.")
@click.pass_context
def cli(ctx: click.Context, data_dir: str | None, state_dir: str | None, config: str | None,
        verbose: int, quiet: bool) -> None:
    """Connect a vinyl collection's static JSON to Last.fm.

    \b
    Example:
      python main.py scrobble album 2112-814617 --dry-run
    """
    level = logging.WARNING if not verbose else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        ctx.obj = load_settings(data_dir, state_dir, config, verbose, quiet)
    except RussfmError as exc:
        click.echo(f"error: {exc}", err=True)
        ctx.exit(exc.exit_code)


# --- albums -----------------------------------------------------------------

@cli.group()
def albums() -> None:
    """Look at the collection's albums as the scrobbler sees them.

    \b
    Example:
      python main.py albums show "rush 2112"
    """


def album_json(album: Any, tracks: list) -> dict:
    return {
        "slug": album.slug,
        "title": album.title,
        "artist": album.artist,
        "discogs_id": album.discogs_id,
        "formats": album.formats,
        "media": album.media,
        "tracks": [
            {
                "number": t.number, "position": t.position, "side": t.side, "disc": t.disc,
                "medium": t.medium, "artist": t.artist, "title": t.title,
                "duration": t.duration, "duration_source": t.duration_source,
            }
            for t in tracks
        ],
    }


@albums.command("show")
@click.argument("album")
@medium_options
@json_option
@click.pass_context
def albums_show(ctx: click.Context, album: str, medium: str | None, split_index: bool, as_json: bool) -> None:
    """Show ALBUM's scrobble-ready tracks, durations and where each duration came from.

    ALBUM is a slug, a Discogs release id or URL, or words from the artist and title.

    \b
    Example:
      python main.py albums show 814617 --json
    """
    store = Store(settings_of(ctx).data_dir)
    found = find_album(store, album)
    tracks = found.playable((medium or "").lower() or None, split_index)
    if as_json:
        emit_json(album_json(found, tracks))
        return
    click.echo(f"{found.artist} — {found.title}  [{found.slug}]")
    click.echo(f"formats: {', '.join(found.formats) or '-'}   media: {', '.join(found.media) or '-'}")
    for t in tracks:
        length = format_duration(t.duration) if t.duration else "?"
        artist = f"{t.artist} — " if t.artist != found.artist else ""
        click.echo(f"{t.number:>3}  {t.position:<6} {length:>7}  {t.duration_source or 'none':<8} {artist}{t.title}")


@albums.command("check")
@json_option
@click.pass_context
def albums_check(ctx: click.Context, as_json: bool) -> None:
    """Load every album of the index and report the ones that cannot be used.

    Exits 1 when any album is broken; the others are still checked.

    \b
    Example:
      python main.py albums check
    """
    results = iter_albums(Store(settings_of(ctx).data_dir))
    broken = [(slug, str(err)) for slug, err in results if isinstance(err, RussfmError)]
    if as_json:
        emit_json({"albums": len(results), "broken": [{"slug": s, "error": e} for s, e in broken]})
    else:
        for slug, error in broken:
            click.echo(f"{slug}: {error}")
        click.echo(f"{len(results) - len(broken)} of {len(results)} albums are usable")
    if broken:
        ctx.exit(1)


# --- scrobble ---------------------------------------------------------------

@cli.group()
def scrobble() -> None:
    """Send what was played to Last.fm.

    \b
    Example:
      python main.py scrobble album 2112-814617 --finished-at 21:30
    """


def render_plan(plan: Plan) -> None:
    total = plan.finished_at - plan.started_at
    click.echo(f"{plan.album_artist} — {plan.album}  [{plan.slug}]")
    click.echo(
        f"{len(plan.scrobbles)} tracks, {format_duration(total)}, "
        f"{local_clock(plan.started_at)} → {local_clock(plan.finished_at)[11:]}"
    )
    for s in plan.scrobbles:
        artist = f"{s.artist} — " if s.artist != plan.album_artist else ""
        click.echo(
            f"{s.track_number:>3}  {s.position:<6} {local_clock(s.timestamp)[11:]}  "
            f"{format_duration(s.duration):>7}  {s.duration_source:<8} {artist}{s.track}"
        )
    for title, reason in plan.skipped:
        click.echo(f"  left out: {title} ({reason})")


@scrobble.command("album")
@click.argument("album")
@plan_options
@click.option("--dry-run", is_flag=True, help="Show the plan; send nothing.")
@json_option
@click.pass_context
def scrobble_album(ctx: click.Context, album: str, dry_run: bool, as_json: bool, **opts: Any) -> None:
    """Scrobble ALBUM as just played, timed from its real track durations.

    \b
    Examples:
      python main.py scrobble album 2112-814617 --dry-run
      python main.py scrobble album "rush 2112" --side B --finished-at "10m ago"
    """
    now = time.time()
    settings = settings_of(ctx)
    found = find_album(Store(settings.data_dir), album)
    plan = build_plan(found, make_plan_options(now, **opts), now)
    if not dry_run:
        raise click.UsageError("sending needs Last.fm sign-in; use --dry-run to see the plan")
    if as_json:
        emit_json(plan.to_json())
    else:
        render_plan(plan)
        click.echo("dry run: nothing sent")


def main() -> None:
    cli(prog_name="main.py")


if __name__ == "__main__":
    main()
