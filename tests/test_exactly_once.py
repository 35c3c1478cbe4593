"""Exactly once at the edges, through real processes against the emulator: a batch stored after the client gave
up waiting, a lost answer for a name Last.fm corrects, a check of a batch on a busy account, a play-along session
beside the other commands, and a track left early."""

from __future__ import annotations

import json
import time
from collections import Counter

import pytest

from tests.conftest import USER, finish, scrobbles, spawn

RUSH = "2112-814617"  # A-I 20:36, then B1 3:30, B2 3:14, B3 3:48, B4 3:29, B5 3:56: six scrobbles


def held(emulator) -> Counter:
    return Counter((s["artist"], s["track"], s["timestamp"]) for s in scrobbles(emulator))


def ledger_rows(env: dict[str, str]) -> list[dict]:
    code, out, err = finish(spawn(env, "scrobble", "history", "--limit", "1000", "--json"))
    assert code == 0, err
    return json.loads(out)


def recent_reads(emulator) -> int:
    return emulator.emulator.request_counts()["by_method"].get("user.getrecenttracks", 0)


# --- a batch Last.fm stores after the client stopped waiting -------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("command", [
    ("scrobble", "album", RUSH, "--finished-at", "1h ago", "--json"),
    ("scrobble", "track", "--artist", "Rush", "--track", "Xanadu", "--at", "30m ago", "--json"),
    ("scrobble", "queue", "run", "--json"),
])
def test_a_batch_stored_after_the_timeout_is_checked_not_sent_again(lastfm_env, signed_in, emulator, command):
    """Last.fm stores the batch a second after the client's timeout; the command asks only once any other
    command would (timeout + 2 s), finds it there, and sends nothing twice."""
    env = lastfm_env | {"LASTFM_TIMEOUT": "3", "RUSSFM_RETRY_DELAY": "0.2"}
    if command[1] == "queue":
        code, out, err = finish(spawn(env, "scrobble", "queue", "add", RUSH, "--json"))
        assert code == 0, err
    emulator.emulator.add_fault({"method": "track.scrobble", "times": 1, "stall": 4})
    code, out, err = finish(spawn(env, *command))
    assert code == 0, err
    result = json.loads(out)
    assert result["reconciled"] >= 1 and result["accepted"] == result["reconciled"]
    copies = held(emulator)
    assert copies and set(copies.values()) == {1}, copies
    assert {r["status"] for r in ledger_rows(env)} == {"accepted"}
    assert emulator.emulator.request_counts()["by_method"]["track.scrobble"] == 1


# --- a lost answer and a name Last.fm corrects --------------------------------------------------------------
@pytest.mark.parametrize("sent, stored", [
    (("Beatles", "Help"), ("The Beatles", "Help!")),
    (("The Sex Pistols", "Anarchy In The UK"), ("Sex Pistols", "Anarchy in the U.K.")),
])
def test_a_lost_answer_for_a_corrected_name_is_recognised(lastfm_env, signed_in, emulator, sent, stored):
    emu = emulator.emulator
    emu.load_catalogue({"corrections": {"artist": {sent[0]: stored[0]}, "track": {sent[1]: stored[1]}}})
    emu.add_fault({"method": "track.scrobble", "times": 1, "drop_after_commit": True})
    code, out, err = finish(spawn(lastfm_env, "scrobble", "track", "--artist", sent[0], "--track", sent[1],
                                  "--at", "30m ago", "--json"))
    assert code == 0, err
    assert json.loads(out)["reconciled"] == 1
    assert [(s["artist"], s["track"]) for s in scrobbles(emulator)] == [stored]
    assert emu.request_counts()["by_method"]["track.scrobble"] == 1
    # Learned once: a later check of the same names needs no second question.
    assert emu.request_counts()["by_method"]["track.getcorrection"] == 1


def test_another_track_at_the_same_second_is_still_not_a_match(lastfm_env, signed_in, emulator):
    """Asking for corrections does not loosen the check: a different track at that second is not ours."""
    emu = emulator.emulator
    at = int(time.time()) - 1800
    emu.add_scrobbles(USER, [{"artist": "Rush", "track": "Tom Sawyer", "timestamp": at}])
    emu.add_fault({"method": "track.scrobble", "times": 1, "http": 503})
    code, out, err = finish(spawn(lastfm_env, "scrobble", "track", "--artist", "Rush", "--track", "Xanadu",
                                  "--at", str(at), "--json"))
    assert code == 0, err
    assert sorted(s["track"] for s in scrobbles(emulator)) == ["Tom Sawyer", "Xanadu"]


