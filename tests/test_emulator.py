"""The emulator against the unmodified pylast: every method, the request checks, faults and limits."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from xml.dom import minidom

import pylast
import pytest
import requests

from config import Settings
from errors import LastfmError, LastfmTemporary, OutcomeUnknown, SessionInvalid
from lastfm.client import LastFM
from tests.conftest import PASSWORD, REPO, USER
from tests.lastfm_emulator import Emulator, RunningEmulator, signature
from tests.lastfm_emulator.core import Scrobble

CATALOGUE = {
    "albums": [{
        "artist": "Rush", "name": "2112", "mbid": "01befdc5-0af8-4720-a21c-0f24209f5e16",
        "listeners": 284493, "playcount": 3842690, "tags": ["progressive rock", "rock"],
        "tracks": [{"name": "2112", "duration": 1233}, {"name": "A Passage to Bangkok", "duration": 214}],
    }],
}


@pytest.fixture
def emu(emulator: RunningEmulator) -> RunningEmulator:
    emulator.emulator.load_catalogue(CATALOGUE)
    return emulator


def network(settings: Settings, session_key: str = "") -> pylast.LastFMNetwork:
    return LastFM(settings, session_key).network


def inspect(emu: RunningEmulator, verb: str, path: str, **kwargs) -> requests.Response:
    return requests.request(verb, f"{emu.base}/_emulator/{path}", verify=emu.ca_bundle, timeout=5, **kwargs)


def test_web_auth_flow_with_pylast(emu: RunningEmulator, settings: Settings):
    generator = pylast.SessionKeyGenerator(network(settings))
    url = generator.get_web_auth_url()
    token = generator.web_auth_tokens[url]
    with pytest.raises(pylast.WSError) as pending:
        generator.get_web_auth_session_key(url)
    assert pending.value.status == "14"
    assert inspect(emu, "POST", f"approve?token={token}").json() == {"approved": True}
    key = generator.get_web_auth_session_key(url)
    assert len(key) == 32
    with pytest.raises(pylast.WSError) as reused:
        generator.get_web_auth_session_key(url)
    assert reused.value.status == "4"


def test_expired_token_is_error_15(emu: RunningEmulator, settings: Settings):
    generator = pylast.SessionKeyGenerator(network(settings))
    url = generator.get_web_auth_url()
    emu.emulator.approve(generator.web_auth_tokens[url])
    inspect(emu, "POST", f"expire?token={generator.web_auth_tokens[url]}")
    with pytest.raises(pylast.WSError) as err:
        generator.get_web_auth_session_key(url)
    assert err.value.status == "15"


def test_mobile_session_with_pylast(emu: RunningEmulator, settings: Settings):
    generator = pylast.SessionKeyGenerator(network(settings))
    key = generator.get_session_key(USER, pylast.md5(PASSWORD))
    assert emu.emulator.state.sessions[key] == USER
    with pytest.raises(pylast.WSError) as err:
        generator.get_session_key(USER, pylast.md5("wrong"))
    assert err.value.status == "4"


def test_scrobble_and_now_playing_with_pylast(emu: RunningEmulator, settings: Settings):
    net = network(settings, emu.emulator.create_session(USER))
    now = int(time.time())
    net.scrobble("Rush", "2112", now - 1500, album="2112", album_artist="Rush", track_number=1, duration=1233)
    net.scrobble_many([{"artist": "Rush", "title": f"Song {i}", "timestamp": now - 100 + i} for i in range(60)])
    net.update_now_playing("Rush", "Tears", album="2112")
    stored = emu.emulator.scrobbles_of(USER)
    assert len(stored) == 61
    assert stored[0] | {"received_at": 0} == {
        "artist": "Rush", "track": "2112", "album": "2112", "album_artist": "Rush",
        "timestamp": now - 1500, "track_number": "1", "duration": "1233", "received_at": 0,
    }
    assert emu.emulator.request_counts()["by_method"]["track.scrobble"] == 3  # 1 + 50 + 10
    playing = net.get_user(USER).get_now_playing()
    assert playing is not None and playing.title == "Tears"


def test_reads_with_pylast(emu: RunningEmulator, settings: Settings):
    net = network(settings)
    now = int(time.time())
    for i, title in enumerate(["2112", "A Passage to Bangkok", "2112"]):
        emu.emulator.state.scrobbles[USER].append(
            Scrobble(USER, "Rush", title, "2112", "Rush", now - 3000 + i * 600, now))
    album = net.get_album("Rush", "2112")
    assert album.get_playcount() == 3842690
    assert album.get_listener_count() == 284493
    assert album.get_mbid() == "01befdc5-0af8-4720-a21c-0f24209f5e16"
    assert [t.title for t in album.get_tracks()] == ["2112", "A Passage to Bangkok"]
    assert pylast.Album("Rush", "2112", net, username=USER).get_userplaycount() == 3
    user = net.get_user(USER)
    assert user.get_playcount() == 3
    assert int(user.get_unixtime_registered()) > 0
    recent = user.get_recent_tracks(limit=None, time_from=now - 3001, time_to=now)
    assert [p.track.title for p in recent] == ["2112", "A Passage to Bangkok", "2112"]
    assert [int(p.timestamp) for p in recent] == [now - 1800, now - 2400, now - 3000]
    assert len(user.get_recent_tracks(limit=2)) == 2
    top = user.get_top_albums(limit=5)
    assert (top[0].item.title, top[0].item.artist.name, int(top[0].weight)) == ("2112", "Rush", 3)
    search = net.search_for_album("211")
    assert int(search.get_total_result_count()) == 1
    assert [a.title for a in search.get_next_page()] == ["2112"]
    track = net.get_track("Rush", "2112")
    assert track.get_duration() == 1233000
    assert pylast.Track("Rush", "2112", net, username=USER).get_userplaycount() == 2
    assert network(settings, emu.emulator.create_session(USER)).get_authenticated_user().get_name() == USER


def raw(settings: Settings, method: str, params: dict, session_key: str = "") -> None:
    pylast._Request(network(settings, session_key), method, params).execute()


@pytest.mark.parametrize("method, params, code", [
    ("album.getFoo", {}, "3"),
    ("album.getInfo", {"artist": "Rush"}, "6"),
    ("album.getInfo", {"artist": "Rush", "album": "Nope"}, "6"),
    ("user.getInfo", {"user": "nobody"}, "6"),
    ("user.getRecentTracks", {"user": USER, "limit": "lots"}, "6"),
])
def test_bad_requests(emu: RunningEmulator, settings: Settings, method, params, code):
    with pytest.raises(pylast.WSError) as err:
        raw(settings, method, params)
    assert err.value.status == code


def test_key_signature_and_session_checks(emu: RunningEmulator, settings: Settings):
    from dataclasses import replace

    with pytest.raises(pylast.WSError) as err:
        raw(replace(settings, api_key="0" * 32), "user.getInfo", {"user": USER})
    assert err.value.status == "10"
    sk = emu.emulator.create_session(USER)
    with pytest.raises(pylast.WSError) as err:
        raw(replace(settings, api_secret="f" * 32), "user.getInfo", {"user": USER}, sk)
    assert err.value.status == "13"
    with pytest.raises(pylast.WSError) as err:
        raw(settings, "user.getInfo", {"user": USER}, "0" * 32)
    assert err.value.status == "9"
    with pytest.raises(pylast.WSError) as err:  # writes need a session
        raw(settings, "track.scrobble", {"artist": "a", "track": "b", "timestamp": "1"})
    assert err.value.status == "13"
    emu.emulator.revoke(USER)
    with pytest.raises(pylast.WSError) as err:
        raw(settings, "user.getInfo", {}, sk)
    assert err.value.status == "9"


def test_signature_matches_last_fm_rules():
    params = {"method": "auth.getSession", "api_key": "KEY", "token": "TOK", "format": "json"}
    import hashlib

    assert signature(params, "SEC") == hashlib.md5(b"api_keyKEYmethodauth.getSessiontokenTOKSEC").hexdigest()
    indexed = {"artist[10]": "x", "artist[1]": "y", "albumArtist[0]": "z", "album[0]": "w"}
    text = "albumArtist[0]zalbum[0]wartist[10]xartist[1]y"
    assert signature(indexed, "S") == hashlib.md5((text + "S").encode()).hexdigest()


def test_scrobble_item_rules(emu: RunningEmulator, settings: Settings):
    client = LastFM(settings, emu.emulator.create_session(USER))
    now = int(time.time())
    results = client.scrobble([
        {"artist": "Rush", "track": "Tears", "timestamp": now - 60},
        {"artist": "Various", "track": "x", "timestamp": now - 60},
        {"artist": "Rush", "track": "Old", "timestamp": now - 15 * 86400},
        {"artist": "Rush", "track": "Soon", "timestamp": now + 3600},
    ])
    assert [r.code for r in results] == [0, 1, 3, 4]
    assert [s["track"] for s in emu.emulator.scrobbles_of(USER)] == ["Tears"]
    with pytest.raises(LastfmError) as err:
        client.call("track.scrobble", {f"artist[{i}]": "a" for i in range(51)} | {
            f"track[{i}]": "t" for i in range(51)} | {f"timestamp[{i}]": str(now) for i in range(51)})
    assert err.value.code == 6


def test_corrections_are_reported(emu: RunningEmulator, settings: Settings):
    emu.emulator.load_catalogue({"corrections": {"artist": {"Guns N Roses": "Guns N' Roses"}}})
    client = LastFM(settings, emu.emulator.create_session(USER))
    (result,) = client.scrobble([{"artist": "Guns N Roses", "track": "Estranged", "timestamp": int(time.time()) - 60}])
    assert result.accepted and result.corrections() == {"artist": "Guns N' Roses"}


@pytest.mark.parametrize("mode, expect", [("code5", "code5"), ("error29", "error29")])
def test_daily_cap_modes(emu: RunningEmulator, settings: Settings, mode: str, expect: str):
    inspect(emu, "POST", "config", json={"daily_cap": 3, "cap_mode": mode})
    client = LastFM(settings, emu.emulator.create_session(USER))
    now = int(time.time())
    items = [{"artist": "Rush", "track": f"T{i}", "timestamp": now - 1000 + i} for i in range(5)]
    results = client.scrobble(items)
    assert [r.code for r in results] == [0, 0, 0, 5, 5]
    if expect == "error29":
        with pytest.raises(LastfmTemporary) as err:
            client.scrobble(items[3:])
        assert err.value.code == 29
    else:
        assert [r.code for r in client.scrobble(items[3:])] == [5, 5]
    assert len(emu.emulator.scrobbles_of(USER)) == 3


def test_dedupe_switch(emu: RunningEmulator, settings: Settings):
    client = LastFM(settings, emu.emulator.create_session(USER))
    item = {"artist": "Rush", "track": "Tears", "timestamp": int(time.time()) - 60}
    client.scrobble([item])
    client.scrobble([item])
    assert len(emu.emulator.scrobbles_of(USER)) == 2  # off by default: every repeat is seen
    emu.emulator.reset()
    inspect(emu, "POST", "config", json={"dedupe": True})
    assert client.scrobble([item])[0].accepted and client.scrobble([item])[0].accepted
    assert len(emu.emulator.scrobbles_of(USER)) == 1


def test_faults(emu: RunningEmulator, settings: Settings):
    client = LastFM(settings, emu.emulator.create_session(USER))
    item = {"artist": "Rush", "track": "Tears", "timestamp": int(time.time()) - 60}
    assert inspect(emu, "POST", "fault", json={"method": "track.scrobble", "times": 1, "error": 11}).ok
    with pytest.raises(LastfmTemporary) as err:
        client.scrobble([item])
    assert err.value.code == 11
    inspect(emu, "POST", "fault", json={"method": "*", "times": 1, "http": 503})
    with pytest.raises(OutcomeUnknown, match="HTTP 503"):
        client.scrobble([item])
    assert emu.emulator.scrobbles_of(USER) == []
    inspect(emu, "POST", "fault", json={"method": "track.scrobble", "times": 1, "drop_after_commit": True})
    with pytest.raises(OutcomeUnknown):
        client.scrobble([item])
    assert len(emu.emulator.scrobbles_of(USER)) == 1  # committed, though the client never heard
    inspect(emu, "POST", "fault", json={"method": "user.getinfo", "times": 1, "delay": 4})
    started = time.monotonic()
    with pytest.raises(requests.ReadTimeout):  # a plain client: the project's client retries reads
        requests.post(emu.url, data={"method": "user.getInfo", "user": USER, "api_key": settings.api_key},
                      verify=emu.ca_bundle, timeout=1)
    assert time.monotonic() - started < 4
    assert client.user_info(USER)["name"] == USER
    assert inspect(emu, "POST", "fault", json={"times": 1}).status_code == 400


def test_rate_limit_fault_and_client_throttle(emu: RunningEmulator, settings: Settings):
    client = LastFM(settings)
    emu.emulator.configure(rate_limit=5)
    for _ in range(16):
        client.user_info(USER)  # the client's own limit keeps it under the emulator's
    times = emu.emulator.request_counts()["times"]
    assert len(times) == 16
    assert all(later - earlier >= 1.0 for earlier, later in zip(times, times[5:]))
    emu.emulator.configure(rate_limit=2)
    answers = [requests.post(emu.url, data={"method": "user.getInfo", "user": USER, "api_key": settings.api_key},
                             verify=emu.ca_bundle, timeout=5) for _ in range(4)]
    assert answers[-1].status_code == 429
    assert '<error code="29">' in answers[-1].text


def test_session_invalid_is_translated(emu: RunningEmulator, settings: Settings):
    client = LastFM(settings, "0" * 32)
    with pytest.raises(SessionInvalid, match="lastfm login"):
        client.scrobble([{"artist": "a", "track": "b", "timestamp": int(time.time())}])


def test_request_counts_and_scrobbles_endpoints(emu: RunningEmulator, settings: Settings):
    LastFM(settings).user_info(USER)
    counts = inspect(emu, "GET", "requests").json()
    assert counts["by_method"] == {"user.getinfo": 1} and counts["total"] == 1
    assert inspect(emu, "GET", f"scrobbles?user={USER}").json() == []
    assert inspect(emu, "GET", "nothing").status_code == 404


def test_standalone_emulator(tmp_path):
    catalogue = tmp_path / "catalogue.json"
    catalogue.write_text(json.dumps(CATALOGUE | {"scrobbles": {"ann": [
        {"artist": "Rush", "track": "2112", "album": "2112", "timestamp": 1_700_000_000}]}}))
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.lastfm_emulator", "--user", "ann:pw", "--api-key", "k" * 32,
         "--api-secret", "s" * 32, "--catalogue", str(catalogue), "--daily-cap", "10", "--dedupe",
         "--history", "bob:300", "--private", "bob", "--state-folder", str(tmp_path)],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )
    try:
        info = json.loads(process.stdout.readline())
        assert set(info) == {"url", "ca_bundle", "api_key", "api_secret"}
        assert info["api_key"] == "k" * 32
        base = info["url"].rsplit("/2.0/", 1)[0]
        stored = requests.get(f"{base}/_emulator/scrobbles?user=ann", verify=info["ca_bundle"], timeout=5).json()
        assert [s["track"] for s in stored] == ["2112"]
        generated = requests.get(f"{base}/_emulator/scrobbles?user=bob", verify=info["ca_bundle"], timeout=5).json()
        assert len(generated) == 300 and {s["album"] for s in generated} == {"2112"}  # drawn from the catalogue
        hidden = requests.post(info["url"], data={"method": "user.getRecentTracks", "user": "bob", "api_key": "k" * 32},
                               verify=info["ca_bundle"], timeout=5)
        assert hidden.status_code == 403 and '<error code="17">' in hidden.text
        settings = Settings(data_dir=tmp_path, state_dir=tmp_path, api_key=info["api_key"],
                            api_secret=info["api_secret"], api_url=info["url"], ca_bundle=info["ca_bundle"])
        name, key = LastFM(settings).mobile_session("ann", "pw")
        assert name == "ann" and key
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def test_in_process_mount(settings: Settings):
    import httpx2

    from tests.lastfm_emulator import wsgi_app

    emulator = Emulator(settings.api_key, settings.api_secret)
    emulator.add_user(USER, PASSWORD)
    net = pylast.LastFMNetwork(settings.api_key, settings.api_secret,
                               proxy={"https://": httpx2.WSGITransport(app=wsgi_app(emulator))})
    assert net.get_user(USER).get_playcount() == 0


# --- large histories, charts, search and hostile answers, in-process -------------------------

NOW = 1_800_000_000
DAY = 86400


@pytest.fixture
def local() -> Emulator:
    """An in-process emulator whose clock stands still at NOW."""
    emulator = Emulator("k" * 32, "s" * 32, clock=lambda: NOW)
    emulator.add_user(USER, PASSWORD, registered=1_234_567_890)
    return emulator


def in_process(emulator: Emulator, session_key: str = "") -> pylast.LastFMNetwork:
    import httpx2

    from tests.lastfm_emulator import wsgi_app

    return pylast.LastFMNetwork(emulator.state.api_key, emulator.state.api_secret, session_key=session_key,
                                proxy={"https://": httpx2.WSGITransport(app=wsgi_app(emulator))})


def answer(emulator: Emulator, **params: object) -> tuple[int, minidom.Element]:
    """One API call straight into the emulator: HTTP status and the root's first element (read as pylast reads it)."""
    reply = emulator.handle("POST", {"api_key": emulator.state.api_key, **{k: str(v) for k, v in params.items()}})
    root = minidom.parseString(reply.body.replace(b"opensearch:", b"")).documentElement
    return reply.status, next(n for n in root.childNodes if isinstance(n, minidom.Element))


