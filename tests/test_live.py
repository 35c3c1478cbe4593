"""Playing along (`scrobble album --live`): thresholds, pauses, side turns, skips, stops, kills and outages,
on an injected clock through the core and in real time through the CLI, against the emulator."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import termios
import time
from collections import Counter, deque
from dataclasses import replace
from pathlib import Path

import pytest
from app import App
from cli.live import TerminalClock, bar, status_line
from scrobble.ledger import ACCEPTED, PENDING, Ledger
from scrobble.live import Player, prepare
from scrobble.live_events import (
    Event,
    Finished,
    LiveTrack,
    NowPlaying,
    Problem,
    Progress,
    Scrobbled,
    SideDone,
    SideStarted,
    Skipped,
    Stopped,
)
from scrobble.planner import PlannedScrobble, PlanOptions
from scrobble.send import find_record

from tests.conftest import USER, finish, scrobbles, spawn

LP = "12-gold-bars-volume-ii-1108230"  # disc 1: twelve tracks on sides A and B
MAGIC = "a-kind-of-magic-453215"  # A 4:19, B 4:42
RUSH = "2112-814617"  # A-I 20:36, then B1 3:30, B2 3:14, B3 3:48, B4 3:29, B5 3:56
KRAFTWERK = "3-d-the-catalogue-10349797"


class FakeClock:
    """Injected time: `wait` jumps to `until`, or to the next scripted key before it. It refuses to wait for a
    moment already past (a busy loop) and to wait forever when no key will come."""

    def __init__(self, interactive: bool = False, keys: tuple[tuple[float, str], ...] = ()) -> None:
        self.origin = float(int(time.time()))
        self.t = self.origin
        self.interactive = interactive
        self.keys = deque(sorted((self.origin + at, key) for at, key in keys))
        self.waits: list[float] = []

    def now(self) -> float:
        return self.t

    def wait(self, until: float) -> str | None:
        assert until > self.t, "asked to wait for a moment already past"
        self.waits.append(until)
        if self.keys and self.keys[0][0] <= until:
            at, key = self.keys.popleft()
            self.t = max(self.t, at)
            return key
        assert until != math.inf, "waits forever"
        self.t = until
        return None


@pytest.fixture
def emu(emulator, signed_in):
    yield emulator.emulator
    emulator.emulator.clock = time.time


def play(settings, emu, clock: FakeClock, query: str, force: bool = False,
         **options) -> tuple[list[Event], Finished]:
    """A whole session through the core, the emulator's clock following the injected one."""
    emu.clock = clock.now
    app = App(replace(settings, retry_delay=0.05), "scrobble album", clock=clock.now)
    try:
        setlist = prepare(app, find_record(app, query, None, signed=True), PlanOptions(**options), force)
        events: list[Event] = []
        summary = Player(app, setlist, clock, events.append).run()
    finally:
        app.close()
    return events, summary


def requests_at(emu, method: str, origin: float) -> list[float]:
    return [round(t - origin, 3) for t, m in emu.state.request_times if m == method]


def held(emu, origin: float) -> list[tuple[str, float]]:
    return [(s["track"], s["timestamp"] - origin) for s in scrobbles_of(emu)]


def scrobbles_of(emu) -> list[dict]:
    return emu.scrobbles_of(USER)


def of(events: list[Event], kind: type) -> list:
    return [e for e in events if isinstance(e, kind)]


def statuses(state_dir: Path) -> Counter:
    with Ledger(state_dir) as ledger:
        return Counter(e.status for e in ledger.latest(10_000))


# --- the core, on an injected clock ---------------------------------------------------------------
def test_thresholds_half_or_four_minutes_and_never_30_s_or_less(settings, emu):
    clock = FakeClock()
    # A1 14:27 (after 4 min), then side C: 0:31 (after 15.5 s), 6:14, 5:55, 0:25 (never), 1:17.
    events, summary = play(settings, emu, clock, KRAFTWERK, tracks="1,6-10")
    starts = [0, 867, 898, 1272, 1627, 1652]
    assert requests_at(emu, "track.updatenowplaying", clock.origin) == starts  # every track, at its start
    assert requests_at(emu, "track.scrobble", clock.origin) == [240, 882.5, 1085, 1449.5, 1690.5]
    assert [t for _, t in held(emu, clock.origin)] == [0, 867, 898, 1272, 1652]  # each from its real start
    assert "Intermission" not in {s["track"] for s in scrobbles_of(emu)}
    assert (summary.accepted, summary.exit_status) == (5, 0) and clock.t == clock.origin + 1729
    assert [e.status for e in of(events, Scrobbled)] == ["accepted"] * 5
    assert len(clock.waits) <= 2 * 6 + 1  # a threshold and an end per track: no polling


