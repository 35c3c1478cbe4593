"""Checking what a page sends: lengths, numbers, slugs, media and sides, with the commands' own rules."""

from __future__ import annotations

import re
from typing import Any

from errors import UsageError

MEDIA = ("vinyl", "cd", "bluray", "dvd", "cassette", "all")  # as `--medium` takes them
_SIDE = re.compile(r"^[A-Z]{1,3}$")
_SLUG = re.compile(r"^[^/\\\x00-\x1f]{1,300}$")


def field(form: Any, name: str, most: int, label: str | None = None) -> str:
    """A text field, trimmed; one sentence (naming it `label`) when it is longer than `most` characters."""
    value = form.get(name, "")
    if not isinstance(value, str):
        raise UsageError(f"{label or name} must be text")
    value = value.strip()
    if len(value) > most:
        raise UsageError(f"{label or name} is too long: at most {most} characters")
    return value


def number_of(form: Any, name: str, low: int, high: int) -> int | None:
    text = field(form, name, 12)
    if not text:
        return None
    if not re.fullmatch(r"[0-9]{1,12}", text) or not low <= int(text) <= high:
        raise UsageError(f"{name} must be a whole number from {low} to {high}")
    return int(text)


def slug_of(text: str) -> str:
    if not _SLUG.match(text) or text.startswith("."):
        raise UsageError("that is not a record of the collection")
    return text


def medium_of(form: Any) -> str | None:
    medium = field(form, "medium", 10).lower()
    if medium and medium not in MEDIA:
        raise UsageError(f"medium must be one of {', '.join(MEDIA)}")
    return medium or None


def sides_of(form: Any) -> list[str]:
    sides = [s.strip().upper() for s in form.getlist("side") if s.strip()] if hasattr(form, "getlist") else []
    if len(sides) > 52 or any(not _SIDE.match(s) for s in sides):
        raise UsageError("sides are letters such as A or B")
    return sides
