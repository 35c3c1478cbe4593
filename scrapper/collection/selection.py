"""Choosing what was played from an album (medium, sides, disc), the one rule `albums show` and the plan share."""

from __future__ import annotations

from dataclasses import dataclass

from collection.album import Album
from collection.tracklist import Track
from errors import UsageError


@dataclass(frozen=True)
class Selection:
    medium: str | None = None  # None: the album's default medium (vinyl when it has several)
    sides: tuple[str, ...] = ()
    disc: int | None = None
    split_index: bool = False
    box_title: bool = False  # a box's tracks under the box's title, not their album's


def selected_tracks(album: Album, selection: Selection) -> list[Track]:
    """The tracks of the chosen medium, sides and disc, numbered as the whole medium numbers them
    (the numbers `--tracks` takes)."""
    tracks = album.playable(selection.medium, selection.split_index, selection.box_title)
    if selection.sides:
        sides = {s.strip().upper() for s in selection.sides}
        have = {t.side for t in tracks if t.side}
        unknown = sides - have
        if unknown:
            listed = ", ".join(sorted(have)) or "none marked"
            raise UsageError(f"{album.slug} has no side {', '.join(sorted(unknown))} (sides: {listed})")
        tracks = [t for t in tracks if t.side in sides]
    if selection.disc is not None:
        discs = sorted({t.disc for t in tracks if t.disc})
        if selection.disc not in discs:
            raise UsageError(
                f"{album.slug} has no disc {selection.disc} (discs: {', '.join(map(str, discs)) or 'none marked'})"
            )
        tracks = [t for t in tracks if t.disc == selection.disc]
    return tracks