def text(node: minidom.Element, tag: str) -> str:
    """The text of the first `tag` element within node."""
    found = node.getElementsByTagName(tag)[0].firstChild
    return found.data if isinstance(found, minidom.Text) else ""


def attrs(node: minidom.Element) -> dict[str, str]:
    return dict(node.attributes.items())


def tracks(node: minidom.Element) -> list[minidom.Element]:
    return node.getElementsByTagName("track")


def played(emulator: Emulator, user: str = USER) -> list[tuple[int, str, str, str]]:
    """The stored scrobbles, newest first, as pylast's PlayedTrack shows them."""
    return sorted(((s.timestamp, s.artist, s.track, s.album) for s in emulator.state.scrobbles[user]), reverse=True)


def test_generated_history_is_plausible(local: Emulator):
    local.load_catalogue(CATALOGUE)
    assert local.generate_history(USER, 501, until=NOW, span_days=30, seed=1) == 501
    plays = local.state.scrobbles[USER]
    stamps = [s.timestamp for s in plays]
    assert len(set(stamps)) == 501 and stamps == sorted(stamps)
    assert stamps[0] == NOW - 30 * DAY and stamps[-1] < NOW
    assert {(s.artist, s.album, s.album_artist) for s in plays} == {("Rush", "2112", "Rush")}
    assert [(s.track_number, s.track) for s in plays[:4]] == [
        ("1", "2112"), ("2", "A Passage to Bangkok"), ("1", "2112"), ("2", "A Passage to Bangkok")]
    again = Emulator(clock=lambda: NOW)
    again.load_catalogue(CATALOGUE)
    again.generate_history(USER, 501, until=NOW, span_days=30, seed=1)
    assert played(again) == played(local)  # the seed decides everything

    invented = Emulator(clock=lambda: NOW)
    invented.generate_history("ann", 3000, seed=2)  # no catalogue: invented names; a user is made
    plays = invented.state.scrobbles["ann"]
    assert "ann" in invented.state.users and len(plays) == 3000
    assert plays[0].timestamp == NOW - int(3000 / 45 * DAY) and plays[-1].timestamp < NOW  # until: the clock
    assert len({s.album for s in plays}) > 10 and len({s.artist for s in plays}) > 3
    for before, after in zip(plays, plays[1:]):  # every album played through, track after track
        if after.track_number != "1":
            assert (after.album, int(after.track_number)) == (before.album, int(before.track_number) + 1)
    with pytest.raises(ValueError):
        local.generate_history(USER, 100, span_days=0.001)  # 86 seconds cannot hold 100 distinct timestamps


