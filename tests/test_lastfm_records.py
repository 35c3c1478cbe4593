"""Records that are not in the collection: planned, sent and queued from Last.fm's own tracklist."""

from __future__ import annotations

import json

import pytest

from tests.conftest import scrobbles

MOVING_PICTURES = {"artist": "Rush", "name": "Moving Pictures", "listeners": 500000, "playcount": 9000000,
                   "tracks": [{"name": "Tom Sawyer", "duration": 276}, {"name": "Red Barchetta", "duration": 370},
                              {"name": "YYZ", "duration": 266}, {"name": "Limelight", "duration": 0}]}


@pytest.fixture
def catalogue(emulator):
    emulator.emulator.load_catalogue({"albums": [MOVING_PICTURES, {"artist": "Nobody", "name": "Silence",
                                                                   "tracks": []}]})
    return emulator


def test_dry_run_needs_one_lookup(run_cli, lastfm_env, catalogue):
    result = run_cli("scrobble", "album", "--lastfm", "rush", "moving pictures", "--dry-run", "--json")
    assert result.exit_code == 0, result.stderr
    plan = json.loads(result.stdout)
    assert [s["track"] for s in plan["scrobbles"]] == ["Tom Sawyer", "Red Barchetta", "YYZ", "Limelight"]
    assert [s["duration_source"] for s in plan["scrobbles"]] == ["lastfm", "lastfm", "lastfm", "default"]
    assert plan["scrobbles"][3]["duration"] == 180 and plan["album_artist"] == "Rush"
    assert catalogue.emulator.request_counts()["by_method"] == {"album.getinfo": 1}
    text = run_cli("scrobble", "album", "--lastfm", "Rush", "Moving Pictures", "--dry-run")
    assert "1 track without a known length: 3:00 each (default)" in text.stdout
    assert catalogue.emulator.request_counts()["by_method"] == {"album.getinfo": 1}  # cached


def test_sent_through_the_ledger_like_any_album(run_cli, signed_in, catalogue):
    result = run_cli("scrobble", "album", "--lastfm", "Rush", "Moving Pictures", "--finished-at", "1h ago",
                     "--tracks", "1-3", "--json")
    data = json.loads(result.stdout)
    assert result.exit_code == 0 and data["accepted"] == 3
    assert [s["track"] for s in scrobbles(catalogue)] == ["Tom Sawyer", "Red Barchetta", "YYZ"]
    again = run_cli("scrobble", "album", "--lastfm", "Rush", "Moving Pictures", "--finished-at", "50m ago")
    assert again.exit_code == 1 and "overlaps Rush — Red Barchetta" in again.stderr


@pytest.mark.parametrize("artist, title, words", [
    ("Rush", "Signals", "Last.fm does not know the album Rush — Signals"),
    ("Nobody", "Silence", "Last.fm lists no tracks for it"),
])
def test_unknown_or_empty_records_are_one_line(run_cli, lastfm_env, catalogue, artist, title, words):
    result = run_cli("scrobble", "album", "--lastfm", artist, title, "--dry-run")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr.count("\n") == 1 and words in result.stderr


def test_either_an_album_or_a_record_from_last_fm(run_cli, lastfm_env):
    assert run_cli("scrobble", "album", "--dry-run").exit_code == 2
    assert run_cli("scrobble", "album", "2112", "--lastfm", "Rush", "2112", "--dry-run").exit_code == 2


def test_queued_from_last_fm(run_cli, signed_in, catalogue):
    added = run_cli("scrobble", "queue", "add", "2112", "--lastfm", "Rush", "Moving Pictures",
                    "--lastfm", "Rush", "Signals", "--json")
    data = json.loads(added.stdout)
    assert added.exit_code == 1 and data["albums"] == 2 and data["tracks"] == 10
    assert "does not know the album Rush — Signals" in data["errors"][0]
    run = run_cli("scrobble", "queue", "run", "--json")
    assert run.exit_code == 0 and json.loads(run.stdout)["accepted"] == 10
    assert {s["album"] for s in scrobbles(catalogue)} == {"2112", "Moving Pictures"}


def test_search_names_the_records_you_own(run_cli, lastfm_env, catalogue):
    catalogue.emulator.load_catalogue({"albums": [
        {"artist": "Rush", "name": "2112", "listeners": 284493, "tracks": []},
        {"artist": "Rush", "name": "2112 (40th Anniversary)", "listeners": 1200, "tracks": []},
        {"artist": "Someone Else", "name": "Not 2112 At All", "listeners": 5, "tracks": []}]})
    result = run_cli("lastfm", "search", "2112", "--json")
    found = json.loads(result.stdout)
    assert result.exit_code == 0 and [f["title"] for f in found][0] == "2112"
    assert found[0] == {"artist": "Rush", "title": "2112", "listeners": 284493,
                        "url": "https://www.last.fm/music/Rush/2112", "in_collection": "2112-814617"}
    assert {f["title"]: f["in_collection"] for f in found}["Not 2112 At All"] is None
    assert catalogue.emulator.request_counts()["by_method"] == {"album.search": 1, "album.getinfo": len(found)}
    text = run_cli("lastfm", "search", "2112", "--limit", "1")
    assert "Rush — 2112  (284,493 listeners)" in text.stdout and "in your collection: 2112-814617" in text.stdout
    assert catalogue.emulator.request_counts()["by_method"]["album.getinfo"] == len(found)  # cached
    empty = run_cli("lastfm", "search", "   ")
    assert empty.exit_code == 2 and "Traceback" not in empty.output
