"""The archive is the whole history whatever runs beside `lastfm sync`: a queue laying albums into the past,
batches left in flight by a kill, play-along sessions. Real processes against the emulator."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from collections import Counter
from pathlib import Path

import pytest

from errors import StateError
from history.archive import ARCHIVE_FILE, Archive
from scrobble.sender import SETTLE_MARGIN
from tests.conftest import USER, finish, scrobbles, spawn

DAY = 86400
RUSH = "2112-814617"
MAGIC = "a-kind-of-magic-453215"


@pytest.fixture
def env(lastfm_env: dict[str, str], signed_in: str, sample_dir: Path) -> dict[str, str]:
    return {**lastfm_env, "LASTFM_USERNAME": USER, "RUSSFM_DATA_DIR": str(sample_dir)}


def run(env: dict[str, str], *args: str, timeout: float = 180) -> tuple[int, str, str]:
    return finish(spawn(env, *args), timeout=timeout)


def sync(env: dict[str, str]) -> dict:
    code, out, err = run(env, "lastfm", "sync", "--json")
    assert code == 0, err
    return json.loads(out)


def archived(state_dir: Path) -> list[tuple[int, str, str, str]]:
    with sqlite3.connect(state_dir / ARCHIVE_FILE) as db:
        return db.execute("SELECT timestamp, artist, track, album FROM scrobbles ORDER BY 1, 2, 3, 4").fetchall()


def on_lastfm(emulator) -> list[tuple[int, str, str, str]]:
    return sorted((s["timestamp"], s["artist"], s["track"], s["album"]) for s in scrobbles(emulator))


def pages_done(state_dir: Path) -> int:
    try:
        found = Archive.existing(state_dir)
    except StateError:  # caught while the schema is being written
        return 0
    if found is None:
        return 0
    with found as archive:
        window = archive.window()
        return window.pages_done if window else 0


def wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_queue_run_beside_the_first_sync_leaves_nothing_out(env, emulator, state_dir: Path):
    """The queue stores hundreds of scrobbles dated days back while the first copy walks the history:
    the oldest scrobbles are copied all the same, and the next sync brings what the queue sent."""
    emu = emulator.emulator
    emu.generate_history(USER, 2000, span_days=400, until=time.time() - 3 * 3600, seed=11)
    history = on_lastfm(emulator)
    code, out, err = run(env, "scrobble", "queue", "add", "--all", "--json")
    assert code == 0, err
    queued = json.loads(out)["tracks"]
    assert queued > 2 * 200  # more than the two pages a copy could once grow by
    emu.add_fault({"method": "user.getrecenttracks", "times": 1000, "stall": 1.0})  # a long copy
    copy = spawn(env, "lastfm", "sync", "--json")
    wait_for(lambda: pages_done(state_dir) >= 1)
    runner = spawn(env, "scrobble", "queue", "run", "--json")
    code, out, err = finish(runner)
    assert code == 0, err
    assert json.loads(out)["pending"] == 0
    sent_during_copy = copy.poll() is None
    code, out, err = finish(copy)
    assert code == 0, err
    assert sent_during_copy  # the queue was drained while the copy was still going
    held = set(archived(state_dir))
    assert [play for play in history if play not in held] == []  # the oldest are there too

    emu.clear_faults()
    sync(env)
    assert archived(state_dir) == on_lastfm(emulator)
    assert len(on_lastfm(emulator)) == len(history) + queued


def test_a_batch_in_flight_during_a_sync_reaches_the_archive(env, emulator, state_dir: Path):
    """A queue run killed with its batch stored but unanswered, a sync, the batch confirmed, a sync:
    the batch is in the archive."""
    emu = emulator.emulator
    emu.generate_history(USER, 300, span_days=30, until=time.time() - 2 * 3600, seed=12)
    sync(env)
    code, out, err = run(env, "scrobble", "queue", "add", RUSH, "--json")
    assert code == 0, err
    tracks = json.loads(out)["tracks"]
    emu.add_fault({"method": "track.scrobble", "times": 1, "delay": 30})  # stored, the answer held back
    runner = spawn(env, "scrobble", "queue", "run")
    wait_for(lambda: len(scrobbles(emulator)) == 300 + tracks)
    runner.send_signal(signal.SIGKILL)
    runner.wait(timeout=10)
    sync(env)
    time.sleep(float(env["LASTFM_TIMEOUT"]) + SETTLE_MARGIN)  # past the killed request's timeout
    code, out, err = run(env, "scrobble", "queue", "run", "--json")
    assert code == 0 and json.loads(out)["reconciled"] == tracks, err
    sync(env)
    assert archived(state_dir) == on_lastfm(emulator)
    assert len(archived(state_dir)) == 300 + tracks


def test_a_batch_confirmed_after_the_sync_that_missed_it(env, emulator, state_dir: Path):
    """Sent before a sync began, stored on Last.fm only after that sync read its time, confirmed then:
    the next sync reaches back to it, though it was sent before the last sync."""
    emu = emulator.emulator
    emu.generate_history(USER, 300, span_days=30, until=time.time() - 2 * 3600, seed=13)
    sync(env)
    code, out, err = run(env, "scrobble", "queue", "add", RUSH, "--json")
    assert code == 0, err
    tracks = json.loads(out)["tracks"]
    # Last.fm takes 10 s to store the batch, within the runner's timeout: the sync below reads the past
    # before the batch is there.
    emu.add_fault({"method": "track.scrobble", "times": 1, "stall": 10})
    runner = spawn(env | {"LASTFM_TIMEOUT": "30"}, "scrobble", "queue", "run", "--json")
    wait_for(lambda: emu.request_counts()["by_method"].get("track.scrobble", 0) == 1)
    first = sync(env)
    code, out, err = finish(runner)
    assert code == 0 and json.loads(out)["accepted"] == tracks, err
    assert first["total"] == 300 and first["new"] == 0  # the sync was over before the batch was stored
    sync(env)
    assert archived(state_dir) == on_lastfm(emulator)
    assert len(archived(state_dir)) == 300 + tracks


@pytest.mark.slow
def test_after_syncs_queue_runs_live_and_kills_one_more_sync_is_the_whole_history(env, emulator,
                                                                                    state_dir: Path):
    emu = emulator.emulator
    emu.generate_history(USER, 1500, span_days=200, until=time.time() - 4 * 3600, seed=14)
    code, out, err = run(env, "scrobble", "queue", "add", "--all", "--json")
    assert code == 0, err
    # 1: a first copy killed half way, with a queue run beside it that is killed too.
    emu.add_fault({"method": "user.getrecenttracks", "times": 6, "stall": 0.4})
    copy = spawn(env, "lastfm", "sync")
    wait_for(lambda: pages_done(state_dir) >= 2)
    runner = spawn(env, "scrobble", "queue", "run", "--max", "120")
    wait_for(lambda: len(scrobbles(emulator)) > 1500)
    copy.send_signal(signal.SIGKILL)
    copy.wait(timeout=10)
    finish(runner)
    # 2: a batch stored, its answer held back, the runner killed; a sync resumes the copy meanwhile.
    emu.clear_faults()
    emu.add_fault({"method": "track.scrobble", "times": 1, "delay": 30})
    held = len(scrobbles(emulator))
    runner = spawn(env, "scrobble", "queue", "run", "--max", "50")
    wait_for(lambda: len(scrobbles(emulator)) > held)
    runner.send_signal(signal.SIGKILL)
    runner.wait(timeout=10)
    sync(env)
    # 3: a play-along session and a queue run while a sync copies.
    emu.clear_faults()
    emu.add_fault({"method": "user.getrecenttracks", "times": 3, "stall": 0.5})
    copy = spawn(env, "lastfm", "sync", "--json")
    live = spawn(env, "scrobble", "album", MAGIC, "--live", "--json", "--started-at", "15m ago")
    time.sleep(float(env["LASTFM_TIMEOUT"]) + SETTLE_MARGIN)
    runner = spawn(env, "scrobble", "queue", "run", "--max", "200")
    for process in (copy, live, runner):
        code, _, err = finish(process)
        assert code == 0, err
    # One more sync: the archive is Last.fm's history, each scrobble once.
    sync(env)
    held_now = on_lastfm(emulator)
    assert len(held_now) == len(set(held_now)) > 1500
    assert archived(state_dir) == held_now
    statuses = Counter(row["status"] for row in json.loads(run(env, "scrobble", "history", "--limit", "5000",
                                                                "--json")[1]))
    assert set(statuses) <= {"accepted", "pending"}, statuses
