"""`lastfm sync`, `lastfm stats`, `lastfm recent` and `albums pick`: the listening history and what it tells."""

from __future__ import annotations

import click

from app import App
from cli.albums import albums
from cli.lastfm import lastfm
from cli.options import json_option, pass_app
from cli.output import emit_json, plural, progress_bar
from errors import ExitStatus
from history.periods import DEFAULT_PERIOD, PERIOD_NAMES, PERIODS, ago, check_period, local_date, parse_age
from history.pick import pick_record
from history.recent import recent_plays
from history.stats import WEEKDAYS, HistoryStats, history_stats
from history.sync import PAGE_SIZE, SyncResult, sync
from collection.browse import Filters
from scrobble.timeparse import local_clock

BAR_WIDTH = 40


def _synced(app: App, full: bool, as_json: bool) -> SyncResult:
    """Sync with a bar of pages (and its estimate) on a terminal, one bar per copy."""
    bar = None

    def on_page(done: int, expected: int) -> None:
        nonlocal bar
        if bar is None or done <= bar.n:  # the first page of a copy (new, resumed, or the catch-up after it)
            if bar is not None:
                bar.close()
            bar = progress_bar(app.settings, expected, "page", as_json, label="lastfm sync")
            if bar is None:
                return
            # Pages done by an earlier run do not count for the estimate.
            bar.initial = bar.n = bar.last_print_n = done - 1
        bar.total = expected
        bar.update(done - bar.n)

    try:
        return sync(app, full, on_page)
    finally:
        if bar is not None:
            bar.close()


def _sync_line(result: SyncResult) -> str:
    newest = f", newest {local_clock(result.newest)}" if result.newest else ""
    line = (f"{result.user}: {plural(result.pages, 'page')} read, {plural(result.new, 'new scrobble')}; "
            f"{result.total} held{newest}; {plural(result.requests, 'request')}")
    if result.resumed:
        line += " (an interrupted copy was resumed)"
    if result.refused:
        line += f"; {result.refused} left out (impossible times)"
    return line


def _report_stop(result: SyncResult) -> None:
    if result.stopped:
        click.echo(f"error: {result.stopped}; what was copied is kept, and `lastfm sync` resumes", err=True)


@lastfm.command("sync")
@click.option("--full", is_flag=True,
              help="Copy the whole history again; only this drops scrobbles deleted on Last.fm.")
@json_option
@pass_app
def lastfm_sync(app: App, full: bool, as_json: bool) -> ExitStatus:
    """Copy your Last.fm scrobbles into the archive in the state folder.

    The first run copies the whole history (200 scrobbles a request: under
    two minutes per 100,000 at Last.fm's 5 requests a second); an
    interrupted copy resumes where it stopped. Later runs read only what is
    new, plus a day of overlap and whatever this tool itself sent since the
    last sync. Scrobbles deleted on Last.fm stay in the archive until a
    --full copy. Exits 75 when Last.fm failed on the way (run it again), 1
    for a private or unknown user.

    \b
    Examples:
      python main.py lastfm sync
      python main.py lastfm sync --full --json
    """
    result = _synced(app, full, as_json)
    if as_json:
        emit_json(result.to_json())
    else:
        click.echo(_sync_line(result))
    _report_stop(result)
    return result.exit_status


def _bar(count: int, most: int, width: int = BAR_WIDTH) -> str:
    return "█" * round(width * count / most) if most else ""


def _share(part: int, whole: int) -> str:
    return f"{part} of {whole} ({100 * part // whole}%)" if whole else str(part)


def _render_stats(info: HistoryStats) -> None:
    echo = click.echo
    echo(f"{info.user or 'Listening'}, {PERIOD_NAMES[info.period]} ({local_date(info.start)} to "
         f"{local_date(info.end - 1)}): {info.scrobbles:,} scrobbles, {info.per_day:.1f} a day")
    echo(f"\nScrobbles per week, last {len(info.weeks)} weeks")
    most = max((n for _, n in info.weeks), default=0)
    for start, n in info.weeks:
        echo(f"  {local_date(start)} {_bar(n, most):<{BAR_WIDTH}} {n:>6,}")
    echo(f"\nTop albums, {PERIOD_NAMES[info.period]} ([slug]: a record you own)")
    for i, album in enumerate(info.top_albums, 1):
        owned = f"  [{album.slug}]" if album.slug else ""
        echo(f"  {i:>2}. {album.plays:>6,}  {album.artist} — {album.album}{owned}")
    echo(f"\nTop artists, {PERIOD_NAMES[info.period]}")
    for i, artist in enumerate(info.top_artists, 1):
        echo(f"  {i:>2}. {artist.plays:>6,}  {artist.artist}")
    echo(f"\nThe collection: {_share(info.played_ever, info.records)} records played, "
         f"{_share(info.played_last_year, info.records)} in the last 12 months")
    now = info.end - 1
    if info.longest_unplayed:
        echo("Longest unplayed:")
        for r in info.longest_unplayed:
            echo(f"  {local_date(r.last_played or 0)} ({ago(r.last_played or 0, now)})  {r.artist} — {r.title}"
                 f"  [{r.slug}]")
    if info.never_played:
        shown = ", ".join(r.slug for r in info.never_played_examples)
        more = f" and {info.never_played - len(info.never_played_examples)} more" \
            if info.never_played > len(info.never_played_examples) else ""
        echo(f"Never played: {plural(info.never_played, 'record')}: {shown}{more}")
    echo(f"\nBy weekday, {PERIOD_NAMES[info.period]} (local time)")
    for name, n in zip(WEEKDAYS, info.weekdays):
        echo(f"  {name} {_bar(n, max(info.weekdays)):<{BAR_WIDTH}} {n:>6,}")
    echo("By hour (local time)")
    for hour, n in enumerate(info.hours):
        echo(f"  {hour:02d}  {_bar(n, max(info.hours)):<{BAR_WIDTH}} {n:>6,}")
    if info.synced_at:
        echo(f"\narchive synced {local_clock(info.synced_at)}")


