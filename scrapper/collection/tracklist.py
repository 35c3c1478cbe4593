"""Turning a Discogs tracklist (headings, index works, odd positions) into playable tracks."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from itertools import takewhile

from collection.duration_format import is_track_length, parse_duration
from collection.names import clean_track_title, collapse_blanks, join_artists
from errors import CollectionError

# A part of a suite carries its track's position and a sub-position: `A4a`, `A4.a`, `A4.I`, `A4-1`; a part of
# a part one more (`A4.I.a`).
_SUB = r"(?:[a-z]|\s*[-.]\s*(?:[a-z]{1,2}|[IVXLC]+|\d+)){0,3}"
_MEDIA_PREFIX = re.compile(
    rf"^(CD|SACD|DVD|BD|BLU-?RAY|MC|CASS(?:ETTE)?|LP)\s*(\d*)\s*[-.]\s*(\d+){_SUB}$", re.I
)
_DISC_TRACK = re.compile(r"^(\d+)\s*[-.]\s*(\d+)[a-z]?$")
_SIDE = re.compile(rf"^([A-Z]{{1,2}})(?:\s*[-.]?\s*(?:\d+|[IVXLC]+))?{_SUB}$")
_ODD_SIDE = re.compile(r"^\d+([A-Z])(\d+)$")
_NUMBER = re.compile(r"^\d+(?:[a-z]|\s*\.\s*(?:[a-z]{1,2}|[IVXLC]+)){0,3}$")
# Longer numbers name no disc or track (and Python refuses to read a number of thousands of digits).
_MAX_DIGITS = 6
_LONGEST_POSITION = 40  # Discogs positions are a few characters; a longer one names no side or disc
_MEDIA_NAMES = {
    "cd": "cd", "sacd": "cd", "dvd": "dvd", "bd": "bluray", "bluray": "bluray",
    "blu-ray": "bluray", "mc": "cassette", "cass": "cassette", "cassette": "cassette", "lp": "vinyl",
}
MEDIA = ("vinyl", "cd", "bluray", "dvd", "cassette")
# Discogs format names; containers and downloads hold no positions of their own.
_FORMAT_MEDIA = {
    "vinyl": "vinyl", "shellac": "vinyl", "lathe cut": "vinyl", "flexi-disc": "vinyl", "acetate": "vinyl",
    "cd": "cd", "cdr": "cd", "sacd": "cd", "cassette": "cassette", "microcassette": "cassette",
    "blu-ray": "bluray", "blu-ray-r": "bluray", "dvd": "dvd", "dvdr": "dvd",
}
_NOT_A_MEDIUM = {"box set", "all media", "file"}
# A box's headings often number its albums in order: `1 Autobahn`, `LP2: Radio-Activity`.
_WORD_NUMBERS = {w: n for n, w in enumerate(
    "one two three four five six seven eight nine ten eleven twelve".split(), 1)}
_NUMBERED = re.compile(
    r"^(?:(?:LP|CD|Disc|Disk|Record|Album)\s*)?(\d{1,2}|(?<=\s)(?:%s))\s*[:.)\-–]?\s+(\S.*)$"
    % "|".join(_WORD_NUMBERS), re.I)
# Headings that name a part of the box rather than an album in it.
_NOT_AN_ALBUM = re.compile(
    r"^(?:(?:side|disc|disk|cd|lp|record|vinyl|blu-?ray|dvd)\s*(?:\d+|[a-z]|one|two|three|four|five|six|seven|eight"
    r"|nine|ten|audio)?|bonus\b.*|x?tras|extras?)\W*$|^\W*$", re.I)


def _number(text: str) -> int | None:
    """A disc or track number, or None when it is too long to be one."""
    text = text.strip()
    return int(text) if text and len(text) <= _MAX_DIGITS else None


@dataclass(frozen=True)
class Position:
    medium: str | None = None
    disc: int | None = None
    side: str | None = None


def parse_position(position: str) -> Position:
    """Side and disc from `A1`, `B`, `A-I`, `1-1`, `CD1-1`, `BD-3`, `2.03`, `9B4`, and the
    sub-positions of a suite's parts (`A4.I`, `A4a`, `A4.a`, `A4-1`, `B.I`)."""
    # One blank for each run keeps the patterns' blanks from trying every split of a long run.
    text = " ".join(position.split())
    if not text or len(text) > _LONGEST_POSITION:
        return Position()
    match = _MEDIA_PREFIX.match(text)
    if match:
        medium = _MEDIA_NAMES[match.group(1).lower()]
        return Position(medium, _number(match.group(2)) if match.group(2) else 1, None)
    match = _DISC_TRACK.match(text)
    if match:
        return Position(None, _number(match.group(1)), None)
    match = _SIDE.match(text) or _ODD_SIDE.match(text)
    if match:
        side = match.group(1)
        # A doubled letter is the flip of that side (`AA` on a single), so on its disc.
        letter = side[0] if len(side) == 1 or side[0] == side[1] else None
        disc = (ord(letter) - ord("A")) // 2 + 1 if letter else None
        return Position("vinyl", disc, side)
    return Position()


