"""`scrobble queue …`: queue many records and let cron send them under Last.fm's limits."""

from __future__ import annotations

from typing import Any

import click

from app import App
from cli.group import AppGroup, error_line, logged_command
from cli.options import box_title_option, json_option, medium_options, pass_app, targets_option, time_of_day_options, timing_options
from cli.output import bars_shown, echo, emit_json, log_stamp, plain_progress, plural, progress_bar
from errors import ExitStatus
from scrobble import queue as jobs
from scrobble.daily_cap import forget_learned_cap
from scrobble.hours import parse_hours
from scrobble.ledger import ACTIVE, CANCELLED, PAUSED
from scrobble.queue_run import RunResult, expected_sends, run_queue
from scrobble.queue_status import queue_status
from scrobble.targets import choose_targets
from scrobble.timeparse import local_clock, parse_span, parse_time

MAX_RUN_SECONDS = 7 * 86400
MAX_GAP = 6 * 3600


@click.group("queue", cls=AppGroup)
def queue() -> None:
    """Queue many records and let cron send them under Last.fm's limits.

    Cron starts commands with none of your environment: put the API key,
    secret and user in the config file (scrapper/config.json), not in
    exported variables, and name the virtual environment's python.

    \b
    Example:
      python main.py scrobble queue add --artist rush
    \b
    Crontab line (`crontab -e`; every 15 minutes):
      */15 * * * * cd /path/to/repo/scrapper && ../.venv/bin/python main.py scrobble queue run -q >> scrobble.log 2>&1
    """


def _date(ctx: click.Context, param: click.Parameter, value: Any) -> str | None:
    return value.strftime("%Y-%m-%d") if value else None


@queue.command("add")
@click.argument("albums", nargs=-1)
@click.option("--all", "every", is_flag=True,
              help="Every album of the collection (with a filter: every album it leaves).")
@click.option("--artist", help="Albums whose artist contains this.")
@click.option("--genre", help="Albums with this genre or style.")
@click.option("--format", "fmt", help="Albums with this format (Vinyl, CD…).")
@click.option("--year", help="Albums released this year or in these years: 1977, 1970-1979, 1970s.")
@click.option("--added-since", type=click.DateTime(["%Y-%m-%d"]), callback=_date,
              help="Added to the collection on or after (YYYY-MM-DD).")
@click.option("--added-before", type=click.DateTime(["%Y-%m-%d"]), callback=_date, help="Added before (YYYY-MM-DD).")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many albums.")
@click.option("--lastfm", multiple=True, nargs=2, metavar="ARTIST TITLE",
              help="Also a record that is not in the collection, from Last.fm (one request each; repeat for more).")
@time_of_day_options
@click.option("--at", "at", help="Send nothing before this time (scheduled scrobbling).")
@click.option("--hours", help="Place the albums only within these hours of each day, local time: 18-01 is "
                              "6 pm to 1 am (10 minutes between albums unless --gap says otherwise).")
@click.option("--gap", help="Time left free before each album placed, e.g. 5m (default: 10m with --hours, else 0).")
@timing_options
@medium_options
@box_title_option
@click.option("--force", is_flag=True, help="Queue albums already waiting in another job; allow overlaps.")
@targets_option
@json_option
@pass_app
def queue_add(app: App, albums: tuple[str, ...], every: bool, artist: str | None, genre: str | None,
              fmt: str | None, year: str | None, added_since: str | None, added_before: str | None, limit: int | None,
              lastfm: tuple[tuple[str, str], ...], finished_at: str | None, started_at: str | None, at: str | None,
              hours: str | None, gap: str | None, side_gap: int,
              include_short: bool, medium: str | None, split_index: bool, box_title: bool, force: bool,
              to: str | None,
              as_json: bool) -> ExitStatus:
    """Queue ALBUMS, or albums chosen by filters, as one job.

    ALBUMS are slugs, Discogs release ids or URLs, or words from the artist
    and title, quoted or not (`rush 2112` is one album when `rush` alone is
    not).

    By default each album is timed when it is sent: laid into free listening
    time before that moment, never in the future, never older than 14 days,
    never overlapping another listen. --hours keeps the albums to the hours
    you really listen (with a gap between albums): believable, but slower,
    since each day then holds only those hours of music.

    \b
    Examples:
      python main.py scrobble queue add 2112-814617 "a kind of magic"
      python main.py scrobble queue add rush 2112
      python main.py scrobble queue add --genre "Prog Rock" --added-since 2024-01-01
      python main.py scrobble queue add --all
      python main.py scrobble queue add --all --hours 18-01
      python main.py scrobble queue add 814617 --at "2026-12-01T09:00"
      python main.py scrobble queue add --lastfm "Rush" "Moving Pictures"
    """
    choose_targets(app, to)
    now = app.clock()
    options = jobs.QueueOptions(
        started_at=parse_time(started_at, now) if started_at is not None else None,
        finished_at=parse_time(finished_at, now) if finished_at is not None else None,
        at=parse_time(at, now) if at is not None else None,
        force=force, side_gap=side_gap, include_short=include_short, medium=medium, split_index=split_index,
        hours=parse_hours(hours) if hours is not None else None,
        gap=parse_span(gap, MAX_GAP) if gap is not None else None,
        box_title=box_title,
    )
    filters = jobs.Filters(artist, genre, fmt, added_since, added_before, limit, year=year)
    result = jobs.add_job(app, list(albums), every, filters, options, list(lastfm))
    if as_json:
        emit_json(result.to_json())
    else:
        for line in result.skipped:
            echo(f"skipped {line}", err=True)
        for line in result.errors:
            echo(f"error: {line}", err=True)
            for candidate in result.candidates.get(line, []):
                echo(f"  {candidate}", err=True)
        if result.job:
            echo(f"job {result.job.id}: {plural(result.albums, 'album')}, {plural(result.tracks, 'track')} queued "
                       f"({jobs.describe_job(result.job)})")
        else:
            echo("nothing queued")
    return ExitStatus.ERROR if result.errors else ExitStatus.OK


