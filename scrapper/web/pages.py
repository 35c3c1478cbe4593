"""The page's handlers: each checks its input, calls one core function and renders its result."""

from __future__ import annotations

import re
from itertools import groupby
from typing import Any, cast
from urllib.parse import quote

from flask import Flask, abort, g, jsonify, redirect, render_template, request, send_file
from markupsafe import Markup
from werkzeug.wrappers import Response

from collection.album import Album, describe_length
from collection.browse import year_range
from collection.lookup import load_album
from collection.shelf import cover_path, search_shelf
from errors import AlbumNotFound, PlanError, RussfmError, UsageError
from history.archive import Archive, collection_matcher
from history.periods import PERIODS
from history.pick import NothingToPick, pick_record
from history.played import recently_played
from history.recent import recent_plays
from history.stats import history_stats
from scrobble import send
from scrobble.lastfm_albums import search_albums
from scrobble.live import prepare
from scrobble.live_session import COMMANDS
from scrobble.planner import PlanOptions, build_plan
from scrobble.queue import Filters, QueueOptions, add_job, set_job_status
from scrobble.queue_preview import filtered_slugs, preview_queue
from scrobble.queue_status import queue_status
from scrobble.timeparse import iso_utc, local_clock, parse_time
from web.forms import field, medium_of, number_of, sides_of, slug_of
from web.server import PageApp

PREVIEW_NAMES = 20  # records named on the queue's confirmation
PICK_SECONDS = 600  # the shelf's pick for tonight stays put for ten minutes


def _app() -> PageApp:
    return cast(PageApp, g.app)


def _record(slug: str) -> Album:
    """The album behind a slug of the index (the only slugs the page takes)."""
    slug = slug_of(slug)
    if not any(item.slug == slug for item, _, _ in _app().collection.shelf().rows):
        raise AlbumNotFound(f"there is no record {slug!r} in the collection")
    return load_album(_app().store, slug)


def _plan_options(form: Any) -> PlanOptions:
    now = _app().clock()
    finished = field(form, "finished_at", 40)
    return PlanOptions(finished_at=parse_time(finished, now) if finished else None,
                       sides=sides_of(form), medium=medium_of(form))


# --- the shelf ------------------------------------------------------------------------------------
def shelf() -> str:
    query = field(request.args, "q", 200, "the search")
    found = search_shelf(_app().collection.shelf(), query)
    app = _app()
    problem: str | None = None
    played, pick = [], None
    if not query:  # a search shows only what it found
        try:
            played = recently_played(app)
        except RussfmError as exc:  # a damaged archive or ledger leaves the shelf usable
            problem = str(exc)
        pick = app.collection.remembered("pick", PICK_SECONDS, lambda: _pick(app))
    return render_template("shelf.html", page="shelf", found=found, played=played, pick=pick, problem=problem,
                           local_clock=local_clock)


def _pick(app: PageApp) -> Any:
    try:
        return pick_record(app, Filters())
    except (NothingToPick, RussfmError):
        return None


def shelf_results() -> str:
    query = field(request.args, "q", 200, "the search")
    return render_template("shelf_results.html", found=search_shelf(_app().collection.shelf(), query))


def cover(slug: str) -> Response:
    path = cover_path(_app().store, slug_of(slug))
    if path is None:
        abort(404)
    return send_file(path, mimetype="image/jpeg", max_age=3600)


# --- a record -------------------------------------------------------------------------------------
def record(slug: str) -> str:
    album = _record(slug)
    medium = medium_of(request.args)
    tracks = album.playable(medium)
    app = _app()
    groups = [(key, list(rows)) for key, rows in groupby(tracks, key=lambda t: (t.disc, t.side))]
    warnings = list(album.warnings)
    untimed = sum(1 for t in tracks if t.duration is None)
    if untimed:
        warnings.append(f"{untimed} track{'s' if untimed != 1 else ''} without a known length: "
                        "3:00 each unless Last.fm knows better when it is sent")
    plan = None
    try:
        plan = build_plan(album, PlanOptions(medium=medium), app.clock())
    except PlanError as exc:
        warnings.append(str(exc))
    if plan is not None:
        clash = app.ledger.overlapping(plan.started_at, plan.finished_at)
        if clash:
            first = clash[0]
            warnings.append(f"If it finished now it would overlap {first.artist} — {first.track} at "
                            f"{local_clock(first.timestamp)} in the ledger: Just finished would be refused; "
                            "pick an earlier time")
        for title, why in plan.skipped:
            warnings.append(f"{title} is left out ({why})")
    return render_template("record.html", page="shelf", album=album, medium=medium, groups=groups,
                           describe_length=describe_length, warnings=warnings, plan=plan, media=album.media,
                           sides=sorted({t.side for t in tracks if t.side}), local_clock=local_clock,
                           has_cover=cover_path(app.store, album.slug) is not None)


