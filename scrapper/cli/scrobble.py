"""`scrobble album`, `scrobble track`, `scrobble history`: sending what was played."""

from __future__ import annotations

from typing import Any

import click

from app import App
from cli.group import AppGroup
from cli.listing import album_lines, media_column
from cli.live import play_along
from cli.options import json_option, pass_app, plan_options, plan_options_of, targets_option
from cli.output import echo, emit_json, plural, progress_bar
from collection.duration_format import format_duration
from errors import ExitStatus
from scrobble import send
from scrobble.ledger import ACCEPTED, FAILED, IGNORED, Entry
from scrobble.rows import IN_FLIGHT, LASTFM, LISTENBRAINZ, NOT_FOR_LASTFM, PENDING, REFUSED
from scrobble.planner import Plan
from scrobble.send import SendResult
from scrobble.targets import choose_targets
from scrobble.timeparse import local_clock, local_time, parse_span, parse_time


@click.group(cls=AppGroup)
def scrobble() -> None:
    """Send what was played to Last.fm.

    \b
    Example:
      python main.py scrobble album 2112-814617 --finished-at 21:30
    """


def render_plan(plan: Plan) -> None:
    total = plan.finished_at - plan.started_at
    echo(f"{plan.album_artist} — {plan.album}  [{plan.slug}]")
    echo(f"{plural(len(plan.scrobbles), 'track')}, {format_duration(total)}, "
               f"{local_clock(plan.started_at)} → {local_time(plan.finished_at)}")
    places = media_column([(s.medium, s.disc) for s in plan.scrobbles])
    starts = album_lines([s.album for s in plan.scrobbles], plan.album)
    for s, place, start in zip(plan.scrobbles, places, starts):
        if start:
            echo(start)
        artist = f"{s.artist} — " if s.artist != plan.album_artist else ""
        echo(f"{s.track_number:>3}  {s.position:<6} {place}{local_time(s.timestamp)}  "
                   f"{format_duration(s.duration):>7}  {s.duration_source:<8} {artist}{s.track}")
    for title, reason in plan.skipped:
        echo(f"  left out: {title} ({reason})")
    untimed = sum(1 for s in plan.scrobbles if s.duration_source == "default")
    if untimed:
        echo(f"  {plural(untimed, 'track')} without a known length: 3:00 each (default)")


def _entry_line(e: Entry) -> None:
    line = f"{local_time(e.timestamp)}  {e.artist} — {e.track}"
    if e.status == NOT_FOR_LASTFM:
        echo(_listenbrainz_line(e, line))
    elif e.status == ACCEPTED:
        fixes = ", ".join(f"{k} → {v}" for k, v in e.corrections.items())
        echo(f"  accepted  {line}" + (f"  (Last.fm corrected {fixes})" if fixes else ""))
    elif e.status == IGNORED:
        echo(f"  IGNORED   {line}: {e.to_json()['reason']}")
    elif e.status == FAILED:
        echo(f"  FAILED    {line}: {e.message}")
    else:
        why = "daily limit reached" if e.deferred else "kept for the next run"
        echo(f"  waiting   {line}: {why}")