def _run_line(result: RunResult, now: float) -> str:
    line = (f"{log_stamp(now)} queue run: {result.accepted} accepted, {result.ignored} ignored, "
            f"{plural(result.requests, 'request')}; {result.pending} pending")
    if result.waiting:
        line += f"; waiting ({result.waiting.replace('_', ' ')})"
        if result.next_send_at:
            line += f" until {log_stamp(result.next_send_at)}"
    lb = result.listenbrainz
    if lb is not None:
        line += (f"; ListenBrainz: {len(lb.accepted)} accepted, {len(lb.refused)} refused, "
                 f"{plural(lb.requests, 'request')}; {result.listenbrainz_pending} pending")
    return line


@queue.command("run")
@click.option("--max", "max_items", type=click.IntRange(min=1), help="Send at most this many scrobbles.")
@click.option("--for", "for_", help="Stop starting new batches after this long (e.g. 10m).")
@click.option("--daily-cap", type=click.IntRange(1, 100_000),
              help="Scrobbles allowed in any 24 hours, for this run (instead of the cap in force).")
@targets_option
@json_option
@logged_command
@pass_app
def queue_run(app: App, max_items: int | None, for_: str | None, daily_cap: int | None, to: str | None,
              as_json: bool) -> ExitStatus:
    """Send what is due: the cron job. One run at a time; safe to kill at any moment.

    Off a terminal (cron) it prints a line per batch and a summary, each
    starting with the time, as do its error lines; -q keeps only the summary,
    and prints nothing at all when nothing was due.

    Exit 0 when it did its work (or found nothing due, stopped at the daily
    cap, or another run was going), 75 when a temporary failure or a busy
    send lock stopped it, 1 for configuration or sign-in problems.

    \b
    Example:
      python main.py scrobble queue run -q
    """
    seconds = parse_span(for_, MAX_RUN_SECONDS) if for_ is not None else None
    choose_targets(app, to)
    plain = plain_progress(app.settings, as_json)
    # The total (what is due, within the cap) is counted only when a bar is drawn.
    bar = progress_bar(app.settings, expected_sends(app, max_items, daily_cap), "scrobble", as_json,
                       label="queue run") if bars_shown(app.settings, as_json) else None

    def on_batch(count: int) -> None:
        if bar is not None:
            bar.update(count)
        elif plain:
            echo(f"{log_stamp(app.clock())} sent a batch of {count}")

    try:
        result = run_queue(app, max_items, seconds, daily_cap, on_batch)
    finally:
        if bar is not None:
            bar.close()
    if as_json:
        emit_json(result.to_json())
    elif not (app.settings.quiet and result.idle):
        echo(_run_line(result, app.clock()))
    if result.stopped:
        echo(error_line(click.get_current_context(), str(result.stopped)), err=True)
    if result.listenbrainz is not None and result.listenbrainz.stopped:
        echo(error_line(click.get_current_context(), str(result.listenbrainz.stopped)), err=True)
    return result.exit_status


