"""A disk that fills up, or a process that may not grow its files: one line, a non-zero exit, no hang, no
thread traceback, locks free and every file as the last finished step left it. Real processes, real disks
(a small tmpfs when this runs as root; a file size limit otherwise)."""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lastfm.session import Session, SessionStore
from scrobble.sender import SETTLE_MARGIN
from statefiles import is_locked
from tests.conftest import REPO, USER

RUSH = "2112-814617"
TIMEOUT = 90  # the command hung for ever before: any end at all is the point


@pytest.fixture
def tiny_disk(tmp_path: Path):
    """An 8 MB tmpfs of its own, to fill up; skipped where mounting is not permitted."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", str(mount)],
                          capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def fill(disk: Path, leave_kb: int) -> Path:
    """Fill the disk up to `leave_kb` kilobytes free; the filler file is returned, to be removed later."""
    filler = disk / "filler"
    found = os.statvfs(disk)
    free = found.f_bavail * found.f_frsize
    with open(filler, "ab") as handle:
        handle.write(b"\0" * max(free - leave_kb * 1024, 0))
    return filler


def run(env: dict[str, str], *args: str, limit: int | None = None) -> tuple[int, str, str]:
    """`python main.py ARGS`; `limit`: the largest file size in bytes the process may write."""
    def limited() -> None:
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    done = subprocess.run([sys.executable, "main.py", *args], cwd=REPO / "scrapper", env=os.environ | env,
                          capture_output=True, text=True, timeout=TIMEOUT, preexec_fn=limited)
    return done.returncode, done.stdout, done.stderr


def rows(path: Path) -> dict[str, list]:
    """Every row of every table of an sqlite file, to compare before and after."""
    with sqlite3.connect(path) as db:
        tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: sorted(db.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables}


def state_of(state: Path) -> dict[str, object]:
    """The state folder's content: sqlite files by rows, the rest by bytes (lock files name their holder)."""
    out: dict[str, object] = {}
    for path in sorted(state.iterdir()):
        if path.suffix == ".sqlite":
            out[path.name] = rows(path)
        elif path.suffix not in (".lock",) and not path.name.endswith(("-wal", "-shm")):
            out[path.name] = path.read_bytes()
    return out


def one_line_about_the_disk(code: int, err: str) -> None:
    assert code == 1, err
    assert "Traceback" not in err and "Exception in thread" not in err, err
    assert err.endswith("\n") and err.count("error:") == 1, err
    err = err.splitlines()[-1]  # progress lines (not on a terminal) may come before
    # A command cron runs puts the time first when no terminal reads it.
    assert re.match(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d:\d\d )?error: cannot write ", err), err
    assert "disk is full" in err or "a write to the disk failed" in err or "size this process" in err, err


def locks_free(state: Path) -> None:
    for lock in state.glob("*.lock"):
        assert not is_locked(lock), lock


@pytest.fixture
def env(lastfm_env: dict[str, str], sample_dir: Path) -> dict[str, str]:
    return {**lastfm_env, "RUSSFM_DATA_DIR": str(sample_dir), "LASTFM_USERNAME": USER}


def test_queue_add_on_a_full_disk(env, tiny_disk: Path):
    state = tiny_disk / "state"
    env = env | {"RUSSFM_STATE_DIR": str(state)}
    code, _, err = run(env, "scrobble", "queue", "add", RUSH)
    assert code == 0, err
    before = state_of(state)
    filler = fill(tiny_disk, leave_kb=60)
    started = time.monotonic()
    code, out, err = run(env, "scrobble", "queue", "add", "--all")
    print(f"failed after {time.monotonic() - started:.1f} s")
    one_line_about_the_disk(code, err)
    assert "disk is full" in err or "write to the disk failed" in err
    locks_free(state)
    assert state_of(state) == before  # no job half added
    filler.unlink()
    code, out, err = run(env, "scrobble", "queue", "add", "--all", "--json")
    assert code == 0, err
    assert json.loads(out)["job"] is not None


def test_queue_add_past_the_file_size_limit(env, state_dir: Path):
    """Without root: the process may not grow a file past a size (RLIMIT_FSIZE, `ulimit -f`)."""
    code, _, err = run(env, "scrobble", "queue", "add", RUSH)
    assert code == 0, err
    before = state_of(state_dir)
    size = (state_dir / "ledger.sqlite").stat().st_size
    code, _, err = run(env, "scrobble", "queue", "add", "--all", limit=size + 8192)
    one_line_about_the_disk(code, err)
    locks_free(state_dir)
    assert state_of(state_dir) == before


def test_sync_on_a_full_disk(env, emulator, tiny_disk: Path):
    """The archive fills the disk part way through the copy: one line, and the pages copied are kept."""
    state = tiny_disk / "state"
    env = env | {"RUSSFM_STATE_DIR": str(state)}
    emulator.emulator.generate_history(USER, 4000, seed=21)
    fill(tiny_disk, leave_kb=300)
    code, out, err = run(env, "lastfm", "sync")
    one_line_about_the_disk(code, err)
    locks_free(state)
    with sqlite3.connect(state / "archive.sqlite") as db:
        held = db.execute("SELECT count(*) FROM scrobbles").fetchone()[0]
        window = db.execute("SELECT value FROM meta WHERE key = 'window'").fetchone()
    assert 0 < held < 4000 and window is not None  # what was copied is kept, and the copy resumes
    (tiny_disk / "filler").unlink()
    code, out, err = run(env, "lastfm", "sync", "--json")
    assert code == 0, err
    assert json.loads(out)["total"] == 4000 and json.loads(out)["resumed"] is True


