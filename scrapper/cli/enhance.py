"""`lastfm-enhance`: Last.fm play counts, listeners and tags written into the site's JSON before a deploy."""

from __future__ import annotations

import click

from app import App
from cli.options import json_option, pass_app
from cli.output import echo, emit_json, plain_progress, progress_bar
from enhance import AlbumOutcome, enhance
from errors import ExitStatus
from scrobble.timeparse import parse_span

MAX_AGE_LIMIT = 366 * 86400


@click.command("lastfm-enhance")
@click.argument("albums", nargs=-1)
@click.option("--max-age", default="7d", show_default=True,
              help="Ask album.getInfo again when the cached answer is older than this.")
@click.option("--refresh", is_flag=True, help="Ask album.getInfo for every album, cache or not.")
@click.option("--dry-run", is_flag=True, help="Show what would change (old → new); write nothing.")
@click.option("--strict", is_flag=True, help="Exit 1 if any album or request failed.")
@click.option("--sync", "sync_first", is_flag=True, help="Bring the listening history up to date first.")
@click.option("--stats/--no-stats", default=None,
              help="Write public/lastfm/stats.json too (default: on; \"stats\": false in the config turns it off).")
@json_option
@pass_app
def lastfm_enhance(app: App, albums: tuple[str, ...], max_age: str, refresh: bool, dry_run: bool,
                   strict: bool, sync_first: bool, stats: bool | None, as_json: bool) -> ExitStatus:
    """Write Last.fm play counts, listeners and tags into the site's JSON (run before each deploy).

    Only files whose content changes are rewritten. A failure for one album
    keeps its previous values and the run goes on (exit 0; --strict: 1).
    With a listening history (`lastfm sync`), last_scrobbled is each
    record's newest play in the whole history, and public/lastfm/stats.json
    is computed from it.

    \b
    Examples:
      python main.py lastfm-enhance
      python main.py lastfm-enhance 2112-814617 --dry-run
      python main.py lastfm-enhance --sync --no-stats
    """
    age = parse_span(max_age, MAX_AGE_LIMIT)
    total = len(albums) or len(app.store.index())
    bar = progress_bar(app.settings, total, "album", as_json, label="lastfm-enhance")
    plain = bar is None and plain_progress(app.settings, as_json)

    def on_album(outcome: AlbumOutcome) -> None:
        if bar is not None:
            bar.update(1)
        elif plain and outcome.status == "updated":
            # A deploy log reads these lines: a dry run changed nothing, and says so. A failure is told
            # once, in its warning line after the run.
            echo(f"{outcome.slug}: {'would change' if dry_run else 'updated'}", err=True)

    try:
        report = enhance(app, list(albums), max_age=age, refresh=refresh, dry_run=dry_run, on_album=on_album,
                         sync_first=sync_first, stats=app.settings.stats if stats is None else stats)
    finally:
        if bar is not None:
            bar.close()
    if as_json:
        emit_json(report.to_json())
    else:
        for outcome in report.albums:
            if dry_run and outcome.changes:
                echo(f"{outcome.slug}:")
                for name, (old, new) in outcome.changes.items():
                    echo(f"    {name}: {old!r} → {new!r}")
            if outcome.refused:
                echo(f"{outcome.slug}: refused from Last.fm: {'; '.join(outcome.refused)}", err=True)
            if outcome.status == "failed":
                echo(f"warning: {outcome.slug}: {outcome.error} (previous values kept)", err=True)
        for warning in report.warnings:
            echo(f"warning: {warning}", err=True)
        echo(report.summary(dry_run))
    failed = report.count("failed") or report.warnings
    return ExitStatus.ERROR if strict and failed else ExitStatus.OK
