"""The emulator against the unmodified pylast: every method, the request checks, faults and limits."""

from __future__ import annotations

import json
import subprocess
import sys
import time

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
    with pytest.raises(LastfmTemporary):
        client.user_info(USER)
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
    with pytest.raises(LastfmTemporary) as err:
        for _ in range(4):
            client.user_info(USER)
    assert err.value.code == 29


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
         "--state-folder", str(tmp_path)],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )
    try:
        info = json.loads(process.stdout.readline())
        assert set(info) == {"url", "ca_bundle", "api_key", "api_secret"}
        assert info["api_key"] == "k" * 32
        base = info["url"].rsplit("/2.0/", 1)[0]
        stored = requests.get(f"{base}/_emulator/scrobbles?user=ann", verify=info["ca_bundle"], timeout=5).json()
        assert [s["track"] for s in stored] == ["2112"]
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