@dataclass(frozen=True)
class ReleaseMedium:
    """What the release's formats say: the one medium kind it comes on and how many of it (when it has
    one kind), every medium kind they name, and whether it is a box set."""

    kind: str | None = None
    count: int = 0
    kinds: tuple[str, ...] = ()
    box: bool = False


def release_medium(formats: list[tuple[str, int]]) -> ReleaseMedium:
    """From the release's (format name, quantity) pairs."""
    counts: dict[str, int] = {}
    box = False
    for name, quantity in formats:
        key = " ".join(name.lower().split())
        box = box or key == "box set"
        if key in _NOT_A_MEDIUM:
            continue
        kind = _FORMAT_MEDIA.get(key, key)
        counts[kind] = counts.get(kind, 0) + max(quantity, 1)
    kinds = tuple(k for k in counts if k in MEDIA)
    if len(counts) != 1 or not kinds:
        return ReleaseMedium(kinds=kinds, box=box)
    ((kind, count),) = counts.items()
    return ReleaseMedium(kind, count, kinds, box)


@dataclass
class Track:
    title: str
    artist: str
    position: str
    medium: str | None
    disc: int | None
    side: str | None
    duration: int | None
    duration_source: str | None
    number: int = 0
    parts: list[Track] = field(default_factory=list)
    album: str | None = None  # the album of a box this track is on, when the box's headings name it

    def with_duration(self, seconds: int, source: str) -> Track:
        return replace(self, duration=seconds, duration_source=source)

    def on_album(self, album: str | None) -> Track:
        return replace(self, album=album, parts=[replace(p, album=album) for p in self.parts])


def _field(row: dict, name: str, where: str, kinds: tuple[type, ...], default: object) -> object:
    value = row.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, kinds):
        expected = " or ".join(k.__name__ for k in kinds)
        raise CollectionError(
            f"{where}.{name}: expected {expected}, got {type(value).__name__}"
        )
    return value


def shown(value: object, limit: int = 40) -> str:
    """A value for a one-line message, cut short when it is long."""
    text = str(value)
    return text if len(text) <= limit else f"{text[:limit]}…"


def _make_track(row: dict, where: str, album_artist: str, release: ReleaseMedium,
                names: frozenset[str] = frozenset(), cd_place: Position | None = None) -> Track:
    title = clean_track_title(_field(row, "title", where, (str,), ""))  # type: ignore[arg-type]
    if not title:
        raise CollectionError(f"{where}.title: a track has no title")
    position = str(_field(row, "position", where, (str, int), "")).strip()
    artists = _field(row, "artists", where, (list,), [])
    raw_duration = _field(row, "duration", where, (str, int), "")
    if isinstance(raw_duration, int) and not is_track_length(raw_duration):
        raise CollectionError(
            f"{where}.duration: {shown(raw_duration)} is not a track length (1 s to 24 h)"
        )
    seconds = parse_duration(raw_duration)
    place = cd_place or parse_position(position)
    if place.medium is None and release.kind:
        # Plain numbers (`1`..`10`) name no medium; a release of one kind names it,
        # and a release of one disc names the disc.
        disc = place.disc
        if disc is None and release.count == 1 and _NUMBER.match(position):
            disc = 1
        place = Position(release.kind, disc, place.side)
    elif place.side and release.kind and release.kind != "vinyl":
        place = replace(place, medium=release.kind)  # tapes have sides, and a CD may keep its LP's sides
    elif place.side and "cassette" in release.kinds and "vinyl" not in release.kinds:
        place = replace(place, medium="cassette")
    return Track(
        title=title,
        artist=join_artists(artists, known=names) or album_artist,  # type: ignore[arg-type]
        position=position,
        medium=place.medium,
        disc=place.disc,
        side=place.side,
        duration=seconds,
        duration_source="discogs" if seconds else None,
    )