# --- a check on a busy account ---------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_check_reads_only_the_times_the_batch_covers(lastfm_env, signed_in, emulator, sample_dir):
    """12,000 scrobbles in the last 13.4 days; one batch holds a leftover of 30 minutes ago and an album of 13
    days ago, and its answer is lost: the check reads those two stretches, not the 60 pages between them."""
    emu = emulator.emulator
    env = lastfm_env | {"RUSSFM_DATA_DIR": str(sample_dir)}
    emu.generate_history(USER, 12_000, span_days=13.4, until=time.time() - 7200, seed=3)
    before = len(scrobbles(emulator))
    emu.add_fault({"method": "track.scrobble", "times": 4, "error": 11})
    code, out, err = finish(spawn(env, "scrobble", "track", "--artist", "Rush", "--track", "Xanadu",
                                  "--at", "30m ago", "--json"))
    assert code == 75, err  # kept pending for the next command
    code, out, err = finish(spawn(env, "scrobble", "queue", "add", "a-kind-of-magic-453215", "--started-at",
                                  "13d ago", "--json"))
    assert code == 0, err
    emu.clear_faults()
    emu.add_fault({"method": "track.scrobble", "times": 1, "drop_after_commit": True})
    reads = recent_reads(emulator)
    code, out, err = finish(spawn(env, "scrobble", "queue", "run", "--json"))
    assert code == 0, err
    result = json.loads(out)
    assert result["reconciled"] == 3 and result["accepted"] == 3
    assert "reading only" not in err
    assert recent_reads(emulator) - reads <= 4
    mine = Counter((s["track"], s["timestamp"]) for s in scrobbles(emulator)[before:])
    assert len(mine) == 3 and set(mine.values()) == {1}, mine
    assert emu.request_counts()["by_method"]["track.scrobble"] == 5  # the four refused, then the one batch


# --- a play-along session holds its time ----------------------------------------------------------------------
LP = "12-gold-bars-volume-ii-1108230"  # tracks 1-4: 3:37, 3:53, 3:46, 2:56 (side A)
MAGIC = "a-kind-of-magic-453215"  # A 4:19, B 4:42


def fill_the_window(state_dir, until: int) -> None:
    """The ledger's last 13½ days taken by accepted listens up to `until` (as after a big queue has drained)."""
    from scrobble.ledger import ACCEPTED, Ledger
    from scrobble.planner import MAX_AGE_SECONDS

    start, rows = until - MAX_AGE_SECONDS, []
    while start < until:
        length = min(6 * 3600, until - start)
        rows.append({"artist": "Filler", "track": f"Side {len(rows)}", "album": "Filler", "album_artist": "Filler",
                     "timestamp": start, "duration": length})
        start += length
    with Ledger(state_dir) as ledger, ledger.locked():
        ledger.mark(ledger.add(rows), ACCEPTED)


