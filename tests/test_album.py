"""Album models built from every sample album: titles, artists, media, duration fallbacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from collection.album import album_from_data, fill_from_spotify
from collection.lookup import load_album
from collection.store import Store
from collection.tracklist import Track
from errors import CollectionError, UsageError
from tests.conftest import sample_slugs


@pytest.fixture(scope="module")
def store(sample_dir: Path) -> Store:
    return Store(sample_dir)


@pytest.mark.parametrize("slug", sample_slugs())
def test_every_sample_album_loads_with_sourced_durations(store: Store, slug: str):
    album = load_album(store, slug)
    raw = json.loads(store.album_path(slug).read_text())
    assert album.title == (raw.get("release_name_discogs") or raw["title"])
    tracks = album.playable()
    assert tracks, slug
    assert [t.number for t in tracks] == list(range(1, len(tracks) + 1))
    headings = {r["title"] for r in raw["tracklist"] if r.get("type") == "heading"}
    assert not headings & {t.title for t in tracks if not t.position}
    for track in tracks:
        assert track.title and track.artist
        assert track.duration_source in ("discogs", "twin", "spotify", None)
        assert (track.duration is None) == (track.duration_source is None)


def test_index_work_is_one_track(store: Store):
    album = load_album(store, "2112-814617")
    tracks = album.playable()
    assert len(tracks) == 6
    assert tracks[0].title == "2112" and tracks[0].duration == 1236 and tracks[0].side == "A"
    assert len(album.playable(split=True)) == 12


def test_typeless_pseudo_headings_are_dropped(store: Store):
    album = load_album(store, "3-d-the-catalogue-10349797")
    titles = [t.title for t in album.playable()]
    assert len(titles) == 69
    assert "1 Autobahn" not in titles and "8 Tour De France" not in titles


def test_box_set_defaults_to_vinyl_and_medium_chooses(store: Store):
    album = load_album(store, "a-farewell-to-kings-40th-anniversary-limited-edition-super-deluxe-11255606")
    assert set(album.media) == {"vinyl", "cd", "bluray"}
    vinyl = album.playable()
    assert {t.medium for t in vinyl} == {"vinyl"} and len(vinyl) == 26
    cd = album.playable("cd")
    assert {t.medium for t in cd} == {"cd"} and cd[0].position == "CD1-1" and cd[0].duration == 356
    assert len(album.playable("all")) == len(album.tracks)
    with pytest.raises(UsageError, match="no dvd"):
        album.playable("dvd")
    with pytest.raises(UsageError, match="unknown medium"):
        album.playable("wax")


def test_compilation_track_artists(store: Store):
    album = load_album(store, "90s-alternative-collected-28043898")
    tracks = album.playable()
    assert album.artist == "Various Artists"
    assert tracks[2].artist == "Oasis"  # "Oasis (2)" on Discogs
    assert len({t.artist for t in tracks}) == 26


def test_spotify_durations_used_when_titles_match(store: Store):
    album = load_album(store, "1962-1966-28859305")
    tracks = album.playable()
    assert all(t.duration_source == "spotify" and t.duration for t in tracks)
    pink = load_album(store, "8-tracks-37519692").playable()
    assert [t.duration_source for t in pink] == ["spotify"] * 8


def test_spotify_of_another_release_is_not_used(store: Store):
    # Matched to "Elvis" (a different album): a few titles may coincide, most do not.
    album = load_album(store, "50000000-elvis-fans-cant-be-wrong-elvis-gold-records-vol-2-9640707")
    assert all(t.duration is None for t in album.playable())


def test_spotify_never_matches_by_track_number():
    tracks = [Track(f"Song {i}", "A", f"A{i}", "vinyl", 1, "A", None, None) for i in range(1, 4)]
    spotify = [("Other 1", 100), ("Other 2", 200), ("Other 3", 300)]
    assert all(t.duration is None for t in fill_from_spotify(tracks, spotify))


def test_mixed_durations_keep_discogs_first(store: Store):
    tracks = load_album(store, "the-womack-sisters-38100228").playable()
    assert sum(1 for t in tracks if t.duration_source == "discogs") == 5
    assert sum(1 for t in tracks if t.duration is None) == 6


@pytest.mark.parametrize("mutate, field", [
    (lambda d: d.pop("tracklist"), "tracklist: missing"),
    (lambda d: d.update(tracklist={}), "tracklist: expected a list"),
    (lambda d: d.update(artists="Rush"), "artists: expected a list"),
    (lambda d: d.update(artists=[]), "artists: the album has no artist"),
    (lambda d: d.update(title=None, release_name_discogs=None), "title"),
    (lambda d: d.update(release_name_discogs=["x"]), "release_name_discogs"),
    (lambda d: d.update(tracklist=[{"type": "heading", "title": "x"}]), "no playable tracks"),
])
def test_broken_album_names_file_and_field(store: Store, mutate, field):
    data = json.loads(store.album_path("2112-814617").read_text())
    mutate(data)
    with pytest.raises(CollectionError) as err:
        album_from_data(data, "2112-814617", Path("album/2112-814617/2112-814617.json"))
    assert "2112-814617.json" in str(err.value) and field in str(err.value)
    assert "\n" not in str(err.value)