def test_a_pause_moves_the_threshold_and_what_follows(settings, emu):
    keys = ((100, " "), (160, " "), (1296, "\n"), (1450, " "), (1500, " "))  # Enter: side B is on
    clock = FakeClock(interactive=True, keys=keys)
    events, summary = play(settings, emu, clock, RUSH, tracks="1-2")
    assert requests_at(emu, "track.scrobble", clock.origin) == [300, 1401]  # 240 + 60 paused; 1296 + 105
    assert held(emu, clock.origin) == [("2112", 0), ("A Passage To Bangkok", 1296)]
    assert [e.paused_for for e in events if e.kind == "resumed"] == [60, 50]
    assert summary.at == clock.origin + 1296 + 210 + 50  # a pause after the threshold only moves the end


@pytest.mark.parametrize("interactive, started, gap, side_b", [
    (True, 0, 0, 304),  # on a terminal the turn lasts until Enter (pressed at 304)
    (False, 0, 20, 279),  # elsewhere --side-gap
    (True, -300, 10, -31),  # a turn before the session opened: --side-gap stands in for it
])
def test_side_turns_move_the_following_timestamps(settings, emu, interactive, started, gap, side_b):
    clock = FakeClock(interactive=interactive, keys=((304, "\n"),) if interactive and not started else ())
    options = {"started_at": int(clock.origin) + started} if started else {}
    events, summary = play(settings, emu, clock, MAGIC, side_gap=gap, **options)
    assert held(emu, clock.origin) == [("A Kind Of Magic", started), ("A Dozen Red Roses For My Darling", side_b)]
    (done,) = of(events, SideDone)
    assert (done.side, done.next_side, done.waits_for_key) == ("side A", "side B", interactive and not started)
    assert of(events, SideStarted)[0].turned_in == side_b - started - 259
    assert [e.track.item.track for e in of(events, NowPlaying)] == (
        ["A Dozen Red Roses For My Darling"] if started else ["A Kind Of Magic", "A Dozen Red Roses For My Darling"])
    assert summary.accepted == 2


def test_s_skips_a_side_at_the_turn(settings, emu):
    # B4 1:17 (side B), C1 0:31 (side C), D1 6:01 (side D): C is skipped, D put on at 90.
    clock = FakeClock(interactive=True, keys=((80, "s"), (90, "\n")))
    events, summary = play(settings, emu, clock, KRAFTWERK, tracks="5,6,11")
    assert held(emu, clock.origin) == [("Morgenspaziergang", 0), ("Airwaves", 90)]
    assert [(e.side, e.next_side, e.skipped) for e in of(events, SideDone)] == [
        ("side B", "side C", False), ("side C", "side D", True)]
    assert [(e.track, e.side) for e in of(events, Skipped)] == [(None, "side C")]
    assert summary.accepted == 2


def test_n_moves_on_and_scrobbles_only_past_the_threshold_and_q_stops(settings, emu, state_dir):
    # B1 3:30 left at 50 s (before 1:45), B2 3:14 left at 200 (past 1:37), B3 stopped at 320 (past 1:54).
    clock = FakeClock(interactive=True, keys=((50, "n"), (200, "n"), (320, "q")))
    events, summary = play(settings, emu, clock, RUSH, tracks="2-6")
    assert held(emu, clock.origin) == [("The Twilight Zone", 50), ("Lessons", 200)]
    assert [e.scrobbled for e in of(events, Skipped)] == [False, True]
    (stopped,) = of(events, Stopped)
    assert (stopped.reason, stopped.track.item.track, stopped.scrobbled) == ("key", "Lessons", True)
    assert [e.track.item.track for e in of(events, NowPlaying)] == ["A Passage To Bangkok", "The Twilight Zone",
                                                                      "Lessons"]
    assert not of(events, Problem)  # the skipped track's own row does not block the next one
    assert statuses(state_dir) == Counter({ACCEPTED: 2})
    assert summary.stopped == "key" and summary.exit_status == 0


