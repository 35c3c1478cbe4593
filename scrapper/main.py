"""Command line for connecting the record collection to Last.fm (the only module that imports click)."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import click
from tqdm import tqdm

from cache import Cache
from collection.duration_format import format_duration
from collection.lookup import find_album, iter_albums
from collection.store import Store
from config import Settings, load_settings
from enhance import enhance
from errors import EXIT_ERROR, EXIT_OK, EXIT_PARTLY_IGNORED, AmbiguousAlbum, ConfigError, RussfmError
from lastfm.auth import mobile_login, web_login
from lastfm.client import LastFM
from lastfm.responses import reason_text
from lastfm.session import SessionStore
from scrobble import queue, service
from scrobble.lastfm_durations import lastfm_durations
from scrobble.ledger import Entry, Ledger
from scrobble.planner import Plan, PlannedScrobble, PlanOptions, build_plan
from scrobble.sender import SendReport
from scrobble.timeparse import iso_utc, local_clock, parse_span, parse_time
from statefiles import private_dir

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
    # Only the project's own loggers get chattier: libraries below log bodies and headers.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("russfm").setLevel(
        logging.WARNING if not verbose else logging.INFO if verbose == 1 else logging.DEBUG)
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


def progress_bar(settings: Settings, total: int, unit: str = "scrobble") -> tqdm | None:
    """A tqdm bar on stderr, only on a terminal and without -q; None otherwise."""
    if settings.quiet or total <= 0 or not sys.stderr.isatty():
        return None
    return tqdm(total=total, unit=unit, file=sys.stderr, leave=False)


def entry_json(entry: Entry) -> dict:
    return {
        "artist": entry.artist, "track": entry.track, "album": entry.album,
        "album_artist": entry.album_artist, "timestamp": entry.timestamp, "status": entry.status,
        "code": entry.code, "reason": reason_text(entry.code, entry.message),
        "corrections": entry.corrections, "deferred": entry.deferred,
    }


def report_exit(report: SendReport) -> int:
    if report.stopped is not None:
        return report.stopped.exit_code
    if report.ignored or report.failed:
        return EXIT_PARTLY_IGNORED
    return EXIT_OK


def render_report(report: SendReport, already: list[PlannedScrobble], as_json: bool, requests: int) -> None:
    if as_json:
        emit_json({
            "accepted": len(report.accepted), "ignored": len(report.ignored),
            "deferred": len(report.deferred), "failed": len(report.failed),
            "reconciled": report.reconciled, "requests": requests,
            "already_scrobbled": [{"artist": s.artist, "track": s.track, "timestamp": s.timestamp} for s in already],
            "scrobbles": [entry_json(e) for e in sorted(report.sent, key=lambda e: e.timestamp)],
            "stopped": str(report.stopped) if report.stopped else None,
        })
        return
    for s in already:
        click.echo(f"  already   {s.artist} — {s.track} ({local_clock(s.timestamp)}): in the ledger, not sent again")
    for e in sorted(report.sent, key=lambda e: e.timestamp):
        line = f"{local_clock(e.timestamp)[11:]}  {e.artist} — {e.track}"
        if e.status == "accepted":
            fixes = ", ".join(f"{k} → {v}" for k, v in e.corrections.items())
            click.echo(f"  accepted  {line}" + (f"  (Last.fm corrected {fixes})" if fixes else ""))
        elif e.status == "ignored":
            click.echo(f"  IGNORED   {line}: {reason_text(e.code, e.message)}")
        elif e.status == "failed":
            click.echo(f"  FAILED    {line}: {e.message}")
        else:
            click.echo(f"  waiting   {line}: {'daily limit reached' if e.deferred else 'kept for the next run'}")
    summary = f"{len(report.accepted)} accepted, {len(report.ignored)} ignored"
    if report.deferred:
        summary += f", {len(report.deferred)} kept for later"
    if report.reconciled:
        summary += f" ({report.reconciled} confirmed on Last.fm after an unanswered send)"
    click.echo(summary + f"; {requests} request{'s' if requests != 1 else ''} to Last.fm")
    if report.stopped:
        click.echo(f"error: {report.stopped}", err=True)


def send_plan(ctx: click.Context, online: service.Online, plan: Plan, force: bool, as_json: bool) -> None:
    pending = len(plan.scrobbles)
    bar = progress_bar(online.settings, pending)
    try:
        report, already, refused = service.scrobble_plan(online, plan, force, bar.update if bar else None)
    finally:
        if bar:
            bar.close()
    if report.sent or report.stopped or not refused:
        render_report(report, already, as_json, online.client.requests)
    if refused:
        raise refused
    ctx.exit(report_exit(report))


@scrobble.command("album")
@click.argument("album")
@plan_options
@click.option("--dry-run", is_flag=True, help="Show the plan; send nothing.")
@click.option("--lookup", is_flag=True, help="With --dry-run: ask Last.fm for durations Discogs and Spotify lack.")
@click.option("--force", is_flag=True, help="Send even if the time overlaps a listen already in the ledger.")
@json_option
@click.pass_context
def scrobble_album(ctx: click.Context, album: str, dry_run: bool, lookup: bool, force: bool,
                   as_json: bool, **opts: Any) -> None:
    """Scrobble ALBUM as just played, timed from its real track durations.

    Tracks go in batches of up to 50 per request; the result is shown per
    track. Exit 0: all accepted; 3: some ignored; 75: try again later.

    \b
    Examples:
      python main.py scrobble album 2112-814617 --dry-run
      python main.py scrobble album "rush 2112" --side B --finished-at "10m ago"
    """
    now = time.time()
    settings = settings_of(ctx)
    found = find_album(Store(settings.data_dir), album)
    options = make_plan_options(now, **opts)
    if dry_run:
        filler = None
        if lookup:
            settings.require_credentials()
            private_dir(settings.state_dir)
            filler = lastfm_durations(LastFM(settings), Cache(settings.state_dir))
        plan = build_plan(found, options, now, filler)
        if as_json:
            emit_json(plan.to_json())
        else:
            render_plan(plan)
            click.echo("dry run: nothing sent")
        return
    with service.online(settings) as online:
        cache = Cache(settings.state_dir)
        try:
            plan = build_plan(found, options, now, lastfm_durations(online.client, cache))
        finally:
            cache.close()
        if not as_json:
            click.echo(f"{plan.album_artist} — {plan.album}  [{plan.slug}]: {len(plan.scrobbles)} tracks, "
                       f"{local_clock(plan.started_at)} → {local_clock(plan.finished_at)[11:]}")
        send_plan(ctx, online, plan, force, as_json)


@scrobble.command("track")
@click.option("--artist", required=True, help="The track's artist.")
@click.option("--track", "title", required=True, help="The track's title.")
@click.option("--album", default="", help="The album it is on.")
@click.option("--album-artist", default="", help="The album's artist, if not the track's.")
@click.option("--at", "at", help="When it started (default: its duration ago). Same forms as --finished-at.")
@click.option("--duration", help="Its length: seconds, or 3m20s (default 180 s).")
@click.option("--now-playing", is_flag=True, help="Send track.updateNowPlaying instead of a scrobble.")
@click.option("--force", is_flag=True, help="Send even if the time overlaps a listen already in the ledger.")
@json_option
@click.pass_context
def scrobble_track(ctx: click.Context, artist: str, title: str, album: str, album_artist: str,
                   at: str | None, duration: str | None, now_playing: bool, force: bool, as_json: bool) -> None:
    """Scrobble one track, or show it as now playing.

    \b
    Examples:
      python main.py scrobble track --artist Rush --track "Closer To The Heart" --at "5m ago"
      python main.py scrobble track --artist Rush --track Xanadu --now-playing
    """
    now = time.time()
    settings = settings_of(ctx)
    seconds = parse_span(duration) if duration else 180
    if not 0 < seconds <= 6 * 3600:
        raise click.BadParameter("must be between 1 second and 6 hours", param_hint="--duration")
    started = parse_time(at, now) if at else int(now) - seconds
    plan = service.single_track_plan(artist.strip(), title.strip(), album.strip(), album_artist.strip(),
                                     started, seconds, now)
    with service.online(settings) as online:
        if now_playing:
            result = online.client.now_playing({
                "artist": plan.scrobbles[0].artist, "track": plan.scrobbles[0].track,
                "album": album, "album_artist": album_artist, "duration": seconds,
            })
            if as_json:
                emit_json({"accepted": result.accepted, "code": result.code, "reason": result.reason,
                           "corrections": result.corrections()})
            elif result.accepted:
                click.echo(f"now playing on Last.fm: {artist} — {title}")
            else:
                click.echo(f"Last.fm ignored it: {result.reason}")
            ctx.exit(EXIT_OK if result.accepted else EXIT_PARTLY_IGNORED)
        send_plan(ctx, online, plan, force, as_json)


@scrobble.command("history")
@click.option("--limit", type=click.IntRange(min=1), default=10, show_default=True, help="How many.")
@json_option
@click.pass_context
def scrobble_history(ctx: click.Context, limit: int, as_json: bool) -> None:
    """The latest scrobbles in the ledger, newest first, with what became of each.

    \b
    Example:
      python main.py scrobble history --limit 20
    """
    rows = service.history(settings_of(ctx), limit)
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("the ledger is empty")
    for row in rows:
        reason = f" ({reason_text(row['code'], row['message'])})" if row["status"] == "ignored" else ""
        click.echo(f"{local_clock(row['timestamp'])}  {row['status']:<9} {row['artist']} — {row['track']}{reason}")


# --- scrobble queue ---------------------------------------------------------

@scrobble.group("queue")
def queue_group() -> None:
    """Queue many records and let cron send them under Last.fm's limits.

    \b
    Example:
      python main.py scrobble queue add --artist rush
      */15 * * * * cd …/scrapper && python main.py scrobble queue run -q >> scrobble.log 2>&1
    """


@queue_group.command("add")
@click.argument("albums", nargs=-1)
@click.option("--all", "every", is_flag=True, help="Every album of the collection.")
@click.option("--artist", help="Albums whose artist contains this.")
@click.option("--genre", help="Albums with this genre or style.")
@click.option("--format", "fmt", help="Albums with this format (Vinyl, CD…).")
@click.option("--added-since", type=click.DateTime(["%Y-%m-%d"]), help="Added to the collection on or after (YYYY-MM-DD).")
@click.option("--added-before", type=click.DateTime(["%Y-%m-%d"]), help="Added before (YYYY-MM-DD).")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many albums.")
@click.option("--finished-at", help="Fix the time: the albums play back to back and the last ends then.")
@click.option("--started-at", help="Fix the time: the first album starts then.")
@click.option("--at", "at", help="Send nothing before this time (scheduled scrobbling).")
@click.option("--side-gap", type=click.IntRange(min=0), default=0, help="Seconds to turn a record over.")
@click.option("--include-short", is_flag=True, help="Also scrobble tracks of 30 s or less.")
@click.option("--medium", help="For releases on several media: vinyl (default), cd, bluray, dvd, cassette, all.")
@click.option("--force", is_flag=True, help="Queue albums already waiting in another job; allow overlaps.")
@json_option
@click.pass_context
def queue_add(ctx: click.Context, albums: tuple[str, ...], every: bool, artist: str | None, genre: str | None,
              fmt: str | None, added_since: Any, added_before: Any, limit: int | None,
              finished_at: str | None, started_at: str | None, at: str | None, side_gap: int,
              include_short: bool, medium: str | None, force: bool, as_json: bool) -> None:
    """Queue ALBUMS, or albums chosen by filters, as one job.

    By default each album is timed when it is sent: laid into free listening
    time before that moment, never in the future, never older than 14 days,
    never overlapping another listen.

    \b
    Examples:
      python main.py scrobble queue add 2112-814617 "a kind of magic"
      python main.py scrobble queue add --genre "Prog Rock" --added-since 2024-01-01
      python main.py scrobble queue add --all
      python main.py scrobble queue add 814617 --at "2026-12-01T09:00"
    """
    now = time.time()
    settings = settings_of(ctx)
    filters = queue.Filters(artist, genre, fmt, added_since.strftime("%Y-%m-%d") if added_since else None,
                            added_before.strftime("%Y-%m-%d") if added_before else None, limit)
    if not albums and not every and not any([artist, genre, fmt, added_since, added_before]):
        raise click.UsageError("name ALBUMS, or choose with --all or a filter (--artist, --genre, …)")
    store = Store(settings.data_dir)
    slugs, problems = queue.select(store, list(albums), every, filters)
    private_dir(settings.state_dir)
    with Ledger(settings.state_dir) as ledger:
        result = queue.add_job(
            ledger, store, slugs, now, force=force, side_gap=side_gap, include_short=include_short,
            medium=(medium or "").lower() or None,
            started_at=parse_time(started_at, now) if started_at else None,
            finished_at=parse_time(finished_at, now) if finished_at else None,
            at=parse_time(at, now) if at else None,
        )
    errors = problems + result.errors
    if as_json:
        emit_json({"job": result.job["id"] if result.job else None, "albums": result.albums,
                   "tracks": result.tracks, "skipped": result.skipped, "errors": errors})
    else:
        for line in result.skipped:
            click.echo(f"skipped {line}", err=True)
        for line in errors:
            click.echo(f"error: {line}", err=True)
        if result.job:
            when = f", not before {local_clock(result.job['scheduled_at'])}" if result.job["scheduled_at"] else ""
            click.echo(f"job {result.job['id']}: {result.albums} albums, {result.tracks} tracks queued "
                       f"(timed {result.job['timing']}{when})")
        else:
            click.echo("nothing queued")
    ctx.exit(EXIT_ERROR if errors else EXIT_OK)


@queue_group.command("run")
@click.option("--max", "max_items", type=click.IntRange(min=1), help="Send at most this many scrobbles.")
@click.option("--for", "for_", help="Stop starting new batches after this long (e.g. 10m).")
@click.option("--daily-cap", type=click.IntRange(min=1), help="Scrobbles allowed in any 24 hours (overrides the learned cap).")
@json_option
@click.pass_context
def queue_run(ctx: click.Context, max_items: int | None, for_: str | None, daily_cap: int | None,
              as_json: bool) -> None:
    """Send what is due: the cron job. One run at a time; safe to kill at any moment.

    Exit 0 when it did its work (or found nothing due, or stopped at the
    daily cap), 75 when a temporary failure stopped it, 1 for configuration
    or sign-in problems.

    \b
    Example:
      python main.py scrobble queue run -q
    """
    settings = settings_of(ctx)
    if daily_cap:
        settings.daily_cap = daily_cap
    seconds = parse_span(for_) if for_ else None
    plain = not settings.quiet and not as_json and not sys.stderr.isatty()
    bar = None if settings.quiet or as_json or plain else progress_bar(settings, 1 << 30, "scrobble")
    if bar is not None:
        bar.total = None

    def on_batch(count: int) -> None:
        if bar is not None:
            bar.update(count)
        elif plain:
            click.echo(f"{iso_utc(time.time())} sent a batch of {count}")

    try:
        with service.online(settings) as online:
            result = queue.run_queue(online, max_items=max_items, seconds=seconds, on_batch=on_batch)
            requests = online.client.requests
    except queue.QueueBusy as exc:
        click.echo(str(exc))
        ctx.exit(EXIT_OK)
    finally:
        if bar is not None:
            bar.close()
    report = result.report
    summary = {
        "accepted": len(report.accepted), "ignored": len(report.ignored), "failed": len(report.failed),
        "reconciled": report.reconciled, "albums_timed": result.timed_albums, "requests": requests,
        "pending": result.pending, "waiting_reason": result.waiting,
        "next_send_at": iso_utc(result.next_send_at), "stopped": str(report.stopped) if report.stopped else None,
    }
    if as_json:
        emit_json(summary)
    else:
        line = (f"{iso_utc(time.time())} queue run: {summary['accepted']} accepted, {summary['ignored']} ignored, "
                f"{requests} requests; {result.pending} pending")
        if result.waiting:
            line += f"; waiting ({result.waiting.replace('_', ' ')})"
            if result.next_send_at:
                line += f" until {iso_utc(result.next_send_at)}"
        click.echo(line)
        if report.stopped:
            click.echo(f"error: {report.stopped}", err=True)
    ctx.exit(report.stopped.exit_code if report.stopped else EXIT_OK)


@queue_group.command("status")
@click.argument("job", required=False)
@json_option
@click.pass_context
def queue_status(ctx: click.Context, job: str | None, as_json: bool) -> None:
    """Each job's progress, what it waits for, and when it should finish.

    \b
    Example:
      python main.py scrobble queue status --json
    """
    settings = settings_of(ctx)
    private_dir(settings.state_dir)
    with Ledger(settings.state_dir) as ledger:
        if job:
            queue.job_of(ledger, job)
        info = queue.job_status(ledger, settings, time.time())
    if job:
        info["jobs"] = [j for j in info["jobs"] if j["id"] == job]
    if as_json:
        emit_json(info)
        return
    cap = info["daily_cap"]
    click.echo(f"daily cap {cap['value']} ({cap['source']}); sent in 24 h: {info['sent_24h']}; "
               f"left: {info['remaining_today']}")
    if not info["jobs"]:
        click.echo("no queue jobs")
    for j in info["jobs"]:
        click.echo(f"job {j['id']} [{j['status']}]: {j['albums']} albums, {j['tracks']} tracks — "
                   f"{j['accepted']} accepted, {j['ignored']} ignored, {j['pending']} pending, "
                   f"{j['in_flight']} in flight")
        for reason, count in j["ignored_reasons"].items():
            click.echo(f"    ignored {count}: {reason}")
        if j["waiting_reason"]:
            click.echo(f"    waiting: {j['waiting_reason'].replace('_', ' ')}"
                       + (f" until {j['next_send_at']}" if j["next_send_at"] else ""))
        if j["estimated_finish"]:
            click.echo(f"    estimated finish: {j['estimated_finish']}")


@queue_group.command("list")
@click.pass_context
def queue_list(ctx: click.Context) -> None:
    """One line per queue job.

    \b
    Example:
      python main.py scrobble queue list
    """
    settings = settings_of(ctx)
    private_dir(settings.state_dir)
    with Ledger(settings.state_dir) as ledger:
        info = queue.job_status(ledger, settings, time.time())
        created = {j["id"]: j["created_at"] for j in ledger.jobs.values()}
    if not info["jobs"]:
        click.echo("no queue jobs")
    for j in info["jobs"]:
        click.echo(f"{j['id']:>4}  {j['status']:<9} {local_clock(created[j['id']])}  {j['albums']:>5} albums  "
                   f"{j['accepted']:>6}/{j['tracks']} sent")


def _set_job(ctx: click.Context, job: str, status: str) -> None:
    settings = settings_of(ctx)
    private_dir(settings.state_dir)
    with Ledger(settings.state_dir) as ledger:
        found = queue.set_job_status(ledger, job, status)
    extra = f" ({found['dropped']} pending scrobbles dropped; what was sent stays in the history)" \
        if status == "cancelled" else ""
    click.echo(f"job {job} {status}{extra}")


@queue_group.command("pause")
@click.argument("job")
@click.pass_context
def queue_pause(ctx: click.Context, job: str) -> None:
    """Stop JOB being sent until it is resumed.

    \b
    Example:
      python main.py scrobble queue pause 3
    """
    _set_job(ctx, job, "paused")


@queue_group.command("resume")
@click.argument("job")
@click.pass_context
def queue_resume(ctx: click.Context, job: str) -> None:
    """Let a paused JOB be sent again.

    \b
    Example:
      python main.py scrobble queue resume 3
    """
    _set_job(ctx, job, "active")


@queue_group.command("cancel")
@click.argument("job")
@click.pass_context
def queue_cancel(ctx: click.Context, job: str) -> None:
    """Drop JOB's pending scrobbles; what was already sent stays in the history.

    \b
    Example:
      python main.py scrobble queue cancel 3
    """
    _set_job(ctx, job, "cancelled")


# --- lastfm -----------------------------------------------------------------

@cli.group()
def lastfm() -> None:
    """Sign in to Last.fm, see the sign-in state, sign out.

    \b
    Example:
      python main.py lastfm login
    """


def open_browser(url: str) -> None:
    import webbrowser

    try:
        webbrowser.get()
    except webbrowser.Error:
        return  # no browser on this machine: the printed URL is enough
    webbrowser.open(url)


@lastfm.command("login")
@click.option("--no-browser", is_flag=True, help="Only print the approval URL.")
@click.option("--username", help="Sign in with user name and password instead (headless machines).")
@click.option("--password-stdin", is_flag=True, help="With --username: read the password from standard input.")
@click.option("--poll-every", type=float, default=3.0, hidden=True)
@click.pass_context
def lastfm_login(ctx: click.Context, no_browser: bool, username: str | None, password_stdin: bool,
                 poll_every: float) -> None:
    """Sign in to Last.fm and keep the session privately in the state folder.

    By default this opens Last.fm's approval page (or prints its URL) and
    waits until you approve. On a machine without a browser, use a mobile
    session: the password is read from standard input, never stored.

    \b
    Examples:
      python main.py lastfm login
      printf '%s\\n' "$PASSWORD" | python main.py lastfm login --username me --password-stdin
    """
    settings = settings_of(ctx)
    settings.require_credentials()
    private_dir(settings.state_dir)
    client = LastFM(settings)
    if username:
        if not password_stdin:
            raise click.UsageError("--username needs --password-stdin (a password is never taken as an argument)")
        password = (click.prompt("Password", hide_input=True) if sys.stdin.isatty()
                    else sys.stdin.readline().rstrip("\r\n"))
        if not password:
            raise click.UsageError("no password on standard input")
        session = mobile_login(client, username, password)
    else:
        def show(url: str) -> None:
            click.echo(f"Approve this application on Last.fm:\n  {url}\nWaiting for approval (Ctrl-C to give up)…")
            if not no_browser:
                open_browser(url)

        session = web_login(client, show, poll_every)
    SessionStore(settings.state_dir).save(session)
    click.echo(f"signed in to Last.fm as {session.username}")


@lastfm.command("status")
@json_option
@click.pass_context
def lastfm_status(ctx: click.Context, as_json: bool) -> None:
    """Whether you are signed in, whether Last.fm still takes the session, and today's scrobbles.

    \b
    Example:
      python main.py lastfm status --json
    """
    info = service.status(settings_of(ctx))
    if as_json:
        emit_json(info)
    else:
        if not info["signed_in"]:
            click.echo("signed out: run `python main.py lastfm login`")
        else:
            valid = {True: "valid", False: "REVOKED", None: "not checked"}[info["session_valid"]]
            click.echo(f"signed in as {info['username']} (session {valid})")
            if info["playcount"] is not None:
                click.echo(f"Last.fm play count: {info['playcount']}")
        cap = info["daily_cap"]
        click.echo(f"sent in the last 24 hours: {info['sent_24h']} of {cap['value']} "
                   f"({cap['source']} daily cap); {info['remaining_today']} left")
        click.echo(f"pending: {info['pending']}, in flight: {info['in_flight']}")
        if info["problem"]:
            click.echo(info["problem"], err=True)
    if info["signed_in"] and info["session_valid"] is False:
        ctx.exit(EXIT_ERROR)


@lastfm.command("logout")
@click.pass_context
def lastfm_logout(ctx: click.Context) -> None:
    """Forget the saved Last.fm session.

    \b
    Example:
      python main.py lastfm logout
    """
    removed = SessionStore(settings_of(ctx).state_dir).clear()
    click.echo("signed out" if removed else "was not signed in")


# --- lastfm-enhance ---------------------------------------------------------

@cli.command("lastfm-enhance")
@click.argument("albums", nargs=-1)
@click.option("--max-age", default="7d", show_default=True,
              help="Ask album.getInfo again when the cached answer is older than this.")
@click.option("--refresh", is_flag=True, help="Ask album.getInfo for every album, cache or not.")
@click.option("--dry-run", is_flag=True, help="Show what would change (old → new); write nothing.")
@click.option("--strict", is_flag=True, help="Exit 1 if any album or request failed.")
@json_option
@click.pass_context
def lastfm_enhance(ctx: click.Context, albums: tuple[str, ...], max_age: str, refresh: bool, dry_run: bool,
                   strict: bool, as_json: bool) -> None:
    """Write Last.fm play counts, listeners and tags into the site's JSON (run before each deploy).

    Only files whose content changes are rewritten. A failure for one album
    keeps its previous values and the run goes on (exit 0; --strict: 1).

    \b
    Examples:
      python main.py lastfm-enhance
      python main.py lastfm-enhance 2112-814617 --dry-run
    """
    settings = settings_of(ctx)
    settings.require_credentials()
    private_dir(settings.state_dir)
    session = SessionStore(settings.state_dir).load()
    username = settings.username or (session.username if session else "")
    if not username:
        raise ConfigError("no Last.fm user: set LASTFM_USERNAME (or \"username\" in the config), "
                          "or sign in with `python main.py lastfm login`")
    store = Store(settings.data_dir)
    total = len(albums) or len(store.index())
    bar = progress_bar(settings, total, "album")
    plain = bar is None and not settings.quiet and not as_json and not sys.stderr.isatty()

    def on_album(outcome: Any) -> None:
        if bar is not None:
            bar.update(1)
        elif plain and outcome.status != "unchanged":
            click.echo(f"{outcome.slug}: {outcome.status}" + (f" ({outcome.error})" if outcome.error else ""),
                       err=True)

    cache = Cache(settings.state_dir)
    try:
        with Ledger(settings.state_dir) as ledger:
            report = enhance(store, LastFM(settings), username, cache, ledger, list(albums),
                             max_age=parse_span(max_age), refresh=refresh, dry_run=dry_run, on_album=on_album)
    finally:
        cache.close()
        if bar is not None:
            bar.close()
    if as_json:
        emit_json(report.to_json())
    else:
        for outcome in report.albums:
            if dry_run and outcome.changes:
                click.echo(f"{outcome.slug}:")
                for name, (old, new) in outcome.changes.items():
                    click.echo(f"    {name}: {old!r} → {new!r}")
            if outcome.refused:
                click.echo(f"{outcome.slug}: refused from Last.fm: {'; '.join(outcome.refused)}", err=True)
            if outcome.status == "failed":
                click.echo(f"warning: {outcome.slug}: {outcome.error} (previous values kept)", err=True)
        for warning in report.warnings:
            click.echo(f"warning: {warning}", err=True)
        click.echo(
            f"{len(report.albums)} albums: {report.count('updated')} {'would change' if dry_run else 'updated'}, "
            f"{report.count('unchanged')} unchanged, {report.unmatched} not in the user's top albums, "
            f"{report.count('failed')} failed; {report.requests} requests in {report.seconds:.1f} s; "
            f"{report.files_written} files written")
    failed = report.count("failed") or report.warnings
    ctx.exit(EXIT_ERROR if strict and failed else EXIT_OK)


def main() -> None:
    cli(prog_name="main.py")


if __name__ == "__main__":
    main()
