"""The real album files read faithfully: twin media, blank runs, compilations, positions, bad lengths, broken files."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from collection.album import DEFAULT_DURATION, Album, album_from_data, describe_length
from collection.duration_format import format_duration
from collection.lookup import iter_albums, load_album
from collection.store import MAX_FILE_BYTES, Store
from collection.tracklist import Track
from errors import CollectionError
from tests.conftest import sample_slugs

BOX = "a-farewell-to-kings-40th-anniversary-limited-edition-super-deluxe-11255606"


@pytest.fixture(scope="module")
def store(sample_dir: Path) -> Store:
    return Store(sample_dir)


def raw(store: Store, slug: str) -> dict:
    return json.loads(store.album_path(slug).read_text())


def rebuilt(store: Store, slug: str, data: dict) -> Album:
    return album_from_data(data, slug, store.album_path(slug))


# --- twin media --------------------------------------------------------------

def test_vinyl_of_the_box_set_is_timed_from_its_cd_twin(store: Store):
    album = load_album(store, BOX)
    cd = album.playable("cd")
    vinyl = album.playable()
    assert len(vinyl) == len(cd) == 26
    assert {t.duration_source for t in cd} == {"discogs"}
    total = sum(t.duration or 0 for t in cd)
    assert total == 2 * 3600 + 41 * 60 + 17 and format_duration(total) == "2:41:17"
    assert [t.duration_source for t in vinyl] == ["twin"] * 26
    assert sum(t.duration or 0 for t in vinyl) == total
    assert [(v.position, v.duration) for v in vinyl][:2] == [("A1", 356), ("A2", 672)]
    assert [v.duration for v in vinyl] == [c.duration for c in cd]


def test_twins_pair_by_running_order_not_by_title(store: Store):
    vinyl = load_album(store, BOX).playable()
    closer = [(t.position, t.artist, t.duration) for t in vinyl if t.title == "Closer To The Heart"]
    # CD1-3 (2:56), CD3-2 live (3:26), CD3-10 by Big Wreck (3:25): three recordings, three lengths.
    assert closer == [("B1", "Rush", 176), ("E3", "Rush", 206), ("H2", "Big Wreck", 205)]


def test_discogs_beats_twin_beats_spotify(store: Store):
    data = raw(store, BOX)
    a1 = next(r for r in data["tracklist"] if r["position"] == "A1")
    a1["duration"] = "6:01"
    vinyl = rebuilt(store, BOX, data).playable()
    assert (vinyl[0].duration, vinyl[0].duration_source) == (361, "discogs")
    # Spotify has "A Farewell To Kings" at 350 s and "Xanadu" at 665 s; the twin wins.
    assert (vinyl[1].duration, vinyl[1].duration_source) == (672, "twin")
    assert {t.duration_source for t in vinyl[1:]} == {"twin"}


def _cd_rows(data: dict) -> list[dict]:
    return [r for r in data["tracklist"] if r["position"].startswith("CD")]


def test_media_of_different_length_are_no_twins(store: Store):
    data = raw(store, BOX)
    data["tracklist"].remove(_cd_rows(data)[-1])
    vinyl = rebuilt(store, BOX, data).playable()
    assert "twin" not in {t.duration_source for t in vinyl}


@pytest.mark.parametrize("renamed, twinned", [(2, True), (3, False)])
def test_media_whose_titles_disagree_are_no_twins(store: Store, renamed: int, twinned: bool):
    data = raw(store, BOX)
    for row in _cd_rows(data)[:renamed]:
        row["title"] = f"Unreleased {row['title']}"
    vinyl = rebuilt(store, BOX, data).playable()
    # 24 of 26 titles agreeing is over 90%; 23 of 26 is not.
    assert ("twin" in {t.duration_source for t in vinyl}) is twinned


def test_untimed_twins_lend_nothing(store: Store):
    data = raw(store, BOX)
    for row in _cd_rows(data):
        row["duration"] = ""
    album = rebuilt(store, BOX, data)
    assert "twin" not in {t.duration_source for t in album.playable("all")}


def _suite_release(vinyl_parts: list[str], cd_parts: list[str]) -> dict:
    rows: list[dict] = [{"type": "index", "title": "Suite", "position": "", "duration": ""}]
    rows += [{"title": f"Part {i}", "position": f"A{i}", "duration": "", "parent": "Suite"}
             for i, _ in enumerate(vinyl_parts, 1)]
    rows.append({"title": "Coda", "position": "B1", "duration": ""})
    rows.append({"type": "index", "title": "Suite", "position": "", "duration": ""})
    rows += [{"title": f"Part {i}", "position": f"CD-{i}", "duration": length, "parent": "Suite"}
             for i, length in enumerate(cd_parts, 1)]
    rows.append({"title": "Coda", "position": f"CD-{len(cd_parts) + 1}", "duration": "1:00"})
    return {"title": "Suites", "artists": [{"name": "Band"}], "tracklist": rows, "formats": ["Vinyl", "CD"]}


def test_twins_compare_the_shape_that_is_played():
    album = album_from_data(_suite_release(["", ""], ["4:00", "2:00"]), "suites-1", Path("suites-1.json"))
    whole = album.playable("vinyl")
    assert [(t.title, t.duration, t.duration_source) for t in whole] == [
        ("Suite", 360, "twin"), ("Coda", 60, "twin"),
    ]
    parts = album.playable("vinyl", split=True)
    assert [(t.title, t.duration, t.duration_source) for t in parts] == [
        ("Part 1", 240, "twin"), ("Part 2", 120, "twin"), ("Coda", 60, "twin"),
    ]


def test_a_single_medium_release_has_no_twin(store: Store):
    sources = {t.duration_source for slug in sample_slugs() if slug != BOX
               for t in load_album(store, slug).playable()}
    assert "twin" not in sources


# --- blank runs, compilations -----------------------------------------------

def test_blank_runs_collapse_in_real_titles(store: Store):
    tracks = load_album(store, "a-flock-of-seagulls-26056165").playable()
    assert tracks[3].position == "A4" and tracks[3].title == "Space Age Love Song"


def test_blank_runs_collapse_in_album_title_and_artists(store: Store):
    data = raw(store, "signals-33007098")
    data["release_name_discogs"] = "  Signals   (Remastered) "
    data["artists"] = [{"name": "Test   Card (2)"}]
    data["tracklist"][0]["artists"] = [{"name": "Geddy  Lee", "join": "  &  "}, {"name": "Alex\tLifeson"}]
    album = rebuilt(store, "signals-33007098", data)
    assert (album.title, album.artist) == ("Signals (Remastered)", "Test Card")
    assert [t.artist for t in album.tracks[:2]] == ["Geddy Lee & Alex Lifeson", "Test Card"]


def test_compilation_is_various_artists_with_its_own_track_artists(store: Store):
    album = load_album(store, "90s-alternative-collected-28043898")
    assert album.artist == "Various Artists"
    tracks = album.playable()
    assert tracks[2].artist == "Oasis" and "Various" not in {t.artist for t in tracks}


def test_compilation_with_a_curator_is_no_made_up_artist(store: Store):
    data = raw(store, "90s-alternative-collected-28043898")
    data["artists"] = [{"name": "Various"}, {"name": "Someone"}]
    data["tracklist"][0]["artists"] = []
    album = rebuilt(store, "90s-alternative-collected-28043898", data)
    assert album.artist == "Various Artists"
    assert album.tracks[0].artist == "Various Artists"
    assert album.tracks[1].artist == raw(store, "90s-alternative-collected-28043898")["tracklist"][1]["artists"][0]["name"]


# --- positions and warnings ----------------------------------------------------

def test_numbered_positions_take_the_medium_of_the_formats(store: Store):
    album = load_album(store, "channels-27259821")  # a one-LP release numbered 1..10
    assert album.formats == ["Vinyl"] and album.media == ["vinyl"]
    assert {(t.medium, t.disc) for t in album.tracks} == {("vinyl", 1)}
    assert len(album.playable("vinyl")) == 10


@pytest.mark.parametrize("formats, details, medium, disc", [
    (["CD"], None, "cd", 1),
    (["Cassette"], None, "cassette", 1),
    (["CD", "CD"], None, "cd", None),
    (["CD"], [{"name": "CD", "qty": "2"}], "cd", None),
    (["Vinyl", "CD"], None, None, None),
])
def test_numbered_release_of_other_formats(store: Store, formats, details, medium, disc):
    data = raw(store, "channels-27259821")
    data["formats"] = formats
    if details:
        data["format_details"] = details
    album = rebuilt(store, "channels-27259821", data)
    assert {(t.medium, t.disc) for t in album.tracks} == {(medium, disc)}
    if medium:
        assert len(album.playable(medium)) == 10


def test_disc_numbers_of_numbered_discs_are_kept(store: Store):
    data = raw(store, "channels-27259821")
    data["formats"] = ["CD", "CD"]
    for i, row in enumerate(data["tracklist"]):
        row["position"] = f"{i // 5 + 1}-{i % 5 + 1}"
    album = rebuilt(store, "channels-27259821", data)
    assert [t.disc for t in album.playable("cd")] == [1] * 5 + [2] * 5


def test_a_flip_side_is_on_the_first_disc(store: Store):
    data = raw(store, "a-kind-of-magic-453215")
    data["tracklist"][1]["position"] = "AA"
    tracks = rebuilt(store, "a-kind-of-magic-453215", data).playable()
    assert [(t.side, t.disc) for t in tracks] == [("A", 1), ("AA", 1)]


def test_a_timed_row_without_position_stays_in_the_box_set(store: Store):
    data = raw(store, BOX)
    xanadu = next(r for r in data["tracklist"] if r["position"] == "CD2-4")
    xanadu["position"] = None
    album = rebuilt(store, BOX, data)
    index = data["tracklist"].index(xanadu)
    assert album.warnings == [f"tracklist[{index}] 'Xanadu': no position; kept in running order"]
    cd = album.playable("cd")
    assert len(cd) == 26 and cd[9].title == "Xanadu" and (cd[9].disc, cd[9].duration) == (2, 741)


def test_every_sample_album_loads_without_error_or_warning(store: Store):
    results = iter_albums(store)
    assert len(results) == 32
    assert [slug for slug, album in results if not isinstance(album, Album)] == []
    assert {slug: album.warnings for slug, album in results if isinstance(album, Album) and album.warnings} == {}


# --- lengths no track can have -------------------------------------------------

@pytest.mark.parametrize("value, shown", [(100000000000000000000, "100000000000000000000"), (-1, "-1"), (0, "0")])
def test_an_impossible_discogs_length_names_file_and_field(store: Store, value: int, shown: str):
    data = raw(store, "signals-33007098")
    data["tracklist"][3]["duration"] = value
    with pytest.raises(CollectionError) as err:
        rebuilt(store, "signals-33007098", data)
    path = store.album_path("signals-33007098")
    assert str(err.value) == f"{path}: tracklist[3].duration: {shown} is not a track length (1 s to 24 h)"


@pytest.mark.parametrize("value", [100000000000000000000, 10**400, -180000, 86_400_501])
def test_an_impossible_spotify_length_names_file_and_field(store: Store, value: int):
    data = raw(store, "1962-1966-28859305")
    data["services"]["spotify"]["tracks"][2]["duration_ms"] = value
    with pytest.raises(CollectionError) as err:
        rebuilt(store, "1962-1966-28859305", data)
    message = str(err.value)
    assert message.startswith(f"{store.album_path('1962-1966-28859305')}: services.spotify.tracks[2].duration_ms: ")
    assert message.endswith("is not a track length (1 s to 24 h)") and len(message) < 300


def test_a_day_long_spotify_track_is_still_a_length(store: Store):
    data = raw(store, "1962-1966-28859305")
    data["services"]["spotify"]["tracks"][0]["duration_ms"] = 86_400_000
    album = rebuilt(store, "1962-1966-28859305", data)
    assert album.playable()[0].duration == 86400


def test_an_int_discogs_length_is_used(store: Store):
    data = raw(store, "channels-27259821")
    data["tracklist"][0]["duration"] = 245
    assert rebuilt(store, "channels-27259821", data).playable()[0].duration == 245


def test_broken_and_oversized_albums_do_not_stop_the_others(data_copy: Path):
    albums = data_copy / "album"
    (albums / "2112-814617" / "2112-814617.json").write_bytes(b"[" * 200_000)
    (albums / "signals-33007098" / "signals-33007098.json").write_bytes(b'{"a":' * 200_000)
    with (albums / "channels-27259821" / "channels-27259821.json").open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)
    spotify = albums / "1962-1966-28859305" / "1962-1966-28859305.json"
    data = json.loads(spotify.read_text())
    data["services"]["spotify"]["tracks"][2]["duration_ms"] = -1
    spotify.write_text(json.dumps(data))
    results = dict(iter_albums(Store(data_copy)))
    broken = {slug: str(r) for slug, r in results.items() if isinstance(r, CollectionError)}
    assert set(broken) == {"2112-814617", "signals-33007098", "channels-27259821", "1962-1966-28859305"}
    assert "nested too deeply" in broken["2112-814617"] and "nested too deeply" in broken["signals-33007098"]
    assert "at most 50 MB" in broken["channels-27259821"]
    assert all("\n" not in message and slug in message for slug, message in broken.items())
    assert len(results) - len(broken) == 28


# --- the length a plan shows ------------------------------------------------------

def test_describe_length_shows_what_the_plan_uses(store: Store):
    untimed = Track("Song", "Band", "A1", "vinyl", 1, "A", None, None)
    assert describe_length(untimed) == (format_duration(DEFAULT_DURATION), "default") == ("3:00", "default")
    box = load_album(store, BOX)
    assert describe_length(box.playable()[0]) == ("5:56", "twin")
    assert describe_length(box.playable("cd")[2]) == ("2:56", "discogs")
    spotify = load_album(store, "8-tracks-37519692").playable()[0]
    assert describe_length(spotify)[1] == "spotify"


def test_loading_keeps_the_file_data_untouched(store: Store):
    data = raw(store, BOX)
    before = copy.deepcopy(data)
    rebuilt(store, BOX, data).playable("all", split=True)
    assert data == before
