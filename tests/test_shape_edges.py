"""Tracklist shapes at their edges: CD rows listed before the LP's sides, positions that name no medium in a
set of several, sub-parts of suite parts, absurd positions, and box headings that are not albums or hold
control characters; through the core and the command line."""

from __future__ import annotations

import copy
import json
import shutil
import time
from pathlib import Path

import pytest

from collection.tracklist import Position, heading_albums, parse_position
from tests.conftest import scrobbles
from tests.test_record_shapes import BOX, KRAFTWERK, LP_CD, SHAPES, built, plan, rewritten, show


@pytest.fixture(autouse=True)
def private_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUSSFM_STATE_DIR", str(tmp_path / "state"))


def _cd_first(data: dict) -> None:
    rows = data["tracklist"]
    data["tracklist"] = [r for r in rows if r["position"][:1].isdigit()] + [
        r for r in rows if not r["position"][:1].isdigit()]


def test_cd_rows_before_the_sides_are_the_cd():
    album = built(SHAPES, LP_CD, _cd_first)
    assert album.playable("all")[0].position == "1"
    vinyl = album.playable()
    assert len(vinyl) == 11 and {t.medium for t in vinyl} == {"vinyl"}
    cd = album.playable("cd")
    assert [t.position for t in cd] == [str(n) for n in range(1, 12)] and {t.disc for t in cd} == {1}


def test_cd_rows_before_the_sides_are_scrobbled_once(run_cli, tmp_path: Path):
    data_dir = rewritten(tmp_path, SHAPES, LP_CD, _cd_first)
    default = plan(run_cli, data_dir, LP_CD)
    assert [s["position"] for s in default["scrobbles"]][:2] == ["A1", "A2"] and len(default["scrobbles"]) == 11
    assert [t["medium"] for t in show(run_cli, data_dir, LP_CD, "--medium", "cd")["tracks"]] == ["cd"] * 11


@pytest.mark.parametrize("odd", ["-", "0", "A4.I.a", "Hidden"])
def test_a_position_that_names_no_medium_keeps_its_track_in_a_set_of_several(odd: str):
    def change(data: dict) -> None:
        next(r for r in data["tracklist"] if r["position"] == "A4")["position"] = odd
    album = built(SHAPES, LP_CD, change)
    vinyl = album.playable()
    assert [t.title for t in vinyl] == [t.title for t in built(SHAPES, LP_CD).playable()]
    assert (vinyl[3].position, vinyl[3].medium, vinyl[3].disc, vinyl[3].side) == (odd, "vinyl", 1, "A")
    assert len(album.playable("all")) == 22


def test_a_run_of_positions_that_name_no_medium_stays_apart():
    """Several such rows in a row may be a medium the tool cannot read: they are not added to the LP's plan."""
    def change(data: dict) -> None:
        data["tracklist"] += [{**copy.deepcopy(data["tracklist"][0]), "position": f"Video {n}", "title": f"Clip {n}"}
                              for n in (1, 2)]
    album = built(SHAPES, LP_CD, change)
    assert len(album.playable()) == 11
    assert [(t.title, t.medium) for t in album.playable("all")][-2:] == [("Clip 1", None), ("Clip 2", None)]


def test_a_dash_position_through_the_cli(run_cli, tmp_path: Path):
    def change(data: dict) -> None:
        next(r for r in data["tracklist"] if r["position"] == "B2")["position"] = "-"
    data_dir = rewritten(tmp_path, SHAPES, LP_CD, change)
    side_b = plan(run_cli, data_dir, LP_CD, "--side", "B")
    assert [s["position"] for s in side_b["scrobbles"]][:3] == ["B1", "-", "B3"]
    assert [t["position"] for t in show(run_cli, data_dir, LP_CD, "--side", "B")["tracks"]][:3] == ["B1", "-", "B3"]


@pytest.mark.parametrize("position, expected", [
    ("A4.I.a", Position("vinyl", 1, "A")), ("C2.II.b", Position("vinyl", 2, "C")),
    ("CD2-4.I.a", Position("cd", 2, None)), ("A4.I.a.b.c.d", Position()),
    ("CD" + "1" * 5000 + "-1", Position()), ("CD1234567-1", Position("cd", None, None)),
    ("1" * 5000 + "-2", Position()),
    ("A" + "1" * 5000, Position()), ("0", Position()), ("-", Position()), ("A  -  I", Position("vinyl", 1, "A")),
    ("LP2-3", Position("vinyl", 2, None)), ("lp1.4", Position("vinyl", 1, None)), ("LP-1", Position("vinyl", 1, None)),
])
def test_odd_and_absurd_positions(position: str, expected: Position):
    assert parse_position(position) == expected