def _lastfm_pair(form: Any) -> tuple[str, str] | None:
    artist, title = field(form, "lastfm_artist", 300), field(form, "lastfm_title", 300)
    if artist or title:
        if not (artist and title):
            raise UsageError("a record from Last.fm needs its artist and its title")
        return artist, title
    return None


def finished() -> tuple[str, int]:
    """Just finished: the plan ending now (or at the time picked), recorded and sent as `scrobble album`."""
    app = _app()
    lastfm = _lastfm_pair(request.form)
    slug = None if lastfm else _record(field(request.form, "slug", 300)).slug
    result = send.scrobble_album(app, slug, _plan_options(request.form), lastfm=lastfm)
    status = 409 if result.refused is not None and not result.scrobbles else 200
    return render_template("sent.html", page="shelf", result=result, slug=slug, lastfm=lastfm,
                           local_clock=local_clock), status


def play() -> Response:
    """Play along: the same preparation as `--live`, then the session plays in the server."""
    app = _app()
    app.session()  # not signed in: one sentence now, rather than a session that stops at once
    lastfm = _lastfm_pair(request.form)
    query = None if lastfm else _record(field(request.form, "slug", 300)).slug
    album = send.find_record(app, query, lastfm, signed=True)
    started = field(request.form, "started_at", 40)
    options = PlanOptions(sides=sides_of(request.form), medium=medium_of(request.form),
                          started_at=parse_time(started, app.clock()) if started else None)
    g.live.start(prepare(app, album, options))
    return redirect("/playing", code=303)


# --- now playing ----------------------------------------------------------------------------------
def playing() -> str:
    session = g.live.current
    state = session.state().to_json(session.clock.now()) if session else None
    return render_template("playing.html", page="playing", state=state, commands=COMMANDS)


def playing_state() -> Response:
    session = g.live.current
    if session is None:
        return jsonify({"phase": "none"})
    since = number_of(request.args, "since", 0, 1 << 40) or 0
    data = session.state(since).to_json(session.clock.now())
    data["running"] = session.running
    return jsonify(data)


def playing_command() -> Response:
    name = field(request.form, "command", 20)
    if name not in COMMANDS:
        raise UsageError("unknown command: use pause, resume, skip, side, skip-side or stop")
    session = g.live.current
    if session is None or not session.running:
        raise UsageError("nothing is playing along now")
    session.command(name)
    if request.headers.get("X-Requested-With") == "fetch":
        return jsonify({"ok": True})
    return redirect("/playing", code=303)


# --- the queue ------------------------------------------------------------------------------------
def queue() -> str:
    return render_template("queue.html", page="queue", info=queue_status(_app()), iso_utc=iso_utc,
                           local_clock=local_clock)


def _filters(form: Any) -> Filters:
    year = field(form, "year", 20) or None
    if year:
        year_range(year)  # 1977, 1970-1979 or 1970s, as `queue add --year` takes it
    return Filters(artist=field(form, "artist", 200) or None, genre=field(form, "genre", 200) or None,
                   format=field(form, "format", 100) or None, year=year)


def queue_preview() -> str:
    filters = _filters(request.args)
    app = _app()
    preview = preview_queue(app, filtered_slugs(app, filters))
    names = {item.slug: item for item, _, _ in app.collection.shelf().rows}
    shown = [names[slug] for slug in preview.slugs[:PREVIEW_NAMES] if slug in names]
    return render_template("queue_add.html", page="queue", preview=preview, filters=filters, year=filters.year,
                           shown=shown)


