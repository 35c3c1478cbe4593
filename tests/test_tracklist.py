"""Tracklist handling: durations, positions, names, headings, index works, broken rows."""

from __future__ import annotations

import pytest

from collection.duration_format import format_duration, parse_duration
from collection.names import album_artist, clean_artist_name, clean_track_title, fold, join_artists, title_key
from collection.tracklist import ReleaseMedium, build_tracks, parse_position, release_medium, split_index
from errors import CollectionError


@pytest.mark.parametrize("text, seconds", [
    ("4:32", 272), ("0:25", 25), ("14:27", 867), ("65:10", 3910), ("1:02:03", 3723),
    ("", None), ("  ", None), ("junk", None), ("4:75", None), ("1:61:00", None),
    ("0:00", None), (None, None), (245, 245), (0, None), (True, None), ([1], None), ("4.32", None),
    ("24:00:00", 86400), ("24:00:01", None), ("99:59:59", None), (86400, 86400), (86401, None),
    (10**20, None), (-5, None), (245.0, None), (False, None), ("-4:32", None),
])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


def test_format_duration():
    assert format_duration(272) == "4:32"
    assert format_duration(3723) == "1:02:03"
    assert format_duration(0) == "0:00"
    assert format_duration(-75) == "-1:15"


@pytest.mark.parametrize("seconds", [10**20, -(10**20), 10**4000, -(10**4000), 2**63, 36_000_000])
def test_format_duration_never_raises(seconds):
    text = format_duration(seconds)
    assert text.lstrip("-").startswith(">") and len(text) < 20


@pytest.mark.parametrize("position, medium, disc, side", [
    ("A1", "vinyl", 1, "A"), ("B2", "vinyl", 1, "B"), ("C1", "vinyl", 2, "C"), ("F6", "vinyl", 3, "F"),
    ("A", "vinyl", 1, "A"), ("A-I", "vinyl", 1, "A"), ("A-VII", "vinyl", 1, "A"),
    ("1-1", None, 1, None), ("2.03", None, 2, None), ("CD1-1", "cd", 1, None),
    ("CD3-13", "cd", 3, None), ("BD-1", "bluray", 1, None), ("DVD2-4", "dvd", 2, None),
    ("9B4", "vinyl", 1, "B"), ("7", None, None, None), ("", None, None, None), ("??", None, None, None),
    ("AA", "vinyl", 1, "AA"), ("AA1", "vinyl", 1, "AA"), ("CC2", "vinyl", 2, "CC"),
])
def test_parse_position(position, medium, disc, side):
    place = parse_position(position)
    assert (place.medium, place.disc, place.side) == (medium, disc, side)


def test_artist_names():
    assert clean_artist_name("Nirvana (2)") == "Nirvana"
    assert clean_artist_name("Prince*") == "Prince"
    assert clean_artist_name("Sublime (2)*") == "Sublime"
    assert clean_artist_name("Lisa Loeb & Nine Stories") == "Lisa Loeb & Nine Stories"
    joined = join_artists([
        {"name": "Simon (3)", "join": "&"}, {"name": "Garfunkel", "join": ","},
        {"name": "Friends*", "join": "Feat."}, {"name": "Guest"},
    ])
    assert joined == "Simon & Garfunkel, Friends Feat. Guest"
    assert join_artists([{"name": "A"}, {"name": "B"}]) == "A & B"


def test_blank_runs_collapse_in_titles_and_names():
    assert clean_track_title("Space  Age Love Song") == "Space Age Love Song"
    assert clean_track_title(" Tab\tand\u00a0 blank  *") == "Tab and blank"
    assert clean_artist_name("Big   Wreck (2)") == "Big Wreck"
    assert join_artists([{"name": "Simon  ", "join": " & "}, {"name": "Art  Garfunkel"}]) == "Simon & Art Garfunkel"


@pytest.mark.parametrize("artists, name", [
    ([{"name": "Various"}], "Various Artists"),
    ([{"name": "Various"}, {"name": "Someone"}], "Various Artists"),
    ([{"name": "Someone"}, {"name": "Various"}], "Various Artists"),
    ([{"name": "Various (2)*"}], "Various Artists"),
    ([{"name": "Rush"}], "Rush"),
    ([{"name": "Simon", "join": "&"}, {"name": "Garfunkel"}], "Simon & Garfunkel"),
    ([{"name": "Various Positions"}], "Various Positions"),
])
def test_album_artist_of_a_compilation(artists, name):
    assert album_artist(artists) == name