def render_result(result: SendResult, as_json: bool) -> ExitStatus:
    if as_json:
        emit_json(result.to_json())
    else:
        for s in result.already:
            echo(f"  already   {s.artist} — {s.track} ({local_clock(s.timestamp)}): in the ledger, "
                       "not sent again")
        if result.kept:
            echo(f"  this listening was recorded before and not yet sent: sending its {result.kept} "
                       "scrobbles, not a second copy")
        for e in result.scrobbles:
            _entry_line(e)
        data = result.to_json()
        summary = f"{data['accepted']} accepted, {data['ignored']} ignored"
        if data["deferred"]:
            summary += f", {data['deferred']} kept for later"
        if result.reconciled:
            summary += f" ({result.reconciled} confirmed on Last.fm after an unanswered send)"
        if (result.scrobbles or not result.refused) and LASTFM in result.targets:
            echo(summary + f"; {plural(result.requests, 'request')} to Last.fm")
        if result.leftovers:
            left = data["leftovers"]
            echo(f"also sent what earlier commands left: {left['accepted']} accepted, {left['ignored']} "
                       f"ignored" + (f", {left['deferred']} kept for later" if left["deferred"] else ""))
            for e in result.leftovers:
                _entry_line(e)
            if not result.scrobbles and result.refused and LASTFM in result.targets:
                echo(f"{plural(result.requests, 'request')} to Last.fm")
        lb = result.listenbrainz
        if lb is not None:
            waiting = len(result.on_listenbrainz(PENDING, IN_FLIGHT))
            line = f"ListenBrainz: {len(lb.accepted)} accepted, {len(lb.refused)} refused"
            if waiting:
                line += f", {waiting} kept for later"
            if lb.reconciled:
                line += f" ({len(lb.reconciled)} confirmed there after an unanswered send)"
            echo(line + f"; {plural(lb.requests, 'request')} to ListenBrainz")
            for e in result.on_listenbrainz(REFUSED):
                if e.status != NOT_FOR_LASTFM:
                    echo(f"  ListenBrainz REFUSED {e.artist} — {e.track}: "
                               f"{e.targets[LISTENBRAINZ].get('message', '')}")
    lb_stopped = result.listenbrainz.stopped if result.listenbrainz is not None else None
    for problem in (result.stopped, lb_stopped, result.refused):
        if problem is not None:
            echo(f"error: {problem}", err=True)
    return result.exit_status


def _listenbrainz_line(e: Entry, line: str) -> str:
    """A listen sent to ListenBrainz only, as its state there says."""
    state = e.targets.get(LISTENBRAINZ, {})
    status = state.get("status")
    if status == ACCEPTED:
        return f"  accepted  {line}"
    if status == REFUSED:
        return f"  REFUSED   {line}: {state.get('message', '')}"
    return f"  waiting   {line}: kept for the next run"


@scrobble.command("album")
@click.argument("album", required=False)
@click.option("--lastfm", nargs=2, metavar="ARTIST TITLE",
              help="A record that is not in the collection: Last.fm's tracklist and durations (one request).")
@plan_options
@click.option("--dry-run", is_flag=True, help="Show the plan; send nothing.")
@click.option("--lookup", is_flag=True, help="With --dry-run: ask Last.fm for durations Discogs and Spotify lack.")
@click.option("--force", is_flag=True, help="Send even if the time overlaps a listen already in the ledger.")
@targets_option
@click.option("--live", is_flag=True,
              help="Play along as the record plays: now playing at each track's start, each track scrobbled once "
                   "it has played half its length or 4 minutes (never tracks of 30 s or less).")
@json_option
@pass_app
def scrobble_album(app: App, album: str | None, lastfm: tuple[str, str] | None, dry_run: bool, lookup: bool,
                   force: bool, to: str | None, live: bool, as_json: bool, **opts: Any) -> ExitStatus:
    """Scrobble ALBUM as just played, timed from its real track durations.

    ALBUM is a slug, a Discogs release id or URL, or words from the artist
    and title; --lastfm ARTIST TITLE takes a record that is not in the
    collection from Last.fm instead. Tracks go in batches of up to 50 per
    request; the result is shown per track. Exit 0: all accepted; 3: some
    ignored; 75: try again later.

    --live plays along from now (or --started-at, when the needle dropped a
    moment ago): track.updateNowPlaying at each track's start, each track
    scrobbled from its start once it has played half its length or 4
    minutes; tracks of 30 s or less are never scrobbled (Last.fm's rule:
    --include-short, --dry-run and --finished-at do not go with --live).
    At the end of a side it waits for Enter on a terminal (s skips the
    side, q stops), elsewhere --side-gap seconds. Keys: space pauses, n
    next track, q or Ctrl-C stops (130). --json prints one event per line.

    \b
    Examples:
      python main.py scrobble album 2112-814617 --dry-run
      python main.py scrobble album "rush 2112" --side B --finished-at "10m ago"
      python main.py scrobble album --lastfm "Rush" "Moving Pictures" --dry-run
      python main.py scrobble album 2112-814617 --live --started-at "2m ago"
    """
    if bool(album) == bool(lastfm):
        raise click.UsageError("name an ALBUM of the collection, or give --lastfm ARTIST TITLE (not both)")
    options = plan_options_of(app.clock(), opts)
    if not dry_run:
        choose_targets(app, to)
    if live:
        for given, name in ((dry_run, "--dry-run"), (opts.get("finished_at"), "--finished-at"),
                            (opts.get("include_short"), "--include-short")):
            if given:
                raise click.UsageError(f"--live plays from now or --started-at: it cannot go with {name}")
        return play_along(app, album, lastfm, options, force, as_json)
    if dry_run:
        plan = send.plan_album(app, album, options, lookup, lastfm)
        if as_json:
            emit_json(plan.to_json())
        else:
            render_plan(plan)
            echo("dry run: nothing sent")
        return ExitStatus.OK
    bar = None

    def announce(plan: Plan) -> None:
        nonlocal bar
        if not as_json:
            echo(f"{plan.album_artist} — {plan.album}  [{plan.slug}]: {plural(len(plan.scrobbles), 'track')}, "
                       f"{local_clock(plan.started_at)} → {local_time(plan.finished_at)}")
        bar = progress_bar(app.settings, len(plan.scrobbles), "scrobble", as_json, label="scrobble")

    try:
        result = send.scrobble_album(app, album, options, force, on_plan=announce,
                                     on_batch=lambda n: bar.update(n) if bar is not None else None, lastfm=lastfm)
    finally:
        if bar is not None:
            bar.close()
    return render_result(result, as_json)