def test_recent_tracks_page_a_generated_history_through_pylast(local: Emulator):
    local.generate_history(USER, 1000, seed=7)
    user = in_process(local).get_user(USER)
    # The way to copy a history 200 at a time with pylast: walk back with `to` below the oldest seen.
    seen: list[tuple[int, str, str, str]] = []
    before: int | None = None
    while page := user.get_recent_tracks(limit=200, time_to=before):
        seen += [(int(p.timestamp), p.track.artist.name, p.track.title, p.album) for p in page]
        before = int(page[-1].timestamp) - 1
    assert seen == played(local)  # every scrobble exactly once, newest first
    everything = user.get_recent_tracks(limit=None)  # pylast pages on its own, 50 a page by default
    assert [(int(p.timestamp), p.track.artist.name, p.track.title, p.album) for p in everything] == played(local)


def test_recent_tracks_paging_attributes(local: Emulator):
    local.generate_history(USER, 1000, seed=3)
    newest_first = played(local)
    status, node = answer(local, method="user.getRecentTracks", user=USER, limit=201)  # pylast asks limit+1
    assert status == 200
    assert attrs(node) == {"user": USER, "page": "1", "perPage": "200", "totalPages": "5", "total": "1000"}
    assert len(tracks(node)) == 200
    _, node = answer(local, method="user.getRecentTracks", user=USER)
    assert attrs(node)["perPage"] == "50" and len(tracks(node)) == 50
    _, node = answer(local, method="user.getRecentTracks", user=USER, limit=200, page=5)
    last = tracks(node)[-1]
    assert int(last.getElementsByTagName("date")[0].getAttribute("uts")) == newest_first[-1][0]
    _, node = answer(local, method="user.getRecentTracks", user=USER, limit=200, page=6)  # past the end
    assert attrs(node) == {"user": USER, "page": "6", "perPage": "200", "totalPages": "5", "total": "1000"}
    assert tracks(node) == []
    status, _ = answer(local, method="user.getRecentTracks", user=USER, page=0)
    assert status == 400


