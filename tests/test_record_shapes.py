"""Hard tracklist shapes of real records, through the core and the CLI: suite sub-positions, an LP set with
its CD, names that end in `*`, box sets of albums, Last.fm lengths stored in the file; and `albums show`
agreeing with the plan."""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from collection.album import Album, album_from_data
from collection.lookup import load_album
from collection.names import credited_name, star_key
from collection.selection import Selection, selected_tracks
from collection.store import Store
from collection.tracklist import Position, heading_albums, parse_position
from errors import CollectionError, UsageError
from scrobble.planner import PlanOptions, build_plan
from tests.conftest import FIXTURES, scrobbles

SHAPES = FIXTURES / "shapes"
SUITE = "2112-sub-positions-814617"
LP_CD = "sometimes-i-sit-lp-and-cd-35090015"
STAR = "4½-star-name-8005929"
CREDITS = "90s-alternative-star-credits-28043898"
STORED = "a-flock-of-seagulls-stored-lengths-26056165"
BOX = "3-d-the-catalogue-10349797"
NOW = 1_800_000_000


def raw(data_dir: Path, slug: str) -> dict:
    return json.loads((data_dir / "album" / slug / f"{slug}.json").read_text(encoding="utf-8"))


def built(data_dir: Path, slug: str, change: Callable[[dict], None] | None = None) -> Album:
    data = copy.deepcopy(raw(data_dir, slug))
    if change:
        change(data)
    return album_from_data(data, slug, data_dir / "album" / slug / f"{slug}.json")


def rewritten(tmp_path: Path, data_dir: Path, slug: str, change: Callable[[dict], None]) -> Path:
    """A copy of the data folder whose album `slug` has `change` applied, for the CLI."""
    target = tmp_path / "data"
    shutil.copytree(data_dir, target)
    data = raw(target, slug)
    change(data)
    (target / "album" / slug / f"{slug}.json").write_text(json.dumps(data, indent=2, ensure_ascii=False),
                                                         encoding="utf-8")
    return target


