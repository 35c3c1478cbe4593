"""`listenbrainz import-history` and `status --compare` through the command line: the archive carried over oldest
first in batches of 1,000, what is there skipped, resumable after an outage or a kill, nothing sent twice."""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import USER, finish, lb_settle, listens, spawn
from tests.test_history import archived


@pytest.fixture
def history(lastfm_env, listenbrainz_env, lb_signed_in, sample_dir: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    env = {**lastfm_env, **listenbrainz_env, "LASTFM_USERNAME": USER, "RUSSFM_DATA_DIR": str(sample_dir)}
    for key in ("LASTFM_USERNAME", "RUSSFM_DATA_DIR"):
        monkeypatch.setenv(key, env[key])
    return env


def sync(run_cli, emulator, state_dir: Path, count: int, seed: int) -> list[tuple[int, str, str, str]]:
    """A Last.fm history of `count` plays, copied into the archive by `lastfm sync`."""
    emulator.emulator.generate_history(USER, count, seed=seed, until=time.time() - 86400)
    result = run_cli("lastfm", "sync", "--json")
    assert result.exit_code == 0, result.output
    return archived(state_dir)


def imported(run_cli, *args: str) -> tuple[int, dict]:
    result = run_cli("listenbrainz", "import-history", *args, "--json")
    return result.exit_code, json.loads(result.stdout)


def lb_keys(listenbrainz) -> Counter:
    return Counter((x["listened_at"], x["track_metadata"]["artist_name"], x["track_metadata"]["track_name"])
                   for x in listens(listenbrainz))


def archive_keys(plays: list[tuple[int, str, str, str]]) -> Counter:
    return Counter((ts, artist, track) for ts, artist, track, _ in plays)


def submits(listenbrainz) -> list[dict]:
    return [e for e in listenbrainz.lb.requests()["log"] if e["endpoint"] == "submit-listens"]


def test_the_whole_history_in_batches_of_1000(run_cli, history, emulator, listenbrainz, state_dir: Path) -> None:
    plays = sync(run_cli, emulator, state_dir, 2500, seed=11)
    code, data = imported(run_cli)
    assert code == 0, data
    assert (data["total"], data["sent"], data["already"], data["refused"]) == (2500, 2500, 0, 0)
    assert lb_keys(listenbrainz) == archive_keys(plays)
    log = submits(listenbrainz)
    assert [e["listens"] for e in log] == [1000, 1000, 500] and {e["listen_type"] for e in log} == {"import"}
    assert data["reads"] == 1 and data["requests"] == 4  # nothing there: one read tells it
    again_code, again = imported(run_cli)
    assert again_code == 0 and again["sent"] == 2500 and len(submits(listenbrainz)) == 3  # nothing new to send
    fresh_code, fresh = imported(run_cli, "--from-start")
    assert fresh_code == 0 and (fresh["sent"], fresh["already"]) == (0, 2500) and len(submits(listenbrainz)) == 3
    assert fresh["reads"] <= 4  # 2,500 listens there: read back 1,000 at a time


def test_what_listenbrainz_holds_is_skipped(run_cli, history, emulator, listenbrainz, state_dir: Path) -> None:
    plays = sync(run_cli, emulator, state_dir, 1200, seed=12)
    held = plays[100:400]
    # 300 held already: 200 as sent, 100 under a name Last.fm corrected since (same second, same track).
    listenbrainz.lb.add_listens("vinylfan-lb", [
        {"listened_at": ts, "track_metadata": {"artist_name": artist if i < 200 else artist + " (old name)",
                                                "track_name": track}}
        for i, (ts, artist, track, _) in enumerate(held)])
    code, data = imported(run_cli)
    assert code == 0, data
    assert (data["sent"], data["already"]) == (900, 300)
    stored = lb_keys(listenbrainz)
    assert sum(stored.values()) == 1200 and max(stored.values()) == 1
    assert [e["listens"] for e in submits(listenbrainz)] == [900]  # what is there never splits a request


def test_an_outage_stops_it_and_the_next_run_resumes(run_cli, history, emulator, listenbrainz, state_dir: Path) -> None:
    plays = sync(run_cli, emulator, state_dir, 3000, seed=13)
    listenbrainz.lb.add_fault({"endpoint": "submit-listens", "after": 1, "http": 503, "times": 1000})
    code, data = imported(run_cli)
    assert code == 75 and data["stopped"] and data["sent"] == 1000
    assert sum(lb_keys(listenbrainz).values()) == 1000
    listenbrainz.lb.reset()
    listenbrainz.lb.add_listens("vinylfan-lb", [])
    code, data = imported(run_cli)
    # The emulator was reset (as if its first thousand were lost): only what it lacks from the resume point goes.
    assert code == 0 and data["resumed"] and data["sent"] == 3000
    assert [e["listens"] for e in submits(listenbrainz)] == [1000, 1000]
    assert sum(lb_keys(listenbrainz).values()) == 2000
    assert set(lb_keys(listenbrainz)) == set(archive_keys(plays[1000:]))


def test_a_lost_reply_is_read_back_not_resent(run_cli, history, emulator, listenbrainz, state_dir: Path) -> None:
    plays = sync(run_cli, emulator, state_dir, 1500, seed=14)
    listenbrainz.lb.add_fault({"endpoint": "submit-listens", "after": 1, "drop_after_commit": True})
    code, data = imported(run_cli)
    assert code == 0, data
    assert data["sent"] == 1500 and [e["listens"] for e in submits(listenbrainz)] == [1000, 500]
    assert lb_keys(listenbrainz) == archive_keys(plays)


def test_killed_mid_import_resumes_with_nothing_missing_or_doubled(run_cli, history, emulator, listenbrainz, state_dir: Path) -> None:
    plays = sync(run_cli, emulator, state_dir, 3000, seed=15)
    # The second batch is stored, then its answer held back: the import is killed waiting for it.
    listenbrainz.lb.add_fault({"endpoint": "submit-listens", "after": 1, "delay": 30})
    process = spawn(history, "listenbrainz", "import-history", "--json")
    deadline = time.monotonic() + 60
    while sum(lb_keys(listenbrainz).values()) < 2000:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    lb_settle(history)
    code, out, err = finish(spawn(history, "listenbrainz", "import-history", "--json"))
    assert code == 0, err
    data = json.loads(out)
    assert data["resumed"] and data["already"] == 1000 and data["sent"] == 2000
    assert lb_keys(listenbrainz) == archive_keys(plays)
    assert len(submits(listenbrainz)) == 3


def test_a_listen_listenbrainz_refuses_is_counted_and_the_rest_go(run_cli, history, emulator, listenbrainz, state_dir: Path) -> None:
    # A track name longer than a listen may be (10,240 bytes), as a player once sent it to Last.fm.
    emulator.emulator.add_scrobbles(USER, [{"artist": "Endless", "track": "La " * 4000, "album": "",
                                            "timestamp": int(time.time()) - 3 * 86400}])
    plays = sync(run_cli, emulator, state_dir, 50, seed=16)
    assert len(plays) == 51
    code, data = imported(run_cli)
    assert code == 3 and (data["sent"], data["refused"]) == (50, 1)
    assert "10240 bytes" in data["refusals"][0]
    assert sum(lb_keys(listenbrainz).values()) == 50 == len(plays) - 1
    text = run_cli("listenbrainz", "import-history", "--from-start")
    assert "50 already there, 1 refused" in text.stdout


def test_status_compares_the_archive_with_listenbrainz(run_cli, history, emulator, listenbrainz, state_dir: Path) -> None:
    plays = sync(run_cli, emulator, state_dir, 800, seed=17)
    listenbrainz.lb.add_listens("vinylfan-lb", [
        {"listened_at": ts, "track_metadata": {"artist_name": artist, "track_name": track}}
        for ts, artist, track, _ in plays[:500]] + [
        {"listened_at": plays[10][0] + 1, "track_metadata": {"artist_name": "Someone Else", "track_name": "Elsewhere"}}])
    result = run_cli("listenbrainz", "status", "--compare", "--json")
    assert result.exit_code == 0, result.output
    archive = json.loads(result.stdout)["archive"]
    assert (archive["archive"], archive["missing_on_listenbrainz"], archive["only_on_listenbrainz"]) == (800, 300, 1)
    text = run_cli("listenbrainz", "status", "--compare")
    assert "ListenBrainz lacks 300 of them and holds 1 the archive lacks" in text.stdout
