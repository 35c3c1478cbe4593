"""The Last.fm fields of the static JSON: checking values from the network, and writing them in place."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

URL_PREFIX = "https://www.last.fm/"
MAX_TAGS = 10
MAX_TAG_LENGTH = 64
MAX_COUNT = 10**12
_MBID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f<>]")
ALBUM_FIELDS = ("listeners", "playcount", "userplaycount", "url", "mbid", "tags", "last_scrobbled")
INDEX_FIELDS = {
    "lastfm_listeners": "listeners", "lastfm_playcount": "playcount",
    "lastfm_user_playcount": "userplaycount", "lastfm_last_scrobbled": "last_scrobbled", "lastfm_url": "url",
}


@dataclass
class Checked:
    values: dict[str, Any] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)


def check(raw: dict[str, Any]) -> Checked:
    """Keep only values safe for a public site; name each one refused."""
    out = Checked()
    for name in ("listeners", "playcount", "userplaycount"):
        if name not in raw:
            continue
        value = raw[name]
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < MAX_COUNT:
            out.values[name] = value
        else:
            out.refused.append(f"{name}={value!r} is not a count")
    if "url" in raw:
        url = raw["url"]
        if isinstance(url, str) and url.startswith(URL_PREFIX) and not _CONTROL.search(url) and len(url) < 500:
            out.values["url"] = url
        else:
            out.refused.append(f"url={str(url)[:80]!r} is not a https://www.last.fm/ address")
    if "mbid" in raw:
        mbid = raw["mbid"]
        if mbid == "" or (isinstance(mbid, str) and _MBID.match(mbid)):
            out.values["mbid"] = mbid
        else:
            out.refused.append(f"mbid={str(mbid)[:60]!r} is not a MusicBrainz id")
    if "tags" in raw:
        tags = []
        for tag in raw["tags"] if isinstance(raw["tags"], list) else [raw["tags"]]:
            if isinstance(tag, str) and tag.strip() and len(tag) <= MAX_TAG_LENGTH and not _CONTROL.search(tag):
                tags.append(tag.strip())
            else:
                out.refused.append(f"tag {str(tag)[:40]!r}")
        out.values["tags"] = tags[:MAX_TAGS]
    if "last_scrobbled" in raw:
        out.values["last_scrobbled"] = raw["last_scrobbled"]
    return out


def apply_album(data: dict, values: dict[str, Any], stamp: str) -> dict[str, tuple[Any, Any]]:
    """Write `values` under services.lastfm; returns {field: (old, new)} of what changed."""
    services = data.get("services")
    if not isinstance(services, dict):
        services = data["services"] = {}
    block = services.get("lastfm")
    if not isinstance(block, dict):
        block = services["lastfm"] = {}
    changes = {name: (block.get(name), value) for name, value in values.items() if block.get(name) != value}
    if changes:
        for name, (_, value) in changes.items():
            block[name] = value
        block["updated_at"] = stamp
    return changes


def current(data: dict) -> dict[str, Any]:
    services = data.get("services")
    block = services.get("lastfm") if isinstance(services, dict) else None
    return dict(block) if isinstance(block, dict) else {}


def apply_index(entry: dict, block: dict[str, Any]) -> bool:
    """The index entry mirrors the album's checked values; True when it changed.

    Values the album file held from elsewhere (a count stored as a string by an
    older collector) reach the index only if they pass the same checks.
    """
    values = check({k: v for k, v in block.items() if k in ALBUM_FIELDS}).values
    changed = False
    for index_name, name in INDEX_FIELDS.items():
        if name in values and entry.get(index_name) != values[name]:
            entry[index_name] = values[name]
            changed = True
    return changed