def test_long_blank_runs_in_a_position_are_one_blank():
    """(Each blank of a long run once made the patterns try every split of it: minutes for one position.)"""
    assert parse_position("A" + " " * 50_000 + "1") == Position("vinyl", 1, "A")
    for text in ["A" + " " * 50_000 + "1!", "CD1" + " " * 50_000 + "-!", "1" + " " * 50_000 + "!"]:
        assert parse_position(text) == Position()


def test_a_position_of_thousands_of_digits_is_no_traceback(run_cli, tmp_path: Path):
    def change(data: dict) -> None:
        data["tracklist"][12]["position"] = "1" * 5000
        data["tracklist"][13]["position"] = "CD" + "2" * 5000 + "-1"
    data_dir = rewritten(tmp_path, SHAPES, LP_CD, change)
    assert len(plan(run_cli, data_dir, LP_CD)["scrobbles"]) == 11
    result = run_cli("--data-dir", str(data_dir), "albums", "show", LP_CD, "--medium", "all", "--json")
    assert result.exit_code == 0 and len(json.loads(result.stdout)["tracks"]) == 22


def test_tape_sides_in_a_release_of_a_tape_and_a_cd():
    def tape(data: dict) -> None:
        data["formats"] = ["Cassette", "CD"]
        data["format_details"][0]["name"] = "Cassette"
    album = built(SHAPES, LP_CD, tape)
    assert album.media == ["cassette", "cd"]
    assert {t.side for t in album.playable("cassette")} == {"A", "B"}


def test_box_headings_that_are_parts_stand_outside_the_numbering():
    assert heading_albums(["1 Autobahn", "2 Radio-Activity", 'Bonus 7"']) == ["Autobahn", "Radio-Activity", None]
    assert heading_albums(["Xtras", "LP1: Low", "LP2: Heroes"]) == [None, "Low", "Heroes"]
    assert heading_albums(["1 Autobahn", "3 Radio-Activity"]) == ["1 Autobahn", "3 Radio-Activity"]


def test_box_headings_lose_control_characters():
    assert heading_albums(["\x1b[31mAutobahn\x1b[0m", "Radio\u202e-Activity", "\x07\x00", "Low\u200b"]) == [
        "[31mAutobahn[0m", "Radio-Activity", None, "Low"]


def _bonus_heading_and_escapes(data: dict) -> None:
    rows = data["tracklist"]
    rows += [{"artists": [], "duration": "", "position": "", "title": 'Bonus 7"'},
             {**copy.deepcopy(rows[-1]), "position": "S", "title": "Tour De France (Single Edit)"},
             {**copy.deepcopy(rows[-1]), "position": "T", "title": "Tour De France (Instrumental)"}]
    first = next(r for r in rows if not r["position"])
    first["title"] = "1 Auto\x1bbahn\x07"


def test_a_box_with_a_bonus_heading_and_escapes_through_the_cli(run_cli, tmp_path: Path, sample_dir: Path):
    data_dir = rewritten(tmp_path, sample_dir, BOX, _bonus_heading_and_escapes)
    shown = show(run_cli, data_dir, BOX)
    assert shown["box_albums"] == ["Autobahn", *KRAFTWERK[1:]]
    planned = plan(run_cli, data_dir, BOX, "--disc", "1")
    assert {s["album"] for s in planned["scrobbles"]} == {"Autobahn"}
    text = run_cli("--data-dir", str(data_dir), "albums", "show", BOX, "--disc", "1").stdout
    assert "  album: Autobahn\n" in text and "\x1b" not in text and "\x07" not in text


def test_a_box_with_one_heading_keeps_the_box_title(sample_dir: Path):
    def one(data: dict) -> None:
        heading = next(r for r in data["tracklist"] if not r["position"])
        data["tracklist"] = [r for r in data["tracklist"] if r["position"] or r is heading]
    album = built(sample_dir, BOX, one)
    assert album.box_albums == [] and {t.album for t in album.playable()} == {None}


# --- a box's albums in the queue and in Last.fm lookups -----------------------------------------

def _queued_albums(state_dir: Path, job: str) -> list[str]:
    from scrobble.ledger import PENDING, Ledger

    with Ledger(state_dir) as ledger:
        return [e.album for e in sorted(ledger.entries_of_job(job, PENDING), key=lambda e: e.offset)]


