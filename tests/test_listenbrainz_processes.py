"""Both services from real processes: the queue drains each within its own limits, a kill while ListenBrainz holds
the answer loses and repeats nothing, and several commands at once leave every listen once on each service."""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from scrobble.ledger import Ledger
from scrobble.rows import LISTENBRAINZ
from tests.conftest import finish, lb_settle, listens, scrobbles, spawn

BOX = "3-d-the-catalogue-10349797"  # 69 tracks


@pytest.fixture
def both(lastfm_env: dict[str, str], listenbrainz_env: dict[str, str], signed_in: str, lb_signed_in: str) -> dict:
    return {**lastfm_env, **listenbrainz_env}


def wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def lb_statuses(state_dir: Path) -> Counter:
    with Ledger(state_dir) as ledger:
        return Counter(str(e.target_status(LISTENBRAINZ)) for e in ledger.latest(10_000))


def once(items: list[tuple]) -> bool:
    return not [k for k, n in Counter(items).items() if n > 1]


def lb_keys(listenbrainz) -> list[tuple]:
    return [(x["listened_at"], x["track_metadata"]["artist_name"].casefold(),
             x["track_metadata"]["track_name"].casefold()) for x in listens(listenbrainz)]


def lastfm_keys(emulator) -> list[tuple]:
    return [(s["timestamp"], s["artist"].casefold(), s["track"].casefold()) for s in scrobbles(emulator)]


