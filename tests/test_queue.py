"""The bulk queue: adding by name and filters, draining under the caps, timing into free time, managing jobs."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from app import App
from config import Settings
from scrobble import queue
from scrobble.ledger import ACCEPTED, Ledger
from scrobble.planner import OLDEST_ALLOWED
from scrobble.queue_run import KEEP_RECENT, QUEUE_LOCK, run_queue
from scrobble.queue_status import queue_status
from scrobble.timeparse import iso_utc
from statefiles import file_lock
from tests.conftest import REPO, scrobbles


def add(run_cli, *args: str) -> dict:
    result = run_cli("scrobble", "queue", "add", *args, "--json")
    assert result.exit_code in (0, 1), result.stderr
    return json.loads(result.stdout)


def run(run_cli, *args: str):
    result = run_cli("scrobble", "queue", "run", *args, "--json")
    return result, (json.loads(result.stdout) if result.stdout.startswith("{") else None)


def status(run_cli) -> dict:
    return json.loads(run_cli("scrobble", "queue", "status", "--json").stdout)


def check_times(state_dir: Path, now: float) -> list:
    """Every timed entry inside Last.fm's window, and no two listens overlapping."""
    with Ledger(state_dir) as ledger:
        timed = sorted((e for e in ledger.latest(100_000) if e.timed), key=lambda e: e.timestamp)
    for e in timed:
        assert now - OLDEST_ALLOWED <= e.timestamp <= now
    for a, b in zip(timed, timed[1:]):
        assert a.timestamp + a.duration <= b.timestamp, (a, b)
    return timed


def test_add_by_name_and_by_filters(run_cli, lastfm_env):
    job = add(run_cli, "2112-814617", "rush farewell kings")
    assert job == {"job": "1", "albums": 2, "tracks": 32, "skipped": [], "errors": [], "candidates": {}}
    again = add(run_cli, "2112", "a kind of magic")
    assert again["albums"] == 1 and "already waiting" in again["skipped"][0]
    forced = add(run_cli, "2112", "--force")
    assert forced["albums"] == 1
    assert add(run_cli, "--artist", "kraftwerk")["albums"] == 1
    assert add(run_cli, "--genre", "electronic", "--force")["albums"] >= 1
    assert add(run_cli, "--added-since", "2026-01-01", "--force", "--limit", "2")["albums"] == 2
    none = add(run_cli, "--added-before", "1990-01-01")
    assert none == {"job": None, "albums": 0, "tracks": 0, "skipped": [], "errors": [], "candidates": {}}


def test_add_reports_bad_albums_and_queues_the_rest(run_cli, lastfm_env, data_copy: Path):
    (data_copy / "album" / "2112-814617" / "2112-814617.json").write_text("[")
    result = run_cli("--data-dir", str(data_copy), "scrobble", "queue", "add", "2112-814617", "no such thing",
                     "a-kind-of-magic-453215")
    assert result.exit_code == 1
    assert "invalid JSON" in result.stderr and "no such thing" in result.stderr
    assert "job 1: 1 album, 2 tracks queued" in result.stdout
    usage = run_cli("scrobble", "queue", "add", "--added-since", "yesterday")
    assert usage.exit_code == 2
    assert run_cli("scrobble", "queue", "add").exit_code == 2


