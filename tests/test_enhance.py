"""lastfm-enhance against the emulator and the real recordings: values land, nothing is rewritten
without change, failures keep old values, hostile values are refused, edition suffixes match."""

from __future__ import annotations

import json
import shutil
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
import vcr
import yaml

from collection.lookup import iter_albums
from collection.names import album_key
from collection.store import Store
from tests.conftest import RECORDINGS, REPO, USER


@pytest.fixture
def site(tmp_path: Path) -> Path:
    target = tmp_path / "public"
    shutil.copytree(REPO / "public", target)
    return target


def catalogue_for(site: Path, names: dict[str, str] | None = None) -> dict:
    """The bundled albums as Last.fm knows them; `names` renames some (edition suffixes)."""
    albums = []
    for slug, album in iter_albums(Store(site)):
        albums.append({
            "artist": album.artist, "name": (names or {}).get(slug, album.title),
            "mbid": str(uuid.uuid5(uuid.NAMESPACE_URL, slug)), "listeners": 1000 + len(slug),
            "playcount": 50_000 + len(slug), "tags": ["rock", "vinyl", f"tag-{slug[:8]}"],
            "tracks": [{"name": t.title, "duration": t.duration or 0} for t in album.playable()],
        })
    return {"albums": albums}


def play(emulator, artist: str, album: str, count: int, at: int | None = None) -> None:
    now = int(time.time())
    from tests.lastfm_emulator.core import Scrobble

    for i in range(count):
        emulator.emulator.state.scrobbles[USER].append(
            Scrobble(USER, artist, f"track {i}", album, artist, (at or now - 86400) + i * 200, now))


def enhance(run_cli, site: Path, *args: str) -> tuple[int, dict]:
    result = run_cli("--data-dir", str(site), "lastfm-enhance", *args, "--json")
    return result.exit_code, json.loads(result.stdout)


def album_json(site: Path, slug: str) -> dict:
    return json.loads((site / "album" / slug / f"{slug}.json").read_text())


def index_entry(site: Path, slug: str) -> dict:
    return next(e for e in json.loads((site / "collection.json").read_text()) if slug in e["uri_release"])


def snapshot(site: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p): (p.read_bytes(), p.stat().st_mtime_ns) for p in site.rglob("*.json")}