def test_q_before_the_threshold_records_nothing(settings, emu, state_dir):
    clock = FakeClock(interactive=True, keys=((100, "q"),))
    events, summary = play(settings, emu, clock, MAGIC)
    assert scrobbles_of(emu) == [] and statuses(state_dir) == Counter()
    assert of(events, Stopped)[0].scrobbled is False and summary.exit_status == 0
    assert requests_at(emu, "track.updatenowplaying", clock.origin) == [0]  # side B never came


def test_q_sends_what_was_due_and_leaves_nothing_pending(settings, emu, state_dir):
    emu.add_fault({"method": "track.scrobble", "times": 1, "error": 11})
    clock = FakeClock(interactive=True, keys=((150, "q"),))
    events, summary = play(settings, emu, clock, MAGIC)
    assert [e.status for e in of(events, Scrobbled)] == ["waiting", "accepted"]
    assert requests_at(emu, "track.scrobble", clock.origin) == [129.5, 150]  # the last attempt, at the stop
    assert statuses(state_dir) == Counter({ACCEPTED: 1}) and summary.exit_status == 0


@pytest.mark.parametrize("fault, waits", [
    ({"error": 11, "times": 3}, True),  # offline: each attempt is one request, a minute apart
    ({"http": 503, "times": 3}, True),  # answer unknown: Last.fm is asked, nothing there, kept
    ({"drop_after_commit": True, "times": 1}, False),  # stored, answer lost: found on Last.fm, not resent
])
def test_an_outage_in_the_middle(settings, emu, state_dir, fault, waits):
    emu.add_fault({"method": "track.scrobble", "after": 1, **fault})
    clock = FakeClock()
    events, summary = play(settings, emu, clock, LP, tracks="1-4")  # 3:37, 3:53, 3:46, 2:56
    sent = requests_at(emu, "track.scrobble", clock.origin)
    if waits:
        assert sent == [108.5, 333.5, 393.5, 453.5, 513.5, 563, 764]
        assert all(later - earlier >= 60 for earlier, later in zip(sent[1:5], sent[2:5]))  # no request storm
        second = [e.status for e in of(events, Scrobbled) if e.track.item.track_number == 2]
        assert second == ["waiting", "accepted"]
        assert len(of(events, Problem)) == 3  # the display says so at each failed attempt
    else:
        assert sent == [108.5, 333.5, 563, 764]
        assert not of(events, Problem)
    keys = Counter((s["track"], s["timestamp"]) for s in scrobbles_of(emu))
    assert len(keys) == 4 and set(keys.values()) == {1}  # nothing twice
    assert statuses(state_dir) == Counter({ACCEPTED: 4}) and summary.exit_status == 0


def test_a_twelve_track_lp_costs_one_request_per_event_each_on_time(settings, emu):
    clock = FakeClock()
    events, summary = play(settings, emu, clock, LP, disc=1)
    tracks = [e.track for e in of(events, NowPlaying)]
    assert len(tracks) == 12
    assert emu.request_counts()["by_method"] == {"track.updatenowplaying": 12, "track.scrobble": 12}
    starts = [sum(t.duration for t in tracks[:i]) for i in range(12)]
    playing = requests_at(emu, "track.updatenowplaying", clock.origin)
    sent = requests_at(emu, "track.scrobble", clock.origin)
    assert all(0 <= got - due < 1 for got, due in zip(playing, starts))
    assert all(0 <= got - (start + t.threshold) < 1 for got, start, t in zip(sent, starts, tracks))
    assert summary.accepted == 12 and summary.requests == 24
    assert len(clock.waits) <= 24


def test_started_at_in_the_past_catches_up(settings, emu):
    clock = FakeClock()
    events, summary = play(settings, emu, clock, RUSH, tracks="1-3", started_at=int(clock.origin) - 1300)
    # 2112 ended 64 s ago: recorded at once, with no now playing; Bangkok is playing, 64 s in.
    assert [e.track.item.track for e in of(events, NowPlaying)] == ["A Passage To Bangkok", "The Twilight Zone"]
    assert requests_at(emu, "track.updatenowplaying", clock.origin) == [0, 146]
    assert requests_at(emu, "track.scrobble", clock.origin) == [0, 41, 243]
    assert held(emu, clock.origin) == [("2112", -1300), ("A Passage To Bangkok", -64), ("The Twilight Zone", 146)]
    assert summary.accepted == 3