@scrobble.command("track")
@click.option("--artist", required=True, help="The track's artist.")
@click.option("--track", "title", required=True, help="The track's title.")
@click.option("--album", default="", help="The album it is on.")
@click.option("--album-artist", default="", help="The album's artist, if not the track's.")
@click.option("--at", "at", help="When it started (default: its duration ago). Same forms as --finished-at.")
@click.option("--duration", help="Its length: seconds, or 3m20s (default 180 s; at most 6 hours).")
@click.option("--now-playing", is_flag=True, help="Send track.updateNowPlaying instead of a scrobble.")
@click.option("--force", is_flag=True, help="Send even if the time overlaps a listen already in the ledger.")
@targets_option
@json_option
@pass_app
def scrobble_track(app: App, artist: str, title: str, album: str, album_artist: str, at: str | None,
                   duration: str | None, now_playing: bool, force: bool, to: str | None, as_json: bool) -> ExitStatus:
    """Scrobble one track, or show it as now playing.

    \b
    Examples:
      python main.py scrobble track --artist Rush --track "Closer To The Heart" --at "5m ago"
      python main.py scrobble track --artist Rush --track Xanadu --now-playing
    """
    seconds = parse_span(duration, send.MAX_TRACK_SECONDS) if duration is not None else 180
    choose_targets(app, to)
    if now_playing:
        shown = send.now_playing(app, artist, title, album, album_artist, seconds)
        answer = shown.lastfm
        if as_json:
            emit_json(shown.to_json())
        elif answer is not None and answer.accepted:
            echo(f"now playing on Last.fm: {artist} — {title}")
        elif answer is not None:
            echo(f"Last.fm ignored it: {answer.reason}")
        if not as_json and shown.listenbrainz == "ok":
            echo(f"now playing on ListenBrainz: {artist} — {title}")
        elif shown.listenbrainz is not None:
            echo(f"error: {shown.listenbrainz}", err=True)
        return shown.exit_status
    started = parse_time(at, app.clock()) if at is not None else None
    return render_result(send.scrobble_track(app, artist, title, album, album_artist, started, seconds, force),
                         as_json)


@scrobble.command("history")
@click.option("--limit", type=click.IntRange(1, 100_000), default=10, show_default=True, help="How many.")
@json_option
@pass_app
def scrobble_history(app: App, limit: int, as_json: bool) -> None:
    """The latest scrobbles in the ledger, newest first, with what became of each.

    \b
    Example:
      python main.py scrobble history --limit 20
    """
    entries = app.ledger.latest(limit)
    if as_json:
        emit_json([e.to_json() for e in entries])
        return
    if not entries:
        echo("the ledger is empty")
    for e in entries:
        when = local_clock(e.timestamp) if e.timed else f"{'not yet timed':<25}"
        reason = f" ({e.to_json()['reason']})" if e.status == IGNORED else ""
        job = f"  [queue job {e.job}]" if e.job else ""
        there = e.target_status(LISTENBRAINZ)
        elsewhere = f"  [ListenBrainz: {there}]" if there else ""
        echo(f"{when}  {e.status:<9} {e.artist} — {e.track}{reason}{job}{elsewhere}")
