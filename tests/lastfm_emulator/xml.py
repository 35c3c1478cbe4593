"""Building Last.fm's XML answers in the shapes of the real recordings."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import quote_plus

IMAGE_BASE = "https://lastfm.freetls.fastly.net/i/u"
IMAGE_SIZES = (("small", "34s"), ("medium", "64s"), ("large", "174s"), ("extralarge", "300x300"))
ALBUM_INFO_SIZES = IMAGE_SIZES + (("mega", "300x300"), ("", "300x300"))


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


def music_url(*parts: str) -> str:
    return "https://www.last.fm/music/" + "/".join(quote_plus(p) for p in parts)


def document(status: str, child: ET.Element | None = None, compact: bool = False) -> bytes:
    root = ET.Element("lfm", status=status)
    if child is not None:
        root.append(child)
    if compact:
        # album.search and track.getInfo come back unindented, one element a line.
        body = ET.tostring(root, encoding="unicode", short_empty_elements=False)
        body = body.replace("><", ">\n<")
        return f'<?xml version="1.0" encoding="UTF-8" ?>\n{body}\n'.encode()
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'.encode()


def error_document(code: int, message: str) -> bytes:
    return document("failed", el(None, "error", message, code=code))