def _has_position(row: dict) -> bool:
    return bool(str(row.get("position") or "").strip())


def _is_blank(row: dict) -> bool:
    duration = row.get("duration")
    return not _has_position(row) and (duration is None or not str(duration).strip())


def build_tracks(
    rows: object,
    album_artist: str,
    where: str = "tracklist",
    release: ReleaseMedium = ReleaseMedium(),
    warnings: list[str] | None = None,
    names: frozenset[str] = frozenset(),
) -> list[Track]:
    """Playable tracks in tracklist order; headings dropped, index works collapsed.

    Rows that lost their `type: heading` (no type, no position, no duration in
    a release whose other rows have positions) are headings too. A row there
    with a duration but no position stays where it stands, on the place of the
    track before it; `warnings`, when given, gets one line for each. `names`
    are the artist names the file's other sources spell (see `join_artists`).
    """
    if not isinstance(rows, list):
        raise CollectionError(f"{where}: expected a list, got {type(rows).__name__}")
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise CollectionError(f"{where}[{i}]: expected an object, got {type(row).__name__}")
        _field(row, "type", f"{where}[{i}]", (str,), "")
        _field(row, "parent", f"{where}[{i}]", (str,), "")
    has_positions = any(_has_position(r) for r in rows)
    index_titles = {
        str(r.get("title") or "") for r in rows if r.get("type") == "index"
    }
    cd_places = _cd_beside_sides(rows, release)

    def make(j: int) -> Track:
        return _make_track(rows[j], f"{where}[{j}]", album_artist, release, names, cd_places.get(j))

    found: list[tuple[int, Track]] = []  # (row, track)
    headings: list[tuple[int, str]] = []  # (row, title)
    for i, row in enumerate(rows):
        kind = row.get("type") or ""
        parent = row.get("parent")
        if parent and parent in index_titles and kind != "heading":
            continue  # folded into its index track below
        if kind == "heading" or (not kind and has_positions and _is_blank(row)):
            # Typeless blank rows are headings that lost their type.
            title = row.get("title")
            headings.append((i, collapse_blanks(title) if isinstance(title, str) else ""))
            continue
        if kind == "index":
            parts = [make(j) for j in _part_rows(rows, i)]
            own = make(i)
            if not parts:
                if own.position or own.duration:
                    found.append((i, own))
                continue
            known = [p.duration for p in parts]
            total = sum(d for d in known if d) if all(known) else None
            first = parts[0]
            collapsed = replace(
                own,
                position=first.position,
                medium=first.medium,
                disc=first.disc,
                side=first.side,
                duration=total or own.duration,
                duration_source="discogs" if (total or own.duration) else None,
                parts=parts,
            )
            found.append((i, collapsed))
            continue
        found.append((i, make(i)))
    if has_positions and warnings is not None:
        warnings.extend(
            f"tracklist[{i}] {track.title!r}: no position; kept in running order"
            for i, track in found if not track.position
        )
    if release.box:
        found = _albums_of_box(found, headings)
    return _place_unplaced([track for _, track in found])


def _cd_beside_sides(rows: list[dict], release: ReleaseMedium) -> dict[int, Position]:
    """The CD of an LP set whose CD rows are numbered `1`…`11` (or `1-1`…): when the formats name a CD and
    the tracklist has lettered sides, such rows are the CD (listed after the sides or before them), a new
    disc each time the numbers start again."""
    if release.kind or "cd" not in release.kinds:
        return {}
    places: dict[int, Position] = {}
    disc, last = 1, 0
    listed = [(i, str(row.get("position") or "").strip()) for i, row in enumerate(rows) if row.get("type") != "heading"]
    sided = [bool(parse_position(position).side) for _, position in listed]
    for k, (i, position) in enumerate(listed):
        place = parse_position(position)
        if 0 < k < len(listed) - 1 and sided[k - 1] and sided[k + 1]:
            continue  # one odd row amid a side (`A3`, `0`, `A5`) is on that side
        if place.medium is None and _NUMBER.match(position):
            number = _number(re.match(r"\d+", position).group())  # type: ignore[union-attr]
            if number is not None:
                if number < last:
                    disc += 1
                last = number
            places[i] = Position("cd", disc, None)
        elif place.medium is None and place.disc is not None:
            places[i] = Position("cd", place.disc, None)
    return places if any(sided) else {}