def test_queue_all_then_drain(run_cli, signed_in, emulator, state_dir: Path):
    job = add(run_cli, "--all")
    assert job["albums"] == 14
    result, data = run(run_cli)
    assert result.exit_code == 0, result.stderr
    assert data["accepted"] == job["tracks"] and data["pending"] == 0
    assert data["requests"] == -(-job["tracks"] // 50)  # full batches of 50, albums mixed
    held = Counter((s["artist"], s["track"], s["timestamp"]) for s in scrobbles(emulator))
    assert sum(held.values()) == len(held) == job["tracks"]
    timed = check_times(state_dir, time.time())
    assert len(timed) == job["tracks"]
    st = status(run_cli)["jobs"][0]
    assert st["status"] == "done" and st["accepted"] == job["tracks"] and st["estimated_finish"] is None
    again, data = run(run_cli)
    assert again.exit_code == 0 and data["requests"] == 0 and data["accepted"] == 0


def test_queue_avoids_existing_listens(run_cli, signed_in, emulator, state_dir: Path):
    assert run_cli("scrobble", "album", "2112", "--finished-at", "1h ago").exit_code == 0
    add(run_cli, "--all")
    assert run(run_cli)[0].exit_code == 0
    check_times(state_dir, time.time())


def test_max_and_time_budget(run_cli, signed_in, emulator):
    add(run_cli, "--all")
    _, data = run(run_cli, "--max", "60")
    assert data["accepted"] <= 60 and data["accepted"] > 0
    _, data = run(run_cli, "--for", "0s")
    assert data["accepted"] == 0


@pytest.mark.parametrize("mode", ["code5", "error29"])
def test_daily_cap_is_learned(run_cli, signed_in, emulator, mode):
    emulator.emulator.configure(daily_cap=120, cap_mode=mode)
    add(run_cli, "--all")
    result, data = run(run_cli)
    assert result.exit_code == 0, result.stderr
    assert data["accepted"] == 120 and data["waiting_reason"] == "daily_cap" and data["next_send_at"]
    info = status(run_cli)
    assert info["daily_cap"] == {"value": 120, "source": "learned"}
    assert info["jobs"][0]["waiting_reason"] == "daily_cap"
    lastfm = json.loads(run_cli("lastfm", "status", "--json").stdout)
    assert lastfm["daily_cap"]["source"] == "learned" and lastfm["remaining_today"] == 0
    before = emulator.emulator.request_counts()["total"]
    result, data = run(run_cli)
    assert result.exit_code == 0 and data["accepted"] == 0
    assert emulator.emulator.request_counts()["total"] == before  # waits without asking
    assert len(scrobbles(emulator)) == 120


def test_configured_cap_wins(run_cli, signed_in, emulator):
    add(run_cli, "--all")
    _, data = run(run_cli, "--daily-cap", "30")
    assert data["accepted"] == 30 and data["waiting_reason"] == "daily_cap"
    assert status(run_cli)["daily_cap"]["source"] == "default"  # the option was for that run only


def test_rate_limit_29_with_few_accepted_is_temporary(run_cli, signed_in, emulator):
    add(run_cli, "2112")
    emulator.emulator.add_fault({"method": "track.scrobble", "times": 10, "error": 29})
    result, data = run(run_cli)
    assert result.exit_code == 75 and data["stopped"]
    assert status(run_cli)["daily_cap"]["source"] == "default"
    emulator.emulator.reset()
    result, data = run(run_cli)
    assert result.exit_code == 0 and data["accepted"] == 6


def test_scheduled_job_waits(run_cli, signed_in, emulator):
    when = int(time.time()) + 30 * 86400
    add(run_cli, "2112", "--at", str(when))
    result, data = run(run_cli)
    assert result.exit_code == 0 and data["accepted"] == 0
    job = status(run_cli)["jobs"][0]
    assert job["waiting_reason"] == "scheduled" and job["scheduled_at"] == iso_utc(when)
    assert run_cli("scrobble", "queue", "add", "2112", "--at", "2099-01-01T00:00", "--force").exit_code == 2


def test_fixed_time(run_cli, signed_in, emulator):
    finished = int(time.time()) - 7200
    add(run_cli, "2112", "a kind of magic", "--finished-at", str(finished))
    run(run_cli)
    held = sorted(scrobbles(emulator), key=lambda s: s["timestamp"])
    assert held[0]["track"] == "2112" and held[-1]["track"] == "A Dozen Red Roses For My Darling"
    assert held[-1]["timestamp"] + 282 == finished
    clash = run_cli("scrobble", "queue", "add", "channels", "--finished-at", str(finished))
    assert clash.exit_code == 1 and "overlap" in clash.stderr


def test_pause_resume_cancel(run_cli, signed_in, emulator):
    add(run_cli, "2112")
    add(run_cli, "a kind of magic")
    assert run_cli("scrobble", "queue", "pause", "1").exit_code == 0
    _, data = run(run_cli)
    assert data["accepted"] == 2  # only job 2
    assert status(run_cli)["jobs"][0]["waiting_reason"] == "paused"
    run_cli("scrobble", "queue", "resume", "1")
    add(run_cli, "channels")
    cancel = run_cli("scrobble", "queue", "cancel", "3")
    assert "10 pending scrobbles dropped" in cancel.stdout
    _, data = run(run_cli)
    assert data["accepted"] == 6
    jobs = {j["id"]: j for j in status(run_cli)["jobs"]}
    assert jobs["3"]["status"] == "cancelled" and jobs["3"]["cancelled"] == 10
    assert jobs["1"]["status"] == "done"
    assert run_cli("scrobble", "queue", "pause", "9").exit_code == 1  # as an unknown album
    listing = run_cli("scrobble", "queue", "list", "--all").stdout.splitlines()
    assert len(listing) == 3 and "cancelled" in listing[2]


def test_temporary_failure_exit_75_and_resume(run_cli, signed_in, emulator):
    add(run_cli, "--all")
    emulator.emulator.add_fault({"method": "track.scrobble", "times": 10, "error": 11})
    result, data = run(run_cli)
    assert result.exit_code == 75 and data["accepted"] == 0
    emulator.emulator.reset()
    result, data = run(run_cli)
    assert result.exit_code == 0 and data["pending"] == 0
    assert len(scrobbles(emulator)) == 247


def test_not_signed_in_exits_1(run_cli, lastfm_env):
    add(run_cli, "2112")
    result = run_cli("scrobble", "queue", "run")
    assert result.exit_code == 1 and "lastfm login" in result.stderr


def test_one_run_at_a_time(run_cli, signed_in, emulator, state_dir: Path):
    add(run_cli, "2112")
    with file_lock(state_dir / QUEUE_LOCK, "scrobble queue run"):
        result = run_cli("scrobble", "queue", "run")
    assert result.exit_code == 0 and "another" in result.stdout
    assert scrobbles(emulator) == []


def test_stale_lock_from_a_killed_run_is_taken_over(run_cli, signed_in, emulator, state_dir: Path):
    add(run_cli, "2112")
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys,time; sys.path.insert(0,'scrapper'); from pathlib import Path; from statefiles import file_lock\n"
        f"with file_lock(Path({str(state_dir)!r}) / 'queue.lock', 'x'):\n    print('held', flush=True); time.sleep(60)")],
        cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    assert "another" in run_cli("scrobble", "queue", "run").stdout
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    result, data = run(run_cli)
    assert result.exit_code == 0 and data["accepted"] == 6