@queue.command("status")
@click.argument("job", required=False)
@json_option
@pass_app
def queue_status_command(app: App, job: str | None, as_json: bool) -> None:
    """Each job's progress, what it waits for, and when it should finish.

    \b
    Example:
      python main.py scrobble queue status --json
    """
    info = queue_status(app, job)
    if as_json:
        emit_json(info.to_json())
        return
    echo(f"daily cap {info.cap.value} ({info.cap.describe()}); sent in 24 h: {info.sent_24h}; "
               f"left: {info.remaining_today}")
    if not info.jobs:
        echo("no queue jobs")
    for j in info.jobs:
        data = j.to_json()
        echo(f"job {j.job.id} [{j.status}]: {plural(data['albums'], 'album')}, "
                   f"{plural(data['tracks'], 'track')} — "
                   f"{data['accepted']} accepted, {data['ignored']} ignored, {data['pending']} pending, "
                   f"{data['in_flight']} in flight")
        if data["listenbrainz"]:
            lb = data["listenbrainz"]
            echo(f"    ListenBrainz: {lb['accepted']} accepted, {lb['pending']} pending, "
                       f"{lb['in_flight']} in flight, {lb['refused']} refused")
        for reason, count in j.ignored_reasons.items():
            echo(f"    ignored {count}: {reason}")
        if j.waiting:
            echo(f"    waiting: {j.waiting.replace('_', ' ')}"
                       + (f" until {local_clock(j.next_send_at)}" if j.next_send_at else ""))
        for slug in j.too_long:
            echo(f"    {slug}: longer than Last.fm's 14-day window; it cannot be sent (cancel the job "
                       "or queue its sides apart)")
        if j.estimated_finish:
            echo(f"    estimated finish: {local_clock(j.estimated_finish)}")


@queue.command("list")
@click.option("--all", "show_all", is_flag=True, help="Finished jobs too (done, or cancelled).")
@pass_app
def queue_list(app: App, show_all: bool) -> None:
    """One line per queue job still sending; --all adds the finished ones.

    \b
    Examples:
      python main.py scrobble queue list
      python main.py scrobble queue list --all
    """
    info = queue_status(app)
    shown = [j for j in info.jobs if show_all or not j.finished]
    hidden = len(info.jobs) - len(shown)
    if not shown:
        echo("no queue jobs" if not info.jobs else "no queue jobs still sending")
    for j in shown:
        data = j.to_json()
        echo(f"{j.job.id:>4}  {j.status:<9} {local_clock(j.job.created_at)}  {data['albums']:>5} album{'s' if data['albums'] != 1 else ' '}  "
                   f"{data['accepted']:>6}/{data['tracks']} sent")
    if hidden:
        echo(f"({plural(hidden, 'finished job')} not shown: --all lists them, `queue clear` clears them)",
                   err=True)


@queue.command("clear")
@pass_app
def queue_clear(app: App) -> None:
    """Take finished jobs (done, or cancelled) off the lists; what they sent stays in the history.

    \b
    Example:
      python main.py scrobble queue clear
    """
    cleared = jobs.clear_finished(app)
    echo(f"cleared {plural(len(cleared), 'finished job')}" + (f" ({', '.join(cleared)})" if cleared else ""))


@queue.command("forget-cap")
@pass_app
def queue_forget_cap(app: App) -> None:
    """Forget the daily cap learned from Last.fm's answers, and the wait it set.

    The queue then uses the cap of --daily-cap, RUSSFM_DAILY_CAP or the
    config's "daily_cap" if set, else the default (2800). Those settings win
    over a learned cap anyway; this clears it for good.

    \b
    Example:
      python main.py scrobble queue forget-cap
    """
    forgotten = forget_learned_cap(app.ledger)
    echo(f"forgot the learned daily cap of {forgotten}" if forgotten is not None
               else "no daily cap was learned")


def _change(app: App, job: str, status: str) -> None:
    change = jobs.set_job_status(app, job, status)
    if change.finished:
        echo(f"job {change.job.id} is finished (nothing left to send): left as it was")
        return
    extra = ""
    if status == CANCELLED:
        extra = f" ({plural(change.dropped, 'pending scrobble')} dropped"
        if change.in_flight:
            extra += (f"; {change.in_flight} already on their way to Last.fm are settled by the run "
                      "sending them")
        extra += "; what was sent stays in the history)"
    echo(f"job {change.job.id} {status}{extra}")


@queue.command("pause")
@click.argument("job")
@pass_app
def queue_pause(app: App, job: str) -> None:
    """Stop JOB being sent until it is resumed (a running `queue run` stops before its next batch).

    \b
    Example:
      python main.py scrobble queue pause 3
    """
    _change(app, job, PAUSED)


@queue.command("resume")
@click.argument("job")
@pass_app
def queue_resume(app: App, job: str) -> None:
    """Let a paused JOB be sent again.

    \b
    Example:
      python main.py scrobble queue resume 3
    """
    _change(app, job, ACTIVE)


@queue.command("cancel")
@click.argument("job")
@pass_app
def queue_cancel(app: App, job: str) -> None:
    """Drop JOB's pending scrobbles; what was already sent stays in the history.

    \b
    Example:
      python main.py scrobble queue cancel 3
    """
    _change(app, job, CANCELLED)