def test_queue_drains_each_service_within_its_own_limits(run_cli, both, emulator, listenbrainz,
                                                         state_dir: Path) -> None:
    added = run_cli("scrobble", "queue", "add", "2112-814617", BOX, "--json")
    assert added.exit_code == 0, added.output
    tracks = json.loads(added.stdout)["tracks"]
    result = run_cli("scrobble", "queue", "run", "--daily-cap", "20", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    # Last.fm stops at its cap; ListenBrainz takes the whole queue in one request.
    assert data["accepted"] == 20 and data["waiting_reason"] == "daily_cap"
    assert data["listenbrainz"]["accepted"] == tracks and data["listenbrainz"]["pending"] == 0
    assert listenbrainz.lb.requests()["by_endpoint"]["submit-listens"] == 1
    assert len(listens(listenbrainz)) == tracks and len(scrobbles(emulator)) == 20
    # The listens both services hold carry the same times.
    assert set(lastfm_keys(emulator)) <= set(lb_keys(listenbrainz))
    again = json.loads(run_cli("scrobble", "queue", "run", "--daily-cap", "20", "--json").stdout)
    assert again["accepted"] == 0 and again["listenbrainz"]["accepted"] == 0
    assert listenbrainz.lb.requests()["by_endpoint"]["submit-listens"] == 1
    more = json.loads(run_cli("scrobble", "queue", "run", "--json").stdout)
    assert more["accepted"] == tracks - 20
    assert sorted(lastfm_keys(emulator)) == sorted(lb_keys(listenbrainz))
    assert once(lb_keys(listenbrainz)) and once(lastfm_keys(emulator))


def test_queue_for_listenbrainz_only_times_its_own_albums(run_cli, listenbrainz_env, lb_signed_in, listenbrainz,
                                                          state_dir: Path) -> None:
    added = run_cli("scrobble", "queue", "add", "2112-814617", BOX, "--to", "listenbrainz", "--json")
    tracks = json.loads(added.stdout)["tracks"]
    result = run_cli("scrobble", "queue", "run", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["listenbrainz"]["accepted"] == tracks
    stamps = sorted(x["listened_at"] for x in listens(listenbrainz))
    assert len(stamps) == tracks and len(set(stamps)) == tracks and stamps[-1] <= time.time()


def test_kill_while_listenbrainz_holds_the_answer(both, emulator, listenbrainz, state_dir: Path) -> None:
    # The listens are stored, then the answer is held back: the command is killed waiting for it.
    listenbrainz.lb.add_fault({"endpoint": "submit-listens", "delay": 30})
    finished = str(int(time.time()) - 3600)
    process = spawn(both, "scrobble", "album", BOX, "--finished-at", finished, "--include-short",
                    "--to", "listenbrainz")
    wait_for(lambda: len(listens(listenbrainz)) == 69)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert lb_statuses(state_dir) == Counter({"in_flight": 69})
    lb_settle(both)
    code, out, err = finish(spawn(both, "scrobble", "album", BOX, "--finished-at", finished, "--include-short",
                                  "--to", "listenbrainz", "--json"))
    assert code == 0, err
    data = json.loads(out)
    assert len(data["already_scrobbled"]) == 69 and data["listenbrainz"]["reconciled"] == 69
    assert listenbrainz.lb.requests()["by_endpoint"]["submit-listens"] == 1
    assert lb_statuses(state_dir) == Counter({"accepted": 69}) and once(lb_keys(listenbrainz))
    assert scrobbles(emulator) == []


def test_kill_before_listenbrainz_stored_anything(both, emulator, listenbrainz, state_dir: Path) -> None:
    # The request stalls before anything is stored; the command is killed; the listens are stored later
    # (the server finished its work), or not: either way the next command finds the truth by reading.
    listenbrainz.lb.add_fault({"endpoint": "submit-listens", "stall": 1.5})
    finished = str(int(time.time()) - 7200)
    process = spawn(both, "scrobble", "album", BOX, "--finished-at", finished, "--include-short")
    wait_for(lambda: listenbrainz.lb.requests()["by_endpoint"].get("submit-listens", 0) == 1)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    wait_for(lambda: len(listens(listenbrainz)) == 69)
    lb_settle(both)
    code, out, err = finish(spawn(both, "scrobble", "track", "--artist", "Rush", "--track", "Xanadu", "--json"))
    assert code == 0, err
    assert len(listens(listenbrainz)) == 70 and once(lb_keys(listenbrainz))
    assert sorted(lb_keys(listenbrainz)) == sorted(lastfm_keys(emulator))


def test_several_processes_at_once(both, emulator, listenbrainz, state_dir: Path) -> None:
    listenbrainz.lb.configure(rate_limit=3, rate_window=1)  # tight: the processes must share it
    queued = spawn(both, "scrobble", "queue", "add", "2112-814617")
    assert finish(queued)[0] == 0
    now = int(time.time())
    processes = [spawn(both, "scrobble", "queue", "run")]
    processes += [spawn(both, "scrobble", "track", "--artist", "Rush", "--track", f"Track {i}",
                        "--at", str(now - 86400 * 2 - i * 600), "--duration", "300") for i in range(4)]
    processes.append(spawn(both, "scrobble", "album", BOX, "--finished-at", str(now - 86400 * 3), "--include-short"))
    results = [finish(p) for p in processes]
    for code, _, err in results:
        assert code in (0, 75), err
    # Whatever a busy lock held back, one more run of each settles it.
    assert finish(spawn(both, "scrobble", "queue", "run"))[0] == 0
    lb_settle(both)
    assert finish(spawn(both, "scrobble", "track", "--artist", "Rush", "--track", "Last", "--json"))[0] == 0
    assert once(lb_keys(listenbrainz)) and once(lastfm_keys(emulator))
    assert sorted(lb_keys(listenbrainz)) == sorted(lastfm_keys(emulator))
    with Ledger(state_dir) as ledger:
        rows = ledger.latest(10_000)
    assert len(lb_keys(listenbrainz)) == len(rows)
    assert Counter(str(e.target_status(LISTENBRAINZ)) for e in rows) == Counter({"accepted": len(rows)})
    assert Counter(e.status for e in rows) == Counter({"accepted": len(rows)})


def test_queue_status_and_cancel_cover_listenbrainz(run_cli, both, emulator, listenbrainz, state_dir: Path) -> None:
    added = json.loads(run_cli("scrobble", "queue", "add", "2112-814617", "--json").stdout)
    tracks = added["tracks"]
    status = json.loads(run_cli("scrobble", "queue", "status", "--json").stdout)["jobs"][0]
    assert status["listenbrainz"]["pending"] == tracks and status["status"] == "active"
    listenbrainz.lb.add_fault({"endpoint": "submit-listens", "http": 500, "times": 100})
    listenbrainz.lb.add_fault({"endpoint": "listens", "http": 500, "times": 100})
    run = run_cli("scrobble", "queue", "run", "--json")
    assert run.exit_code == 75 and json.loads(run.stdout)["accepted"] == tracks
    cancelled = run_cli("scrobble", "queue", "cancel", str(status["id"]))
    assert cancelled.exit_code == 0, cancelled.output
    status = json.loads(run_cli("scrobble", "queue", "status", "--json").stdout)["jobs"][0]
    # What was on its way stays in flight until checked; nothing of the job is sent again after that.
    assert status["listenbrainz"]["pending"] == 0
    listenbrainz.lb.reset()
    lb_settle(both)
    again = json.loads(run_cli("scrobble", "queue", "run", "--json").stdout)
    assert again["listenbrainz"]["accepted"] + again["listenbrainz"]["refused"] == 0
    final = json.loads(run_cli("scrobble", "queue", "status", "--json").stdout)["jobs"][0]["listenbrainz"]
    assert final["in_flight"] == 0 and final["pending"] == 0 and final["cancelled"] == tracks
    assert listens(listenbrainz) == []


def test_an_album_waiting_only_for_listenbrainz_counts_as_queued(run_cli, listenbrainz_env, lb_signed_in,
                                                                 listenbrainz) -> None:
    assert run_cli("scrobble", "queue", "add", "2112-814617").exit_code == 0
    again = run_cli("scrobble", "queue", "add", "2112-814617")
    assert "already waiting in the queue" in again.stderr and "nothing queued" in again.stdout
