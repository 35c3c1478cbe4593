"""Playing along (`scrobble album --live`): requests, lateness, and the CPU a real session costs.

Prints: the requests of a 12-track LP played along on an injected clock (now playing and
scrobbles), the worst lateness of each kind of request against when it was due on that clock,
and the CPU time of a real session of --seconds (a process on a pseudo-terminal, as at a desk,
three short Kraftwerk tracks so that tracks change during it, stopped with Ctrl-C) as a share of
its wall time, beside the CPU of the same command when it has nothing to wait for (start-up and
catch-up only), and how late that real session's requests came after they were due.

    python benchmarks/live_along.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import os
import pty
import re
import resource
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace

from _common import REPO, USER, scratch, start
from lastfm.session import Session, SessionStore
from scrobble.live_events import NowPlaying

from tests.test_live import LP, FakeClock, play

KRAFTWERK = "3-d-the-catalogue-10349797"
SHORT_TRACKS = ("--tracks", "9-10")  # Intermission 0:25, then News 1:17 (scrobbled after 38.5 s), side C


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def session(env: dict, args: list[str], seconds: float | None) -> tuple[float, float, int, str]:
    """CPU seconds, wall seconds, exit status and terminal output of one process on a pseudo-terminal,
    sent Ctrl-C (SIGINT) after `seconds` unless it ends first."""
    master, slave = pty.openpty()
    cpu, started = children_cpu(), time.perf_counter()
    process = subprocess.Popen([sys.executable, "main.py", *args], cwd=REPO / "scrapper", env=os.environ | env,
                               stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    shown: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:
                return
            if not data:
                return
            shown.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    wall = time.perf_counter() - started
    reader.join(timeout=5)
    os.close(master)
    return children_cpu() - cpu, wall, process.returncode, b"".join(shown).decode(errors="replace")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0)
    seconds = parser.parse_args().seconds
    server, settings = start(REPO / "public")
    emulator = server.emulator

    clock = FakeClock()
    events, summary = play(settings, emulator, clock, LP, disc=1)
    counts = emulator.request_counts()["by_method"]
    print(f"12-track LP on an injected clock: {counts.get('track.updatenowplaying', 0)} now-playing and "
          f"{counts.get('track.scrobble', 0)} scrobble requests ({summary.accepted} accepted), "
          f"{len(clock.waits)} waits for {2 * len(of_kind(events))} thresholds and track ends")
    playing = [t for t, m in emulator.state.request_times if m == "track.updatenowplaying"]
    sent = [t for t, m in emulator.state.request_times if m == "track.scrobble"]
    tracks = of_kind(events)
    due_playing = [e.started_at for e in tracks]
    due_sent = [e.started_at + e.track.threshold for e in tracks]
    print(f"  worst lateness on that clock: now playing {max(a - d for a, d in zip(playing, due_playing)):.3f} s, "
          f"scrobbles {max(a - d for a, d in zip(sent, due_sent)):.3f} s")
    emulator.clock = time.time

    # A fresh state folder: the injected clock's LP lies ahead of real time in the first one's ledger.
    settings = replace(settings, state_dir=scratch("state-"))
    SessionStore(settings.state_dir).save(Session(USER, emulator.create_session(USER)))
    env = {"RUSSFM_DATA_DIR": str(settings.data_dir), "RUSSFM_STATE_DIR": str(settings.state_dir),
           "LASTFM_API_KEY": settings.api_key, "LASTFM_API_SECRET": settings.api_secret,
           "LASTFM_API_URL": settings.api_url, "LASTFM_CA_BUNDLE": settings.ca_bundle or "", "RUSSFM_CONFIG": ""}
    # Bytecode is cached as on any user's machine, whatever this shell says.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    emulator.reset()
    done = int(time.time()) - 2 * 3600  # long over: start-up and catch-up, no waiting
    cpu, wall, code, _ = session(env, ["scrobble", "album", KRAFTWERK, *SHORT_TRACKS, "--live", "--started-at",
                                       str(done)], None)
    print(f"a session with nothing left to play (start-up, catch-up, exit {code}): {cpu:.2f} s CPU, {wall:.2f} s wall")
    emulator.reset()
    needle = int(time.time()) - 20  # Intermission ends 5 s in; News plays, scrobbled 43.5 s in
    cpu, wall, code, shown = session(env, ["scrobble", "album", KRAFTWERK, *SHORT_TRACKS, "--live", "--started-at",
                                           str(needle)], seconds)
    counts = emulator.request_counts()["by_method"]
    print(f"real session on a terminal, {wall:.1f} s (Ctrl-C, exit {code}): {cpu:.2f} s CPU = "
          f"{100 * cpu / wall:.2f} % of wall time; {counts.get('track.updatenowplaying', 0)} now playing, "
          f"{counts.get('track.scrobble', 0)} scrobble requests")
    times = {m: [t for t, k in emulator.state.request_times if k == m] for m in ("track.updatenowplaying",
                                                                                  "track.scrobble")}
    if len(times["track.updatenowplaying"]) == 2 and times["track.scrobble"]:
        print(f"  real lateness: News shown as now playing {times['track.updatenowplaying'][1] - needle - 25:.3f} s "
              f"after its start, scrobbled {times['track.scrobble'][0] - needle - 25 - 38.5:.3f} s after its "
              "threshold")
    status = [s for s in re.split(r"\r\x1b\[K", shown) if "next:" in s or "/" in s]
    if status:
        print(f"  last status line: {status[-1].strip()[:110]}")
    server.stop()


def of_kind(events: list) -> list[NowPlaying]:
    return [e for e in events if isinstance(e, NowPlaying)]


if __name__ == "__main__":
    main()
