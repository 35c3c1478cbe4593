"""Tracklist handling: durations, positions, names, headings, index works, broken rows."""

from __future__ import annotations

import pytest

from collection.duration_format import format_duration, parse_duration
from collection.names import clean_artist_name, clean_track_title, fold, join_artists, title_key
from collection.tracklist import build_tracks, parse_position, split_index
from errors import CollectionError


@pytest.mark.parametrize("text, seconds", [
    ("4:32", 272), ("0:25", 25), ("14:27", 867), ("65:10", 3910), ("1:02:03", 3723),
    ("", None), ("  ", None), ("junk", None), ("4:75", None), ("1:61:00", None),
    ("0:00", None), (None, None), (245, 245), (0, None), (True, None), ([1], None), ("4.32", None),
])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


def test_format_duration():
    assert format_duration(272) == "4:32"
    assert format_duration(3723) == "1:02:03"


@pytest.mark.parametrize("position, medium, disc, side", [
    ("A1", "vinyl", 1, "A"), ("B2", "vinyl", 1, "B"), ("C1", "vinyl", 2, "C"), ("F6", "vinyl", 3, "F"),
    ("A", "vinyl", 1, "A"), ("A-I", "vinyl", 1, "A"), ("A-VII", "vinyl", 1, "A"),
    ("1-1", None, 1, None), ("2.03", None, 2, None), ("CD1-1", "cd", 1, None),
    ("CD3-13", "cd", 3, None), ("BD-1", "bluray", 1, None), ("DVD2-4", "dvd", 2, None),
    ("9B4", "vinyl", 1, "B"), ("7", None, None, None), ("", None, None, None), ("??", None, None, None),
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