def spawn_at_terminal(env: dict[str, str], *args: str):
    """`python main.py ARGS` with a terminal for its keys (stdout a pipe); returns the process and the terminal."""
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    master, slave = os.openpty()
    process = subprocess.Popen([sys.executable, "main.py", *args], cwd=REPO / "scrapper", env=os.environ | env,
                               stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    os.close(slave)
    return process, master


def next_event(process, kind: str, seen: list[dict] | None = None) -> dict:
    while True:
        line = process.stdout.readline()
        assert line, process.stderr.read()
        event = json.loads(line)
        if seen is not None:
            seen.append(event)
        if event["event"] == kind:
            return event


@pytest.mark.slow
def test_a_running_session_holds_its_time_against_every_other_command(lastfm_env, signed_in, emulator, state_dir):
    now = int(time.time())
    fill_the_window(state_dir, now - 600)  # only the last ten minutes are free
    live = spawn(lastfm_env, "scrobble", "album", RUSH, "--tracks", "1", "--live", "--json",
                 "--started-at", str(now - 180))  # 2112 (20:36) began three minutes ago: not yet scrobbled
    try:
        next_event(live, "now_playing")
        code, out, err = finish(spawn(lastfm_env, "scrobble", "queue", "add", MAGIC, "--json"))
        assert code == 0, err
        code, out, err = finish(spawn(lastfm_env, "scrobble", "queue", "run", "--json"))
        assert code == 0, err
        run = json.loads(out)
        assert run["accepted"] == 0 and run["waiting_reason"] == "no_room", run  # not laid over the record
        code, out, err = finish(spawn(lastfm_env, "scrobble", "track", "--artist", "Rush", "--track", "Xanadu",
                                      "--at", str(now - 120), "--duration", "60"))
        assert code == 1 and "overlaps Rush — 2112" in err and "playing along now" in err, err
        code, out, err = finish(spawn(lastfm_env, "scrobble", "album", MAGIC, "--finished-at", "now"))
        assert code == 1 and "overlaps Rush — 2112" in err, err
        assert scrobbles(emulator) == []
    finally:
        live.kill()  # a session killed holds nothing any more
        live.wait(timeout=10)
    code, out, err = finish(spawn(lastfm_env, "scrobble", "track", "--artist", "Rush", "--track", "Xanadu",
                                  "--at", str(now - 120), "--duration", "60"))
    assert code == 0, err
    assert [s["track"] for s in scrobbles(emulator)] == ["Xanadu"]


@pytest.mark.slow
def test_the_queue_keeps_the_recent_hours_free(lastfm_env, signed_in, emulator, state_dir):
    fill_the_window(state_dir, int(time.time()) - 2 * 3600)
    code, out, err = finish(spawn(lastfm_env, "scrobble", "queue", "add", MAGIC, "--json"))
    assert code == 0, err
    code, out, err = finish(spawn(lastfm_env, "scrobble", "queue", "run", "--json"))
    assert code == 0, err
    assert json.loads(out)["waiting_reason"] == "no_room" and scrobbles(emulator) == []


# --- a track left early holds only the time it played -----------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("how", ["n then q", "ctrl-c"])
def test_a_track_left_early_holds_only_the_time_it_played(lastfm_env, signed_in, emulator, sample_dir, how):
    import os
    import signal

    env = lastfm_env | {"RUSSFM_DATA_DIR": str(sample_dir)}
    started = int(time.time()) - 100  # track 4 (2:56) is past its threshold (1:28) at once: scrobbled
    live, terminal = spawn_at_terminal(env, "scrobble", "album", LP, "--tracks", "4-5", "--live", "--json",
                                       "--started-at", str(started))
    try:
        scrobbled = next_event(live, "scrobbled")
        assert scrobbled["status"] == "accepted"
        if how == "n then q":
            os.write(terminal, b"n")
            next_event(live, "now_playing")
            os.write(terminal, b"q")
        else:
            live.send_signal(signal.SIGINT)
        stopped = next_event(live, "stopped")
        code, out, err = finish(live, timeout=30)
    finally:
        os.close(terminal)
    assert code == (0 if how == "n then q" else 130), err
    left = int(stopped["at"])
    # The next listen begins a moment after the stop, well inside track 4's full length (until started + 176).
    code, out, err = finish(spawn(env, "scrobble", "track", "--artist", "Status Quo", "--track", "Caroline",
                                  "--at", str(left + 2), "--duration", "45"))
    assert code == 0, err
    assert sorted(s["track"] for s in scrobbles(emulator)) == ["Caroline", scrobbled["track"]["track"]]


@pytest.mark.slow
def test_an_overlap_is_refused_before_now_playing_and_the_stop_says_why(lastfm_env, signed_in, emulator,
                                                                       sample_dir):
    import os

    from cli.live import describe
    from scrobble.live_events import LiveTrack, Stopped
    from scrobble.planner import PlannedScrobble

    env = lastfm_env | {"RUSSFM_DATA_DIR": str(sample_dir)}
    code, out, err = finish(spawn(env, "scrobble", "track", "--artist", "Rush", "--track", "Xanadu",
                                  "--at", "2m ago", "--duration", "170"))
    assert code == 0, err
    live, terminal = spawn_at_terminal(env, "scrobble", "album", LP, "--tracks", "4", "--live", "--json",
                                       "--started-at", "30s ago")
    seen: list[dict] = []
    try:
        next_event(live, "now_playing", seen)
        os.write(terminal, b"q")
        stopped = next_event(live, "stopped", seen)
        code, out, err = finish(live, timeout=30)
    finally:
        os.close(terminal)
    kinds = [e["event"] for e in seen]
    assert kinds[:3] == ["started", "problem", "now_playing"], kinds
    assert "overlaps Rush — Xanadu" in seen[1]["message"]
    assert stopped["scrobbled"] is False and stopped["refused"] is True
    assert code == 1, err
    assert [s["track"] for s in scrobbles(emulator)] == ["Xanadu"]
    track = LiveTrack(PlannedScrobble("Status Quo", "Caroline", "", "", 0, 176, 4, "A4", "discogs"), "A", 1)
    assert describe(Stopped(0.0, "key", track, False, True)).endswith(
        "(not scrobbled: its time overlaps another listen)")
