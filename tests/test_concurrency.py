"""Several processes at once on one state folder: nothing sent twice, nothing lost, cancels obeyed, locks named."""

from __future__ import annotations

import json
import os
import random
import time
from collections import Counter
from pathlib import Path

import pytest

from scrobble.ledger import ACCEPTED, CANCELLED, Ledger
from scrobble.sendlock import SEND_LOCK
from statefiles import file_lock
from tests.conftest import scrobbles, spawn, finish

FAULTS = [{"delay": 0.4}, {"stall": 0.4}, {"drop_after_commit": True}, {"error": 11}, {"error": 16}, {"http": 503},
          {"error": 29}, None, None]


def ledger_rows(state_dir: Path) -> list:
    with Ledger(state_dir) as ledger:
        return ledger.latest(1_000_000)


def held_on_lastfm(emulator) -> Counter:
    return Counter((s["artist"], s["track"], s["timestamp"]) for s in scrobbles(emulator))


def check_exactly_once(emulator, state_dir: Path) -> None:
    held = held_on_lastfm(emulator)
    assert [k for k, n in held.items() if n > 1] == [], "scrobbles sent twice"
    rows = ledger_rows(state_dir)
    accepted = {(e.artist, e.track, e.timestamp) for e in rows if e.status == ACCEPTED}
    cancelled = {(e.artist, e.track, e.timestamp) for e in rows if e.status == CANCELLED and e.timed}
    assert set(held) == accepted, "the ledger and Last.fm disagree"
    assert not cancelled & set(held), "a cancelled scrobble was sent"
    assert {e.status for e in rows} <= {ACCEPTED, CANCELLED}, Counter(e.status for e in rows)


@pytest.mark.slow
def test_four_processes_at_once(lastfm_env, signed_in, emulator, sample_dir, tmp_path: Path):
    """Two `scrobble album` of different records, a `queue run` over a queued job, and a `queue cancel`
    or `queue add`, started together with random offsets and faults, ten rounds."""
    emu = emulator.emulator
    rng = random.Random(1977)
    for round_number in range(10):
        state = tmp_path / f"state{round_number}"
        env = lastfm_env | {"RUSSFM_DATA_DIR": str(sample_dir), "RUSSFM_STATE_DIR": str(state)}
        emu.reset()
        from lastfm.session import Session, SessionStore

        SessionStore(state).save(Session("vinylfan", signed_in))
        assert finish(spawn(env, "scrobble", "queue", "add", "3-d-the-catalogue-10349797", "2112-814617",
                            "signals-33007098"))[0] == 0
        assert finish(spawn(env, "scrobble", "queue", "add", "1962-1966-28859305", "who-asked-38016294",
                            "tails-38085483", "vanishing-point-38120991"))[0] == 0
        # A slow service keeps a batch in flight, not yet stored, while the others start; then random trouble.
        emu.add_fault({"method": "track.scrobble", "times": 1, "stall": rng.uniform(0.5, 1.0)})
        for _ in range(rng.randint(1, 2)):
            fault = rng.choice(FAULTS)
            if fault:
                emu.add_fault({"method": "track.scrobble", "times": 1, "after": rng.randint(0, 3), **fault})
        now = int(time.time())
        commands = [
            ("scrobble", "album", "12-gold-bars-volume-ii-1108230", "--finished-at", str(now - 3600)),
            ("scrobble", "album", "a-flock-of-seagulls-26056165", "--finished-at", str(now - 8 * 3600)),
            ("scrobble", "queue", "run"),
            rng.choice([("scrobble", "queue", "cancel", "2"), ("scrobble", "queue", "add", "patterns-22346761")]),
        ]
        rng.shuffle(commands)
        running = []
        for args in commands:
            time.sleep(rng.uniform(0, 0.3))
            running.append((args, spawn(env, *args)))
        for args, process in running:
            code, out, err = finish(process)
            assert "Traceback" not in err, err
            assert code in (0, 1, 3, 75), (args, code, err)
            if code == 1:
                assert "overlap" in err or "was cancelled" in err, (args, err)
        emu.clear_faults()
        # Whatever a fault left waiting is sent by the next commands, as cron and the user would.
        for _ in range(6):
            code, out, err = finish(spawn(env, "scrobble", "queue", "run", "--json"))
            assert code in (0, 75), err
            if code == 0 and json.loads(out)["pending"] == 0:
                break
        for args in commands[:2]:
            if args[1] == "album":
                assert finish(spawn(env, *args))[0] == 0
        check_exactly_once(emulator, state)


def test_cancel_during_a_run_stops_it_before_its_next_batch(lastfm_env, signed_in, emulator, sample_dir):
    env = lastfm_env | {"RUSSFM_DATA_DIR": str(sample_dir)}
    added = json.loads(finish(spawn(env, "scrobble", "queue", "add", "--all", "--json"))[1])
    # Every batch waits a second before it is answered: the cancel lands while one is on its way.
    emulator.emulator.add_fault({"method": "track.scrobble", "times": 100, "delay": 1.0})
    runner = spawn(env, "scrobble", "queue", "run", "--json")
    deadline = time.monotonic() + 20
    while emulator.emulator.request_counts()["by_method"].get("track.scrobble", 0) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    code, out, err = finish(spawn(env, "scrobble", "queue", "cancel", "1"))
    assert code == 0 and "pending scrobbles dropped" in out
    sent_when_cancelled = emulator.emulator.request_counts()["by_method"]["track.scrobble"]
    code, out, err = finish(runner)
    assert code == 0, err
    # At most the batch already on its way when the cancel returned is still sent.
    assert emulator.emulator.request_counts()["by_method"]["track.scrobble"] <= sent_when_cancelled + 1
    rows = ledger_rows(Path(lastfm_env["RUSSFM_STATE_DIR"]))
    statuses = Counter(e.status for e in rows)
    assert statuses[ACCEPTED] + statuses[CANCELLED] == added["tracks"] and statuses[CANCELLED] > 0
    status = json.loads(finish(spawn(env, "scrobble", "queue", "status", "--json"))[1])
    assert status["jobs"][0]["status"] == "cancelled"
    assert status["jobs"][0]["accepted"] == statuses[ACCEPTED] == len(scrobbles(emulator))


