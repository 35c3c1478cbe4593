"""The time a play-along session holds is let go when its process is gone, even when the system later gives
that process's id to another one (after a reboot, or once ids wrap around)."""

from __future__ import annotations

import json
import signal
import subprocess
import time

from scrobble.ledger import SESSIONS, Ledger

from tests.conftest import finish, scrobbles, spawn

MAGIC = "a-kind-of-magic-453215"  # A 4:19, B 4:42


def test_a_killed_session_holds_nothing_once_its_process_id_is_reused(lastfm_env, signed_in, emulator, state_dir):
    started = int(time.time()) - 330  # side A over and recorded; B 71 s in, before its threshold
    live = spawn(lastfm_env, "scrobble", "album", MAGIC, "--live", "--json", "--started-at", str(started))
    while True:
        line = live.stdout.readline()
        assert line, live.stderr.read()
        if json.loads(line)["event"] == "scrobbled":
            break
    live.send_signal(signal.SIGKILL)  # a power cut: the session never lets its time go
    live.wait(timeout=10)
    other = subprocess.Popen(["sleep", "120"])  # a process that came later and was given the same id
    try:
        with Ledger(state_dir) as ledger, ledger.locked():
            sessions = ledger.meta(SESSIONS)
            assert len(sessions) == 1
            for session in sessions.values():
                session["pid"] = other.pid
            ledger.set_meta(**{SESSIONS: sessions})
        # Played after the record was stopped, in the time the killed session would have held.
        code, out, err = finish(spawn(lastfm_env, "scrobble", "track", "--artist", "Rush", "--track", "Xanadu",
                                      "--at", "65s ago", "--duration", "40s", "--json"))
    finally:
        other.kill()
        other.wait()
    assert code == 0, err
    assert json.loads(out)["accepted"] == 1
    assert sorted(s["track"] for s in scrobbles(emulator)) == ["A Kind Of Magic", "Xanadu"]