def test_values_land_where_documented(run_cli, signed_in, emulator, site: Path):
    emulator.emulator.load_catalogue(catalogue_for(site))
    first = int(time.time()) - 3 * 86400  # inside the window lastfm-enhance reads, whatever today is
    play(emulator, "Rush", "2112", 7, at=first)
    code, report = enhance(run_cli, site)
    assert code == 0 and report["updated"] == 14 and report["failed"] == 0
    block = album_json(site, "2112-814617")["services"]["lastfm"]
    assert block["userplaycount"] == 7
    assert block["listeners"] == 1000 + len("2112-814617")
    assert block["url"] == "https://www.last.fm/music/Rush/2112"
    assert block["mbid"] == str(uuid.uuid5(uuid.NAMESPACE_URL, "2112-814617"))
    assert block["tags"] == ["rock", "vinyl", "tag-2112-814"]
    latest = first + 6 * 200  # the seventh play of those seeded on Last.fm
    assert block["last_scrobbled"] == datetime.fromtimestamp(latest, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert block["updated_at"].endswith("Z")
    entry = index_entry(site, "2112-814617")
    assert (entry["lastfm_listeners"], entry["lastfm_playcount"], entry["lastfm_user_playcount"],
            entry["lastfm_url"], entry["lastfm_last_scrobbled"]) == (
        block["listeners"], block["playcount"], 7, block["url"], block["last_scrobbled"])
    other = album_json(site, "channels-27259821")["services"]["lastfm"]
    assert other["userplaycount"] == 0 and "last_scrobbled" not in other
    # Every other key of the file is as it was, in the same order.
    original = json.loads((REPO / "public/album/2112-814617/2112-814617.json").read_text())
    updated = album_json(site, "2112-814617")
    assert list(updated) == list(original)
    assert {k: v for k, v in updated.items() if k != "services"} == {
        k: v for k, v in original.items() if k != "services"}


def test_second_run_rewrites_nothing_and_asks_little(run_cli, signed_in, emulator, site: Path):
    emulator.emulator.load_catalogue(catalogue_for(site))
    play(emulator, "Rush", "2112", 3)
    code, cold = enhance(run_cli, site, "--no-stats")
    assert code == 0 and cold["requests"] == 2 + 14  # top albums, recent tracks, one getInfo per album
    before = snapshot(site)
    code, warm = enhance(run_cli, site, "--no-stats")
    assert code == 0 and warm["updated"] == 0 and warm["files_written"] == 0
    assert warm["requests"] == 2
    assert snapshot(site) == before  # same bytes, same modification times


def test_new_scrobbles_change_only_their_albums(run_cli, signed_in, emulator, site: Path):
    emulator.emulator.load_catalogue(catalogue_for(site))
    enhance(run_cli, site, "--no-stats")
    before = snapshot(site)
    assert run_cli("--data-dir", str(site), "scrobble", "album", "a kind of magic", "--finished-at", "1h ago").exit_code == 0
    code, warm = enhance(run_cli, site, "--no-stats")
    assert warm["updated"] == 1 and warm["files_written"] == 2  # the album and the index
    changed = [p for p, v in snapshot(site).items() if before[p] != v]
    assert sorted(Path(p).name for p in changed) == ["a-kind-of-magic-453215.json", "collection.json"]
    block = album_json(site, "a-kind-of-magic-453215")["services"]["lastfm"]
    assert block["userplaycount"] == 2 and block["last_scrobbled"]


def test_failure_keeps_previous_values(run_cli, signed_in, emulator, site: Path):
    emulator.emulator.load_catalogue(catalogue_for(site))
    enhance(run_cli, site)
    before = album_json(site, "2112-814617")["services"]["lastfm"]
    emulator.emulator.add_fault({"method": "album.getinfo", "times": 100, "http": 503})
    emulator.emulator.add_fault({"method": "user.gettopalbums", "times": 5, "error": 16})
    code, report = enhance(run_cli, site, "--refresh")
    assert code == 0 and report["failed"] == 14 and report["warnings"]
    assert album_json(site, "2112-814617")["services"]["lastfm"] == before
    strict = run_cli("--data-dir", str(site), "lastfm-enhance", "--refresh", "--strict")
    assert strict.exit_code == 1 and "previous values kept" in strict.stderr


def test_hostile_values_are_refused(run_cli, signed_in, emulator, site: Path):
    catalogue = catalogue_for(site)
    rush = next(a for a in catalogue["albums"] if a["name"] == "2112")
    rush.update(mbid="not-an-id", tags=["ok", "<script>alert(1)</script>", "x" * 500] + [f"t{i}" for i in range(20)])
    emulator.emulator.load_catalogue(catalogue)
    hostile = ('<?xml version="1.0"?><lfm status="ok"><album><name>2112</name><artist>Rush</artist>'
               '<url>javascript:alert(1)</url><listeners>-3</listeners><playcount>12e9</playcount>'
               '<tags><tag><name>&lt;b&gt;</name></tag></tags></album></lfm>')
    code, report = enhance(run_cli, site, "2112")
    block = album_json(site, "2112-814617")["services"]["lastfm"]
    assert block["tags"][:1] == ["ok"] and len(block["tags"]) == 10
    assert all("<" not in t and len(t) <= 64 for t in block["tags"])
    assert block["mbid"] == "01befdc5-0af8-4720-a21c-0f24209f5e16"  # the file's own, kept
    refused = report["albums"][0]["refused"]
    assert any("mbid" in r for r in refused) and any("script" in r for r in refused)
    emulator.emulator.add_fault({"method": "album.getinfo", "times": 1, "body": hostile})
    code, report = enhance(run_cli, site, "2112", "--refresh")
    after = album_json(site, "2112-814617")["services"]["lastfm"]
    assert after["url"] == block["url"] and after["listeners"] == block["listeners"]
    assert after["playcount"] == block["playcount"]
    assert any("url" in r for r in report["albums"][0]["refused"])


def test_index_gets_only_checked_values(run_cli, signed_in, emulator, site: Path):
    """Albums Last.fm does not know keep their file's values; strings from an older collector stay out."""
    code, report = enhance(run_cli, site)
    assert code == 0
    for entry in json.loads((site / "collection.json").read_text()):
        for name in ("lastfm_listeners", "lastfm_playcount", "lastfm_user_playcount"):
            assert name not in entry or isinstance(entry[name], int) or entry[name] is None, (entry, name)
    saved = index_entry(site, "it-means-everything-37789602")
    original = index_entry(REPO / "public", "it-means-everything-37789602")
    assert saved["lastfm_listeners"] == original["lastfm_listeners"] == 207469


def test_dry_run_writes_nothing(run_cli, signed_in, emulator, site: Path):
    emulator.emulator.load_catalogue(catalogue_for(site))
    before = snapshot(site)
    result = run_cli("--data-dir", str(site), "lastfm-enhance", "2112", "--dry-run")
    assert result.exit_code == 0
    assert "2112-814617:" in result.stdout and "listeners: 284493 → 1011" in result.stdout
    assert snapshot(site) == before


def test_edition_suffixes_match_top_albums(run_cli, signed_in, emulator, site: Path):
    names = {"2112-814617": "2112 (Remastered 2012)",
             "a-kind-of-magic-453215": "A Kind of Magic [Deluxe Edition]"}
    emulator.emulator.load_catalogue(catalogue_for(site, names))
    play(emulator, "Rush", "2112 (Remastered 2012)", 4)
    play(emulator, "Queen", "A Kind of Magic [Deluxe Edition]", 2)
    code, report = enhance(run_cli, site)
    assert album_json(site, "2112-814617")["services"]["lastfm"]["userplaycount"] == 4
    assert album_json(site, "a-kind-of-magic-453215")["services"]["lastfm"]["userplaycount"] == 2
    matched = {a["slug"] for a in report["albums"] if a["matched"]}
    assert {"2112-814617", "a-kind-of-magic-453215"} <= matched


@pytest.mark.parametrize("left, right", [
    (("Rush", "2112"), ("rush", "2112 (Remastered 2012)")),
    (("Queen", "A Kind Of Magic"), ("Queen", "A Kind of Magic [Deluxe Edition]")),
    (("The Beatles", "1962-1966"), ("Beatles", "1962–1966 - 2023 Edition")),
    (("Voïvod", "Synchro Anarchy"), ("Voivod", "Synchro Anarchy")),
    (("Simon & Garfunkel", "Bookends"), ("Simon and Garfunkel", "Bookends")),
    (("Rush", "A Farewell To Kings (40th Anniversary Limited Edition Super Deluxe)"), ("Rush", "A Farewell to Kings")),
    (("Nirvana (2)", "Nevermind"), ("Nirvana", "Nevermind")),
])
def test_album_key_matches(left, right):
    assert album_key(*left) == album_key(*right)


@pytest.mark.parametrize("left, right", [
    (("Kraftwerk", "3-D (The Catalogue)"), ("Kraftwerk", "3-D")),
    (("Rush", "2112"), ("Rush", "Moving Pictures")),
    (("The The", "Soul Mining"), ("Soul Mining", "The The")),
])
def test_album_key_keeps_apart(left, right):
    assert album_key(*left) != album_key(*right)


def test_against_real_recordings(tmp_path: Path, run_cli, monkeypatch):
    """album.getInfo, user.getTopAlbums and user.getRecentTracks as the real service answered them."""
    site = tmp_path / "site"
    (site / "album" / "test-album-1").mkdir(parents=True)
    (site / "album" / "test-album-1" / "test-album-1.json").write_text(json.dumps({
        "title": "Test Album", "artists": [{"name": "Test Artist"}],
        "tracklist": [{"title": "Test Title", "position": "A1", "duration": "0:25"}]}, indent=2))
    (site / "collection.json").write_text(json.dumps([{
        "release_name": "Test Album", "release_artist": "Test Artist", "uri_release": "/album/test-album-1/"}]))
    cassette = tmp_path / "lastfm.yaml"
    interactions = []
    for name in ("TestPyLastNetwork.test_album_data", "TestPyLastUser.test_user_top_albums",
                 "TestPyLastUser.test_now_playing_user_with_no_scrobbles"):
        interactions += yaml.safe_load((Path(RECORDINGS) / f"{name}.yaml").read_text())["interactions"]
    for interaction in interactions:  # the recorded user has 26,565 pages of one album each: keep one
        body = interaction["response"]["body"]
        body["string"] = body["string"].replace('totalPages="26565"', 'totalPages="1"')
    cassette.write_text(yaml.safe_dump({"interactions": interactions, "version": 1}))

    def same_method(r1, r2):
        def method(r):
            return dict(p.split("=", 1) for p in (r.body or b"").decode().split("&") if "=" in p).get("method")
        assert method(r1) == method(r2)

    # The recordings dropped pylast's `?username=` query; match on the path and the API method.
    replay = vcr.VCR(record_mode="none", match_on=["method", "scheme", "host", "path", "lastfm_method"])
    replay.register_matcher("lastfm_method", same_method)
    for key, value in {"LASTFM_API_KEY": "k" * 32, "LASTFM_API_SECRET": "s" * 32, "LASTFM_USERNAME": "RJ",
                       "RUSSFM_STATE_DIR": str(tmp_path / "state")}.items():
        monkeypatch.setenv(key, value)
    for key in ("LASTFM_API_URL", "LASTFM_CA_BUNDLE"):
        monkeypatch.delenv(key, raising=False)
    with replay.use_cassette(str(cassette), allow_playback_repeats=True):
        result = run_cli("--data-dir", str(site), "lastfm-enhance", "--json")
    assert result.exit_code == 0, result.stderr
    block = json.loads((site / "album/test-album-1/test-album-1.json").read_text())["services"]["lastfm"]
    assert block["listeners"] == 832 and block["playcount"] == 9487
    assert block["url"] == "https://www.last.fm/music/Test+Artist/Test+Album"
    assert len(block["tags"]) == 5 and block["userplaycount"] == 0
    entry = json.loads((site / "collection.json").read_text())[0]
    assert entry["lastfm_listeners"] == 832 and entry["lastfm_user_playcount"] == 0


def album_info_body(url: str, tags: list[str], mbid: str = "") -> str:
    from xml.sax.saxutils import escape

    tag_xml = "".join(f"<tag><name>{escape(t)}</name><url>https://www.last.fm/tag/x</url></tag>" for t in tags)
    return ('<?xml version="1.0" encoding="UTF-8"?><lfm status="ok"><album><name>2112</name><artist>Rush</artist>'
            f'<mbid>{mbid}</mbid><url>{escape(url)}</url><listeners>10</listeners><playcount>20</playcount>'
            f'<tracks></tracks><tags>{tag_xml}</tags></album></lfm>')


@pytest.mark.parametrize("url", [
    'https://www.last.fm/music/Rush/2112" onmouseover="alert(1)',
    "https://www.last.fm/ javascript:alert(1)",
    "https://www.last.fm/music/Rush/2112\u202egnp.exe",
    "https://www.last.fm/music/Rush/\u200b2112",
    "https://www.last.fm.evil.example/music/Rush/2112",
    "https://www.last.fm/music/Rush/<script>",
])
def test_unsafe_urls_never_reach_the_site(run_cli, signed_in, emulator, site: Path, url: str):
    emulator.emulator.add_fault({"method": "album.getinfo", "times": 1, "body": album_info_body(url, ["rock"])})
    code, report = enhance(run_cli, site, "2112")
    block = album_json(site, "2112-814617")["services"]["lastfm"]
    assert block.get("url") != url and index_entry(site, "2112-814617").get("lastfm_url") != url
    assert any(r.startswith("url=") for r in report["albums"][0]["refused"])


def test_tags_are_short_plain_words(run_cli, signed_in, emulator, site: Path):
    tags = ["progressive rock", "http://evil.example", "www.evil.example", "rock\u202e", "zero\u200bwidth",
            'quote"s', "<b>", "x" * 41, "  canadian   ", "javascript:alert(1)"]
    emulator.emulator.add_fault({"method": "album.getinfo", "times": 1, "body": album_info_body(
        "https://www.last.fm/music/Rush/2112", tags)})
    enhance(run_cli, site, "2112")
    assert album_json(site, "2112-814617")["services"]["lastfm"]["tags"] == ["progressive rock", "canadian"]


def recent_body(*stamps: str) -> str:
    tracks = "".join(
        f'<track><artist mbid="">Rush</artist><name>Tears</name><streamable>0</streamable><mbid></mbid>'
        f'<album mbid="">2112</album><url>https://www.last.fm/music/Rush/_/Tears</url>'
        f'<date uts="{uts}">x</date></track>' for uts in stamps)
    return (f'<?xml version="1.0" encoding="UTF-8"?><lfm status="ok"><recenttracks user="{USER}" page="1" '
            f'perPage="200" totalPages="1" total="{len(stamps)}">{tracks}</recenttracks></lfm>')


def test_impossible_times_are_never_written(run_cli, signed_in, emulator, site: Path):
    real = int(time.time()) - 7200
    emulator.emulator.add_fault({"method": "user.getrecenttracks", "times": 1, "body": recent_body(
        "32503680000", "1700000000000", "17000000000000000", "12", str(real))})
    code, report = enhance(run_cli, site, "2112")
    assert code == 0
    expected = datetime.fromtimestamp(real, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert album_json(site, "2112-814617")["services"]["lastfm"]["last_scrobbled"] == expected
    assert index_entry(site, "2112-814617")["lastfm_last_scrobbled"] == expected


def test_bad_values_already_in_files_are_corrected(run_cli, signed_in, emulator, site: Path):
    path = site / "album" / "2112-814617" / "2112-814617.json"
    data = json.loads(path.read_text())
    known_mbid = data["services"]["lastfm"]["mbid"]
    assert known_mbid
    data["services"]["lastfm"].update(last_scrobbled="3000-01-01T00:00:00Z",
                                      url='https://www.last.fm/music/Rush/2112" onclick="x', listeners=-5)
    path.write_text(json.dumps(data, indent=2))
    index = json.loads((site / "collection.json").read_text())
    for entry in index:
        if "2112-814617" in str(entry.get("uri_release")):
            entry["lastfm_last_scrobbled"] = "3000-01-01T00:00:00Z"
    (site / "collection.json").write_text(json.dumps(index, indent=2))
    # Last.fm answers without an mbid, and knows no url: the file's checked values stay, the bad ones go.
    emulator.emulator.add_fault({"method": "album.getinfo", "times": 1, "body": album_info_body(
        "https://www.last.fm/music/Rush/2112", [], mbid="")})
    code, report = enhance(run_cli, site, "2112", "--refresh")
    block = album_json(site, "2112-814617")["services"]["lastfm"]
    assert "last_scrobbled" not in block and block["mbid"] == known_mbid
    assert block["url"] == "https://www.last.fm/music/Rush/2112" and block["listeners"] == 10
    assert "lastfm_last_scrobbled" not in index_entry(site, "2112-814617")
    again = snapshot(site)
    enhance(run_cli, site, "2112")
    assert snapshot(site) == again


def test_stored_values_of_the_wrong_type_are_rewritten(run_cli, signed_in, emulator, site: Path):
    emulator.emulator.load_catalogue(catalogue_for(site))
    enhance(run_cli, site, "2112", "--no-stats")
    path = site / "album" / "2112-814617" / "2112-814617.json"
    data = json.loads(path.read_text())
    block = data["services"]["lastfm"]
    block.update(userplaycount=block["userplaycount"] == 1 or True, listeners=float(block["listeners"]))
    path.write_text(json.dumps(data, indent=2))
    enhance(run_cli, site, "2112", "--no-stats")
    fixed = album_json(site, "2112-814617")["services"]["lastfm"]
    assert type(fixed["userplaycount"]) is int and type(fixed["listeners"]) is int
