"""The album model: one detailed album JSON file read into a scrobble-ready shape."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from collection.names import join_artists, title_key
from collection.tracklist import MEDIA, Track, build_tracks, split_index
from errors import CollectionError, UsageError

DEFAULT_DURATION = 180
# The Spotify album was often matched to another release (a deluxe edition, a
# single's parent album), so its durations are used only when most of the
# Discogs titles are found in it.
SPOTIFY_MATCH_SHARE = 0.5


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

    def playable(self, medium: str | None = None, split: bool = False) -> list[Track]:
        """The tracks of one medium, numbered, with Discogs then Spotify durations."""
        tracks = self.tracks
        chosen = medium or self.default_medium()
        if chosen and chosen != "all":
            if chosen not in MEDIA:
                raise UsageError(f"unknown medium {chosen!r}; choose from {', '.join(MEDIA)} or all")
            if chosen not in self.media:
                have = ", ".join(self.media) or "no marked medium"
                raise UsageError(f"{self.slug} has no {chosen} tracks (it has {have})")
            if len(self.media) > 1:
                tracks = [t for t in tracks if t.medium == chosen]
        if split:
            tracks = split_index(tracks)
        tracks = fill_from_spotify(tracks, self.spotify_tracks())
        return [replace(t, number=i) for i, t in enumerate(tracks, 1)]

    def spotify_tracks(self) -> list[tuple[str, int]]:
        services = self.data.get("services")
        spotify = services.get("spotify") if isinstance(services, dict) else None
        items = spotify.get("tracks") if isinstance(spotify, dict) else None
        out: list[tuple[str, int]] = []
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict):
                continue
            name, ms = item.get("name"), item.get("duration_ms")
            if isinstance(name, str) and isinstance(ms, int) and not isinstance(ms, bool) and ms > 0:
                out.append((name, round(ms / 1000)))
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


def with_default_durations(tracks: list[Track]) -> list[Track]:
    return [
        t if t.duration else t.with_duration(DEFAULT_DURATION, "default") for t in tracks
    ]


def _text(data: dict, key: str, where: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise CollectionError(f"{where}: {key}: expected a string, got {type(value).__name__}")
    return str(value).strip()


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
    artist = join_artists(artists)
    if not artist:
        raise CollectionError(f"{where}: artists: the album has no artist name")
    if "tracklist" not in data:
        raise CollectionError(f"{where}: tracklist: missing")
    tracks = build_tracks(data["tracklist"], artist, f"{where}: tracklist")
    if not tracks:
        raise CollectionError(f"{where}: tracklist: no playable tracks")
    formats = data.get("formats") or []
    if not isinstance(formats, list):
        raise CollectionError(f"{where}: formats: expected a list, got {type(formats).__name__}")
    return Album(
        slug=slug,
        path=path,
        title=title,
        artist=artist,
        discogs_id=_text(data, "discogs_id", where) or _text(data, "id", where),
        formats=[str(f) for f in formats],
        tracks=tracks,
        data=data,
    )
