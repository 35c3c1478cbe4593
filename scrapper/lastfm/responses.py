"""Reading Last.fm's XML answers into plain data, refusing values of the wrong shape."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from xml.dom.minidom import Document, Element

from errors import OutcomeUnknown

EARLIEST_SCROBBLE = 1009843200  # 2002-01-01: no scrobble is older than Last.fm itself
IGNORED_REASONS = {
    1: "artist name filtered (e.g. 'Various' or 'Unknown Artist')",
    2: "track name filtered",
    3: "timestamp too old (over 14 days)",
    4: "timestamp in the future",
    5: "daily scrobble limit reached",
}


def reason_text(code: int | None, message: str = "") -> str:
    """Words for an ignored code; Last.fm's own message for codes it may add later."""
    if not code:
        return ""
    return IGNORED_REASONS.get(code) or message or f"ignored with code {code}"


def _child(node: Element, tag: str) -> Element | None:
    for child in node.childNodes:
        if getattr(child, "tagName", None) == tag:
            return child  # type: ignore[return-value]
    return None


def _children(node: Element, tag: str) -> list[Element]:
    return [c for c in node.childNodes if getattr(c, "tagName", None) == tag]  # type: ignore[misc]


def text(node: Element | None, tag: str | None = None) -> str:
    if node is not None and tag is not None:
        node = _child(node, tag)
    if node is None:
        return ""
    return "".join(c.data for c in node.childNodes if c.nodeType in (c.TEXT_NODE, c.CDATA_SECTION_NODE)).strip()


def integer(value: str) -> int | None:
    """A count Last.fm sent, or None when it is not a plain non-negative integer."""
    value = value.strip()
    return int(value) if value.isdigit() and len(value) < 19 else None


def root(doc: Document, tag: str) -> Element:
    nodes = doc.getElementsByTagName(tag)
    if not nodes:
        raise ValueError(f"answer has no <{tag}>")
    return nodes[0]


@dataclass
class ItemResult:
    """What Last.fm said about one scrobble of a batch."""

    accepted: bool
    code: int
    message: str
    artist: str
    track: str
    album: str
    artist_corrected: bool
    track_corrected: bool
    album_corrected: bool

    @property
    def reason(self) -> str:
        return reason_text(self.code)

    def corrections(self) -> dict[str, str]:
        out = {}
        if self.artist_corrected:
            out["artist"] = self.artist
        if self.track_corrected:
            out["track"] = self.track
        if self.album_corrected:
            out["album"] = self.album
        return out


def _item(node: Element) -> ItemResult:
    def corrected(tag: str) -> bool:
        child = _child(node, tag)
        return child is not None and child.getAttribute("corrected") == "1"

    ignored = _child(node, "ignoredMessage")
    code = integer(ignored.getAttribute("code")) if ignored is not None else 0
    if code is None:
        raise ValueError("ignoredMessage code is not a number")
    return ItemResult(
        accepted=code == 0,
        code=code,
        message=text(ignored)[:200],
        artist=text(node, "artist"),
        track=text(node, "track"),
        album=text(node, "album"),
        artist_corrected=corrected("artist"),
        track_corrected=corrected("track"),
        album_corrected=corrected("album"),
    )


def scrobble_results(doc: Document, sent: int) -> list[ItemResult]:
    """One result per item sent, in order; anything else means the outcome is unknown."""
    try:
        scrobbles = root(doc, "scrobbles")
        items = [_item(n) for n in _children(scrobbles, "scrobble")]
    except ValueError as exc:
        raise OutcomeUnknown(f"Last.fm's answer to track.scrobble could not be read ({exc})") from None
    if len(items) != sent:
        raise OutcomeUnknown(
            f"Last.fm answered for {len(items)} scrobbles out of {sent} sent; the outcome is unknown"
        )
    return items


def now_playing_result(doc: Document) -> ItemResult:
    try:
        return _item(root(doc, "nowplaying"))
    except ValueError as exc:
        raise OutcomeUnknown(f"Last.fm's answer to track.updateNowPlaying could not be read ({exc})") from None


def session(doc: Document) -> tuple[str, str]:
    node = root(doc, "session")
    name, key = text(node, "name"), text(node, "key")
    if not name or not key:
        raise ValueError("session without name or key")
    return name, key


def user_info(doc: Document) -> dict:
    node = root(doc, "user")
    registered = _child(node, "registered")
    return {
        "name": text(node, "name"),
        "playcount": integer(text(node, "playcount")),
        "registered": integer(registered.getAttribute("unixtime")) if registered is not None else None,
        "url": text(node, "url"),
    }


