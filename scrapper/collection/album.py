"""The album model: one detailed album JSON file read into a scrobble-ready shape."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from collection.duration_format import LONGEST_TRACK, format_duration, is_track_length
from collection.names import album_artist, clean_track_title, collapse_blanks, title_key
from collection.service_data import lastfm_tracks, other_artist_names
from collection.tracklist import (
    MEDIA,
    ReleaseMedium,
    Track,
    build_tracks,
    release_medium,
    shown,
    split_index,
)
from errors import CollectionError, UsageError

DEFAULT_DURATION = 180
# The Spotify album was often matched to another release (a deluxe edition, a
# single's parent album), so its durations are used only when most of the
# Discogs titles are found in it.
SPOTIFY_MATCH_SHARE = 0.5
# Two media of one release carry the same recordings when their running orders
# agree this well; a few titles are spelt differently from one medium to the other.
TWIN_MATCH_SHARE = 0.9


@dataclass
class Album:
    slug: str
    path: Path
    title: str
    artist: str
    discogs_id: str
    formats: list[str]
    tracks: list[Track]
    data: dict = field(repr=False, default_factory=dict)
    spotify: list[tuple[str, int]] = field(repr=False, default_factory=list)  # (name, seconds)
    warnings: list[str] = field(default_factory=list)  # one line per row kept despite a fault
    lastfm: list[tuple[str, int]] = field(repr=False, default_factory=list)  # stored album.getInfo lengths

    @property
    def media(self) -> list[str]:
        seen: list[str] = []
        for track in self.tracks:
            if track.medium and track.medium not in seen:
                seen.append(track.medium)
        return seen

    def default_medium(self) -> str | None:
        media = self.media
        if len(media) < 2:
            return None
        return "vinyl" if "vinyl" in media else media[0]

    @property
    def box_albums(self) -> list[str]:
        """The albums of a box its headings name, in order (empty for a record that is one album)."""
        return list(dict.fromkeys(t.album for t in self.tracks if t.album))

    def playable(self, medium: str | None = None, split: bool = False, box_title: bool = False) -> list[Track]:
        """The tracks of one medium, numbered, with Discogs, twin, Spotify, then stored Last.fm durations;
        `box_title` keeps every track of a box under the box's title."""
        release = split_index(self.tracks) if split else self.tracks
        if box_title:
            release = [t.on_album(None) for t in release]
        tracks = release
        chosen = medium or self.default_medium()
        if chosen and chosen != "all":
            if chosen not in MEDIA:
                raise UsageError(f"unknown medium {chosen!r}; choose from {', '.join(MEDIA)} or all")
            if chosen not in self.media:
                have = ", ".join(self.media) or "no marked medium"
                raise UsageError(f"{self.slug} has no {chosen} tracks (it has {have})")
            if len(self.media) > 1:
                tracks = [t for t in tracks if t.medium == chosen]
        tracks = fill_from_twins(tracks, release)
        tracks = fill_from_spotify(tracks, self.spotify)
        tracks = fill_from_lastfm(tracks, self.lastfm)
        return [replace(t, number=i) for i, t in enumerate(tracks, 1)]


def same_running_order(one: list[Track], other: list[Track]) -> bool:
    """As many tracks, and the titles agree position by position for nearly all of them."""
    if not one or len(one) != len(other):
        return False
    agreeing = sum(1 for a, b in zip(one, other) if title_key(a.title) == title_key(b.title))
    return agreeing / len(one) >= TWIN_MATCH_SHARE