@pytest.mark.parametrize("formats, medium", [
    ([("Vinyl", 1)], ReleaseMedium("vinyl", 1)),
    ([("Vinyl", 2)], ReleaseMedium("vinyl", 2)),
    ([("Vinyl", 1), ("Vinyl", 1), ("All Media", 1)], ReleaseMedium("vinyl", 2)),
    ([("CD", 1)], ReleaseMedium("cd", 1)),
    ([("Cassette", 1)], ReleaseMedium("cassette", 1)),
    ([("Box Set", 1), ("Vinyl", 4), ("CD", 3)], ReleaseMedium()),
    ([("Vinyl", 1), ("8-Track Cartridge", 1)], ReleaseMedium()),
    ([("File", 1)], ReleaseMedium()),
    ([], ReleaseMedium()),
])
def test_release_medium_from_formats(formats, medium):
    found = release_medium(formats)
    assert (found.kind, found.count) == (medium.kind, medium.count)


@pytest.mark.parametrize("formats, kinds, box", [
    ([("Vinyl", 2)], ("vinyl",), False),
    ([("Vinyl", 1), ("CD", 1)], ("vinyl", "cd"), False),
    ([("Box Set", 1), ("Vinyl", 4), ("CD", 3), ("Blu-ray", 1)], ("vinyl", "cd", "bluray"), True),
    ([("box  set", 1), ("Vinyl", 8)], ("vinyl",), True),
    ([("Vinyl", 1), ("8-Track Cartridge", 1)], ("vinyl",), False),
    ([("File", 1)], (), False),
])
def test_release_medium_names_every_kind_and_a_box(formats, kinds, box):
    found = release_medium(formats)
    assert (found.kinds, found.box) == (kinds, box)


def test_titles_and_folding():
    assert clean_track_title("Hard Headed Woman *") == "Hard Headed Woman"
    assert clean_track_title("The Stockbridge Damper ") == "The Stockbridge Damper"
    assert fold("Motörhead & Épiphanie") == "motorhead and epiphanie"
    assert title_key("Wot's… Uh The Deal") == title_key("Wot's...Uh the Deal")
    assert title_key("Another Brick In The Wall, Part 2") == title_key("Another Brick in the Wall, Pt. 2")
    assert title_key("Pigs On The Wing (8-Track Version)") == title_key("Pigs on the Wing - 8-Track Version")
    assert title_key("Money") != title_key("Time")


def row(title, position="", duration="", **extra):
    return {"artists": [], "title": title, "position": position, "duration": duration, **extra}


def test_headings_are_never_tracks():
    rows = [row("Side One", type="heading"), row("Song", "A1", "3:00"), row("1 Autobahn"), row("Next", "B1", "2:00")]
    tracks = build_tracks(rows, "Band")
    assert [t.title for t in tracks] == ["Song", "Next"]


def test_blank_row_is_a_track_when_no_row_has_positions():
    tracks = build_tracks([row("One"), row("Two")], "Band")
    assert [t.title for t in tracks] == ["One", "Two"]


def test_index_collapses_to_one_track_with_summed_duration():
    rows = [
        row("2112", type="index"),
        row("Overture", "A-I", "4:32", parent="2112"),
        row("Temples", "A-II", "2:13", parent="2112"),
        row("Passage", "B1", "3:30"),
    ]
    tracks = build_tracks(rows, "Rush")
    assert [(t.title, t.duration, t.position, t.side) for t in tracks] == [
        ("2112", 272 + 133, "A-I", "A"), ("Passage", 210, "B1", "B"),
    ]
    assert [t.title for t in split_index(tracks)] == ["Overture", "Temples", "Passage"]


def test_index_with_an_unknown_part_duration_has_no_duration():
    rows = [row("Suite", type="index"), row("I", "A1", "4:00", parent="Suite"), row("II", "A2", "", parent="Suite")]
    (track,) = build_tracks(rows, "Band")
    assert track.duration is None and track.duration_source is None


def test_per_track_artists_override_album_artist():
    rows = [row("Buddy Holly", "A1", artists=[{"name": "Weezer"}]), row("Song", "A2")]
    tracks = build_tracks(rows, "Various")
    assert [t.artist for t in tracks] == ["Weezer", "Various"]


@pytest.mark.parametrize("rows, field", [
    ("not a list", "tracklist"),
    (["text"], "tracklist[0]"),
    ([{"title": 5, "position": "A1"}], "tracklist[0].title"),
    ([{"title": "x", "duration": ["3:00"]}], "tracklist[0].duration"),
    ([{"title": "x", "artists": "Band"}], "tracklist[0].artists"),
    ([{"title": "", "position": "A1"}], "tracklist[0].title"),
])
def test_broken_rows_name_the_field(rows, field):
    with pytest.raises(CollectionError) as err:
        build_tracks(rows, "Band")
    assert field in str(err.value)


