"""Writing results: JSON to stdout, progress bars to stderr only on a terminal, plain lines for cron."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click

from config import Settings
from scrobble.timeparse import local_clock

if TYPE_CHECKING:
    from tqdm import tqdm


def emit_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def bars_shown(settings: Settings, as_json: bool = False) -> bool:
    """Whether progress bars are drawn: on a terminal, without -q or --json."""
    return not settings.quiet and not as_json and sys.stderr.isatty()


def progress_bar(settings: Settings, total: int | None, unit: str = "scrobble", as_json: bool = False,
                 label: str | None = None) -> tqdm | None:
    """A tqdm bar on stderr, only on a terminal and without -q or --json; None otherwise.

    Its rate is the average since it started (smoothing 0): a burst of quick
    answers never shows a rate the throttle would not allow."""
    if not bars_shown(settings, as_json) or (total is not None and total <= 0):
        return None
    from tqdm import tqdm  # imported only when a bar is drawn: it costs start-up time

    return tqdm(total=total, unit=unit, desc=label, file=sys.stderr, leave=False, smoothing=0)


def plain_progress(settings: Settings, as_json: bool = False) -> bool:
    """Whether to print a line per step instead of a bar: not on a terminal (cron's log), not with -q or --json."""
    return not settings.quiet and not as_json and not sys.stderr.isatty()


def log_stamp(ts: float) -> str:
    """The time at the start of a line a log keeps (cron's summaries and errors): local, zone shown."""
    return local_clock(ts)


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
