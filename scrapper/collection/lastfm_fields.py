"""The Last.fm fields of the static JSON: every value checked as if an attacker wrote it, then written in place.

The site renders these values, so only what passes is written: last.fm
URLs without anything that could leave an attribute or fool a reader, tags
that are short plain words, counts in a sane range, times that happened.
A value already in a file that fails the same checks is removed, and a
known value is never replaced by an empty one.
"""

from __future__ import annotations

import re
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

URL_PREFIX = "https://www.last.fm/"
MAX_URL_LENGTH = 400
MAX_TEXT = 300
MAX_TAGS = 10
MAX_TAG_LENGTH = 40
COUNT_LIMITS = {"listeners": 10**9, "playcount": 10**11, "userplaycount": 10**8}
EARLIEST = datetime(2002, 1, 1, tzinfo=timezone.utc)
_MBID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_UNSAFE_PUNCTUATION = set("\"'`<>\\")
ALBUM_FIELDS = ("listeners", "playcount", "userplaycount", "url", "mbid", "tags", "last_scrobbled")
INDEX_FIELDS = {
    "lastfm_listeners": "listeners", "lastfm_playcount": "playcount",
    "lastfm_user_playcount": "userplaycount", "lastfm_last_scrobbled": "last_scrobbled", "lastfm_url": "url",
}


def _unsafe_char(ch: str, space_ok: bool) -> bool:
    """Characters no value of the site may hold: quotes and brackets that end an attribute or start a tag,
    controls, bidi and zero-width formatting (categories Cc, Cf), and separators other than a plain space."""
    if ch == " ":
        return not space_ok
    return ch in _UNSAFE_PUNCTUATION or unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp")


def safe_text(value: object) -> str | None:
    """A name (artist, album, track) as the site may show it: invisible and control characters taken out,
    blanks collapsed, at most 300 characters; None when nothing is left, or when it holds an angle bracket
    (markup has no place in a name the site renders)."""
    if not isinstance(value, str) or "<" in value or ">" in value:
        return None
    kept = "".join(" " if ch.isspace() else ch for ch in value
                   if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn"))
    return " ".join(kept.split())[:MAX_TEXT] or None


def safe_url(value: object) -> str | None:
    if not isinstance(value, str) or not value.startswith(URL_PREFIX) or len(value) > MAX_URL_LENGTH:
        return None
    if any(_unsafe_char(ch, space_ok=False) for ch in value):
        return None
    return value


def safe_tag(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    tag = " ".join(value.split())
    if not tag or len(tag) > MAX_TAG_LENGTH or any(_unsafe_char(ch, space_ok=True) for ch in tag):
        return None
    lowered = tag.lower()
    if "://" in lowered or lowered.startswith(("www.", "javascript:", "data:")) or "/" in tag:
        return None  # a tag is a word, not an address
    return tag


def safe_count(name: str, value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < COUNT_LIMITS[name]:
        return value
    return None


def safe_time(value: object, now: float | None = None) -> str | None:
    """An ISO 8601 UTC time (…Z) between 2002 and now."""
    if not isinstance(value, str) or not _ISO_UTC.match(value):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if not EARLIEST <= moment <= datetime.fromtimestamp(now or time.time(), timezone.utc):
        return None
    return value


@dataclass
class Checked:
    values: dict[str, Any] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)


def check(raw: dict[str, Any], now: float | None = None) -> Checked:
    """Keep only values safe for a public site; name each one refused."""
    out = Checked()
    for name in COUNT_LIMITS:
        if name in raw:
            count = safe_count(name, raw[name])
            if count is None:
                out.refused.append(f"{name}={str(raw[name])[:40]!r} is not a count")
            else:
                out.values[name] = count
    if "url" in raw:
        url = safe_url(raw["url"])
        if url is None:
            out.refused.append(f"url={str(raw['url'])[:80]!r} is not a plain https://www.last.fm/ address")
        else:
            out.values["url"] = url
    if "mbid" in raw:
        mbid = raw["mbid"]
        if mbid == "" or (isinstance(mbid, str) and _MBID.match(mbid)):
            out.values["mbid"] = mbid
        else:
            out.refused.append(f"mbid={str(mbid)[:60]!r} is not a MusicBrainz id")
    if "tags" in raw:
        tags: list[str] = []
        for tag in raw["tags"] if isinstance(raw["tags"], list) else [raw["tags"]]:
            safe = safe_tag(tag)
            if safe is None:
                out.refused.append(f"tag {str(tag)[:40]!r}")
            elif safe not in tags:
                tags.append(safe)
        out.values["tags"] = tags[:MAX_TAGS]
    if "last_scrobbled" in raw:
        when = safe_time(raw["last_scrobbled"], now)
        if when is None:
            out.refused.append(f"last_scrobbled={str(raw['last_scrobbled'])[:40]!r} is not a past time")
        else:
            out.values["last_scrobbled"] = when
    return out


def current(data: dict) -> dict[str, Any]:
    services = data.get("services")
    block = services.get("lastfm") if isinstance(services, dict) else None
    return dict(block) if isinstance(block, dict) else {}


def _empty(value: Any) -> bool:
    return value in ("", None, [])


def _same(stored: Any, value: Any) -> bool:
    """Equal and of the same type: a stored `true` or `1.0` is not the count 1, and is written over."""
    return type(stored) is type(value) and stored == value


def apply_album(data: dict, values: dict[str, Any], stamp: str, now: float | None = None) -> dict[str, tuple[Any, Any]]:
    """Write `values` under services.lastfm, drop stored values that fail the checks, never blank a
    known value; returns {field: (old, new)} of what changed (new None: removed)."""
    services = data.get("services")
    if not isinstance(services, dict):
        services = data["services"] = {}
    block = services.get("lastfm")
    if not isinstance(block, dict):
        block = services["lastfm"] = {}
    stored = check({k: v for k, v in block.items() if k in ALBUM_FIELDS}, now).values
    changes: dict[str, tuple[Any, Any]] = {}
    for name in ALBUM_FIELDS:
        if name in block and name not in stored and name not in values:
            changes[name] = (block.pop(name), None)  # unsafe or impossible: remove it
    for name, value in values.items():
        if _empty(value) and not _empty(stored.get(name)):
            continue  # Last.fm forgot it, or failed to say: keep what was known
        if not _same(block.get(name), value):
            changes[name] = (block.get(name), value)
            block[name] = value
    if changes:
        block["updated_at"] = stamp
    return changes


def apply_index(entry: dict, block: dict[str, Any], now: float | None = None) -> bool:
    """The index entry mirrors the album's checked values, and loses values that fail the checks;
    True when it changed."""
    values = check({k: v for k, v in block.items() if k in ALBUM_FIELDS}, now).values
    changed = False
    for index_name, name in INDEX_FIELDS.items():
        if name in values:
            if not _same(entry.get(index_name), values[name]):
                entry[index_name] = values[name]
                changed = True
        elif index_name in entry and entry[index_name] is not None and \
                not check({name: entry[index_name]}, now).values:
            del entry[index_name]
            changed = True
    return changed
