"""The edges of what reaches the terminal: names from Last.fm printed safely, paths too long for the system,
empty times, odd Last.fm errors, a damaged archive or session kept to the commands that need them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import pytest

from tests.conftest import REPO, USER, scrobbles

UNSAFE = {"Cc", "Cf", "Zl", "Zp", "Cs"}
# Names as an attacker would give them: a C1 CSI (some terminals take U+009B for ESC [), a bidi override,
# zero-width and separator characters, and a newline followed by what would pass for a line of output.
ARTIST = "Mallory\u009b2J\u202eevil"
TRACK = "Intro\n2026-12-03 12:00  Fake — Forged line"
ALBUM = "Zero\u200bWidth\u2028Sep\u0085Nel\u2066Iso"
FORGED = "2026-12-03 12:00  Fake"


def clean(output: str) -> None:
    """Nothing a terminal would act on or hide, and no line forged by a name."""
    for line in output.split("\n"):
        bad = [f"U+{ord(c):04X}" for c in line if unicodedata.category(c) in UNSAFE]
        assert not bad, (bad, line)
        assert not line.startswith(FORGED), line


@pytest.fixture
def env(lastfm_env: dict[str, str], sample_dir: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("LASTFM_USERNAME", USER)
    monkeypatch.setenv("RUSSFM_DATA_DIR", str(sample_dir))
    return {**lastfm_env, "LASTFM_USERNAME": USER, "RUSSFM_DATA_DIR": str(sample_dir)}


def run(env: dict[str, str], *args: str, timeout: float = 120) -> tuple[int, str, str]:
    done = subprocess.run([sys.executable, "main.py", *args], cwd=REPO / "scrapper", env=os.environ | env,
                          capture_output=True, text=True, timeout=timeout)
    return done.returncode, done.stdout, done.stderr


def one_line(code: int, err: str, status: int = 1) -> str:
    assert code == status, err
    assert "Traceback" not in err and err.count("\n") == 1 and err.startswith("error: "), err
    return err


# --- names from Last.fm on the terminal -------------------------------------------------------------------

def test_recent_prints_hostile_names_safely_and_json_keeps_them(run_cli, env, emulator):
    emulator.emulator.add_scrobbles(USER, [{"timestamp": int(time.time()) - 600, "artist": ARTIST,
                                            "track": TRACK, "album": ALBUM}])
    result = run_cli("lastfm", "recent")
    assert result.exit_code == 0, result.stderr
    clean(result.stdout)
    assert len(result.stdout.splitlines()) == 1
    assert "Mallory\\x9b2J\\u202eevil" in result.stdout and "Intro\\x0a2026" in result.stdout
    as_json = run_cli("lastfm", "recent", "--json")
    clean(as_json.stdout)
    play = json.loads(as_json.stdout)["plays"][0]
    assert (play["artist"], play["track"], play["album"]) == (ARTIST, TRACK, ALBUM)


def test_stats_prints_hostile_names_safely(run_cli, env, emulator):
    now = int(time.time())
    emulator.emulator.add_scrobbles(USER, [{"timestamp": now - 3600 - 300 * i, "artist": ARTIST,
                                            "track": f"{TRACK} {i}", "album": ALBUM} for i in range(5)])
    assert run_cli("lastfm", "sync").exit_code == 0
    result = run_cli("lastfm", "stats")
    assert result.exit_code == 0, result.stderr
    clean(result.stdout)
    assert "Mallory\\x9b2J\\u202eevil — Zero\\u200bWidth\\u2028Sep\\x85Nel\\u2066Iso" in result.stdout
    data = json.loads(run_cli("lastfm", "stats", "--json").stdout)
    assert data["top_albums"][0]["album"] == ALBUM and data["top_artists"][0]["artist"] == ARTIST


def test_search_plans_and_results_print_hostile_names_safely(run_cli, env, signed_in, emulator):
    emulator.emulator.load_catalogue({"albums": [{
        "artist": ARTIST, "name": f"Hostile {ALBUM}", "listeners": 5, "playcount": 9,
        "tracks": [{"name": TRACK, "duration": 200}, {"name": "Second\u009b\u200dtrack", "duration": 210}],
    }]})
    found = run_cli("lastfm", "search", "hostile")
    assert found.exit_code == 0, found.stderr
    clean(found.stdout)
    assert len(found.stdout.splitlines()) == 1
    assert json.loads(run_cli("lastfm", "search", "hostile", "--json").stdout)[0]["artist"] == ARTIST

    plan = run_cli("scrobble", "album", "--lastfm", ARTIST, f"Hostile {ALBUM}", "--dry-run",
                   "--finished-at", "1h ago")
    assert plan.exit_code == 0, plan.stderr
    clean(plan.stdout + plan.stderr)
    sent = run_cli("scrobble", "album", "--lastfm", ARTIST, f"Hostile {ALBUM}", "--finished-at", "1h ago")
    assert sent.exit_code == 0, sent.stderr
    clean(sent.stdout + sent.stderr)
    assert sent.stdout.count("accepted  ") == 2
    # Tracklists keep names on one line (runs of white space as one space); nothing else changes.
    names = {" ".join(TRACK.split()), "Second\u009b\u200dtrack"}
    assert {s["track"] for s in scrobbles(emulator)} == names
    history = json.loads(run_cli("scrobble", "history", "--json").stdout)
    assert {row["track"] for row in history} == names


def test_an_error_naming_a_hostile_listen_is_one_line(run_cli, env, signed_in, emulator):
    first = run_cli("scrobble", "track", "--artist", ARTIST, "--track", TRACK, "--at", "30m ago",
                    "--duration", "300")
    assert first.exit_code == 0, first.stderr
    clean(first.stdout)
    clash = run_cli("scrobble", "track", "--artist", "Rush", "--track", "Xanadu", "--at", "28m ago")
    assert clash.exit_code != 0
    clean(clash.stderr)
    assert clash.stderr.count("\n") == 1 and "Mallory\\x9b2J" in clash.stderr


# --- paths the system cannot take -----------------------------------------------------------------------

LONG = "/tmp/" + "n" * 300  # one name longer than any file system takes (255 bytes)
DEEP = "/tmp/" + "/".join(["d" * 200] * 25)  # a path longer than PATH_MAX (4096)


@pytest.mark.parametrize("how", ["--state-dir", "--data-dir", "--config", "LASTFM_CA_BUNDLE", "RUSSFM_CONFIG",
                                 "RUSSFM_STATE_DIR"])
@pytest.mark.parametrize("path", [LONG, DEEP], ids=["long-name", "deep-path"])
def test_a_path_too_long_is_one_line(env, how: str, path: str):
    args: list[str] = []
    extra = dict(env)
    if how.startswith("--"):
        args = [how, path]
    else:
        extra[how] = path
    code, out, err = run(extra, *args, "albums", "show", "2112-814617")
    one_line(code, err)
    assert "Errno" not in err and "too long" in err and len(err) < 300, err


# --- empty times ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ("scrobble", "album", "2112-814617", "--started-at", ""),
    ("scrobble", "album", "2112-814617", "--finished-at", " "),
    ("scrobble", "album", "2112-814617", "--live", "--started-at", ""),
    ("scrobble", "track", "--artist", "Rush", "--track", "Xanadu", "--at", ""),
    ("scrobble", "track", "--artist", "Rush", "--track", "Xanadu", "--duration", ""),
    ("scrobble", "queue", "add", "2112-814617", "--started-at", ""),
    ("scrobble", "queue", "add", "2112-814617", "--at", ""),
    ("albums", "pick", "--not-since", ""),
])
def test_an_empty_time_is_refused_not_taken_for_now(run_cli, env, signed_in, emulator, state_dir: Path, args):
    code, _, err = run(env, *args, timeout=60)  # taken for now, --live would play along for 40 minutes
    one_line(code, err, status=2)
    assert scrobbles(emulator) == [] and emulator.emulator.request_counts()["total"] == 0
    assert not (state_dir / "ledger.sqlite").exists() or "queue" not in args or \
        json.loads(run_cli("scrobble", "queue", "status", "--json").stdout)["jobs"] == []


# --- Last.fm errors of odd shapes ------------------------------------------------------------------------

@pytest.mark.parametrize("error", ['<error>Something went wrong</error>',
                                   '<error code="">Something went wrong</error>',
                                   '<error code="99999999999999999999">Something went wrong</error>'])
def test_an_error_without_a_real_code_reads_as_a_lastfm_refusal(run_cli, env, signed_in, emulator, error: str):
    body = f'<?xml version="1.0" encoding="UTF-8"?><lfm status="failed">{error}</lfm>'
    emulator.emulator.add_fault({"method": "*", "times": 10, "body": body, "status": 400})
    for args in (("lastfm", "recent"), ("scrobble", "track", "--artist", "Rush", "--track", "Xanadu",
                                         "--at", "20m ago")):
        result = run_cli(*args)
        err = one_line(result.exit_code, result.stderr)
        assert "None" not in err and "HTTP" not in err and "99999999999999999999" not in err, err
        assert "Last.fm refused the request" in err and "Something went wrong" in err, err


# --- damage kept to the commands that need the damaged file --------------------------------------------------

def test_a_damaged_archive_stops_only_the_commands_that_read_it(run_cli, env, signed_in, emulator,
                                                                state_dir: Path):
    emulator.emulator.add_scrobbles(USER, [{"timestamp": int(time.time()) - 7200, "artist": "Rush",
                                            "track": "Xanadu", "album": "A Farewell To Kings"}])
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / "archive.sqlite").write_bytes(b"this is not a database, whatever its name says" * 100)
    for args in (("lastfm", "recent"), ("lastfm", "search", "farewell"), ("lastfm", "status"),
                 ("scrobble", "track", "--artist", "Rush", "--track", "Tom Sawyer", "--at", "30m ago"),
                 ("scrobble", "queue", "status"), ("albums", "show", "2112-814617")):
        result = run_cli(*args)
        assert result.exit_code == 0, (args, result.stderr)
    for args in (("lastfm", "stats"), ("lastfm", "sync"), ("albums", "pick", "--unplayed")):
        result = run_cli(*args)
        err = one_line(result.exit_code, result.stderr)
        assert "archive.sqlite" in err, err


def test_a_damaged_session_does_not_stop_reads_of_a_named_user(run_cli, env, emulator, state_dir: Path,
                                                               monkeypatch: pytest.MonkeyPatch):
    emulator.emulator.add_scrobbles(USER, [{"timestamp": int(time.time()) - 7200, "artist": "Rush",
                                            "track": "Xanadu", "album": "A Farewell To Kings"}])
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / "session.json").write_text('{"username": "vinylfan", "key": ', encoding="utf-8")
    for args in (("lastfm", "recent"), ("lastfm", "sync"), ("lastfm", "stats"), ("lastfm", "search", "2112")):
        result = run_cli(*args)
        assert result.exit_code == 0, (args, result.stderr)
    sending = run_cli("scrobble", "track", "--artist", "Rush", "--track", "Tom Sawyer", "--at", "30m ago")
    assert "session.json" in one_line(sending.exit_code, sending.stderr)
    monkeypatch.delenv("LASTFM_USERNAME")
    unnamed = run_cli("lastfm", "recent")
    assert "session.json" in one_line(unnamed.exit_code, unnamed.stderr)
    login = run_cli("lastfm", "login", "--username", USER, "--password-stdin", input="turntable-1977\n")
    assert login.exit_code == 0, login.stderr  # signing in again is how a damaged session is mended
    assert run_cli("lastfm", "recent").exit_code == 0


def test_a_state_folder_too_long_for_sqlite_is_one_line(env, tmp_path: Path):
    """A path the system takes but sqlite does not (512 bytes and more)."""
    state = tmp_path.joinpath(*["s" * 200] * 3)
    code, out, err = run(env | {"RUSSFM_STATE_DIR": str(state)}, "scrobble", "queue", "list")
    err = one_line(code, err)
    assert "sqlite takes paths of fewer than 512 bytes" in err and len(err) < 300, err