def test_an_overlap_with_another_listen_is_a_problem_not_a_send(settings, emu, run_cli):
    clock = FakeClock()
    now = int(clock.origin)
    xanadu = run_cli("scrobble", "track", "--artist", "Rush", "--track", "Xanadu", "--at", str(now - 900),
                     "--duration", "660")
    assert xanadu.exit_code == 0, xanadu.stderr
    events, summary = play(settings, emu, clock, MAGIC, started_at=now - 300)  # side A overlaps Xanadu
    problems = [e for e in of(events, Problem) if e.track is not None]
    assert [e.track.item.track for e in problems] == ["A Kind Of Magic"]
    assert "overlaps Rush — Xanadu" in problems[0].message
    assert [s["track"] for s in scrobbles_of(emu)] == ["Xanadu", "A Dozen Red Roses For My Darling"]
    assert summary.refused == 1 and summary.exit_status == 1


# --- the command line, in real time -----------------------------------------------------------------
def live_cli(run_cli, *args: str):
    return run_cli("scrobble", "album", *args, "--live")


def test_json_events_one_per_line(run_cli, signed_in, emulator):
    started = int(time.time()) - 539  # side B has 2 s to go, past its threshold
    result = live_cli(run_cli, MAGIC, "--started-at", str(started), "--json")
    assert result.exit_code == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["event"] for e in events] == ["started", "side_done", "side_started", "now_playing", "scrobbled",
                                            "scrobbled", "finished"]
    assert events[3]["track"]["track"] == "A Dozen Red Roses For My Darling" and events[3]["accepted"] is True
    assert [(e["status"], e["timestamp"]) for e in events[4:6]] == [("accepted", started), ("accepted", started + 259)]
    assert events[-1] | {"at": 0, "time": ""} == {
        "event": "finished", "at": 0, "time": "", "accepted": 2, "ignored": 0, "failed": 0, "waiting": 0,
        "refused": 0, "requests": 2, "stopped": None, "exit_status": 0}


def test_text_output_and_options_that_cannot_go_with_live(run_cli, signed_in, emulator):
    result = live_cli(run_cli, MAGIC, "--started-at", "15m ago")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count("  accepted  ") == 2 and "2 accepted, 0 ignored; 1 request to Last.fm" in result.stdout
    for extra in (["--dry-run"], ["--finished-at", "5m ago"], ["--include-short"]):
        refused = live_cli(run_cli, MAGIC, *extra)
        assert refused.exit_code == 2 and "--live" in refused.stderr
    future = live_cli(run_cli, MAGIC, "--started-at", str(int(time.time()) + 600))
    assert future.exit_code == 2 and "in the future" in future.stderr
    assert scrobbles(emulator) and len(scrobbles(emulator)) == 2


def read_events(process: subprocess.Popen, until: str, count: int = 1) -> list[dict]:
    """JSON events from a running session, up to the `count`-th event of kind `until`."""
    seen: list[dict] = []
    while sum(1 for e in seen if e["event"] == until) < count:
        line = process.stdout.readline()
        assert line, process.stderr.read()
        seen.append(json.loads(line))
    return seen


def test_ctrl_c_stops_cleanly(lastfm_env, signed_in, emulator, state_dir):
    process = spawn(lastfm_env, "scrobble", "album", MAGIC, "--live", "--json", "--started-at",
                    str(int(time.time()) - 200))  # side A is past its threshold: recorded and sent at once
    read_events(process, "scrobbled")
    process.send_signal(signal.SIGINT)
    code, out, err = finish(process, timeout=30)
    assert code == 130, err
    events = [json.loads(line) for line in out.splitlines()]
    stopped = events[-2]
    assert (stopped["event"], stopped["reason"], stopped["scrobbled"]) == ("stopped", "interrupted", True)
    assert events[-1]["exit_status"] == 130
    assert statuses(state_dir) == Counter({ACCEPTED: 1})


