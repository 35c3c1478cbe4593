"""Sending to both services through the command line: each listen once on each, one service down or refusing never
blocking, repeating or losing the other's listens; lost replies checked by reading the batch's time range."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import pytest

from lastfm.retry import RetryPolicy
from errors import ListenBrainzRefused
from scrobble.lb_sender import ListenSender, OutsideQueue
from scrobble.ledger import Ledger
from scrobble.rows import LISTENBRAINZ, target_fields
from tests.conftest import LB_USER, USER, lb_settle, listens, scrobbles

ALBUM = "2112-814617"


@pytest.fixture
def both(lastfm_env: dict[str, str], listenbrainz_env: dict[str, str], signed_in: str, lb_signed_in: str) -> dict:
    """Signed in to both local services: the default targets are both."""
    return {**lastfm_env, **listenbrainz_env}


def lb_statuses(state_dir: Path) -> Counter:
    with Ledger(state_dir) as ledger:
        return Counter(str(e.target_status(LISTENBRAINZ)) for e in ledger.latest(10_000))


def keys(items: list[dict]) -> Counter:
    return Counter((x["listened_at"], x["track_metadata"]["track_name"]) for x in items)


def test_album_goes_to_both_services_once(run_cli, both, emulator, listenbrainz, state_dir: Path) -> None:
    finished = str(int(time.time()) - 1800)
    result = run_cli("scrobble", "album", ALBUM, "--finished-at", finished, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    tracks = len(data["scrobbles"])
    assert tracks > 1 and data["accepted"] == tracks and data["targets"] == ["lastfm", "listenbrainz"]
    assert data["listenbrainz"]["accepted"] == tracks and data["listenbrainz"]["requests"] == 1
    held = listens(listenbrainz)
    assert len(held) == tracks == len(scrobbles(emulator))
    assert sorted(x["listened_at"] for x in held) == sorted(s["timestamp"] for s in scrobbles(emulator))
    log = listenbrainz.lb.requests()["log"]
    assert [(e["endpoint"], e.get("listen_type"), e.get("listens")) for e in log] == [
        ("submit-listens", "import", tracks)]
    info = held[0]["track_metadata"]["additional_info"]
    assert info["submission_client"] == "russfm" and info["duration_ms"] > 0 and info["tracknumber"] >= 1
    assert "discnumber" in info
    # The same command again: already in the ledger, nothing sent anywhere.
    again = run_cli("scrobble", "album", ALBUM, "--finished-at", finished, "--json")
    assert len(json.loads(again.stdout)["already_scrobbled"]) == tracks
    assert len(listens(listenbrainz)) == tracks and len(listenbrainz.lb.requests()["log"]) == 1
    assert lb_statuses(state_dir) == Counter({"accepted": tracks})


def test_listenbrainz_only_needs_no_lastfm_account(run_cli, listenbrainz_env, lb_signed_in, listenbrainz,
                                                   state_dir: Path) -> None:
    result = run_cli("scrobble", "track", "--artist", "Rush", "--track", "Xanadu", "--at", "20m ago",
                     "--duration", "11m")
    assert result.exit_code == 0, result.output
    assert "accepted" in result.stdout and "ListenBrainz: 1 accepted" in result.stdout
    assert "to Last.fm" not in result.stdout
    held = listens(listenbrainz)
    assert [x["track_metadata"]["track_name"] for x in held] == ["Xanadu"]
    assert listenbrainz.lb.requests()["log"][0]["listen_type"] == "single"
    history = json.loads(run_cli("scrobble", "history", "--json").stdout)
    assert history[0]["status"] == "not_for_lastfm" and history[0]["targets"]["listenbrainz"]["status"] == "accepted"


def test_to_names_a_service_not_signed_in(run_cli, lastfm_env, signed_in, listenbrainz_env, emulator) -> None:
    result = run_cli("scrobble", "track", "--artist", "Rush", "--track", "Xanadu", "--to", "lastfm,listenbrainz")
    assert result.exit_code == 1 and "listenbrainz login" in result.stderr
    assert scrobbles(emulator) == []
    wrong = run_cli("scrobble", "track", "--artist", "Rush", "--track", "Xanadu", "--to", "lastfm,napster")
    assert wrong.exit_code == 1 and "napster" in wrong.stderr


def test_to_lastfm_only_leaves_listenbrainz_alone(run_cli, both, emulator, listenbrainz, state_dir: Path) -> None:
    result = run_cli("scrobble", "track", "--artist", "Rush", "--track", "Xanadu", "--to", "lastfm")
    assert result.exit_code == 0, result.output
    assert len(scrobbles(emulator)) == 1 and listens(listenbrainz) == []
    assert lb_statuses(state_dir) == Counter({"None": 1})


def test_listenbrainz_down_never_holds_lastfm_back(run_cli, both, emulator, listenbrainz, state_dir: Path) -> None:
    listenbrainz.lb.add_fault({"endpoint": "submit-listens", "http": 503, "times": 100})
    listenbrainz.lb.add_fault({"endpoint": "listens", "http": 503, "times": 100})
    result = run_cli("scrobble", "album", ALBUM, "--finished-at", "2h ago", "--json")
    data = json.loads(result.stdout)
    tracks = len(data["scrobbles"])
    assert result.exit_code == 75 and data["accepted"] == tracks and data["listenbrainz"]["stopped"]
    assert len(scrobbles(emulator)) == tracks and listens(listenbrainz) == []
    # 503s may have stored nothing or everything: unchecked listens stay in flight, never sent blind.
    assert set(lb_statuses(state_dir)) <= {"in_flight", "pending"}
    listenbrainz.lb.reset()
    lb_settle(both)
    later = run_cli("scrobble", "track", "--artist", "Rush", "--track", "Xanadu", "--json")
    assert later.exit_code == 0, later.output
    assert len(listens(listenbrainz)) == tracks + 1 and len(scrobbles(emulator)) == tracks + 1
    assert lb_statuses(state_dir) == Counter({"accepted": tracks + 1})


def test_lastfm_down_never_holds_listenbrainz_back(run_cli, both, emulator, listenbrainz, state_dir: Path) -> None:
    emulator.emulator.add_fault({"method": "*", "error": 11, "times": 100})
    result = run_cli("scrobble", "album", ALBUM, "--finished-at", "2h ago", "--json")
    data = json.loads(result.stdout)
    tracks = len(data["scrobbles"])
    assert result.exit_code == 75 and data["listenbrainz"]["accepted"] == tracks
    assert len(listens(listenbrainz)) == tracks and scrobbles(emulator) == []
    emulator.emulator.reset()
    later = run_cli("scrobble", "track", "--artist", "Rush", "--track", "Xanadu")
    assert later.exit_code == 0, later.output
    assert len(scrobbles(emulator)) == tracks + 1 and len(listens(listenbrainz)) == tracks + 1
    assert listenbrainz.lb.requests()["by_endpoint"]["submit-listens"] == 2


def test_lost_reply_is_checked_by_time_range_not_resent(run_cli, both, emulator, listenbrainz,
                                                        state_dir: Path) -> None:
    listenbrainz.lb.add_fault({"endpoint": "submit-listens", "drop_after_commit": True})
    result = run_cli("scrobble", "album", ALBUM, "--finished-at", "1h ago", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    tracks = len(data["scrobbles"])
    assert data["listenbrainz"]["reconciled"] == tracks and data["listenbrainz"]["accepted"] == tracks
    counts = listenbrainz.lb.requests()["by_endpoint"]
    assert counts["submit-listens"] == 1 and counts["listens"] >= 1
    assert len(listens(listenbrainz)) == tracks
    assert lb_statuses(state_dir) == Counter({"accepted": tracks})


def test_half_stored_batch_sends_only_the_rest(run_cli, both, emulator, listenbrainz, state_dir: Path) -> None:
    # Another player (or an old import) already holds the first two tracks at the same times.
    finished = str(int(time.time()) - 3600)
    plan = json.loads(run_cli("scrobble", "album", ALBUM, "--finished-at", finished, "--dry-run", "--json").stdout)
    first = plan["scrobbles"][:2]
    listenbrainz.lb.add_listens(LB_USER, [{"listened_at": s["timestamp"], "track_metadata": {
        "artist_name": s["artist"], "track_name": s["track"]}} for s in first])
    listenbrainz.lb.add_fault({"endpoint": "submit-listens", "http": 502})
    result = run_cli("scrobble", "album", ALBUM, "--finished-at", finished, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    tracks = len(data["scrobbles"])
    assert data["listenbrainz"]["reconciled"] == 2
    log = [e for e in listenbrainz.lb.requests()["log"] if e["endpoint"] == "submit-listens"]
    assert [e["status"] for e in log] == [502, 200] and log[1]["listens"] == tracks - 2
    assert len(listens(listenbrainz)) == tracks  # the two held were not sent again
    assert keys(listens(listenbrainz)).most_common(1)[0][1] == 1


def test_now_playing_on_both(run_cli, both, emulator, listenbrainz) -> None:
    result = run_cli("scrobble", "track", "--artist", "Rush", "--track", "Cygnus X-1", "--now-playing",
                     "--duration", "10m")
    assert result.exit_code == 0, result.output
    assert "now playing on Last.fm" in result.stdout and "now playing on ListenBrainz" in result.stdout
    assert listenbrainz.lb.state.playing_now[LB_USER][0]["track_metadata"]["track_name"] == "Cygnus X-1"
    assert listens(listenbrainz) == []


class Refusing:
    """A ListenBrainz that refuses any request holding the track "Bad", as the real one refuses a whole
    document for one bad listen; it stores the rest only when they come without it."""

    def __init__(self) -> None:
        self.stored: list[dict] = []
        self.requests: list[int] = []

    def submit(self, listen_type: str, payload: list[dict]) -> None:
        self.requests.append(len(payload))
        if any(p["track_metadata"]["track_name"] == "Bad" for p in payload):
            raise ListenBrainzRefused("ListenBrainz refused it: artist_name must be a single string.", 400)
        self.stored += payload

    def listens_between(self, user: str, start: int, end: int) -> list[dict]:
        return [p for p in self.stored if start <= p["listened_at"] <= end]


def test_a_refused_listen_is_isolated_and_the_rest_go(state_dir: Path) -> None:
    now = int(time.time())
    rows = [{"artist": "Rush", "track": "Bad" if i == 5 else f"Track {i}", "album": "X", "album_artist": "Rush",
             "timestamp": now - 3600 + i * 60, "duration": 60, **target_fields(("listenbrainz",))}
            for i in range(16)]
    with Ledger(state_dir) as ledger:
        with ledger.locked():
            ledger.add(rows)
        client = Refusing()
        sender = ListenSender(ledger, client, USER, RetryPolicy(sleep=lambda s: None))
        log = sender.send_all(OutsideQueue())
        assert len(log.accepted) == 15 and len(log.refused) == 1 and log.stopped is None
        assert len(client.stored) == 15 and len(client.requests) <= 2 * 4 + 1
        states = Counter(str(e.target_status(LISTENBRAINZ)) for e in ledger.latest(100))
        assert states == Counter({"accepted": 15, "refused": 1})
        assert "single string" in ledger.target_with_status(LISTENBRAINZ, "refused")[0].targets[LISTENBRAINZ]["message"]


def test_play_along_sends_playing_now_and_each_track_as_single(settings, emulator, signed_in, listenbrainz,
                                                               lb_signed_in, state_dir: Path) -> None:
    from dataclasses import replace

    from tests.test_live import KRAFTWERK, FakeClock, play

    clock = FakeClock()
    lb_settings = replace(settings, listenbrainz_url=listenbrainz.url, listenbrainz_ca_bundle=listenbrainz.ca_bundle,
                          listenbrainz_timeout=2.0)
    listenbrainz.lb.clock = clock.now
    try:
        events, summary = play(lb_settings, emulator.emulator, clock, KRAFTWERK, tracks="1,6-10")
    finally:
        listenbrainz.lb.clock = time.time
        emulator.emulator.clock = time.time
    assert summary.accepted == 5 and summary.exit_status == 0
    log = listenbrainz.lb.requests()["log"]
    kinds = Counter(e.get("listen_type") for e in log if e["endpoint"] == "submit-listens")
    assert kinds == Counter({"playing_now": 6, "single": 5})  # every track shown; the 0:25 one never scrobbled
    assert sorted(x["listened_at"] for x in listens(listenbrainz)) == sorted(
        s["timestamp"] for s in scrobbles(emulator))
    assert lb_statuses(state_dir) == Counter({"accepted": 5})


def test_play_along_to_listenbrainz_only(settings, listenbrainz, lb_signed_in, state_dir: Path) -> None:
    from dataclasses import replace

    from app import App
    from scrobble.live import Player, prepare
    from scrobble.planner import PlanOptions
    from scrobble.send import find_record
    from tests.test_live import KRAFTWERK, FakeClock

    clock = FakeClock()
    lb_settings = replace(settings, listenbrainz_url=listenbrainz.url, listenbrainz_ca_bundle=listenbrainz.ca_bundle,
                          listenbrainz_timeout=2.0, api_key="", api_secret="")
    listenbrainz.lb.clock = clock.now
    app = App(lb_settings, "scrobble album", clock=clock.now)
    try:
        setlist = prepare(app, find_record(app, KRAFTWERK, None), PlanOptions(tracks="1,6"))
        summary = Player(app, setlist, clock, lambda e: None).run()
    finally:
        app.close()
        listenbrainz.lb.clock = time.time
    assert (summary.accepted, summary.exit_status) == (2, 0)
    assert len(listens(listenbrainz)) == 2
    assert lb_statuses(state_dir) == Counter({"accepted": 2})


def test_the_token_never_shows_even_when_every_request_is_logged(both, emulator, listenbrainz, state_dir: Path) -> None:
    from tests.conftest import LB_TOKEN, finish, spawn

    listenbrainz.lb.add_fault({"endpoint": "submit-listens", "drop_after_commit": True})
    code, out, err = finish(spawn(both, "-vv", "scrobble", "track", "--artist", "Rush", "--track", "Xanadu"))
    assert code == 0, err
    assert "ListenBrainz" in out and "submit-listens" in err  # the requests were logged
    assert LB_TOKEN not in out + err
    for path in state_dir.iterdir():
        if path.name != "listenbrainz.json" and path.is_file():
            assert LB_TOKEN.encode() not in path.read_bytes(), path.name
    assert oct((state_dir / "listenbrainz.json").stat().st_mode & 0o777) == "0o600"


def test_history_shows_each_service(run_cli, both, emulator, listenbrainz) -> None:
    assert run_cli("scrobble", "track", "--artist", "Rush", "--track", "Xanadu").exit_code == 0
    assert run_cli("scrobble", "track", "--artist", "Rush", "--track", "Madrigal", "--to", "listenbrainz",
                   "--at", "1h ago").exit_code == 0
    lines = run_cli("scrobble", "history").stdout.splitlines()
    assert "accepted  Rush — Xanadu  [ListenBrainz: accepted]" in lines[0]
    assert "not_for_lastfm Rush — Madrigal  [ListenBrainz: accepted]" in lines[1]