def queue_add() -> Response:
    app = _app()
    slug = field(request.form, "slug", 300)
    if slug:
        slugs = [_record(slug).slug]
    else:
        slugs = filtered_slugs(app, _filters(request.form))
    result = add_job(app, slugs, False, Filters(), QueueOptions(medium=medium_of(request.form)))
    if result.job is None:
        why = "; ".join(result.skipped + result.errors) or "nothing to queue"
        raise UsageError(f"nothing was queued: {why}")
    return redirect("/queue", code=303)


def queue_change(job: str, action: str) -> Response:
    statuses = {"pause": "paused", "resume": "active", "cancel": "cancelled"}
    if action not in statuses or not re.fullmatch(r"[0-9]{1,9}", job):
        raise UsageError("unknown queue action")
    set_job_status(_app(), job, statuses[action])
    return redirect("/queue", code=303)


# --- me -------------------------------------------------------------------------------------------
def me() -> str:
    app = _app()
    period = field(request.args, "period", 5) or "1mo"
    if period not in PERIODS:
        raise UsageError(f"unknown period {period!r}: choose {', '.join(PERIODS)}")
    saved = app.sessions.load()
    stats = stats_problem = None
    try:
        stats = history_stats(app, period)
    except RussfmError as exc:
        stats_problem = str(exc)
    recent, recent_source, recent_problem = [], "Last.fm", None
    try:
        recent = [p.to_json() for p in recent_plays(app, 10).plays]
    except RussfmError as exc:
        recent_problem = str(exc)
        recent_source = "the ledger"
        recent = [e.to_json() for e in app.ledger.latest(10) if e.timed]
    archive = Archive.existing(app.settings.state_dir)
    synced = None
    if archive is not None:
        with archive:
            synced = archive.synced_at
    return render_template("me.html", page="me", user=saved.username if saved else None, stats=stats,
                           stats_problem=stats_problem, period=period, periods=list(PERIODS), recent=recent,
                           recent_source=recent_source, recent_problem=recent_problem, synced=synced,
                           local_clock=local_clock, iso_utc=iso_utc)


# --- Last.fm search -------------------------------------------------------------------------------
def search() -> str:
    query = field(request.args, "q", 200, "the search")
    app = _app()
    found, problem = [], None
    if query:
        try:
            found = search_albums(app.client(), app.cache, collection_matcher(app.settings.state_dir, app.store),
                                  query, 10)
        except RussfmError as exc:  # no API key, Last.fm offline: one line on the page
            problem = str(exc)
    return render_template("search.html", page="search", query=query, found=found, problem=problem)


def register(flask: Flask) -> None:
    rules = [
        ("/", shelf, ["GET"]), ("/shelf/results", shelf_results, ["GET"]), ("/cover/<slug>", cover, ["GET"]),
        ("/record/<slug>", record, ["GET"]), ("/finished", finished, ["POST"]), ("/play", play, ["POST"]),
        ("/playing", playing, ["GET"]), ("/playing/state.json", playing_state, ["GET"]),
        ("/playing/command", playing_command, ["POST"]),
        ("/queue", queue, ["GET"]), ("/queue/add", queue_preview, ["GET"]), ("/queue/add", queue_add, ["POST"]),
        ("/queue/<job>/<action>", queue_change, ["POST"]), ("/me", me, ["GET"]), ("/search", search, ["GET"]),
    ]
    flask.jinja_env.globals["cover_img"] = cover_img
    for rule, view, methods in rules:
        flask.add_url_rule(rule, f"{view.__name__}_{methods[0].lower()}", view, methods=methods)  # type: ignore[arg-type]



def cover_img(slug: str) -> Any:
    """The record's cover from the collection's own files, or a plain placeholder (nothing from other hosts)."""
    if cover_path(_app().store, slug) is not None:
        return Markup('<img class="cover" src="/cover/{}" alt="" loading="lazy" width="48" height="48">').format(
            quote(slug, safe=""))
    return Markup('<span class="cover placeholder" aria-hidden="true">♪</span>')
