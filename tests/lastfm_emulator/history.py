"""Plausible listening histories of any size: whole albums played track after track, in sessions."""

from __future__ import annotations

import random
from itertools import accumulate

# A listener of about three hours a day: the default span for a history of N plays.
PLAYS_PER_DAY = 45
ALBUMS_PER_PLAYS = 150  # invented catalogues: one album for this many plays

_ADJECTIVES = (
    "Silver", "Quiet", "Electric", "Broken", "Golden", "Velvet", "Hollow", "Crimson", "Distant", "Restless",
    "Paper", "Frozen", "Burning", "Northern", "Midnight", "Wild", "Lonely", "Bright", "Hidden", "Savage",
    "Gentle", "Endless", "Faded", "Neon", "Sacred", "Rusty", "Lucky", "Wooden", "Stolen", "Tender",
)
_NOUNS = (
    "River", "Engine", "Garden", "Mirror", "Harbour", "Signal", "Canyon", "Lantern", "Highway", "Orchard",
    "Machine", "Comet", "Island", "Thunder", "Window", "Forest", "Station", "Shadow", "Ocean", "Compass",
    "Meadow", "Tower", "Desert", "Feather", "Circus", "Glacier", "Bridge", "Echo", "Anchor", "Parade",
)
_FIRST = ("Ada", "Nina", "Otis", "June", "Marvin", "Iris", "Leon", "Rosa", "Felix", "Mabel", "Hugo", "Cleo")
_LAST = ("Hart", "Monroe", "Vance", "Okafor", "Lindqvist", "Moreau", "Castillo", "Byrne", "Novak", "Reyes")

# (artist, album, [(track, duration seconds)])
Album = tuple[str, str, list[tuple[str, int]]]
# The fields of a Scrobble after its user, in order.
Play = tuple[str, str, str, str, int, float, str, str]


def _invented_albums(rng: random.Random, how_many: int) -> list[Album]:
    albums: list[Album] = []
    artists: list[str] = []
    while len(albums) < how_many:
        if not artists or rng.random() < 0.4:  # most artists have more than one album
            if rng.random() < 0.5:
                artists.append(f"The {rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}s")
            else:
                artists.append(f"{rng.choice(_FIRST)} {rng.choice(_LAST)}")
        artist = rng.choice(artists)
        title = f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}"
        tracks = []
        for number in range(rng.randint(6, 14)):
            name = (f"{rng.choice(_NOUNS)} of {rng.choice(_NOUNS)}" if number % 3 == 0
                    else f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}")
            tracks.append((name, rng.randint(150, 420)))
        albums.append((artist, title, tracks))
    return albums


def _catalogue_albums(rng: random.Random, albums: list[dict]) -> list[Album]:
    return [(
        str(album["artist"]), str(album["name"]),
        [(str(t["name"]), int(t.get("duration") or 0) or rng.randint(150, 420)) for t in album["tracks"]],
    ) for album in albums if album.get("tracks")]


def generate_plays(count: int, until: int, span_days: float | None, seed: int, albums: list[dict]) -> list[Play]:
    """`count` plays with distinct timestamps, oldest at until - span, newest before `until`, oldest first.

    Listening comes in sessions of one to four albums, each played through; sessions are spread
    over the span with random gaps, and squeezed together when the span is too short for the music.
    """
    if count < 0:
        raise ValueError("count must not be negative")
    if count == 0:
        return []
    rng = random.Random(seed)
    days = span_days if span_days is not None else max(1.0, count / PLAYS_PER_DAY)
    span = int(days * 86400)
    if span < count:
        raise ValueError(f"{count} plays with distinct timestamps do not fit in {days} days")
    pool = _catalogue_albums(rng, albums) or _invented_albums(rng, max(10, count // ALBUMS_PER_PLAYS))
    # A few albums get most of the plays, as in anyone's history.
    favourites = list(accumulate(1 / (rank + 1) ** 0.8 for rank in range(len(pool))))
    rng.shuffle(pool)

    chosen: list[tuple[Album, int]] = []  # (album, track index)
    gap_before: list[float] = []  # weight of the silence before each play
    while len(chosen) < count:
        gap = rng.expovariate(1.0)
        for _ in range(rng.randint(1, 4)):
            album = rng.choices(pool, cum_weights=favourites)[0]
            for index in range(len(album[2])):
                chosen.append((album, index))
                gap_before.append(gap)
                gap = 0.0
                if len(chosen) == count:
                    break
            if len(chosen) == count:
                break

    durations = [album[2][index][1] for album, index in chosen]
    gap_before[0] = 0.0  # the oldest play opens the span
    if not any(gap_before):
        gap_before = [0.0] + [1.0] * (count - 1)  # one session only: spread its plays over the span
    # The newest play starts early enough to end by `until` when the span allows.
    last_start = max(count - 1, span - durations[-1])
    music = sum(durations[:-1])
    if music <= last_start:
        silence = (last_start - music) / sum(gap_before)
        steps = [durations[i - 1] + gap_before[i] * silence for i in range(1, count)]
    else:
        squeeze = last_start / music
        steps = [durations[i - 1] * squeeze for i in range(1, count)]
    start = until - span
    stamps = [start] + [start + int(offset) for offset in accumulate(steps)]
    for i in range(1, count):  # rounding may tie neighbours: keep every timestamp distinct
        if stamps[i] <= stamps[i - 1]:
            stamps[i] = stamps[i - 1] + 1
    stamps[-1] = min(stamps[-1], until - 1)
    for i in range(count - 2, -1, -1):
        if stamps[i] >= stamps[i + 1]:
            stamps[i] = stamps[i + 1] - 1

    plays: list[Play] = []
    for (album, index), stamp, duration in zip(chosen, stamps, durations):
        artist, title, tracks = album
        # Sent when the track ended, as a player does; that counts toward the daily cap.
        plays.append((artist, tracks[index][0], title, artist, stamp, float(min(stamp + duration, until)),
                      str(index + 1), str(duration)))
    return plays
