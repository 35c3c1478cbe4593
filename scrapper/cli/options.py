"""Options shared by several commands, declared once: the global ones, plan choices, --json, and the app."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from app import App
from cli.output import safe
from config import load_settings
from scrobble.planner import MAX_SIDE_GAP, PlanOptions
from scrobble.timeparse import parse_time

F = TypeVar("F", bound=Callable[..., Any])
GLOBALS = "russfm.globals"
APP = "russfm.app"
MEDIA = ("vinyl", "cd", "bluray", "dvd", "cassette", "all")


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Global options may come before or after the command; both places feed one set of values."""
    if value in (None, False, 0):
        return value
    given = ctx.find_root().meta.setdefault(GLOBALS, {})
    if param.name == "verbose":
        given["verbose"] = given.get("verbose", 0) + value
    else:
        given[str(param.name)] = value
    return value


def global_params() -> list[click.Option]:
    """--data-dir, --state-dir, --config, -v, -q: given to the root group and to every group and command."""
    return [
        click.Option(["--data-dir"], type=click.Path(file_okay=False), expose_value=False, callback=_remember,
                     help="The collection's public/ folder (default: the repository's public/; RUSSFM_DATA_DIR)."),
        click.Option(["--state-dir"], type=click.Path(file_okay=False), expose_value=False, callback=_remember,
                     help="Private folder for the session, ledger and caches (RUSSFM_STATE_DIR)."),
        click.Option(["--config"], type=click.Path(dir_okay=False), expose_value=False, callback=_remember,
                     help='JSON config with a "lastfm" section (default: scrapper/config.json; RUSSFM_CONFIG).'),
        click.Option(["-v", "--verbose"], count=True, expose_value=False, callback=_remember,
                     help="Log what is done (-vv: every request, secrets redacted)."),
        click.Option(["-q", "--quiet"], is_flag=True, expose_value=False, callback=_remember,
                     help="No progress bars or per-batch lines; only results and errors."),
    ]


def add_global_params(command: click.Command) -> None:
    names = {p.name for p in command.params}
    command.params.extend(p for p in global_params() if p.name not in names)


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = safe(record.getMessage())  # log lines carry names from Last.fm too
        if record.levelno >= logging.WARNING:
            return f"{record.levelname.lower()}: {message}"
        return f"{record.name}: {message}"


def _configure_logging(verbose: int) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    logger = logging.getLogger("russfm")
    logger.handlers[:] = [handler]
    # Only the project's own loggers get chattier: libraries below log bodies and headers.
    logger.setLevel(logging.WARNING if not verbose else logging.INFO if verbose == 1 else logging.DEBUG)


def app_of(ctx: click.Context) -> App:
    """The command's App, built once from the global options wherever they were typed; closed with the context."""
    root = ctx.find_root()
    app = root.meta.get(APP)
    if app is None:
        given = root.meta.get(GLOBALS, {})
        _configure_logging(given.get("verbose", 0))
        settings = load_settings(given.get("data_dir"), given.get("state_dir"), given.get("config"),
                                 given.get("verbose", 0), given.get("quiet", False))
        logging.getLogger("russfm.config").info(
            "config file %s; data folder %s; state folder %s",
            settings.config_file or "none", settings.data_dir.resolve(), settings.state_dir.resolve())
        command = " ".join(ctx.command_path.split()[1:]) or "russfm"
        app = root.meta[APP] = App(settings, command)
        root.call_on_close(app.close)
    return app


def pass_app(func: F) -> F:
    """Give the command its App as first argument (click's pass_obj, built lazily)."""

    @click.pass_context
    def wrapper(ctx: click.Context, *args: Any, **kwargs: Any) -> Any:
        return ctx.invoke(func, app_of(ctx), *args, **kwargs)

    return functools.update_wrapper(wrapper, func)  # type: ignore[return-value]


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")(func)


def _medium(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    return value.lower() if value else None


def medium_options(func: F) -> F:
    func = click.option("--split-index", is_flag=True,
                        help="Scrobble the movements of an index work (a suite) as separate tracks.")(func)
    return click.option("--medium", type=click.Choice(MEDIA, case_sensitive=False), callback=_medium,
                        help="For releases on several media: vinyl (the default when present), cd, bluray, "
                             "dvd, cassette or all.")(func)


def _sides(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> list[str]:
    return [s.strip().upper() for part in value for s in part.split(",") if s.strip()]


def side_option(func: F) -> F:
    return click.option("--side", "sides", multiple=True, callback=_sides,
                        help="Only this side (A, B…); repeat or give A,B.")(func)


def disc_option(func: F) -> F:
    return click.option("--disc", type=click.IntRange(1, 999),
                        help="Only this disc (for LPs: sides A/B are disc 1, C/D disc 2).")(func)


def box_title_option(func: F) -> F:
    return click.option("--box-title", is_flag=True,
                        help="A box set whose headings name its albums: every track under the box's title "
                             "instead of its album's.")(func)


def selection_options(func: F) -> F:
    """What was played of an album: --medium, --split-index, --side, --disc, --box-title (show and plan alike)."""
    for decorator in reversed([side_option, disc_option, medium_options, box_title_option]):
        func = decorator(func)
    return func


def time_of_day_options(func: F) -> F:
    """--finished-at and --started-at, read later against the command's clock (see plan_options_of)."""
    func = click.option("--started-at", help="When the first track started, instead of --finished-at.")(func)
    return click.option("--finished-at",
                        help="When the last track ended (default: now): ISO 8601, HH:MM, '45m ago' or unix seconds.")(func)


def timing_options(func: F) -> F:
    """How the selected tracks are laid out: side gaps and short tracks."""
    func = click.option("--include-short", is_flag=True, help="Also scrobble tracks of 30 s or less.")(func)
    return click.option("--side-gap", type=click.IntRange(0, MAX_SIDE_GAP), default=0, show_default=True,
                        help="Seconds to turn the record over between sides.")(func)


def plan_options(func: F) -> F:
    """The options that choose what was played and when."""
    for decorator in reversed([
        time_of_day_options,
        side_option,
        disc_option,
        click.option("--tracks", help="Only these track numbers, e.g. 1-3,5 (numbers as `albums show` lists them)."),
        timing_options,
        medium_options,
        box_title_option,
    ]):
        func = decorator(func)
    return func


def plan_options_of(now: float, opts: dict[str, Any]) -> PlanOptions:
    """The plan options from the parsed command line (times read against `now`)."""
    return PlanOptions(
        finished_at=parse_time(opts["finished_at"], now) if opts.get("finished_at") is not None else None,
        started_at=parse_time(opts["started_at"], now) if opts.get("started_at") is not None else None,
        sides=opts.get("sides") or [],
        disc=opts.get("disc"),
        tracks=opts.get("tracks"),
        side_gap=opts.get("side_gap") or 0,
        include_short=bool(opts.get("include_short")),
        medium=opts.get("medium"),
        split_index=bool(opts.get("split_index")),
        box_title=bool(opts.get("box_title")),
    )


def targets_option(func: F) -> F:
    return click.option("--to", "to", metavar="SERVICES",
                        help="Send to these services: lastfm, listenbrainz or both, comma-separated (default: "
                             "RUSSFM_TARGETS, the config's \"targets\", else every service signed in to).")(func)