def test_a_kill_inside_a_track_leaves_a_true_record_the_next_command_sends(lastfm_env, signed_in, emulator,
                                                                          state_dir):
    emulator.emulator.add_fault({"method": "track.scrobble", "times": 100, "error": 11})
    started = int(time.time()) - 1300  # 2112 over, recorded; A Passage To Bangkok 64 s in, its threshold at 105
    process = spawn(lastfm_env, "scrobble", "album", RUSH, "--live", "--json", "--started-at", str(started))
    events = read_events(process, "problem")
    assert [e["status"] for e in events if e["event"] == "scrobbled"] == ["waiting"]
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    with Ledger(state_dir) as ledger:
        rows = ledger.latest(100)
    assert [(e.track, e.timestamp, e.status) for e in rows] == [("2112", started, PENDING)]
    assert emulator.emulator.state.now_playing[USER][0]["track"] == "A Passage To Bangkok"
    emulator.emulator.clear_faults()
    code, out, err = finish(spawn(lastfm_env, "scrobble", "track", "--artist", "Rush", "--track", "Xanadu",
                                  "--at", "5h ago", "--json"))
    assert code == 0, err
    assert sorted((s["track"], s["timestamp"]) for s in scrobbles(emulator))[0] == ("2112", started)
    assert len(scrobbles(emulator)) == 2 and statuses(state_dir) == Counter({ACCEPTED: 2})


@pytest.mark.slow
def test_a_queue_run_beside_a_live_session(lastfm_env, signed_in, emulator, sample_dir, state_dir):
    env = lastfm_env | {"RUSSFM_DATA_DIR": str(sample_dir)}
    added = json.loads(finish(spawn(env, "scrobble", "queue", "add", KRAFTWERK, LP, "1962-1966-28859305",
                                    "--json"))[1])
    assert added["tracks"] > 100  # three batches
    emulator.emulator.add_fault({"method": "track.scrobble", "times": 100, "stall": 1.5})  # each batch slow
    runner = spawn(env, "scrobble", "queue", "run", "--json")
    deadline = time.monotonic() + 20
    while not emulator.emulator.request_counts()["by_method"].get("track.scrobble"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    live = spawn(env, "scrobble", "album", MAGIC, "--live", "--json", "--started-at", "15m ago")
    code, out, err = finish(live)
    assert code == 0, err
    assert finish(runner)[0] == 0
    with Ledger(state_dir) as ledger:
        rows = ledger.latest(1000)
    mine = [e for e in rows if e.slug == MAGIC]
    assert len(mine) == 2
    assert all(e.sent_at - e.created_at < 2.5 for e in mine)  # behind one queue batch at most (1.5 s each)
    held_keys = Counter((s["artist"], s["track"], s["timestamp"]) for s in scrobbles(emulator))
    assert len(held_keys) == added["tracks"] + 2 and set(held_keys.values()) == {1}
    assert Counter(e.status for e in rows) == Counter({ACCEPTED: added["tracks"] + 2})


# --- the terminal ------------------------------------------------------------------------------------
def test_terminal_keys_in_cbreak_mode_and_the_terminal_restored():
    master, slave = os.openpty()
    stream = os.fdopen(slave, "r")
    before = termios.tcgetattr(slave)
    ticks = []
    clock = TerminalClock(stream, on_tick=lambda: ticks.append(time.monotonic()))
    assert clock.interactive
    with clock:
        assert termios.tcgetattr(slave) != before
        os.write(master, b" nx\rQ")
        assert [clock.wait(time.time() + 5) for _ in range(4)] == [" ", "n", "\n", "q"]
        started = time.monotonic()
        assert clock.wait(time.time() + 1.5) is None
        assert 1.4 < time.monotonic() - started < 2.5 and len(ticks) == 1  # a redraw each second, no polling
    assert termios.tcgetattr(slave) == before
    stream.close()
    os.close(master)


def test_status_line():
    item = PlannedScrobble("Rush", "2112", "2112", "Rush", 0, 1236, 1, "A-I", "discogs")
    track = LiveTrack(item, "A", 1)
    progress = Progress(track, 120, False, False, None)
    line = status_line(progress)
    assert line.startswith("A-I  2112 [###-|") and "2:00/20:36 scrobbled at 4:00" in line
    assert "scrobbled" in status_line(replace(progress, scrobbled=True))
    assert bar(replace(progress, elapsed=1236)) == "[" + "#" * 24 + "]"