def test_no_room_left_in_the_window(settings: Settings, signed_in, emulator, state_dir: Path):
    now = time.time()
    with Ledger(state_dir) as ledger, ledger.locked():
        filler = ledger.add([{"artist": "Radio", "track": "All Day", "album": "", "album_artist": "",
                              "timestamp": int(now) - OLDEST_ALLOWED, "duration": OLDEST_ALLOWED - 600}])
        ledger.mark(filler, ACCEPTED)
    result = in_process_run(settings, ["2112-814617"], now)
    assert result.waiting == "no_room" and not result.accepted
    app = App(settings, clock=lambda: now)
    try:
        info = queue_status(app)
    finally:
        app.close()
    assert info.jobs[0].waiting == "no_room"
    # Forty minutes later there would be room for the 38½-minute album, but the queue keeps the last three
    # hours free for what is played now: it goes three hours after that.
    emulator.emulator.clock = lambda: now + 2400
    try:
        assert in_process_run(settings, [], now + 2400).accepted == 0
        emulator.emulator.clock = lambda: now + KEEP_RECENT + 2400
        later = in_process_run(settings, [], now + KEEP_RECENT + 2400)
    finally:
        emulator.emulator.clock = time.time
    assert later.accepted == 6


def in_process_run(settings: Settings, slugs: list[str], now: float):
    app = App(settings, "scrobble queue run", clock=lambda: now)
    try:
        if slugs:
            queue.add_job(app, slugs, False, queue.Filters(), queue.QueueOptions())
        return run_queue(app)
    finally:
        app.close()


def test_expired_timing_is_redone(settings: Settings, signed_in, emulator, state_dir: Path):
    """An album timed by a run that never sent it is timed afresh once its times grew too old."""
    now = time.time()
    app = App(settings, clock=lambda: now)
    try:
        queue.add_job(app, ["2112-814617"], False, queue.Filters(), queue.QueueOptions())
        with app.ledger.locked():
            group = app.ledger.untimed_album("1", "2112-814617")
            app.ledger.retime(group, int(now) - 15 * 86400)
        result = run_queue(app)
    finally:
        app.close()
    assert result.accepted == 6 and result.ignored == 0
    check_times(state_dir, now)