def fill_from_twins(tracks: list[Track], release: list[Track]) -> list[Track]:
    """Durations for untimed tracks from the same recording on another medium of the release.

    Pairs go by running order, never by title alone: one release can hold a
    title several times (an album, its live set, a tribute by other artists).
    `release` is every track of the release in the same shape as `tracks`;
    only Discogs' own durations are lent, so one twin never times another.
    """
    by_medium: dict[str, list[Track]] = {}
    for track in release:
        if track.medium:
            by_medium.setdefault(track.medium, []).append(track)
    out = list(tracks)
    for medium in by_medium:
        own = [i for i, t in enumerate(tracks) if t.medium == medium]
        if all(tracks[i].duration for i in own):
            continue
        for other, twin in by_medium.items():
            if other == medium or not same_running_order([tracks[i] for i in own], twin):
                continue
            for i, partner in zip(own, twin):
                if out[i].duration is None and partner.duration_source == "discogs" and partner.duration:
                    out[i] = out[i].with_duration(partner.duration, "twin")
    return out


def fill_from_spotify(tracks: list[Track], spotify: list[tuple[str, int]]) -> list[Track]:
    """Durations for tracks Discogs left blank, matched by title, never by number."""
    missing = [t for t in tracks if t.duration is None]
    if not missing or not spotify or not tracks:
        return tracks
    by_title: dict[str, list[int]] = {}
    for name, seconds in spotify:
        by_title.setdefault(title_key(name), []).append(seconds)
    matched = sum(1 for t in tracks if title_key(t.title) in by_title)
    if matched / len(tracks) <= SPOTIFY_MATCH_SHARE:
        return tracks
    out = []
    for track in tracks:
        found = by_title.get(title_key(track.title))
        if track.duration is None and found:
            # Repeated titles take the Spotify durations in order.
            seconds = found.pop(0) if len(found) > 1 else found[0]
            track = track.with_duration(seconds, "spotify")
        out.append(track)
    return out


def fill_from_lastfm(tracks: list[Track], lastfm: list[tuple[str, int]]) -> list[Track]:
    """Durations for tracks still untimed from Last.fm's album.getInfo (by title, the first of a repeated
    one), the same whether the answer was stored in the file or fetched."""
    by_title: dict[str, int] = {}
    for name, seconds in lastfm:
        by_title.setdefault(title_key(name), seconds)
    return [
        t.with_duration(by_title[title_key(t.title)], "lastfm")
        if t.duration is None and title_key(t.title) in by_title else t
        for t in tracks
    ]


def with_default_durations(tracks: list[Track]) -> list[Track]:
    return [
        t if t.duration else t.with_duration(DEFAULT_DURATION, "default") for t in tracks
    ]


def describe_length(track: Track) -> tuple[str, str]:
    """The length and its source as a plan shows them: an untimed track is `3:00`, "default"."""
    (timed,) = with_default_durations([track])
    return format_duration(timed.duration or DEFAULT_DURATION), timed.duration_source or "default"