def test_recent_tracks_from_to_are_inclusive(local: Emulator):
    local.generate_history(USER, 1000, seed=4)
    stamps = sorted(s.timestamp for s in local.state.scrobbles[USER])
    user = in_process(local).get_user(USER)
    window = user.get_recent_tracks(limit=None, time_from=stamps[100], time_to=stamps[299])
    assert [int(p.timestamp) for p in window] == stamps[100:300][::-1]
    _, node = answer(local, method="user.getRecentTracks", user=USER, limit=200, **{"from": stamps[100], "to": stamps[299]})
    assert attrs(node)["total"] == "200" and attrs(node)["totalPages"] == "1"
    _, node = answer(local, method="user.getRecentTracks", user=USER, **{"from": stamps[-1] + 1})
    assert attrs(node) == {"user": USER, "page": "1", "perPage": "50", "totalPages": "0", "total": "0"}


def test_now_playing_row_on_page_one_only(local: Emulator):
    local.load_catalogue(CATALOGUE)
    local.generate_history(USER, 30, until=NOW - DAY, span_days=2, seed=5)
    net = in_process(local, local.create_session(USER))
    net.update_now_playing("Rush", "2112", album="2112")
    window = {"from": NOW - 3 * DAY, "to": NOW - DAY}  # excludes now, as in the real recording
    _, first = answer(local, method="user.getRecentTracks", user=USER, limit=10, page=1, **window)
    assert attrs(first)["total"] == "30" and attrs(first)["totalPages"] == "3"  # the playing row is not counted
    rows = tracks(first)
    assert len(rows) == 11 and rows[0].getAttribute("nowplaying") == "true"
    assert not rows[0].getElementsByTagName("date") and all(r.getElementsByTagName("date") for r in rows[1:])
    assert rows[0].getElementsByTagName("album")[0].getAttribute("mbid") == CATALOGUE["albums"][0]["mbid"]
    _, second = answer(local, method="user.getRecentTracks", user=USER, limit=10, page=2, **window)
    assert len(tracks(second)) == 10 and not any(r.hasAttribute("nowplaying") for r in tracks(second))
    user = net.get_user(USER)
    assert user.get_now_playing().title == "2112"
    with_playing = user.get_recent_tracks(limit=3, now_playing=True)
    assert with_playing[0].timestamp is None and all(p.timestamp for p in with_playing[1:])
    assert [int(p.timestamp) for p in user.get_recent_tracks(limit=3)] == [s[0] for s in played(local)[:3]]


