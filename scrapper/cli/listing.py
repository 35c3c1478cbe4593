"""Track lists as `albums show` and the plan print them: the medium and disc when several media are listed,
and a line where a box's next album begins."""

from __future__ import annotations

from collections.abc import Sequence


def media_column(places: Sequence[tuple[str | None, int | None]]) -> list[str]:
    """Per track, `cd 1 ` style text when the list holds several media, else nothing."""
    if len({medium for medium, _ in places}) < 2:
        return ["" for _ in places]
    return [f"{medium or '-'} {disc or '-'}".ljust(9) + " " for medium, disc in places]


def album_lines(albums: Sequence[str], title: str) -> list[str | None]:
    """Per track, the line to print before it when it begins another album of a box (None otherwise)."""
    if all(album == title for album in albums):
        return [None for _ in albums]
    previous = None
    out: list[str | None] = []
    for album in albums:
        out.append(f"  album: {album}" if album != previous else None)
        previous = album
    return out