def _text(data: dict, key: str, where: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise CollectionError(f"{where}: {key}: expected a string, got {type(value).__name__}")
    return collapse_blanks(str(value))


def _spotify_tracks(data: dict, where: str) -> list[tuple[str, int]]:
    """(name, seconds) of the Spotify track list; a length no track can have is an error."""
    services = data.get("services")
    spotify = services.get("spotify") if isinstance(services, dict) else None
    items = spotify.get("tracks") if isinstance(spotify, dict) else None
    out: list[tuple[str, int]] = []
    for i, item in enumerate(items if isinstance(items, list) else []):
        if not isinstance(item, dict):
            continue
        name, ms = item.get("name"), item.get("duration_ms")
        if not isinstance(name, str) or not isinstance(ms, int) or isinstance(ms, bool):
            continue
        # Compared as milliseconds first: dividing a huge int would overflow a float.
        seconds = (ms + 500) // 1000 if 0 <= ms <= LONGEST_TRACK * 1000 else -1
        if not is_track_length(seconds):
            raise CollectionError(
                f"{where}: services.spotify.tracks[{i}].duration_ms: {shown(ms)} "
                "is not a track length (1 s to 24 h)"
            )
        out.append((name, seconds))
    return out


def _release_medium(data: dict, formats: list[str]) -> ReleaseMedium:
    """The release's medium from `format_details` (which count discs), else from `formats`."""
    details = data.get("format_details")
    pairs: list[tuple[str, int]] = []
    if isinstance(details, list):
        for detail in details:
            if isinstance(detail, dict) and isinstance(detail.get("name"), str):
                quantity = str(detail.get("qty") or "1").strip()
                # `²` is a digit to str.isdigit but not a number to int(); thousands of digits are no count.
                counted = quantity.isascii() and quantity.isdigit() and len(quantity) <= 6
                pairs.append((detail["name"], int(quantity) if counted else 1))
    return release_medium(pairs or [(name, 1) for name in formats])


def album_from_data(data: object, slug: str, path: Path) -> Album:
    """Build an Album, or raise CollectionError naming the file and the field."""
    where = str(path)
    if not isinstance(data, dict):
        raise CollectionError(f"{where}: expected a JSON object, got {type(data).__name__}")
    title = _text(data, "release_name_discogs", where) or _text(data, "title", where)
    if not title:
        raise CollectionError(f"{where}: title: the album has no title")
    artists = data.get("artists")
    if not isinstance(artists, list):
        raise CollectionError(f"{where}: artists: expected a list, got {type(artists).__name__}")
    names = other_artist_names(data)
    artist = album_artist(artists, names)
    if not artist:
        raise CollectionError(f"{where}: artists: the album has no artist name")
    if "tracklist" not in data:
        raise CollectionError(f"{where}: tracklist: missing")
    formats = data.get("formats") or []
    if not isinstance(formats, list):
        raise CollectionError(f"{where}: formats: expected a list, got {type(formats).__name__}")
    formats_named = [str(f) for f in formats]
    warnings: list[str] = []
    tracks = build_tracks(
        data["tracklist"], artist, f"{where}: tracklist", _release_medium(data, formats_named), warnings, names
    )
    if not tracks:
        raise CollectionError(f"{where}: tracklist: no playable tracks")
    return Album(
        slug=slug,
        path=path,
        title=title,
        artist=artist,
        discogs_id=_text(data, "discogs_id", where) or _text(data, "id", where),
        formats=formats_named,
        tracks=tracks,
        data=data,
        spotify=_spotify_tracks(data, where),
        warnings=warnings,
        lastfm=lastfm_tracks(data, where),
    )


LASTFM_SLUG = "lastfm"


def lastfm_slug(artist: str, title: str) -> str:
    """The name a record that is not in the collection goes by in the ledger and the queue."""
    return f"{LASTFM_SLUG}:{artist} — {title}"


def album_from_lastfm(info: dict, artist: str, title: str) -> Album:
    """An album from Last.fm's album.getInfo as plain data: its running order and durations (180 s where
    Last.fm has none); names that Last.fm sends blank or absurd are refused like a broken file's."""
    name = collapse_blanks(str(info.get("name") or title))
    by = collapse_blanks(str(info.get("artist") or artist))
    where = f"Last.fm's album {by} — {name}"
    tracks: list[Track] = []
    for number, item in enumerate(info.get("tracks") or [], 1):
        if not isinstance(item, dict):
            continue
        track_title = clean_track_title(str(item.get("name") or ""))
        seconds = item.get("duration")
        timed = seconds if isinstance(seconds, int) and is_track_length(seconds) else None
        if not track_title:
            raise CollectionError(f"{where}: track {number} has no title")
        tracks.append(Track(
            title=track_title, artist=collapse_blanks(str(item.get("artist") or "")) or by,
            position=str(number), medium=None, disc=None, side=None,
            duration=timed, duration_source="lastfm" if timed else None,
        ))
    if not tracks:
        raise CollectionError(f"{where}: Last.fm lists no tracks for it")
    return Album(slug=lastfm_slug(by, name), path=Path(), title=name, artist=by, discogs_id="",
                 formats=[], tracks=tracks, data={})