def test_album_mbid_in_recent_tracks(local: Emulator):
    local.load_catalogue(CATALOGUE)
    local.state.scrobbles[USER].append(Scrobble(USER, "Rush", "2112", "2112", "Rush", NOW - 60, NOW))
    local.state.scrobbles[USER].append(Scrobble(USER, "Rush", "Tears", "All the World's a Stage", "", NOW - 30, NOW))
    _, node = answer(local, method="user.getRecentTracks", user=USER)
    assert [t.getElementsByTagName("album")[0].getAttribute("mbid") for t in tracks(node)] == [
        "", CATALOGUE["albums"][0]["mbid"]]


def test_private_and_unknown_users(local: Emulator):
    local.generate_history(USER, 20, seed=6)
    local.add_user("friend", "pw")
    local.configure(private_users=[USER.upper()])
    for session in ("", local.create_session("friend")):
        with pytest.raises(pylast.WSError) as err:
            in_process(local, session).get_user(USER).get_recent_tracks(limit=5)
        assert err.value.status == "17" and err.value.details == "Login: User required to be logged in"
    assert answer(local, method="user.getRecentTracks", user=USER)[0] == 403
    own = in_process(local, local.create_session(USER)).get_user(USER).get_recent_tracks(limit=5)
    assert [int(p.timestamp) for p in own] == [s[0] for s in played(local)[:5]]
    with pytest.raises(pylast.WSError) as err:
        in_process(local).get_user("nobody").get_recent_tracks(limit=5)
    assert err.value.status == "6" and err.value.details == "User not found"
    assert answer(local, method="user.getRecentTracks", user="nobody")[0] == 404
    local.reset()
    assert answer(local, method="user.getRecentTracks", user=USER)[0] == 200  # reset makes everyone public
    with pytest.raises(ValueError):
        local.configure(private_user=[USER])