def _period(ctx: click.Context, param: click.Parameter, value: str) -> str:
    return check_period(value)


@lastfm.command("stats")
@click.option("--period", default=DEFAULT_PERIOD, show_default=True, callback=_period,
              metavar="[" + "|".join(PERIODS) + "]",
              help="The period of the totals, charts and listening times (mo: months; m would be minutes).")
@click.option("--sync", "sync_first", is_flag=True, help="Sync the archive first (`lastfm sync`).")
@json_option
@pass_app
def lastfm_stats(app: App, period: str, sync_first: bool, as_json: bool) -> ExitStatus:
    """Your listening from the archive, without asking Last.fm: totals, charts, records played and not.

    Scrobbles in the period and per day, per week for 26 weeks, the top 10
    albums (marked with their slug when you own the record) and artists,
    how much of the collection was played, the records unplayed longest,
    and listening by weekday and hour. Run `lastfm sync` first (or give
    --sync).

    \b
    Examples:
      python main.py lastfm stats
      python main.py lastfm stats --period 12mo --sync --json
    """
    status = ExitStatus.OK
    synced = None
    if sync_first:
        synced = _synced(app, False, as_json)
        status = synced.exit_status
        if not as_json:
            click.echo(_sync_line(synced), err=True)
        _report_stop(synced)
    info = history_stats(app, period)
    if as_json:
        emit_json({**info.to_json(), "sync": synced.to_json() if synced else None})
    else:
        _render_stats(info)
    return status


@lastfm.command("recent")
@click.option("--limit", type=click.IntRange(1, PAGE_SIZE), default=10, show_default=True,
              help="How many scrobbles (1 to 200).")
@json_option
@pass_app
def lastfm_recent(app: App, limit: int, as_json: bool) -> None:
    """The latest scrobbles, straight from Last.fm (one request), with the record each is from.

    \b
    Example:
      python main.py lastfm recent --limit 20
    """
    result = recent_plays(app, limit)
    if as_json:
        emit_json(result.to_json())
        return
    if not result.plays:
        click.echo(f"{result.user} has no scrobbles")
    for play in result.plays:
        when = f"{'now playing':<25}" if play.timestamp is None else local_clock(play.timestamp)
        album = f" ({play.album})" if play.album else ""
        owned = f"  [{play.slug}]" if play.slug else ""
        click.echo(f"{when}  {play.artist} — {play.track}{album}{owned}")


def _age(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    return parse_age(value) if value is not None else None


@albums.command("pick")
@click.option("--unplayed", is_flag=True, help="Only records never played (needs `lastfm sync`).")
@click.option("--not-since", callback=_age, metavar="AGE",
              help="Only records not played for this long: 6mo, 1y, 90d, 2w (mo: months; needs `lastfm sync`).")
@click.option("--artist", help="Records whose artist contains this.")
@click.option("--genre", help="Records with this genre or style.")
@click.option("--format", "fmt", help="Records with this format (Vinyl, CD…).")
@click.option("--seed", type=int, hidden=True)
@json_option
@pass_app
def albums_pick(app: App, unplayed: bool, not_since: int | None, artist: str | None, genre: str | None,
                fmt: str | None, seed: int | None, as_json: bool) -> None:
    """One record to put on tonight, at random among those the filters leave, and why.

    --unplayed and --not-since read the archive of `lastfm sync`; without
    them the archive only says when the record was last played.

    \b
    Examples:
      python main.py albums pick
      python main.py albums pick --not-since 6mo --genre "Prog Rock"
    """
    chosen = pick_record(app, Filters(artist=artist, genre=genre, format=fmt), unplayed, not_since, seed)
    if as_json:
        emit_json(chosen.to_json())
        return
    record = chosen.record
    click.echo(f"{record.artist} — {record.title}  [{record.slug}]")
    click.echo(f"  {'; '.join(chosen.reasons)} (one of {plural(chosen.candidates, 'record')})")