def test_queue_add_keeps_the_box_title_when_asked(run_cli, lastfm_env, state_dir: Path, sample_dir: Path):
    per_album = run_cli("--data-dir", str(sample_dir), "scrobble", "queue", "add", BOX, "--json")
    assert per_album.exit_code == 0, per_album.stderr
    albums = _queued_albums(state_dir, json.loads(per_album.stdout)["job"])
    assert list(dict.fromkeys(albums)) == KRAFTWERK
    boxed = run_cli("--data-dir", str(sample_dir), "scrobble", "queue", "add", BOX, "--box-title", "--force",
                    "--json")
    assert boxed.exit_code == 0, boxed.stderr
    job = json.loads(boxed.stdout)
    assert job["tracks"] == len(albums)
    assert set(_queued_albums(state_dir, job["job"])) == {"3-D (The Catalogue)"}


def _untimed_first_lps(data: dict) -> None:
    """Sides A to D without lengths, and no Last.fm answer stored in the file: only a lookup can time them."""
    del data["services"]["lastfm"]["raw_data"]
    for row in data["tracklist"]:
        if row["position"][:1] in "ABCD":
            row["duration"] = ""


CATALOGUE = {"albums": [
    {"artist": "Kraftwerk", "name": "Autobahn",
     "tracks": [{"name": "Autobahn", "duration": 1366}, {"name": "Kometenmelodie 1", "duration": 381}]},
    {"artist": "Kraftwerk", "name": "3-D (The Catalogue)",
     "tracks": [{"name": "Autobahn", "duration": 111}, {"name": "Mitternacht", "duration": 222},
                {"name": "Radioactivity", "duration": 333}]},
]}


def test_lookup_asks_for_each_album_of_a_box(run_cli, lastfm_env, emulator, tmp_path: Path, sample_dir: Path):
    emulator.emulator.load_catalogue(CATALOGUE)
    data_dir = rewritten(tmp_path, sample_dir, BOX, _untimed_first_lps)
    looked = plan(run_cli, data_dir, BOX, "--side", "A,B,C", "--lookup")
    timed = {(s["album"], s["track"]): (s["duration"], s["duration_source"]) for s in looked["scrobbles"]}
    # Autobahn's own answer first; what it lacks from the box's answer; Radioactivity is unknown to Last.fm.
    assert timed[("Autobahn", "Autobahn")] == (1366, "lastfm")
    assert timed[("Autobahn", "Kometenmelodie 1")] == (381, "lastfm")
    assert timed[("Autobahn", "Mitternacht")] == (222, "lastfm")
    assert timed[("Radioactivity", "Radioactivity")] == (333, "lastfm")
    assert timed[("Radioactivity", "Radioland")] == (180, "default")
    assert emulator.emulator.request_counts()["by_method"] == {"album.getinfo": 3}
    boxed = plan(run_cli, data_dir, BOX, "--side", "A", "--lookup", "--box-title")
    assert [(s["album"], s["duration"]) for s in boxed["scrobbles"]] == [("3-D (The Catalogue)", 111)]
    assert emulator.emulator.request_counts()["by_method"] == {"album.getinfo": 3}  # all three cached


def test_a_real_send_times_a_box_album_from_its_own_answer(run_cli, signed_in, emulator, tmp_path: Path,
                                                           sample_dir: Path):
    emulator.emulator.load_catalogue(CATALOGUE)
    data_dir = rewritten(tmp_path, sample_dir, BOX, _untimed_first_lps)
    result = run_cli("--data-dir", str(data_dir), "scrobble", "album", BOX, "--side", "A", "--finished-at",
                     "1h ago", "--json")
    assert result.exit_code == 0, result.stderr
    (held,) = scrobbles(emulator)
    assert (held["album"], held["duration"]) == ("Autobahn", "1366")
    assert emulator.emulator.request_counts()["by_method"] == {"album.getinfo": 1, "track.scrobble": 1}


@pytest.mark.parametrize("qty", ["²", "9" * 5000, "-1", " 2 ", None, 3])
def test_odd_format_quantities(run_cli, tmp_path: Path, qty: object):
    def change(data: dict) -> None:
        data["format_details"][0]["qty"] = qty
    data_dir = rewritten(tmp_path, SHAPES, LP_CD, change)
    assert len(plan(run_cli, data_dir, LP_CD)["scrobbles"]) == 11


def test_lettered_sides_of_a_release_that_is_only_a_cd(run_cli, tmp_path: Path):
    def cd_only(data: dict) -> None:
        data["formats"] = ["CD"]
        data["format_details"] = [{"name": "CD", "qty": "1"}]
        data["tracklist"] = [r for r in data["tracklist"] if not r["position"][:1].isdigit()]
    data_dir = rewritten(tmp_path, SHAPES, LP_CD, cd_only)
    shown = show(run_cli, data_dir, LP_CD, "--medium", "cd", "--side", "B")
    assert shown["media"] == ["cd"] and [t["position"] for t in shown["tracks"]][:1] == ["B1"]
    assert {(t["medium"], t["disc"], t["side"]) for t in shown["tracks"]} == {("cd", 1, "B")}
    assert len(plan(run_cli, data_dir, LP_CD, "--medium", "cd")["scrobbles"]) == 11