CHART_PLAYS = [  # (days ago, artist, track, album, album artist, times)
    (1, "Rush", "Tears", "2112", "Rush", 3),
    (2, "RUSH", "Tears", "2112", "", 1),  # another spelling of the same artist and album
    (7, "Rush", "Tom Sawyer", "Moving Pictures", "Rush", 1),  # exactly on the 7day edge: inside
    (7 + 2 / DAY, "Yes", "Roundabout", "Fragile", "Yes", 2),  # a second or two older: outside
    (20, "Nico", "These Days", "Sampler", "Various Artists", 1),
    (20, "Eno", "Needles", "Sampler", "Various Artists", 1),
    (50, "Eno", "An Ending", "", "", 1),
    (150, "Nico", "Chelsea Girls", "Chelsea Girl", "Nico", 1),
    (200, "Yes", "Siberian Khatru", "Close to the Edge", "Yes", 4),
    (400, "Rush", "Anthem", "Fly by Night", "Rush", 5),
]
TOP_ARTISTS = {
    "7day": [("Rush", 5)],
    "1month": [("Rush", 5), ("Yes", 2), ("Eno", 1), ("Nico", 1)],
    "3month": [("Rush", 5), ("Eno", 2), ("Yes", 2), ("Nico", 1)],
    "6month": [("Rush", 5), ("Eno", 2), ("Nico", 2), ("Yes", 2)],
    "12month": [("Yes", 6), ("Rush", 5), ("Eno", 2), ("Nico", 2)],
    "overall": [("Rush", 10), ("Yes", 6), ("Eno", 2), ("Nico", 2)],
}
TOP_ALBUMS = {
    "7day": [("Rush", "2112", 4), ("Rush", "Moving Pictures", 1)],
    "1month": [("Rush", "2112", 4), ("Various Artists", "Sampler", 2), ("Yes", "Fragile", 2),
               ("Rush", "Moving Pictures", 1)],
    "3month": [("Rush", "2112", 4), ("Various Artists", "Sampler", 2), ("Yes", "Fragile", 2),
               ("Rush", "Moving Pictures", 1)],
    "6month": [("Rush", "2112", 4), ("Various Artists", "Sampler", 2), ("Yes", "Fragile", 2),
               ("Nico", "Chelsea Girl", 1), ("Rush", "Moving Pictures", 1)],
    "12month": [("Rush", "2112", 4), ("Yes", "Close to the Edge", 4), ("Various Artists", "Sampler", 2),
                ("Yes", "Fragile", 2), ("Nico", "Chelsea Girl", 1), ("Rush", "Moving Pictures", 1)],
    "overall": [("Rush", "Fly by Night", 5), ("Rush", "2112", 4), ("Yes", "Close to the Edge", 4),
                ("Various Artists", "Sampler", 2), ("Yes", "Fragile", 2), ("Nico", "Chelsea Girl", 1),
                ("Rush", "Moving Pictures", 1)],
}