def test_numbered_positions_take_the_release_medium():
    rows = [row("One", "1", "3:00"), row("Two", "2", "3:00")]
    assert [(t.medium, t.disc) for t in build_tracks(rows, "Band")] == [(None, None)] * 2
    cd = build_tracks(rows, "Band", release=ReleaseMedium("cd", 1))
    assert [(t.medium, t.disc) for t in cd] == [("cd", 1)] * 2
    two_discs = build_tracks(rows, "Band", release=ReleaseMedium("cd", 2))
    assert [(t.medium, t.disc) for t in two_discs] == [("cd", None)] * 2  # which disc is unknown
    numbered = build_tracks([row("One", "1-1"), row("Two", "2-3")], "Band", release=ReleaseMedium("cd", 2))
    assert [(t.medium, t.disc) for t in numbered] == [("cd", 1), ("cd", 2)]
    tape = build_tracks([row("One", "A1"), row("Two", "B1")], "Band", release=ReleaseMedium("cassette", 1))
    assert [(t.medium, t.side) for t in tape] == [("cassette", "A"), ("cassette", "B")]


@pytest.mark.parametrize("missing", [{"position": None}, {"position": ""}, {"position": "  "}, {}])
def test_a_timed_row_without_position_keeps_its_place_and_warns(missing):
    lost = {"artists": [], "title": "Lost  Song", "duration": "2:00", **missing}
    rows = [row("Side", type="heading"), row("One", "A1", "3:00"), lost, row("Two", "B1", "3:00"),
            row("2 Heading Without Type")]
    warnings: list[str] = []
    tracks = build_tracks(rows, "Band", warnings=warnings)
    assert [(t.title, t.side, t.disc, t.medium) for t in tracks] == [
        ("One", "A", 1, "vinyl"), ("Lost Song", "A", 1, "vinyl"), ("Two", "B", 1, "vinyl"),
    ]
    assert warnings == ["tracklist[2] 'Lost Song': no position; kept in running order"]


def test_an_unplaced_first_row_takes_the_place_after_it():
    warnings: list[str] = []
    tracks = build_tracks([row("Intro", "", "0:40"), row("One", "C1", "3:00")], "Band", warnings=warnings)
    assert [(t.title, t.side) for t in tracks] == [("Intro", "C"), ("One", "C")]
    assert len(warnings) == 1 and warnings[0].startswith("tracklist[0] 'Intro'")


def test_rows_without_any_positions_give_no_warning():
    warnings: list[str] = []
    assert len(build_tracks([row("One", "", "3:00"), row("Two")], "Band", warnings=warnings)) == 2
    assert warnings == []


@pytest.mark.parametrize("duration, shown", [
    (100000000000000000000, "100000000000000000000"), (-5, "-5"), (0, "0"), (86401, "86401"),
    (10**200, "1" + "0" * 39 + "…"),
])
def test_an_int_duration_out_of_range_is_an_error(duration, shown):
    rows = [row("a", "A1"), row("b", "A2"), row("c", "A3"), row("d", "A4", duration)]
    with pytest.raises(CollectionError) as err:
        build_tracks(rows, "Band")
    assert str(err.value) == f"tracklist[3].duration: {shown} is not a track length (1 s to 24 h)"


@pytest.mark.parametrize("duration", [245.0, True, 1e300])
def test_floats_and_bools_are_no_durations(duration):
    with pytest.raises(CollectionError, match=r"tracklist\[0\]\.duration: expected str or int"):
        build_tracks([row("a", "A1", duration)], "Band")


@pytest.mark.parametrize("duration", ["junk", "25:00:00", "4:75", "0:00"])
def test_unusable_duration_strings_are_unknown(duration):
    (track,) = build_tracks([row("a", "A1", duration)], "Band")
    assert track.duration is None and track.duration_source is None


def test_one_index_title_on_two_media_keeps_each_its_own_parts():
    rows = [
        row("Suite", type="index"), row("I", "A1", "", parent="Suite"), row("II", "A2", "", parent="Suite"),
        row("Suite", type="index"), row("I", "CD-1", "4:00", parent="Suite"), row("II", "CD-2", "2:00", parent="Suite"),
    ]
    tracks = build_tracks(rows, "Band")
    assert [(t.position, len(t.parts), t.duration) for t in tracks] == [("A1", 2, None), ("CD-1", 2, 360)]


def test_index_parts_listed_apart_are_still_gathered_by_title():
    rows = [row("Suite", type="index"), row("Other", "A1", "1:00"),
            row("I", "B1", "4:00", parent="Suite"), row("II", "B2", "2:00", parent="Suite")]
    tracks = build_tracks(rows, "Band")
    assert [(t.title, t.position, t.duration) for t in tracks] == [("Suite", "B1", 360), ("Other", "A1", 60)]