@dataclass
class Page:
    """One page of a paged read: its items, and the totals Last.fm claims (checked by the caller)."""

    items: list[dict]
    page: int
    total_pages: int
    total: int | None
    now_playing: dict | None = None
    refused: int = 0  # rows left out because a value was impossible (a time before 2002 or in the future)


def _paging(node: Element) -> tuple[int, int, int | None]:
    pages = integer(node.getAttribute("totalPages"))
    if pages is None:
        raise ValueError(f"<{node.tagName}> without totalPages")
    total = integer(node.getAttribute("total")) if node.hasAttribute("total") else None
    return integer(node.getAttribute("page")) or 1, pages, total


def plausible_time(stamp: int | None, now: float | None = None) -> bool:
    """A scrobble time Last.fm could really hold: after Last.fm began, and not ahead of now by over a day."""
    return stamp is not None and EARLIEST_SCROBBLE <= stamp <= (now or time.time()) + 86400


def recent_tracks(doc: Document) -> Page:
    """Dated plays on this page, newest first (the now-playing row apart), and the paging totals."""
    node = root(doc, "recenttracks")
    page, pages, total = _paging(node)
    plays = []
    playing = None
    refused = 0
    now = time.time()
    for item in _children(node, "track"):
        artist = _child(item, "artist")
        album = _child(item, "album")
        play: dict[str, Any] = {
            "artist": text(item, "artist") or text(artist, "name"),
            "track": text(item, "name"),
            "album": text(item, "album"),
            "album_mbid": album.getAttribute("mbid").strip() if album is not None else "",
        }
        date = _child(item, "date")
        if item.getAttribute("nowplaying") == "true":
            playing = play
            continue
        stamp = integer(date.getAttribute("uts")) if date is not None else None
        if not plausible_time(stamp, now) or not play["artist"] or not play["track"]:
            refused += 1
            continue
        play["timestamp"] = stamp
        plays.append(play)
    return Page(plays, page, pages, total, playing, refused)


def album_info(doc: Document) -> dict:
    """album.getInfo as plain data; counts that are not integers come back as None."""
    node = root(doc, "album")
    tags_node = _child(node, "tags")
    tracks_node = _child(node, "tracks")
    tracks = []
    for item in _children(tracks_node, "track") if tracks_node is not None else []:
        seconds = integer(text(item, "duration"))
        tracks.append({"name": text(item, "name"), "duration": seconds or None,
                       "artist": text(_child(item, "artist"), "name")})
    return {
        "name": text(node, "name"),
        "artist": text(node, "artist"),
        "mbid": text(node, "mbid"),
        "url": text(node, "url"),
        "listeners": integer(text(node, "listeners")),
        "playcount": integer(text(node, "playcount")),
        "userplaycount": integer(text(node, "userplaycount")) if _child(node, "userplaycount") else None,
        "tags": [text(t, "name") for t in _children(tags_node, "tag")] if tags_node is not None else [],
        "tracks": tracks,
    }


def top_albums(doc: Document) -> Page:
    node = root(doc, "topalbums")
    page, pages, total = _paging(node)
    out = []
    for item in _children(node, "album"):
        artist = _child(item, "artist")
        out.append({
            "name": text(item, "name"),
            "artist": text(artist, "name") if artist is not None else "",
            "playcount": integer(text(item, "playcount")),
            "mbid": text(item, "mbid"),
            "url": text(item, "url"),
        })
    return Page(out, page, pages, total)


def top_artists(doc: Document) -> Page:
    node = root(doc, "topartists")
    page, pages, total = _paging(node)
    out = [{"name": text(item, "name"), "playcount": integer(text(item, "playcount")),
            "mbid": text(item, "mbid"), "url": text(item, "url")}
           for item in _children(node, "artist")]
    return Page(out, page, pages, total)


def album_search(doc: Document) -> list[dict]:
    """album.search matches (pylast strips the `opensearch:` prefix before parsing)."""
    node = root(doc, "results")
    matches = _child(node, "albummatches")
    out = []
    for item in _children(matches, "album") if matches is not None else []:
        out.append({
            "name": text(item, "name"), "artist": text(item, "artist"),
            "url": text(item, "url"), "mbid": text(item, "mbid"),
            "listeners": integer(text(item, "listeners")) if _child(item, "listeners") is not None else None,
        })
    return out


def track_correction(doc: Document, artist: str, track: str) -> tuple[str, str]:
    """track.getCorrection: the canonical (artist, track), or the pair as asked when Last.fm corrects nothing."""
    correction = _child(root(doc, "corrections"), "correction")
    found = _child(correction, "track") if correction is not None else None
    if found is None:
        return artist, track
    return text(_child(found, "artist"), "name") or artist, text(found, "name") or track