def test_error_29_on_a_read_is_a_rate_limit_not_the_cap(run_cli, signed_in, emulator):
    """An unanswered batch is checked with user.getRecentTracks; error 29 there is retried, never learned."""
    add(run_cli, "2112")
    emulator.emulator.add_fault({"method": "track.scrobble", "times": 1, "drop_after_commit": True})
    emulator.emulator.add_fault({"method": "user.getrecenttracks", "times": 1, "error": 29})
    result, data = run(run_cli)
    assert result.exit_code == 0 and data["accepted"] == 6 and data["reconciled"] == 6
    assert status(run_cli)["daily_cap"] == {"value": 2800, "source": "default"}
    assert emulator.emulator.request_counts()["by_method"]["track.scrobble"] == 1


def test_a_small_cap_is_learned_in_error_29_mode(run_cli, signed_in, emulator):
    """The first batch fills the cap exactly; the second meets error 29 on every try: that is the cap."""
    emulator.emulator.configure(daily_cap=50, cap_mode="error29")
    add(run_cli, "--all")
    result, data = run(run_cli)
    assert result.exit_code == 0 and data["accepted"] == 50 and data["waiting_reason"] == "daily_cap"
    assert emulator.emulator.request_counts()["by_method"]["track.scrobble"] == 1 + 4
    assert status(run_cli)["daily_cap"] == {"value": 50, "source": "learned"}
    before = emulator.emulator.request_counts()["total"]
    again, data = run(run_cli)
    assert again.exit_code == 0 and data["accepted"] == 0 and data["waiting_reason"] == "daily_cap"
    assert emulator.emulator.request_counts()["total"] == before


def test_an_album_too_long_for_the_window_does_not_block_the_others(run_cli, signed_in, emulator, data_copy):
    slug = "3-d-the-catalogue-10349797"
    path = data_copy / "album" / slug / f"{slug}.json"
    album = json.loads(path.read_text())
    for row in album["tracklist"]:
        if row.get("duration"):
            row["duration"] = "5:00:00"  # 69 tracks of five hours: longer than Last.fm's 14 days
    path.write_text(json.dumps(album))
    assert run_cli("--data-dir", str(data_copy), "scrobble", "queue", "add", slug).exit_code == 0
    assert run_cli("--data-dir", str(data_copy), "scrobble", "queue", "add", "2112-814617").exit_code == 0
    result = run_cli("--data-dir", str(data_copy), "scrobble", "queue", "run", "--json")
    data = json.loads(result.stdout)
    assert result.exit_code == 0 and data["accepted"] == 6
    jobs = {j["id"]: j for j in status(run_cli)["jobs"]}
    assert jobs["1"]["waiting_reason"] == "too_long" and jobs["1"]["too_long"] == [slug]
    assert jobs["1"]["estimated_finish"] is None
    assert jobs["2"]["status"] == "done"
    text = run_cli("scrobble", "queue", "status").stdout
    assert f"{slug}: longer than Last.fm's 14-day window" in text


def test_the_learned_cap_counts_every_player_and_expires(run_cli, signed_in, emulator, state_dir: Path):
    """Last.fm's cap counts another player's scrobbles too: the cap learned is what Last.fm holds for the day."""
    emulator.emulator.configure(daily_cap=120)
    emulator.emulator.generate_history("vinylfan", 50, span_days=0.8, seed=3)  # a phone, earlier today
    add(run_cli, "--all")
    result, data = run(run_cli)
    assert result.exit_code == 0 and data["accepted"] == 70 and data["waiting_reason"] == "daily_cap"
    assert status(run_cli)["daily_cap"] == {"value": 120, "source": "learned"}
    with Ledger(state_dir) as ledger, ledger.locked():
        learned = ledger.meta("learned_cap")
        ledger.set_meta(learned_cap={**learned, "learned_at": time.time() - 8 * 86400})
    assert status(run_cli)["daily_cap"]["source"] == "default"  # a week on, the default is tried again