def test_concurrent_queue_adds_get_their_own_jobs(lastfm_env, sample_dir):
    env = lastfm_env | {"RUSSFM_DATA_DIR": str(sample_dir)}
    albums = ["2112-814617", "signals-33007098", "tails-38085483", "patterns-22346761", "who-asked-38016294"]
    adders = [spawn(env, "scrobble", "queue", "add", slug, "--json") for slug in albums]
    results = [json.loads(finish(p)[1]) for p in adders]
    assert sorted(r["job"] for r in results) == ["1", "2", "3", "4", "5"]
    rows = ledger_rows(Path(lastfm_env["RUSSFM_STATE_DIR"]))
    with Ledger(Path(lastfm_env["RUSSFM_STATE_DIR"])) as ledger:
        jobs = ledger.jobs()
    for job in jobs.values():
        assert job.albums == sorted({e.slug for e in rows if e.job == job.id})
        assert len(job.albums) == 1


def test_a_held_send_lock_is_named(lastfm_env, signed_in, emulator, state_dir: Path):
    env = lastfm_env | {"RUSSFM_LOCK_WAIT": "0.5"}
    finish(spawn(env, "scrobble", "queue", "add", "2112-814617"))
    with file_lock(state_dir / SEND_LOCK, "scrobble album"):
        code, out, err = finish(spawn(env, "scrobble", "queue", "run"))
        assert code == 75
        assert f"`scrobble album` (pid {os.getpid()}) holds it" in err and "another queue run" not in err
        code, out, err = finish(spawn(env, "scrobble", "track", "--artist", "Rush", "--track", "Tears"))
        assert code == 75 and f"`scrobble album` (pid {os.getpid()})" in err
    assert scrobbles(emulator) == []


def test_the_request_limit_holds_across_processes(lastfm_env, signed_in, emulator, sample_dir):
    """Several commands back to back and at once stay within 5 requests in any second together."""
    env = lastfm_env | {"RUSSFM_DATA_DIR": str(sample_dir)}
    slugs = ["channels-27259821", "ice-cream-genius-38091567", "who-asked-38016294", "tails-38085483"]
    processes = [spawn(env, "scrobble", "album", "--dry-run", "--lookup", slug) for slug in slugs]
    processes += [spawn(env, "lastfm", "status") for _ in range(8)]
    for process in processes:
        assert finish(process)[0] == 0
    times = sorted(emulator.emulator.request_counts()["times"])
    assert len(times) == 12
    for i in range(len(times) - 5):
        assert times[i + 5] - times[i] >= 1.0, times


def test_a_cancel_while_a_batch_is_on_its_way_leaves_nothing_pending(lastfm_env, signed_in, emulator):
    """The batch comes back unanswered after the cancel: its scrobbles are cancelled, not left pending."""
    env = lastfm_env | {"RUSSFM_RETRY_DELAY": "2"}
    finish(spawn(env, "scrobble", "queue", "add", "channels-27259821"))
    emulator.emulator.add_fault({"method": "track.scrobble", "times": 1, "http": 503})
    runner = spawn(env, "scrobble", "queue", "run")
    deadline = time.monotonic() + 20
    while not emulator.emulator.request_counts()["by_method"].get("track.scrobble"):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    code, out, err = finish(spawn(env, "scrobble", "queue", "cancel", "1"))  # during the backoff pause
    assert code == 0 and "10 already on their way" in out, out
    assert finish(runner)[0] == 0
    rows = ledger_rows(Path(lastfm_env["RUSSFM_STATE_DIR"]))
    assert {e.status for e in rows} == {CANCELLED} and scrobbles(emulator) == []
    status = json.loads(finish(spawn(env, "lastfm", "status", "--json"))[1])
    assert status["pending"] == 0 and status["in_flight"] == 0
    again = json.loads(finish(spawn(env, "scrobble", "queue", "add", "channels-27259821", "--json"))[1])
    assert again["albums"] == 1 and not again["skipped"]


def test_queue_run_sends_what_other_commands_left_pending(lastfm_env, signed_in, emulator, state_dir: Path):
    """A `scrobble track` that could not get the send lock keeps its scrobble pending; cron's next run sends it."""
    env = lastfm_env | {"RUSSFM_LOCK_WAIT": "0.3"}
    with file_lock(state_dir / SEND_LOCK, "scrobble queue run"):
        code, out, err = finish(spawn(env, "scrobble", "track", "--artist", "Rush", "--track", "Tears"))
    assert code == 75 and scrobbles(emulator) == []
    code, out, err = finish(spawn(env, "scrobble", "queue", "run", "--json"))
    data = json.loads(out)
    assert code == 0 and data["accepted"] == 1 and data["pending"] == 0
    assert [s["track"] for s in scrobbles(emulator)] == ["Tears"]