def show(run_cli, data_dir: Path, slug: str, *args: str) -> dict:
    result = run_cli("--data-dir", str(data_dir), "albums", "show", slug, *args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def plan(run_cli, data_dir: Path, slug: str, *args: str) -> dict:
    result = run_cli("--data-dir", str(data_dir), "scrobble", "album", slug, "--finished-at", "10m ago",
                     *args, "--dry-run", "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(autouse=True)
def private_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUSSFM_STATE_DIR", str(tmp_path / "state"))


# --- 1. suites whose parts have sub-positions ---------------------------------------------------

@pytest.mark.parametrize("position, medium, disc, side", [
    ("A4.I", "vinyl", 1, "A"), ("A4a", "vinyl", 1, "A"), ("A4.a", "vinyl", 1, "A"), ("A4-1", "vinyl", 1, "A"),
    ("B.I", "vinyl", 1, "B"), ("C2.II", "vinyl", 2, "C"), ("D3b", "vinyl", 2, "D"), ("E1-2", "vinyl", 3, "E"),
    ("CD2-4a", "cd", 2, None), ("CD1-3.b", "cd", 1, None), ("4a", None, None, None), ("4.I", None, None, None),
    ("2.03", None, 2, None), ("1-1", None, 1, None),
])
def test_every_sub_position_form_keeps_side_and_disc(position, medium, disc, side):
    assert parse_position(position) == Position(medium, disc, side)


def _parts_as(form: Callable[[int], str]) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        parts = [row for row in data["tracklist"] if row.get("parent")]
        for n, row in enumerate(parts, 1):
            row["position"] = form(n)
    return change


ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII"]
FORMS = {
    "A1.I": lambda n: f"A1.{ROMAN[n - 1]}",  # as the fixture holds it
    "A1a": lambda n: f"A1{'abcdefg'[n - 1]}",
    "A1.a": lambda n: f"A1.{'abcdefg'[n - 1]}",
    "A1-1": lambda n: f"A1-{n}",
}


def _suite_on_side_b(data: dict) -> None:
    """The suite as the whole of side B (`B.I`…), the songs on side A, as some pressings have it."""
    rows = data["tracklist"]
    suite = [row for row in rows if row.get("type") == "index" or row.get("parent")]
    songs = [row for row in rows if row not in suite]
    for n, row in enumerate(songs, 1):
        row["position"] = f"A{n}"
    for n, row in enumerate(suite[1:]):
        row["position"] = f"B.{ROMAN[n]}"
    data["tracklist"] = songs + suite


@pytest.mark.parametrize("form", list(FORMS))
def test_suite_parts_keep_their_side_core(form):
    album = built(SHAPES, SUITE, _parts_as(FORMS[form]))
    suite = album.playable()[0]
    assert (suite.title, suite.side, suite.disc, suite.duration) == ("2112", "A", 1, 1236)
    side_a = selected_tracks(album, Selection(sides=("A",)))
    assert [t.title for t in side_a] == ["2112"]
    parts = selected_tracks(album, Selection(sides=("A",), split_index=True))
    assert len(parts) == 7 and {(t.side, t.disc, t.medium) for t in parts} == {("A", 1, "vinyl")}
    assert parts[0].title == "Overture" and [t.number for t in parts] == list(range(1, 8))
    assert [t.title for t in selected_tracks(album, Selection(disc=1))][:1] == ["2112"]


def test_a_suite_that_is_side_b_core():
    album = built(SHAPES, SUITE, _suite_on_side_b)
    assert [t.title for t in selected_tracks(album, Selection(sides=("B",)))] == ["2112"]
    parts = selected_tracks(album, Selection(sides=("B",), split_index=True))
    assert [(t.position, t.side) for t in parts][:2] == [("B.I", "B"), ("B.II", "B")] and len(parts) == 7
    assert len(selected_tracks(album, Selection(sides=("A",)))) == 5


def test_suite_parts_through_the_cli(run_cli, tmp_path: Path):
    shown = show(run_cli, SHAPES, SUITE, "--side", "A")
    assert [(t["title"], t["position"], t["side"], t["disc"]) for t in shown["tracks"]] == [("2112", "A1.I", "A", 1)]
    split = plan(run_cli, SHAPES, SUITE, "--side", "A", "--split-index")
    assert [s["position"] for s in split["scrobbles"]] == [f"A1.{r}" for r in ROMAN]
    assert {(s["side"], s["disc"]) for s in split["scrobbles"]} == {("A", 1)}
    data_dir = rewritten(tmp_path, SHAPES, SUITE, _suite_on_side_b)
    side_b = plan(run_cli, data_dir, SUITE, "--side", "B", "--split-index", "--include-short")
    assert [s["position"] for s in side_b["scrobbles"]] == [f"B.{r}" for r in ROMAN]
    text = run_cli("--data-dir", str(data_dir), "albums", "show", SUITE, "--side", "B")
    assert text.exit_code == 0 and "B.I" in text.stdout and "Bangkok" not in text.stdout


# --- 2. an LP set that also holds a CD numbered 1…11 -----------------------------------------------

def test_lp_and_cd_core():
    album = built(SHAPES, LP_CD)
    assert album.media == ["vinyl", "cd"] and album.default_medium() == "vinyl"
    vinyl = album.playable()
    assert len(vinyl) == 11 and {t.medium for t in vinyl} == {"vinyl"}
    cd = album.playable("cd")
    assert [t.position for t in cd] == [str(n) for n in range(1, 12)]
    assert {(t.medium, t.disc, t.side) for t in cd} == {("cd", 1, None)}
    assert [t.title for t in cd] == [t.title for t in vinyl]
    everything = album.playable("all")
    assert len(everything) == 22 and [t.medium for t in everything] == ["vinyl"] * 11 + ["cd"] * 11
    assert [t.title for t in selected_tracks(album, Selection(medium="cd", disc=1))] == [t.title for t in cd]


def test_a_second_cd_starts_its_numbers_again():
    def two_cds(data: dict) -> None:
        data["format_details"][-1]["qty"] = "2"
        data["tracklist"] += [{**copy.deepcopy(data["tracklist"][0]), "position": str(n), "title": f"Demo {n}"}
                              for n in (1, 2, 3)]
    album = built(SHAPES, LP_CD, two_cds)
    cd = album.playable("cd")
    assert [(t.position, t.disc) for t in cd][-4:] == [("11", 1), ("1", 2), ("2", 2), ("3", 2)]


def test_plain_rows_without_a_cd_in_the_formats_are_not_made_a_cd():
    def no_cd(data: dict) -> None:
        data["formats"] = ["Vinyl", "Cassette"]
        data["format_details"][-1]["name"] = "Cassette"
    album = built(SHAPES, LP_CD, no_cd)
    assert "cd" not in album.media


def test_lp_and_cd_through_the_cli(run_cli):
    default = plan(run_cli, SHAPES, LP_CD)
    assert len(default["scrobbles"]) == 11, "the record is scrobbled once, from the LP"
    dry = run_cli("--data-dir", str(SHAPES), "scrobble", "album", LP_CD, "--finished-at", "10m ago", "--dry-run")
    assert "11 tracks, 33:00," in dry.stdout
    assert not any(line.split()[1:2] == ["1"] for line in dry.stdout.splitlines()), "no CD row in the LP's plan"
    assert {s["medium"] for s in default["scrobbles"]} == {"vinyl"}
    cd = plan(run_cli, SHAPES, LP_CD, "--medium", "cd")
    assert [s["position"] for s in cd["scrobbles"]] == [str(n) for n in range(1, 12)]
    assert {(s["medium"], s["disc"]) for s in cd["scrobbles"]} == {("cd", 1)}
    everything = show(run_cli, SHAPES, LP_CD, "--medium", "all")
    assert everything["media"] == ["vinyl", "cd"]
    assert [(t["medium"], t["disc"]) for t in everything["tracks"]] == [("vinyl", 1)] * 11 + [("cd", 1)] * 11
    text = run_cli("--data-dir", str(SHAPES), "albums", "show", LP_CD, "--medium", "all")
    lines = text.stdout.splitlines()
    assert any(" A1  " in line and "vinyl 1" in line for line in lines)
    assert any(line.startswith(" 12  1 ") and "cd 1" in line for line in lines)
    disc = run_cli("--data-dir", str(SHAPES), "scrobble", "album", LP_CD, "--medium", "cd", "--disc", "2",
                   "--dry-run")
    assert disc.exit_code == 2 and "has no disc 2 (discs: 1)" in disc.stderr


def test_lp_and_cd_is_sent_once(run_cli, signed_in, emulator):
    result = run_cli("--data-dir", str(SHAPES), "scrobble", "album", LP_CD, "--finished-at", "1h ago", "--json")
    assert result.exit_code == 0, result.stderr
    held = scrobbles(emulator)
    assert len(held) == 11 and len({s["track"] for s in held}) == 11


# --- 3. artist names that really end in `*` ------------------------------------------------------

def test_credited_name_decides_from_the_other_names():
    assert credited_name({"name": "Prince*"}) == "Prince"
    assert credited_name({"name": "Sublime (2)*", "discogs_original_name": "Sublime (2)"}) == "Sublime"
    assert credited_name({"name": "Blank Page*", "discogs_original_name": "Blank Page*"}) == "Blank Page*"
    assert credited_name({"name": "Blank Page* (2)", "discogs_original_name": "Blank Page* (2)"}) == "Blank Page*"
    assert credited_name({"name": "Blank Page*"}, {star_key("Blank Page*")}) == "Blank Page*"
    assert credited_name({"name": "blank page*"}, {star_key("Blank Page*")}) == "blank page*"
    # Discogs' own name wins over a service that spells the variation with its marker.
    assert credited_name({"name": "Blank Page*", "discogs_original_name": "Blank Page"},
                         {star_key("Blank Page*")}) == "Blank Page"
    assert credited_name({"name": "Manics*", "discogs_original_name": "Manic Street Preachers"}) == "Manics"
    assert credited_name({"name": "***"}, {"***"}) == ""


def _names_left_to(keep: str) -> Callable[[dict], None]:
    """Only one source still spells the name with its `*`; the others give it without."""
    def change(data: dict) -> None:
        spotify = data["services"]["spotify"]
        lastfm = data["services"]["lastfm"]["raw_data"]["album"]
        if keep not in ("spotify", "both"):
            for holder in [spotify["raw_data"], *spotify["raw_data"]["tracks"]["items"], *spotify["tracks"]]:
                for artist in holder["artists"]:
                    artist["name"] = "Blank Page"
        if keep not in ("lastfm", "both"):
            lastfm["artist"] = "Blank Page"
            for track in lastfm["tracks"]["track"]:
                track["artist"]["name"] = "Blank Page"
    return change


@pytest.mark.parametrize("keep, name", [
    ("both", "Blank Page*"), ("spotify", "Blank Page*"), ("lastfm", "Blank Page*"), ("neither", "Blank Page"),
])
def test_album_artist_star_from_spotify_and_lastfm(keep, name):
    album = built(SHAPES, STAR, _names_left_to(keep))
    assert album.artist == name
    assert {t.artist for t in album.playable()} == {name}


def test_discogs_original_name_decides_when_the_file_has_it():
    def original(spelt: str) -> Callable[[dict], None]:
        def change(data: dict) -> None:
            data["artists"][0]["discogs_original_name"] = spelt
        return change
    assert built(SHAPES, STAR, original("Blank Page*")).artist == "Blank Page*"
    assert built(SHAPES, STAR, original("Blank Page")).artist == "Blank Page"


def test_star_names_through_the_cli(run_cli):
    shown = show(run_cli, SHAPES, STAR)
    assert shown["artist"] == "Blank Page*" and {t["artist"] for t in shown["tracks"]} == {"Blank Page*"}
    planned = plan(run_cli, SHAPES, STAR)
    assert {(s["artist"], s["album_artist"]) for s in planned["scrobbles"]} == {("Blank Page*", "Blank Page*")}
    credits = plan(run_cli, SHAPES, CREDITS)
    artists = {s["position"]: s["artist"] for s in credits["scrobbles"]}
    assert (artists["A2"], artists["B1"], artists["A1"]) == ("Manics", "Blank Page*", "Weezer")
    assert {s["album_artist"] for s in credits["scrobbles"]} == {"Various Artists"}
    text = run_cli("--data-dir", str(SHAPES), "albums", "show", STAR).stdout
    assert text.startswith("Blank Page* — 4½  [")
    listed = run_cli("--data-dir", str(SHAPES), "scrobble", "album", CREDITS, "--dry-run").stdout
    assert "Manics — You Stole The Sun" in listed and "Blank Page* — Bang And Blame" in listed


def test_star_name_reaches_lastfm(run_cli, signed_in, emulator):
    result = run_cli("--data-dir", str(SHAPES), "scrobble", "album", STAR, "--finished-at", "1h ago", "--json")
    assert result.exit_code == 0, result.stderr
    assert {(s["artist"], s["album_artist"]) for s in scrobbles(emulator)} == {("Blank Page*", "Blank Page*")}


# --- 4. box sets of whole albums -------------------------------------------------------------------

KRAFTWERK = ["Autobahn", "Radioactivity", "Trans Europe Express", "The Man-Machine", "Computer World",
             "Techno Pop", "The Mix", "Tour De France"]


def test_heading_albums():
    assert heading_albums(["1 Autobahn", "2 Radioactivity"]) == ["Autobahn", "Radioactivity"]
    assert heading_albums(["LP1: Low", "LP2: Heroes", "LP3: Lodger"]) == ["Low", "Heroes", "Lodger"]
    assert heading_albums(["12 Gold Bars Volume One", "12 Gold Bars Volume Two"]) == [
        "12 Gold Bars Volume One", "12 Gold Bars Volume Two"]
    assert heading_albums(["1999", "Purple Rain"]) == ["1999", "Purple Rain"]
    assert heading_albums(["Side One", "Disc 2", "Bonus 7\"", "-", "Xtras", "LP", "Blu-Ray Audio"]) == [None] * 7
    assert heading_albums(["Side Effects", "Disco Inferno", "Extra Texture"]) == [
        "Side Effects", "Disco Inferno", "Extra Texture"]


def test_box_of_albums_core(sample_dir: Path):
    album = load_album(Store(sample_dir), BOX)
    assert album.box_albums == KRAFTWERK
    tracks = album.playable()
    assert {t.album for t in tracks if t.disc == 1} == {"Autobahn"}
    assert {t.album for t in tracks if t.disc in (7, 8)} == {"The Mix"}  # one album on two LPs
    assert [t.album for t in tracks][-1] == "Tour De France"
    kept = album.playable(box_title=True)
    assert {t.album for t in kept} == {None} and [t.title for t in kept] == [t.title for t in tracks]
    laid = build_plan(album, PlanOptions(disc=2, finished_at=NOW - 60), NOW)
    assert {s.album for s in laid.scrobbles} == {"Radioactivity"} and laid.album == "3-D (The Catalogue)"
    boxed = build_plan(album, PlanOptions(disc=2, finished_at=NOW - 60, box_title=True), NOW)
    assert {s.album for s in boxed.scrobbles} == {"3-D (The Catalogue)"}


def test_typed_headings_name_albums_too(sample_dir: Path):
    def typed(data: dict) -> None:
        for row in data["tracklist"]:
            if not row["position"]:
                row["type"] = "heading"
    assert built(sample_dir, BOX, typed).box_albums == KRAFTWERK


@pytest.mark.parametrize("slug, change", [
    ("12-gold-bars-volume-ii-1108230", None),  # a double LP, not a box: one album
    ("a-farewell-to-kings-40th-anniversary-limited-edition-super-deluxe-11255606", None),  # headings inside discs
    (BOX, "heading-inside-a-disc"),
    (BOX, "not-a-box"),
])
def test_headings_that_do_not_name_the_albums_of_a_box(sample_dir: Path, slug: str, change: str | None):
    def edit(data: dict) -> None:
        if change == "heading-inside-a-disc":
            at = next(i for i, row in enumerate(data["tracklist"]) if row["position"] == "B1")
            data["tracklist"].insert(at, {"artists": [], "duration": "", "position": "", "title": "Side Two"})
        elif change == "not-a-box":
            data["formats"] = [f for f in data["formats"] if f != "Box Set"]
    album = built(sample_dir, slug, edit)
    assert album.box_albums == [] and {t.album for t in album.playable("all")} == {None}


def test_box_of_albums_through_the_cli(run_cli, sample_dir: Path):
    shown = show(run_cli, sample_dir, BOX, "--disc", "1")
    assert shown["box_albums"] == KRAFTWERK and {t["album"] for t in shown["tracks"]} == {"Autobahn"}
    planned = plan(run_cli, sample_dir, BOX, "--side", "B,C")
    assert planned["album"] == "3-D (The Catalogue)"
    assert [s["album"] for s in planned["scrobbles"]][0] == "Autobahn"
    assert [s["album"] for s in planned["scrobbles"]][-1] == "Radioactivity"
    boxed = plan(run_cli, sample_dir, BOX, "--side", "B,C", "--box-title")
    assert {s["album"] for s in boxed["scrobbles"]} == {"3-D (The Catalogue)"}
    text = run_cli("--data-dir", str(sample_dir), "scrobble", "album", BOX, "--side", "B,C", "--finished-at",
                   "10m ago", "--dry-run").stdout.splitlines()
    assert text.index("  album: Autobahn") < text.index("  album: Radioactivity")
    kept = run_cli("--data-dir", str(sample_dir), "albums", "show", BOX, "--disc", "1", "--box-title").stdout
    assert "album:" not in kept


def test_box_albums_reach_lastfm(run_cli, signed_in, emulator, sample_dir: Path):
    result = run_cli("--data-dir", str(sample_dir), "scrobble", "album", BOX, "--disc", "1",
                     "--finished-at", "1h ago", "--json")
    assert result.exit_code == 0, result.stderr
    held = scrobbles(emulator)
    assert len(held) == 5 and {(s["album"], s["album_artist"]) for s in held} == {("Autobahn", "Kraftwerk")}


def test_plays_of_a_box_album_are_plays_of_the_box(sample_dir: Path):
    from collection.matching import Matcher

    store = Store(sample_dir)
    box = load_album(store, BOX)
    assert Matcher.from_albums([box]).slug_of({"artist": "Kraftwerk", "album": "Computer World"}) == BOX
    # A record of that album on its own is the better match for its plays.
    single = built(sample_dir, "a-farewell-to-kings-6951528", lambda d: d.update(
        release_name_discogs="Computer World", artists=[{**d["artists"][0], "name": "Kraftwerk",
                                                         "discogs_original_name": "Kraftwerk"}]))
    matcher = Matcher.from_albums([box, single])
    assert matcher.slug_of({"artist": "Kraftwerk", "album": "Computer World"}) == single.slug
    assert matcher.slug_of({"artist": "Kraftwerk", "album": "3-D (The Catalogue)"}) == BOX


# --- 5. Last.fm lengths the file already holds ----------------------------------------------------

def test_stored_lastfm_lengths_core():
    album = built(SHAPES, STORED)
    tracks = album.playable()
    assert [t.duration_source for t in tracks].count("lastfm") == 10
    tokyo = next(t for t in tracks if t.title == "Tokyo")
    assert (tokyo.duration, tokyo.duration_source) == (None, None)  # Last.fm has no "Tokyo" on this album
    assert next(t for t in tracks if t.title == "I Ran").duration == 220  # "I Ran (So Far Away)"
    laid = build_plan(album, PlanOptions(finished_at=NOW - 60), NOW)
    assert laid.finished_at - laid.started_at == 2146 + 180


def test_discogs_and_spotify_come_before_stored_lastfm_lengths(sample_dir: Path):
    real = load_album(Store(sample_dir), "a-flock-of-seagulls-26056165")
    assert {t.duration_source for t in real.playable()} == {"discogs"}
    no_discogs = built(sample_dir, "a-flock-of-seagulls-26056165",
                       lambda d: [row.update(duration="") for row in d["tracklist"]])
    sources = {t.title: t.duration_source for t in no_discogs.playable()}
    assert sources["Messages"] == "spotify" and "lastfm" not in sources.values()


@pytest.mark.parametrize("duration, seconds", [("172", 172), (None, None), (0, None), ("", None), ("x", None)])
def test_stored_lengths_as_lastfm_writes_them(duration, seconds):
    def change(data: dict) -> None:
        track = data["services"]["lastfm"]["raw_data"]["album"]["tracks"]["track"][4]
        assert track["name"] == "Messages"
        track["duration"] = duration
    messages = next(t for t in built(SHAPES, STORED, change).playable() if t.title == "Messages")
    assert messages.duration == seconds


@pytest.mark.parametrize("duration", [86_401, -5, "99999999999999999"])
def test_a_stored_length_no_track_can_have_is_refused(duration):
    def change(data: dict) -> None:
        data["services"]["lastfm"]["raw_data"]["album"]["tracks"]["track"][0]["duration"] = duration
    with pytest.raises(CollectionError, match=r"services\.lastfm\.raw_data\.album\.tracks\.track\[0\]\.duration"):
        built(SHAPES, STORED, change)


def test_one_stored_track_is_an_object_not_a_list():
    def change(data: dict) -> None:
        tracks = data["services"]["lastfm"]["raw_data"]["album"]["tracks"]
        tracks["track"] = tracks["track"][4]
    sources = {t.title: t.duration_source for t in built(SHAPES, STORED, change).playable()}
    assert sources["Messages"] == "lastfm" and list(sources.values()).count("lastfm") == 1


def test_stored_lengths_offline_and_in_a_real_send(run_cli, signed_in, emulator):
    planned = plan(run_cli, SHAPES, STORED)
    assert [s["duration_source"] for s in planned["scrobbles"]].count("lastfm") == 10
    assert planned["finished_at"] - planned["started_at"] == 2146 + 180
    assert emulator.emulator.request_counts()["total"] == 0
    text = run_cli("--data-dir", str(SHAPES), "albums", "show", STORED).stdout.splitlines()
    assert sum(" lastfm " in line for line in text) == 10
    assert any(line.endswith("3:00  default  Tokyo") for line in text)
    dry = run_cli("--data-dir", str(SHAPES), "scrobble", "album", STORED, "--finished-at", "10m ago", "--dry-run")
    assert "11 tracks, 38:46," in dry.stdout and "1 track without a known length" in dry.stdout
    result = run_cli("--data-dir", str(SHAPES), "scrobble", "album", STORED, "--finished-at",
                     str(planned["finished_at"]), "--json")
    assert result.exit_code == 0, result.stderr
    held = scrobbles(emulator)
    assert [(s["track"], s["timestamp"], s["duration"]) for s in held] == [
        (s["track"], s["timestamp"], str(s["duration"])) for s in planned["scrobbles"]]
    # Only "Tokyo" was still untimed: one album.getInfo (Last.fm does not know it either), one scrobble batch.
    assert emulator.emulator.request_counts()["by_method"] == {"album.getinfo": 1, "track.scrobble": 1}


# --- albums show and the plan agree ---------------------------------------------------------------

AGREE = [
    (SHAPES, SUITE, []), (SHAPES, SUITE, ["--side", "A", "--split-index"]), (SHAPES, SUITE, ["--disc", "1"]),
    (SHAPES, LP_CD, []), (SHAPES, LP_CD, ["--medium", "cd"]), (SHAPES, LP_CD, ["--medium", "all"]),
    (SHAPES, LP_CD, ["--medium", "cd", "--disc", "1"]), (SHAPES, STAR, ["--side", "b"]), (SHAPES, CREDITS, []),
    (SHAPES, STORED, []), (SHAPES, STORED, ["--side", "B"]),
    (None, BOX, []), (None, BOX, ["--disc", "7"]), (None, BOX, ["--side", "A,R", "--box-title"]),
    (None, "a-farewell-to-kings-40th-anniversary-limited-edition-super-deluxe-11255606", ["--medium", "all"]),
    (None, "a-farewell-to-kings-40th-anniversary-limited-edition-super-deluxe-11255606", ["--medium", "bluray"]),
    (None, "12-gold-bars-volume-ii-1108230", ["--side", "C"]),
]


@pytest.mark.parametrize("data_dir, slug, args", AGREE)
def test_albums_show_and_the_plan_agree(run_cli, sample_dir: Path, data_dir: Path | None, slug: str,
                                        args: list[str]):
    folder = data_dir or sample_dir
    shown = show(run_cli, folder, slug, *args)
    planned = plan(run_cli, folder, slug, *args, "--include-short")
    assert planned["album"] == shown["title"] and planned["album_artist"] == shown["artist"]
    listed = [(t["number"], t["position"], t["title"], t["artist"], t["album"], t["medium"], t["disc"], t["side"],
               t["duration"] or 180, t["duration_source"]) for t in shown["tracks"]]
    laid = [(s["track_number"], s["position"], s["track"], s["artist"], s["album"], s["medium"], s["disc"],
             s["side"], s["duration"], s["duration_source"]) for s in planned["scrobbles"]]
    assert listed == laid and listed


@pytest.mark.parametrize("args, message", [
    (["--side", "Z"], "has no side Z (sides: A, B)"),
    (["--disc", "3"], "has no disc 3 (discs: 1)"),
    (["--medium", "cd"], "has no cd tracks (it has vinyl)"),
])
def test_albums_show_refuses_what_the_plan_refuses(run_cli, args: list[str], message: str):
    for command in (["albums", "show", SUITE], ["scrobble", "album", SUITE, "--dry-run"]):
        result = run_cli("--data-dir", str(SHAPES), *command, *args)
        assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_selection_errors_in_the_core():
    album = built(SHAPES, SUITE)
    with pytest.raises(UsageError, match="no side Z"):
        selected_tracks(album, Selection(sides=("Z",)))
    with pytest.raises(UsageError, match="no disc 2"):
        selected_tracks(album, Selection(disc=2))
