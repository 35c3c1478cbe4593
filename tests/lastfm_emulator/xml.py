"""Building Last.fm's XML answers in the shapes of the real recordings."""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from functools import lru_cache
from hashlib import md5
from urllib.parse import quote_plus

IMAGE_BASE = "https://lastfm.freetls.fastly.net/i/u"
IMAGE_SIZES = (("small", "34s"), ("medium", "64s"), ("large", "174s"), ("extralarge", "300x300"))
ARTIST_SIZES = IMAGE_SIZES + (("mega", "300x300"),)
ALBUM_INFO_SIZES = ARTIST_SIZES + (("", "300x300"),)
_END_TAG = re.compile(r"</[^>]*>")


def el(parent: ET.Element | None, tag: str, text: object = None, **attrs: object) -> ET.Element:
    node = ET.Element(tag) if parent is None else ET.SubElement(parent, tag)
    for key, value in attrs.items():
        node.set(key.rstrip("_"), "" if value is None else str(value))
    if text is not None:
        node.text = str(text)
    return node


def images(parent: ET.Element, key: str, sizes: tuple = IMAGE_SIZES) -> None:
    for size, folder in sizes:
        el(parent, "image", f"{IMAGE_BASE}/{folder}/{key}.png", size=size)


@lru_cache(maxsize=1 << 16)
def music_url(*parts: str) -> str:
    return "https://www.last.fm/music/" + "/".join(quote_plus(p) for p in parts)


def document(status: str, child: ET.Element | None = None, compact: bool = False) -> bytes:
    root = ET.Element("lfm", status=status)
    if child is not None:
        root.append(child)
    if compact:
        # album.search and track.getInfo come back unindented, a line break after each end tag
        # (so an empty element stays `<mbid></mbid>`).
        body = _END_TAG.sub("\\g<0>\n", ET.tostring(root, encoding="unicode", short_empty_elements=False))
        return f'<?xml version="1.0" encoding="UTF-8" ?>\n{body}'.encode()
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'.encode()


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attr(value: object) -> str:
    return (_text(str(value)).replace('"', "&quot;").replace("\n", "&#10;").replace("\r", "&#13;")
            .replace("\t", "&#09;"))


def _leaf(tag: str, text: str, attrs: str = "") -> str:
    """One child line of a recent track, laid out as `document` lays it out."""
    if text:
        return f"      <{tag}{attrs}>{_text(text)}</{tag}>\n"
    return f"      <{tag}{attrs} />\n"


def recent_track(artist: str, name: str, album: str, album_mbid: str, stamp: int | None) -> str:
    """A user.getRecentTracks <track>, written directly: long histories are paged 200 at a time,
    and building elements for each costs several times more. `stamp` None: the now-playing row."""
    key = md5((artist + album).encode()).hexdigest()
    lines = [
        '    <track nowplaying="true">\n' if stamp is None else "    <track>\n",
        _leaf("artist", artist, ' mbid=""'), _leaf("name", name), _leaf("streamable", "0"), _leaf("mbid", ""),
        _leaf("album", album, f' mbid="{_attr(album_mbid)}"'), _leaf("url", music_url(artist, "_", name)),
    ]
    lines += [_leaf("image", f"{IMAGE_BASE}/{folder}/{key}.png", f' size="{size}"') for size, folder in IMAGE_SIZES]
    if stamp is not None:
        lines.append(_leaf("date", time.strftime("%d %b %Y, %H:%M", time.gmtime(stamp)), f' uts="{stamp}"'))
    lines.append("    </track>\n")
    return "".join(lines)


def recent_tracks_document(attrs: dict[str, object], tracks: list[str]) -> bytes:
    """<recenttracks> around tracks from `recent_track`, in the layout of `document`."""
    opening = "  <recenttracks" + "".join(f' {k}="{_attr(v)}"' for k, v in attrs.items())
    inner = f"{opening}>\n{''.join(tracks)}  </recenttracks>\n" if tracks else f"{opening} />\n"
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<lfm status="ok">\n{inner}</lfm>\n'.encode()


def error_document(code: int, message: str) -> bytes:
    return document("failed", el(None, "error", message, code=code))


STREAM_CHUNK = 64 * 1024
_OK_START = b'<?xml version="1.0" encoding="UTF-8"?>\n<lfm status="ok">\n'
_OK_END = b"</lfm>\n"


def padded_document(size: int) -> tuple[int, Iterator[bytes]]:
    """Exactly `size` bytes that open like a good answer, then whitespace, then close it if there is room.

    Produced chunk by chunk, so an answer of gigabytes costs no memory.
    """
    head = _OK_START[:size]
    tail = _OK_END if size >= len(_OK_START) + len(_OK_END) else b""
    padding = size - len(head) - len(tail)
    line = b" " * 63 + b"\n"
    block = line * (STREAM_CHUNK // len(line))

    def chunks() -> Iterator[bytes]:
        yield head
        left = padding
        while left > 0:
            piece = block[:left]
            left -= len(piece)
            yield piece
        if tail:
            yield tail

    return size, chunks()


def nested_document(depth: int) -> tuple[int, Iterator[bytes]]:
    """A well-formed `<lfm status="ok">` holding `depth` elements, each inside the one before."""
    opening, closing = b"<e>", b"</e>"
    per_chunk = STREAM_CHUNK // len(closing)

    def chunks() -> Iterator[bytes]:
        yield _OK_START
        for tag in (opening, closing):
            left = depth
            while left > 0:
                count = min(left, per_chunk)
                left -= count
                yield tag * count
        yield b"\n" + _OK_END

    return len(_OK_START) + depth * (len(opening) + len(closing)) + 1 + len(_OK_END), chunks()
