"""Writing results: JSON to stdout, progress bars to stderr only on a terminal, plain lines for cron; every
line made safe for a terminal, whatever Last.fm or the collection put in a name."""

from __future__ import annotations

import json
import sys
import unicodedata
from typing import TYPE_CHECKING

import click

from config import Settings
from scrobble.timeparse import local_clock

if TYPE_CHECKING:
    from tqdm import tqdm


# Characters a terminal acts on or hides rather than shows: controls (C0, DEL, C1 such as U+009B, which
# some terminals take for ESC [), line and paragraph separators, format characters (bidi overrides and
# isolates, zero-width spaces and joiners, the BOM) and lone surrogates.
UNSAFE_CATEGORIES = frozenset(("Cc", "Cf", "Zl", "Zp", "Cs"))


def _unsafe(char: str) -> bool:
    return unicodedata.category(char) in UNSAFE_CATEGORIES


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def safe(text: object) -> str:
    """Text for one line of a terminal: every character it would act on or hide (a newline included, so no
    name can forge a line) shown as its escape, \\x1b, \\x9b, \\u202e…; everything else as it is."""
    value = str(text)
    if value.isprintable():  # the usual case, and fast: no control, format or separator character
        return value
    return "".join(_escape(c) if _unsafe(c) else c for c in value)


def echo(message: object = "", err: bool = False, nl: bool = True) -> None:
    """click.echo for every line the commands print: the line made safe; blank lines before it are kept."""
    text = str(message)
    body = text.lstrip("\n")
    click.echo("\n" * (len(text) - len(body)) + safe(body), err=err, nl=nl)


def _json_escape(char: str) -> str:
    code = ord(char)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def json_text(data: object, indent: int | None = 2) -> str:
    """JSON with the same values, its strings holding no character a terminal would act on: JSON escapes
    the C0 controls itself; DEL, C1, separators and format characters are written as \\u escapes too."""
    text = json.dumps(data, indent=indent, ensure_ascii=False)
    if text.isascii():
        return text.replace("\x7f", "\\u007f")
    return "".join(_json_escape(c) if ord(c) >= 0x7F and _unsafe(c) else c for c in text)


def emit_json(data: object) -> None:
    click.echo(json_text(data))


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