@pytest.mark.parametrize("period", list(TOP_ARTISTS))
def test_top_artists_and_albums_per_period(local: Emulator, period: str):
    for days, artist, track, album, album_artist, times in CHART_PLAYS:
        for i in range(times):
            stamp = int(NOW - days * DAY) + i
            local.state.scrobbles[USER].append(Scrobble(USER, artist, track, album, album_artist, stamp, NOW))
    user = in_process(local).get_user(USER)
    artists = user.get_top_artists(period=period, limit=50)
    assert [(t.item.name, int(t.weight)) for t in artists] == TOP_ARTISTS[period]
    albums = user.get_top_albums(period=period, limit=50)
    assert [(t.item.artist.name, t.item.title, int(t.weight)) for t in albums] == TOP_ALBUMS[period]
    _, node = answer(local, method="user.getTopArtists", user=USER, period=period, limit=2, page=2)
    total = len(TOP_ARTISTS[period])
    assert attrs(node) == {"user": USER, "page": "2", "perPage": "2", "totalPages": str((total + 1) // 2),
                           "total": str(total)}
    assert [a.getAttribute("rank") for a in node.getElementsByTagName("artist")] == ["3", "4"][:max(0, total - 2)]


def test_top_charts_parameters(local: Emulator):
    local.generate_history(USER, 200, seed=8)
    _, node = answer(local, method="user.getTopArtists", user=USER)
    assert attrs(node)["perPage"] == "50"
    artist = node.getElementsByTagName("artist")[0]
    children = [c.tagName for c in artist.childNodes if c.nodeType == c.ELEMENT_NODE]
    assert children == ["name", "playcount", "mbid", "url", "streamable"] + ["image"] * 5
    assert [i.getAttribute("size") for i in artist.getElementsByTagName("image")] == [
        "small", "medium", "large", "extralarge", "mega"]
    _, node = answer(local, method="user.getTopAlbums", user=USER, limit=5000)
    assert attrs(node)["perPage"] == "1000"
    for method in ("user.getTopArtists", "user.getTopAlbums"):
        assert answer(local, method=method, user=USER, period="2week")[0] == 400
        assert answer(local, method=method, user="nobody")[0] == 404


def test_user_info_follows_the_history(local: Emulator):
    local.generate_history(USER, 1234, seed=9)
    user = in_process(local).get_user(USER)
    assert user.get_playcount() == 1234 and int(user.get_unixtime_registered()) == 1_234_567_890
    plays = local.state.scrobbles[USER]
    plays.pop()  # any change to the list is seen on the next read
    plays.append(Scrobble(USER, "Someone New", "Song", "", "", NOW - 5, NOW))
    _, node = answer(local, method="user.getInfo", user=USER)
    assert text(node, "playcount") == "1234"
    artists = {s.artist.casefold() for s in plays}
    assert text(node, "artist_count") == str(len(artists))
    _, recent = answer(local, method="user.getRecentTracks", user=USER, limit=1)
    assert text(recent, "name") == "Song"
    local.state.scrobbles[USER] = []  # a plain list put in place is adopted
    assert in_process(local).get_user(USER).get_playcount() == 0


def test_scrobble_dedupe_against_a_large_history(local: Emulator):
    local.configure(dedupe=True)
    local.generate_history(USER, 20_000, until=NOW, span_days=13, seed=10)
    net = in_process(local, local.create_session(USER))
    old = local.state.scrobbles[USER][-1]
    item = {"artist": old.artist, "title": old.track, "timestamp": old.timestamp}
    net.scrobble_many([item, item | {"timestamp": NOW - 1}, item | {"timestamp": NOW - 1}])
    assert len(local.state.scrobbles[USER]) == 20_001  # the repeat and the repeat within the batch dropped


def test_history_and_scrobbles_endpoints(emu: RunningEmulator):
    added = inspect(emu, "POST", "history", json={"user": USER, "count": 300, "seed": 3, "span_days": 10,
                                                   "until": 1_790_000_000})
    assert added.json() == {"added": 300}
    stored = emu.emulator.scrobbles_of(USER)
    assert stored[0]["timestamp"] == 1_790_000_000 - 10 * DAY and stored[-1]["timestamp"] < 1_790_000_000
    assert {s["album"] for s in stored} == {"2112"}  # the catalogue's albums
    more = inspect(emu, "POST", "scrobbles", json={"user": USER, "scrobbles": [
        {"artist": "Rush", "track": "Tears", "album": "2112", "timestamp": 1_700_000_000, "track_number": 3}]})
    assert more.json() == {"added": 1} and emu.emulator.scrobbles_of(USER)[-1]["track_number"] == "3"
    assert inspect(emu, "POST", "scrobbles", json={"user": USER, "scrobbles": [{"artist": "x"}]}).status_code == 400
    assert inspect(emu, "POST", "history", json={"user": USER}).status_code == 400
    assert inspect(emu, "POST", "config", json={"private_users": [USER]}).ok
    assert emu.emulator.is_private(USER)
    assert inspect(emu, "POST", "config", json={"privat_users": [USER]}).status_code == 400


SEARCH_CATALOGUE = {"albums": [
    {"artist": "Dennis Lloyd", "name": "Nevermind", "listeners": 90_000, "tracks": []},
    {"artist": "Nirvana", "name": "Nevermind (Deluxe Edition)", "listeners": 500_000, "tracks": []},
    {"artist": "Nirvana", "name": "Nevermind", "mbid": "0173cdb7", "listeners": 3_000_000, "tracks": []},
    {"artist": "Sahxl", "name": "NEVERMIND", "listeners": 20, "tracks": []},
    {"artist": "Nirvana", "name": "Bleach", "listeners": 900_000, "tracks": []},
    {"artist": "Crosby, Stills, Nash & Young", "name": "Déjà Vu", "listeners": 400_000, "tracks": []},
]}


def test_album_search(local: Emulator):
    local.load_catalogue(SEARCH_CATALOGUE)
    net = in_process(local)
    search = net.search_for_album("nevermind")
    assert search.get_total_result_count() == "4"
    found = [(a.artist.name, a.title) for a in search.get_next_page()]
    assert found == [("Nirvana", "Nevermind"), ("Dennis Lloyd", "Nevermind"), ("Sahxl", "NEVERMIND"),
                     ("Nirvana", "Nevermind (Deluxe Edition)")]  # exact names first, then by listeners
    # Words may match the artist's name too, as the site's search does.
    assert [a.title for a in net.search_for_album("Nevermind Nirvana").get_next_page()] == [
        "Nevermind", "Nevermind (Deluxe Edition)"]
    assert [a.title for a in net.search_for_album("nirv").get_next_page()] == [
        "Nevermind", "Bleach", "Nevermind (Deluxe Edition)"]
    assert [a.title for a in net.search_for_album("DEJA vu").get_next_page()] == ["Déjà Vu"]
    assert net.search_for_album("zzz").get_next_page() == []
    _, node = answer(local, method="album.search", album="Nevermind")
    assert node.getAttribute("for") == "Nevermind"
    query = node.getElementsByTagName("Query")[0]
    assert attrs(query) == {"role": "request", "searchTerms": "Nevermind", "startPage": "1"}
    assert text(node, "itemsPerPage") == "50"
    _, node = answer(local, method="album.search", album="nevermind", limit=2, page=2)
    assert text(node, "startIndex") == "2"
    assert text(node, "itemsPerPage") == "2"
    names = [text(a, "artist") for a in node.getElementsByTagName("album")]
    assert names == ["Sahxl", "Nirvana"]
    status, error = answer(local, method="album.search", album=" ")
    assert status == 400 and error.getAttribute("code") == "6"


def test_size_fault_streams_a_padded_answer(emu: RunningEmulator, settings: Settings):
    data = {"method": "user.getInfo", "user": USER, "api_key": settings.api_key}
    head = b'<?xml version="1.0" encoding="UTF-8"?>\n<lfm status="ok">'
    for chunked in (False, True):
        inspect(emu, "POST", "fault", json={"method": "user.getinfo", "size": 3_000_000, "chunked": chunked})
        with requests.post(emu.url, data=data, verify=emu.ca_bundle, timeout=5, stream=True) as response:
            assert response.status_code == 200
            if chunked:
                assert response.headers["Transfer-Encoding"] == "chunked" and "Content-Length" not in response.headers
            else:
                assert response.headers["Content-Length"] == "3000000"
            body = b"".join(response.iter_content(1 << 16))
        assert len(body) == 3_000_000 and body.startswith(head) and body.endswith(b"</lfm>\n")
        assert minidom.parseString(body).documentElement.getAttribute("status") == "ok"
    inspect(emu, "POST", "fault", json={"method": "user.getinfo", "size": 10**11})  # 100 GB, never made
    with requests.post(emu.url, data=data, verify=emu.ca_bundle, timeout=5, stream=True) as response:
        assert response.headers["Content-Length"] == str(10**11)
        assert response.raw.read(200_000).startswith(head)
    # The client hung up halfway; the server carries on.
    assert requests.post(emu.url, data=data, verify=emu.ca_bundle, timeout=5).text.count("<playcount>") == 1
    inspect(emu, "POST", "fault", json={"method": "user.getinfo", "size": 10})
    assert requests.post(emu.url, data=data, verify=emu.ca_bundle, timeout=5).content == head[:10]
    assert inspect(emu, "POST", "fault", json={"method": "*", "error": 11, "chunked": True}).status_code == 400


def test_nested_fault(emu: RunningEmulator, settings: Settings):
    import xml.parsers.expat

    data = {"method": "user.getRecentTracks", "user": USER, "api_key": settings.api_key}
    for chunked in (False, True):
        inspect(emu, "POST", "fault", json={"method": "user.getrecenttracks", "nested": 100_000, "chunked": chunked})
        response = requests.post(emu.url, data=data, verify=emu.ca_bundle, timeout=5)
        assert response.status_code == 200
        assert ("Transfer-Encoding" in response.headers) == chunked
        depth = deepest = 0

        def start(name: str, attributes: dict) -> None:
            nonlocal depth, deepest
            depth += 1
            deepest = max(deepest, depth)

        def end(name: str) -> None:
            nonlocal depth
            depth -= 1

        parser = xml.parsers.expat.ParserCreate()
        parser.StartElementHandler, parser.EndElementHandler = start, end
        parser.Parse(response.content, True)  # well-formed
        assert deepest == 100_001 and response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<lfm status="ok">')


def test_hostile_answers_in_process(local: Emulator):
    import httpx2

    from tests.lastfm_emulator import wsgi_app
    from tests.lastfm_emulator.xml import padded_document

    length, chunks = padded_document(10**15)  # a petabyte: made only as far as it is read
    assert length == 10**15 and len(next(chunks)) < 100 and len(next(chunks)) == 1 << 16
    transport = httpx2.WSGITransport(app=wsgi_app(local))
    data = {"method": "user.getInfo", "user": USER, "api_key": local.state.api_key}
    with httpx2.Client(transport=transport, base_url="https://ws.audioscrobbler.com") as client:
        local.add_fault({"method": "user.getinfo", "size": 1_000_000})
        with client.stream("POST", "/2.0/", data=data) as response:
            assert response.headers["Content-Length"] == "1000000"
            sizes = [len(chunk) for chunk in response.iter_raw()]
        assert sum(sizes) == 1_000_000 and max(sizes) <= 1 << 16
        local.add_fault({"method": "user.getinfo", "nested": 1000, "chunked": True})
        nested = client.post("/2.0/", data=data)
        assert "content-length" not in nested.headers
        body = nested.content
        assert body.count(b"<e>") == 1000 and body.endswith(b"</e>" * 1000 + b"\n</lfm>\n")


def test_large_history_timings(capsys: pytest.CaptureFixture[str]):
    """Figures for a 100,000-scrobble history; printed, not asserted (machines differ)."""
    emulator = Emulator("k" * 32, "s" * 32)
    emulator.add_user(USER, PASSWORD)
    started = time.perf_counter()
    emulator.generate_history(USER, 100_000, seed=11)
    generated = time.perf_counter() - started

    def timed(**params: object) -> tuple[float, bytes]:
        began = time.perf_counter()
        reply = emulator.handle("POST", {"api_key": emulator.state.api_key, **{k: str(v) for k, v in params.items()}})
        assert reply.status == 200
        return (time.perf_counter() - began) * 1000, reply.body

    pages = [timed(method="user.getRecentTracks", user=USER, limit=200, page=page)[0] for page in range(1, 501)]
    last = minidom.parseString(timed(method="user.getRecentTracks", user=USER, limit=200, page=500)[1])
    oldest = min(s.timestamp for s in emulator.state.scrobbles[USER])
    assert last.getElementsByTagName("date")[-1].getAttribute("uts") == str(oldest)
    charts = {f"{method} {period}": timed(method=method, user=USER, period=period, limit=1000)[0]
              for method in ("user.getTopAlbums", "user.getTopArtists") for period in ("overall", "12month", "7day")}
    info = timed(method="user.getInfo", user=USER)[0]
    with RunningEmulator(emulator) as server, requests.Session() as session:
        began = time.perf_counter()
        for page in range(1, 501):
            session.post(server.url, data={"method": "user.getRecentTracks", "user": USER, "limit": 200,
                                           "page": page, "api_key": emulator.state.api_key},
                         verify=server.ca_bundle, timeout=5).raise_for_status()
        over_https = time.perf_counter() - began
    with capsys.disabled():
        print(f"\n100,000 scrobbles generated in {generated:.2f} s; user.getRecentTracks limit 200: "
              f"mean {sum(pages) / len(pages):.1f} ms, max {max(pages):.1f} ms a page, 500 pages over HTTPS "
              f"{over_https:.1f} s (the client's 5 a second: 100 s); user.getInfo {info:.1f} ms")
        print("  " + ", ".join(f"{name}: {ms:.0f} ms" for name, ms in charts.items()))
