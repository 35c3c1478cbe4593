"""Killing the CLI process (SIGKILL) in the middle of a multi-batch send loses nothing and repeats nothing."""

from __future__ import annotations

import json
import random
import signal
import time
from collections import Counter

from scrobble.sender import SETTLE_MARGIN
from tests.conftest import scrobbles
from tests.conftest import spawn as cli

BOX = "3-d-the-catalogue-10349797"  # 69 tracks: two batches


def wait_for(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def settle(env: dict[str, str]) -> None:
    """Wait until a killed command's last request is past its timeout: only then is it checked on Last.fm."""
    time.sleep(float(env["LASTFM_TIMEOUT"]) + SETTLE_MARGIN)


def ledger_statuses(env) -> Counter:
    out = cli(env, "scrobble", "history", "--limit", "1000", "--json").communicate(timeout=30)[0]
    return Counter(row["status"] for row in json.loads(out))


def test_kill_while_second_batch_is_unanswered(lastfm_env, signed_in, emulator):
    emu = emulator.emulator
    # The second batch is stored, then its answer is held back: the client is killed waiting.
    emu.add_fault({"method": "track.scrobble", "after": 1, "times": 1, "delay": 30})
    finished = str(int(time.time()) - 3600)
    process = cli(lastfm_env, "scrobble", "album", BOX, "--finished-at", finished, "--include-short")
    wait_for(lambda: emu.request_counts()["by_method"].get("track.scrobble", 0) == 2)
    wait_for(lambda: len(scrobbles(emulator)) == 69)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert ledger_statuses(lastfm_env) == Counter({"accepted": 50, "in_flight": 19})
    settle(lastfm_env)

    # Running the same command again: the same listening is already in the ledger; what the killed run
    # left in flight is checked on Last.fm and settled, nothing is sent again.
    again = cli(lastfm_env, "scrobble", "album", BOX, "--finished-at", finished, "--include-short", "--json")
    out, err = again.communicate(timeout=60)
    assert again.returncode == 0, err
    data = json.loads(out)
    assert data["reconciled"] == 19 and data["accepted"] == 19 and len(data["already_scrobbled"]) == 69
    forced = cli(lastfm_env, "scrobble", "album", BOX, "--finished-at", finished, "--include-short",
                 "--force", "--json")
    out, err = forced.communicate(timeout=60)
    assert forced.returncode == 0, err
    assert len(json.loads(out)["already_scrobbled"]) == 69
    assert ledger_statuses(lastfm_env) == Counter({"accepted": 69})
    held = Counter((s["track"], s["timestamp"]) for s in scrobbles(emulator))
    assert len(held) == 69 and set(held.values()) == {1}
    assert emu.request_counts()["by_method"]["track.scrobble"] == 2


def test_kills_at_random_moments(lastfm_env, signed_in, emulator):
    """Kill each run at a random moment; a final run finishes; what the ledger holds is on Last.fm once."""
    emu = emulator.emulator
    rng = random.Random(2112)
    runs = [("3-d-the-catalogue-10349797", "--finished-at", "2h ago"),
            ("1962-1966-28859305", "--finished-at", "8h ago"),
            ("12-gold-bars-volume-ii-1108230", "--finished-at", "10h ago")]
    for args in runs:
        emu.add_fault({"method": "track.scrobble", "times": 1, "drop_after_commit": True, "after": rng.randint(0, 1)})
        process = cli(lastfm_env, "scrobble", "album", *args, "--include-short")
        time.sleep(rng.uniform(0.9, 1.8))  # after start-up, while sending
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    settle(lastfm_env)
    finisher = cli(lastfm_env, "scrobble", "track", "--artist", "Kraftwerk", "--track", "Numbers", "--at", "20m ago")
    out, err = finisher.communicate(timeout=120)
    assert finisher.returncode == 0, err
    history = json.loads(cli(lastfm_env, "scrobble", "history", "--limit", "1000", "--json").communicate(timeout=30)[0])
    assert {row["status"] for row in history} == {"accepted"}
    recorded = {(row["artist"], row["track"], row["timestamp"]) for row in history}
    held = Counter((s["artist"], s["track"], s["timestamp"]) for s in scrobbles(emulator))
    assert set(held) == recorded and set(held.values()) == {1}
    assert len(recorded) > 60  # the kills fell in the middle of sending, not before it


def test_queue_runner_killed_at_random_moments(lastfm_env, signed_in, emulator, sample_dir):
    """Many `queue run`s, each killed at a random moment, some meeting faults; then a drain to the end.
    Last.fm must hold every queued track exactly once."""
    emu = emulator.emulator
    lastfm_env = lastfm_env | {"RUSSFM_DATA_DIR": str(sample_dir)}
    added = json.loads(cli(lastfm_env, "scrobble", "queue", "add", "--all", "--json").communicate(timeout=60)[0])
    total = added["tracks"]
    rng = random.Random(1976)
    faults = [{"drop_after_commit": True}, {"error": 11}, {"http": 503}, {"delay": 4}, {"error": 16}, None]
    for _ in range(16):
        fault = rng.choice(faults)
        if fault:
            emu.add_fault({"method": rng.choice(["track.scrobble", "*"]), "times": 1,
                           "after": rng.randint(0, 2), **fault})
        process = cli(lastfm_env, "scrobble", "queue", "run", "--max", str(rng.randint(10, 40)))
        time.sleep(rng.uniform(0.3, 1.0))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    emu.clear_faults()
    settle(lastfm_env)
    interrupted = Counter(row["status"] for row in json.loads(
        cli(lastfm_env, "scrobble", "history", "--limit", "1000", "--json").communicate(timeout=30)[0]))
    print("after the kills:", dict(interrupted), "held", len(scrobbles(emulator)))
    assert 0 < len(scrobbles(emulator)) < total  # the kills fell in the middle of the work
    for _ in range(10):  # drain: each run sends what is due and exits
        runner = cli(lastfm_env, "scrobble", "queue", "run", "--json")
        out, err = runner.communicate(timeout=120)
        assert runner.returncode == 0, err
        if json.loads(out)["pending"] == 0:
            break
    status = json.loads(cli(lastfm_env, "scrobble", "queue", "status", "--json").communicate(timeout=30)[0])
    assert status["jobs"][0]["status"] == "done" and status["jobs"][0]["accepted"] == total
    held = Counter((s["artist"], s["track"], s["timestamp"]) for s in scrobbles(emulator))
    assert len(held) == total and set(held.values()) == {1}


def test_a_slow_request_of_a_killed_command_is_not_sent_again(lastfm_env, signed_in, emulator):
    """Killed while Last.fm is still storing its batch: the next command does not take it for lost."""
    emu = emulator.emulator
    emu.add_fault({"method": "track.scrobble", "times": 1, "stall": 2.5})
    first = cli(lastfm_env, "scrobble", "track", "--artist", "Stall", "--track", "One", "--at", "30m ago")
    wait_for(lambda: emu.request_counts()["by_method"].get("track.scrobble", 0) == 1)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    second = cli(lastfm_env, "scrobble", "track", "--artist", "Stall", "--track", "Two", "--at", "10m ago")
    out, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    wait_for(lambda: len(scrobbles(emulator)) == 2)  # the stalled one is stored by now
    settle(lastfm_env)
    third = cli(lastfm_env, "scrobble", "history", "--json")
    assert {r["status"] for r in json.loads(third.communicate(timeout=30)[0])} == {"accepted", "in_flight"}
    finisher = cli(lastfm_env, "scrobble", "queue", "run", "--json")
    out, err = finisher.communicate(timeout=60)
    assert finisher.returncode == 0 and json.loads(out)["reconciled"] == 1, err
    held = Counter((s["track"], s["timestamp"]) for s in scrobbles(emulator))
    assert sorted(track for track, _ in held) == ["One", "Two"] and set(held.values()) == {1}
