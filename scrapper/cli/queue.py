"""`scrobble queue …`: queue many records and let cron send them under Last.fm's limits."""

from __future__ import annotations

from typing import Any

import click

from app import App
from cli.group import AppGroup
from cli.options import box_title_option, json_option, medium_options, pass_app, time_of_day_options, timing_options
from cli.output import emit_json, plain_progress, plural, progress_bar
from errors import ExitStatus
from scrobble import queue as jobs
from scrobble.ledger import ACTIVE, CANCELLED, PAUSED
from scrobble.queue_run import RunResult, run_queue
from scrobble.queue_status import queue_status
from scrobble.timeparse import iso_utc, local_clock, parse_span, parse_time

MAX_RUN_SECONDS = 7 * 86400


@click.group("queue", cls=AppGroup)
def queue() -> None:
    """Queue many records and let cron send them under Last.fm's limits.

    \b
    Example:
      python main.py scrobble queue add --artist rush
      */15 * * * * cd …/scrapper && python main.py scrobble queue run -q >> scrobble.log 2>&1
    """


def _date(ctx: click.Context, param: click.Parameter, value: Any) -> str | None:
    return value.strftime("%Y-%m-%d") if value else None


@queue.command("add")
@click.argument("albums", nargs=-1)
@click.option("--all", "every", is_flag=True, help="Every album of the collection.")
@click.option("--artist", help="Albums whose artist contains this.")
@click.option("--genre", help="Albums with this genre or style.")
@click.option("--format", "fmt", help="Albums with this format (Vinyl, CD…).")
@click.option("--added-since", type=click.DateTime(["%Y-%m-%d"]), callback=_date,
              help="Added to the collection on or after (YYYY-MM-DD).")
@click.option("--added-before", type=click.DateTime(["%Y-%m-%d"]), callback=_date, help="Added before (YYYY-MM-DD).")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many albums.")
@click.option("--lastfm", multiple=True, nargs=2, metavar="ARTIST TITLE",
              help="Also a record that is not in the collection, from Last.fm (one request each; repeat for more).")