def test_enhance_on_a_full_disk(env, signed_in, emulator, tiny_disk: Path):
    """The site's JSON on a full disk: one line; each album file is whole, as it was or as enhanced before
    the disk filled, and no temporary file is left."""
    site = tiny_disk / "public"
    shutil.copytree(REPO / "public", site)
    before = {p: p.read_bytes() for p in site.rglob("*.json")}
    filler = fill(tiny_disk, leave_kb=4)
    code, out, err = run(env | {"RUSSFM_DATA_DIR": str(site)}, "lastfm-enhance", "--no-stats")
    one_line_about_the_disk(code, err)
    after = {p: p.read_bytes() for p in site.rglob("*.json")}
    assert set(after) == set(before)
    changed = [p for p in after if after[p] != before[p]]
    assert len(changed) < len(after)  # the disk filled part way
    for path in changed:
        assert json.loads(after[path])["services"]["lastfm"]  # whole, and enhanced
    assert not [p for p in site.rglob("*") if p.name.endswith(".tmp")]
    filler.unlink()
    code, out, err = run(env | {"RUSSFM_DATA_DIR": str(site)}, "lastfm-enhance", "--no-stats")
    assert code == 0, err


def test_the_cache_and_the_session_on_a_full_disk(env, emulator, tiny_disk: Path):
    """album.getInfo answers cached by `lastfm search`, and the session `lastfm login` saves: one line each,
    nothing half written."""
    state = tiny_disk / "state"
    env = env | {"RUSSFM_STATE_DIR": str(state)}
    emulator.emulator.load_catalogue({"albums": [
        {"artist": "Rush", "name": name, "listeners": 5, "tracks": [{"name": "One", "duration": 300}]}
        for name in ("2112", "Moving Pictures", "Signals")]})
    code, out, err = run(env, "lastfm", "search", "2112")  # the cache and the request times exist
    assert code == 0, err
    before = rows(state / "cache.sqlite")
    filler = fill(tiny_disk, leave_kb=0)
    code, out, err = run(env, "lastfm", "search", "moving pictures")
    one_line_about_the_disk(code, err)
    assert "cache.sqlite" in err
    assert rows(state / "cache.sqlite") == before
    done = subprocess.run([sys.executable, "main.py", "lastfm", "login", "--username", USER, "--password-stdin"],
                          cwd=REPO / "scrapper", env=os.environ | env, input="turntable-1977\n",
                          capture_output=True, text=True, timeout=TIMEOUT)
    one_line_about_the_disk(done.returncode, done.stderr)
    assert "session.json" in done.stderr
    assert not (state / "session.json").exists() and not list(state.glob(".session.json.*"))
    filler.unlink()
    code, out, err = run(env, "lastfm", "search", "signals")
    assert code == 0, err


def test_queue_run_on_a_full_disk_loses_nothing_and_sends_nothing_twice(env, signed_in, emulator,
                                                                        tiny_disk: Path):
    """The disk full before a batch is marked in flight (nothing is sent), then full while Last.fm stores a
    batch (its answer cannot be written): each is one line, and the next run sends or confirms each
    scrobble once."""
    emu = emulator.emulator
    state = tiny_disk / "state"
    env = env | {"RUSSFM_STATE_DIR": str(state), "LASTFM_TIMEOUT": "10"}
    SessionStore(state).save(Session(USER, signed_in))
    code, out, err = run(env, "scrobble", "queue", "add", RUSH, "1962-1966-28859305", "3-d-the-catalogue-10349797",
                         "--json")
    assert code == 0, err
    tracks = json.loads(out)["tracks"]
    assert tracks > 50  # two batches
    code, out, err = run(env, "lastfm", "status")  # the request times file exists before the disk fills
    assert code == 0, err

    filler = fill(tiny_disk, leave_kb=0)
    code, out, err = run(env, "scrobble", "queue", "run")
    one_line_about_the_disk(code, err)
    locks_free(state)
    assert emu.scrobbles_of(USER) == []  # nothing was marked in flight, so nothing went out
    filler.unlink()

    emu.add_fault({"method": "track.scrobble", "times": 1, "stall": 3})  # the disk fills while it is stored
    runner = subprocess.Popen([sys.executable, "main.py", "scrobble", "queue", "run"], cwd=REPO / "scrapper",
                              env=os.environ | env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not emu.request_counts()["by_method"].get("track.scrobble"):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    filler = fill(tiny_disk, leave_kb=0)
    out, err = runner.communicate(timeout=TIMEOUT)
    one_line_about_the_disk(runner.returncode, err)
    locks_free(state)
    sent = len(emu.scrobbles_of(USER))
    assert 0 < sent < tracks  # a batch was stored, its answer not written down
    filler.unlink()
    time.sleep(3 + SETTLE_MARGIN)  # an unanswered batch is checked once past the (now 3 s) timeout
    code, out, err = run(env | {"LASTFM_TIMEOUT": "3"}, "scrobble", "queue", "run", "--json")
    assert code == 0, err
    assert json.loads(out)["reconciled"] == sent  # found on Last.fm, not sent again
    stored = [(s["track"], s["timestamp"]) for s in emu.scrobbles_of(USER)]
    assert len(stored) == len(set(stored)) == tracks