def heading_albums(titles: list[str]) -> list[str | None]:
    """The album each heading of a box names, or None for one that names a part (`Bonus 7"`, `-`).

    A leading number goes only when the headings are numbered 1, 2, 3… in
    order, so an album called `1999` or `12 Gold Bars` keeps its title.
    """
    titles = [_printable(t) for t in titles]
    # Headings that name a part (`Bonus 7"`) stand outside the albums' numbering.
    parts = [bool(_NOT_AN_ALBUM.search(t)) for t in titles]
    matches = [_NUMBERED.match(t) for t in titles]
    numbered = all(m and _heading_number(m.group(1)) == k
                   for k, m in enumerate((m for m, p in zip(matches, parts) if not p), 1))
    names = [m.group(2) if numbered and m and not p else t for t, m, p in zip(titles, matches, parts)]
    return [None if _NOT_AN_ALBUM.search(n) else n.strip() for n in names]


def _heading_number(text: str) -> int:
    return int(text) if text.isdigit() else _WORD_NUMBERS[text.lower()]


def _printable(text: str) -> str:
    """A heading as an album name: control and direction-changing characters dropped (it goes to Last.fm)."""
    kept = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn"))
    return collapse_blanks(kept)


def _albums_of_box(found: list[tuple[int, Track]], headings: list[tuple[int, str]]) -> list[tuple[int, Track]]:
    """A box whose headings name its albums: each heading opens a new disc and at least two name an
    album; then each track is on the album of the heading above it."""
    under: dict[int, list[int]] = {}  # heading number -> places in `found` of the tracks below it
    k = -1
    for n, (i, _) in enumerate(found):
        while k + 1 < len(headings) and headings[k + 1][0] < i:
            k += 1
        if k >= 0:
            under.setdefault(k, []).append(n)
    groups = [(headings[k][1], places) for k, places in sorted(under.items())]
    for _, places in groups:
        first = found[places[0]][1]
        before = found[places[0] - 1][1] if places[0] > 0 else None
        if first.disc is None or (before and (before.medium, before.disc) == (first.medium, first.disc)):
            return found  # a heading inside a disc titles a part of the record, not an album
    albums = heading_albums([title for title, _ in groups])
    if sum(1 for a in albums if a) < 2:
        return found
    out = list(found)
    for album, (_, places) in zip(albums, groups):
        for n in places:
            out[n] = (out[n][0], out[n][1].on_album(album))
    return out


def _part_rows(rows: list[dict], index: int) -> list[int]:
    """Where the parts of the index row at `index` are: the rows right after it.

    One title can head an index work on several media of a box set, so only a
    file that lists the parts elsewhere has them gathered by title alone.
    """
    title = rows[index].get("title")

    def is_part(j: int) -> bool:
        return rows[j].get("parent") == title and rows[j].get("type") != "index"

    following = list(takewhile(is_part, range(index + 1, len(rows))))
    return following or [j for j in range(len(rows)) if is_part(j)]


def _place_unplaced(tracks: list[Track]) -> list[Track]:
    """Tracks without a position, or a lone track whose position names no medium where the others' do (`-`,
    `0`), take the medium, disc and side of the track before them (after them when they open the list), so a
    medium or side selection keeps them. A run of such positions may be a medium of its own; it stays apart."""
    media = any(track.medium for track in tracks)

    def odd(j: int) -> bool:
        return 0 <= j < len(tracks) and bool(tracks[j].position) and media and not tracks[j].medium

    lone = {j for j in range(len(tracks)) if odd(j) and not odd(j - 1) and not odd(j + 1)}

    unplaced = {j for j, track in enumerate(tracks) if not track.position} | lone
    placed = [j for j in range(len(tracks)) if j not in unplaced]
    if not placed:
        return tracks
    out = list(tracks)
    for i, track in enumerate(tracks):
        if i in unplaced:
            source = tracks[max((j for j in placed if j < i), default=placed[0])]
            out[i] = replace(track, medium=source.medium, disc=source.disc, side=source.side)
    return out


def split_index(tracks: list[Track]) -> list[Track]:
    """Index works as their separate movements instead of one track."""
    out: list[Track] = []
    for track in tracks:
        out.extend(track.parts or [track])
    return out