@time_of_day_options
@click.option("--at", "at", help="Send nothing before this time (scheduled scrobbling).")
@timing_options
@medium_options
@box_title_option
@click.option("--force", is_flag=True, help="Queue albums already waiting in another job; allow overlaps.")
@json_option
@pass_app
def queue_add(app: App, albums: tuple[str, ...], every: bool, artist: str | None, genre: str | None,
              fmt: str | None, added_since: str | None, added_before: str | None, limit: int | None,
              lastfm: tuple[tuple[str, str], ...], finished_at: str | None, started_at: str | None, at: str | None, side_gap: int,
              include_short: bool, medium: str | None, split_index: bool, box_title: bool, force: bool,
              as_json: bool) -> ExitStatus:
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
      python main.py scrobble queue add --lastfm "Rush" "Moving Pictures"
    """
    now = app.clock()
    options = jobs.QueueOptions(
        started_at=parse_time(started_at, now) if started_at else None,
        finished_at=parse_time(finished_at, now) if finished_at else None,
        at=parse_time(at, now) if at else None,
        force=force, side_gap=side_gap, include_short=include_short, medium=medium, split_index=split_index,
        box_title=box_title,
    )
    filters = jobs.Filters(artist, genre, fmt, added_since, added_before, limit)
    result = jobs.add_job(app, list(albums), every, filters, options, list(lastfm))
    if as_json:
        emit_json(result.to_json())
    else:
        for line in result.skipped:
            click.echo(f"skipped {line}", err=True)
        for line in result.errors:
            click.echo(f"error: {line}", err=True)
        if result.job:
            click.echo(f"job {result.job.id}: {result.albums} albums, {result.tracks} tracks queued "
                       f"({jobs.describe_job(result.job)})")
        else:
            click.echo("nothing queued")
    return ExitStatus.ERROR if result.errors else ExitStatus.OK


def _run_line(result: RunResult, now: float) -> str:
    line = (f"{iso_utc(now)} queue run: {result.accepted} accepted, {result.ignored} ignored, "
            f"{plural(result.requests, 'request')}; {result.pending} pending")
    if result.waiting:
        line += f"; waiting ({result.waiting.replace('_', ' ')})"
        if result.next_send_at:
            line += f" until {iso_utc(result.next_send_at)}"
    return line


@queue.command("run")
@click.option("--max", "max_items", type=click.IntRange(min=1), help="Send at most this many scrobbles.")
@click.option("--for", "for_", help="Stop starting new batches after this long (e.g. 10m).")
@click.option("--daily-cap", type=click.IntRange(1, 100_000),
              help="Scrobbles allowed in any 24 hours, for this run (instead of the cap in force).")
@json_option
@pass_app
def queue_run(app: App, max_items: int | None, for_: str | None, daily_cap: int | None,
              as_json: bool) -> ExitStatus:
    """Send what is due: the cron job. One run at a time; safe to kill at any moment.

    Exit 0 when it did its work (or found nothing due, stopped at the daily
    cap, or another run was going), 75 when a temporary failure or a busy
    send lock stopped it, 1 for configuration or sign-in problems.

    \b
    Example:
      python main.py scrobble queue run -q
    """
    seconds = parse_span(for_, MAX_RUN_SECONDS) if for_ else None
    plain = plain_progress(app.settings, as_json)
    bar = progress_bar(app.settings, None, "scrobble", as_json)

    def on_batch(count: int) -> None:
        if bar is not None:
            bar.update(count)
        elif plain:
            click.echo(f"{iso_utc(app.clock())} sent a batch of {count}")

    try:
        result = run_queue(app, max_items, seconds, daily_cap, on_batch)
    finally:
        if bar is not None:
            bar.close()
    if as_json:
        emit_json(result.to_json())
    else:
        click.echo(_run_line(result, app.clock()))
    if result.stopped:
        click.echo(f"error: {result.stopped}", err=True)
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
    source = {"learned": "learned from Last.fm's answers", "config": "from the configuration",
              "default": "default", "option": "given"}[info.cap.source]
    click.echo(f"daily cap {info.cap.value} ({source}); sent in 24 h: {info.sent_24h}; "
               f"left: {info.remaining_today}")
    if not info.jobs:
        click.echo("no queue jobs")
    for j in info.jobs:
        data = j.to_json()
        click.echo(f"job {j.job.id} [{j.status}]: {data['albums']} albums, {data['tracks']} tracks — "
                   f"{data['accepted']} accepted, {data['ignored']} ignored, {data['pending']} pending, "
                   f"{data['in_flight']} in flight")
        for reason, count in j.ignored_reasons.items():
            click.echo(f"    ignored {count}: {reason}")
        if j.waiting:
            click.echo(f"    waiting: {j.waiting.replace('_', ' ')}"
                       + (f" until {data['next_send_at']}" if data["next_send_at"] else ""))
        for slug in j.too_long:
            click.echo(f"    {slug}: longer than Last.fm's 14-day window; it cannot be sent (cancel the job "
                       "or queue its sides apart)")
        if data["estimated_finish"]:
            click.echo(f"    estimated finish: {data['estimated_finish']}")


@queue.command("list")
@pass_app
def queue_list(app: App) -> None:
    """One line per queue job.

    \b
    Example:
      python main.py scrobble queue list
    """
    info = queue_status(app)
    if not info.jobs:
        click.echo("no queue jobs")
    for j in info.jobs:
        data = j.to_json()
        click.echo(f"{j.job.id:>4}  {j.status:<9} {local_clock(j.job.created_at)}  {data['albums']:>5} albums  "
                   f"{data['accepted']:>6}/{data['tracks']} sent")


def _change(app: App, job: str, status: str) -> None:
    change = jobs.set_job_status(app, job, status)
    extra = ""
    if status == CANCELLED:
        extra = f" ({plural(change.dropped, 'pending scrobble')} dropped"
        if change.in_flight:
            extra += (f"; {change.in_flight} already on their way to Last.fm are settled by the run "
                      "sending them")
        extra += "; what was sent stays in the history)"
    click.echo(f"job {change.job.id} {status}{extra}")


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