def test_box_headings_numbered_in_words():
    assert heading_albums(["Disc One: Low", "Disc Two - Heroes", "Disc Three: Lodger"]) == ["Low", "Heroes", "Lodger"]
    assert heading_albums(["One Of These Days", "Two Of Us"]) == ["One Of These Days", "Two Of Us"]
    assert heading_albums(["Disc One: Low", "Disc Three: Lodger"]) == ["Disc One: Low", "Disc Three: Lodger"]


def test_a_record_of_an_album_alone_wins_over_a_box_with_a_shorter_title(sample_dir: Path):
    from collection.matching import Matcher

    box = built(sample_dir, BOX, lambda d: d.update(release_name_discogs="3-D"))
    single = built(sample_dir, "a-farewell-to-kings-6951528", lambda d: d.update(
        release_name_discogs="Computer World (2009 Remaster)",
        artists=[{**d["artists"][0], "name": "Kraftwerk", "discogs_original_name": "Kraftwerk"}]))
    for albums in ([box, single], [single, box]):
        matcher = Matcher.from_albums(albums)
        assert matcher.slug_of({"artist": "Kraftwerk", "album": "Computer World"}) == single.slug
        assert matcher.slug_of({"artist": "Kraftwerk", "album": "Autobahn"}) == BOX
        assert matcher.slug_of({"artist": "Kraftwerk", "album": "3-D"}) == BOX


@pytest.mark.parametrize("held_alone, count", [(False, 10), (True, 7)])
def test_enhance_counts_plays_of_a_box_album_for_the_box(run_cli, signed_in, emulator, tmp_path: Path,
                                                         held_alone: bool, count: int):
    """A box's tracks are scrobbled under their albums' titles; the box's play count on the site keeps them,
    except an album the collection also holds alone."""
    from tests.conftest import REPO
    from tests.test_enhance import album_json, catalogue_for, enhance, play

    public = tmp_path / "public"
    shutil.copytree(REPO / "public", public)
    if held_alone:
        index = json.loads((public / "collection.json").read_text(encoding="utf-8"))
        entry = next(e for e in index if "synchro-anarchy" in e["uri_release"])
        entry.update(release_artist="Kraftwerk", release_name="Computer World")
        (public / "collection.json").write_text(json.dumps(index), encoding="utf-8")
    emulator.emulator.load_catalogue(catalogue_for(public))
    at = int(time.time()) - 3 * 86400  # inside the window lastfm-enhance reads, whatever today is
    play(emulator, "Kraftwerk", "3-D (The Catalogue)", 2, at=at)
    play(emulator, "Kraftwerk", "Autobahn", 5, at=at + 3600)
    play(emulator, "Kraftwerk", "Computer World", 3, at=at + 7200)
    code, report = enhance(run_cli, public, BOX)
    assert code == 0, report
    assert album_json(public, BOX)["services"]["lastfm"]["userplaycount"] == count


def test_plays_of_a_compilation_box_album_find_the_box(sample_dir: Path):
    """Plays of a compilation carry the track's artist: those of a box's compilation album find the box."""
    from collection.matching import Matcher

    slug = "90s-alternative-collected-28043898"

    def boxed(data: dict) -> None:
        data["formats"] = ["Box Set", "Vinyl"]
        data["format_details"].insert(0, {"name": "Box Set", "qty": "1"})
        rows = data["tracklist"]
        second = next(i for i, r in enumerate(rows) if r["position"] == "C1")
        rows.insert(second, {"position": "", "title": "2 Nineties Two", "type": "heading", "duration": ""})
        rows.insert(0, {"position": "", "title": "1 Nineties One", "duration": ""})
    album = built(sample_dir, slug, boxed)
    assert album.box_albums == ["Nineties One", "Nineties Two"]
    matcher = Matcher.from_albums([album])
    assert matcher.slug_of({"artist": "Weezer", "album": "Nineties One"}) == slug
    assert matcher.slug_of({"artist": "Soundgarden", "album": "Nineties One"}) == slug  # B5: the first LP
    assert matcher.slug_of({"artist": "Various Artists", "album": "Nineties Two"}) == slug
    assert matcher.slug_of({"artist": "Weezer", "album": "Nineties Two"}) is None  # not on the second LP
