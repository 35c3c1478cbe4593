"""The group class every command group uses: global options on each command, errors turned into exit statuses."""

from __future__ import annotations

import os
import sqlite3
import sys
import functools
import time
from collections.abc import Callable
from typing import Any, TypeVar

import click

from cli.options import add_global_params
from cli.output import echo, log_stamp
from errors import AlbumNotFound, AmbiguousAlbum, ExitStatus, RussfmError
from statefiles import shown_path, storage_problem


F = TypeVar("F", bound=Callable[..., Any])
LOGGED = "russfm.logged"


def logged_command(func: F) -> F:
    """Marks a command cron runs: off a terminal its error lines start with the time, like its summaries."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        click.get_current_context().meta[LOGGED] = True
        return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def error_line(ctx: click.Context, message: str) -> str:
    """`error: …`, after the time when a log keeps it."""
    if ctx.meta.get(LOGGED) and not sys.stderr.isatty():
        return f"{log_stamp(time.time())} error: {message}"
    return f"error: {message}"


def system_error(exc: OSError | sqlite3.Error) -> str:
    """A failure from the system or sqlite in words, on one line."""
    reason = storage_problem(exc) or (exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc))
    where = getattr(exc, "filename", None)
    return " ".join(f"{shown_path(where) + ': ' if where else ''}{reason}".split())


class AppGroup(click.Group):
    """Turns the core's exceptions, Ctrl-C and broken pipes into one-line messages and exit statuses,
    and gives every command the global options."""

    group_class = type  # subgroups are AppGroups too

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        add_global_params(cmd)
        super().add_command(cmd, name)

    def invoke(self, ctx: click.Context) -> Any:
        """Commands return the ExitStatus of their result; it becomes the process's exit status."""
        try:
            status = super().invoke(ctx)
            if isinstance(status, ExitStatus) and status != ExitStatus.OK:
                ctx.exit(status)
            return status
        except RussfmError as exc:
            if exc.exit_status == ExitStatus.OK:  # not a failure (another queue run is going): a note on stdout
                echo(str(exc))
                ctx.exit(ExitStatus.OK)
            echo(error_line(ctx, str(exc)), err=True)
            if isinstance(exc, (AmbiguousAlbum, AlbumNotFound)):
                for candidate in exc.candidates:
                    echo(f"  {candidate}", err=True)
            ctx.exit(exc.exit_status)
        except KeyboardInterrupt:
            echo("interrupted", err=True)
            ctx.exit(ExitStatus.INTERRUPTED)
        except BrokenPipeError:
            # The reader went away (`| head`): stop quietly, and keep Python's
            # exit-time flush from raising again.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(ExitStatus.ERROR)
        except (OSError, sqlite3.Error) as exc:
            # What the core did not foresee from the disk (full, failing, a name too long): one line all the
            # same; each file was written in one step, so it is as its last step left it.
            echo(error_line(ctx, system_error(exc)), err=True)
            ctx.exit(ExitStatus.ERROR)
