"""Whatever comes in (typed, read from a file, or answered by the network): one clear line, a non-zero exit,
no traceback, nothing saved that a read command could later choke on."""

from __future__ import annotations

import hashlib
import json
import re
import resource
import shutil
from pathlib import Path

import pytest

from tests.conftest import PASSWORD, REPO, USER, finish, spawn

NESTED = "[" * 200_000


def one_line_error(result, code: int, *words: str) -> None:
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.output
    # A command cron runs starts its error lines with the time, off a terminal.
    lines = [re.sub(r"^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d) ", "", line)
             for line in result.stderr.strip().splitlines()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for word in words:
        assert word in lines[0], lines[0]


@pytest.mark.parametrize("args, words", [
    (["scrobble", "album", "2112", "--dry-run", "--finished-at", "99999999999999999999"], ["out of range"]),
    (["scrobble", "album", "2112", "--dry-run", "--finished-at", "999999999999d ago"], ["out of range"]),
    (["scrobble", "album", "2112", "--dry-run", "--started-at", "0001-01-01T00:00"], []),
    (["scrobble", "album", "2112", "--dry-run", "--finished-at", "x" * 5000], ["cannot read"]),
    (["scrobble", "track", "--artist", "Rush", "--track", "Tears", "--at", "99999999999999999999"], ["out of range"]),
    (["scrobble", "track", "--artist", "Rush", "--track", "Tears", "--duration", "99999999999999999999"], []),
    (["scrobble", "queue", "run", "--for", "99999999999d"], ["too long"]),
    (["lastfm-enhance", "--max-age", "9999999999999999999999999"], []),
])
def test_out_of_range_times_are_usage_errors(run_cli, lastfm_env, args, words):
    one_line_error(run_cli(*args), 2, *words)


def test_side_gap_out_of_range(run_cli):
    result = run_cli("scrobble", "album", "2112", "--dry-run", "--side-gap", "999999999999")
    assert result.exit_code == 2 and "Traceback" not in result.output and "--side-gap" in result.stderr


def test_queue_add_refuses_before_saving(run_cli, lastfm_env, state_dir: Path):
    one_line_error(run_cli("scrobble", "queue", "add", "2112", "--at", "99999999999999999999"), 2, "out of range")
    one_line_error(run_cli("scrobble", "queue", "add", "2112", "--finished-at", "999999999999d ago"), 2)
    for command in (["scrobble", "queue", "status"], ["scrobble", "queue", "list"], ["scrobble", "history"]):
        result = run_cli(*command)
        assert result.exit_code == 0 and "Traceback" not in result.output
    assert "no queue jobs" in run_cli("scrobble", "queue", "list").stdout


def test_queued_items_without_a_time_say_so(run_cli, lastfm_env):
    assert run_cli("scrobble", "queue", "add", "2112").exit_code == 0
    history = run_cli("scrobble", "history")
    assert "not yet timed" in history.stdout and "1970" not in history.stdout
    rows = json.loads(run_cli("scrobble", "history", "--json").stdout)
    assert {r["timestamp"] for r in rows} == {None} and {r["status"] for r in rows} == {"pending"}


@pytest.fixture
def site(tmp_path: Path) -> Path:
    target = tmp_path / "public"
    shutil.copytree(REPO / "public", target)
    return target


def album_file(site: Path, slug: str) -> Path:
    return site / "album" / slug / f"{slug}.json"


def test_huge_durations_in_album_files(run_cli, site: Path):
    path = album_file(site, "2112-814617")
    data = json.loads(path.read_text())
    data["tracklist"][3]["duration"] = 100000000000000000000
    path.write_text(json.dumps(data))
    one_line_error(run_cli("--data-dir", str(site), "scrobble", "album", "2112-814617", "--dry-run"), 1,
                   "tracklist[3].duration", "not a track length")
    spotify = album_file(site, "4½-8005929")
    data = json.loads(spotify.read_text())
    data["services"]["spotify"]["tracks"][0]["duration_ms"] = 100000000000000000000
    spotify.write_text(json.dumps(data))
    one_line_error(run_cli("--data-dir", str(site), "albums", "show", "4½-8005929"), 1, "duration_ms")
    check = run_cli("--data-dir", str(site), "albums", "check")
    assert check.exit_code == 1 and "12 of 14 albums are usable" in check.stdout


@pytest.mark.parametrize("text", [NESTED, '{"a":' * 100_000])
def test_a_deeply_nested_album_is_that_album_s_error(run_cli, lastfm_env, signed_in, emulator, site: Path, text):
    album_file(site, "2112-814617").write_text(text)
    before = {p: p.read_bytes() for p in site.rglob("*.json")}
    show = run_cli("--data-dir", str(site), "albums", "show", "2112-814617")
    one_line_error(show, 1, "2112-814617.json", "nested too deeply")
    check = run_cli("--data-dir", str(site), "albums", "check", "--json")
    report = json.loads(check.stdout)
    assert check.exit_code == 1 and [b["slug"] for b in report["broken"]] == ["2112-814617"]
    added = run_cli("--data-dir", str(site), "scrobble", "queue", "add", "--all", "--json")
    assert added.exit_code == 1 and json.loads(added.stdout)["albums"] == 13
    enhanced = run_cli("--data-dir", str(site), "lastfm-enhance", "--json")
    outcome = json.loads(enhanced.stdout)
    assert enhanced.exit_code == 0 and [a["slug"] for a in outcome["albums"] if a["status"] == "failed"] == [
        "2112-814617"]
    assert album_file(site, "2112-814617").read_bytes() == before[album_file(site, "2112-814617")]


def test_a_deeply_nested_index(run_cli, site: Path):
    (site / "collection.json").write_text(NESTED)
    one_line_error(run_cli("--data-dir", str(site), "albums", "check"), 1, "collection.json")


# --- answers from the network -------------------------------------------------------------------

def test_a_deeply_nested_answer_is_unreadable(run_cli, signed_in, emulator):
    emulator.emulator.add_fault({"method": "user.getinfo", "times": 10, "nested": 100_000})
    result = run_cli("lastfm", "status")
    assert result.exit_code == 0 and "Traceback" not in result.output
    assert "cannot be read" in result.stderr


def test_a_huge_answer_is_refused_without_holding_it(lastfm_env, signed_in, emulator):
    emulator.emulator.add_fault({"method": "user.getinfo", "times": 10, "size": 50_000_000, "chunked": True})
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    code, out, err = finish(spawn(lastfm_env, "lastfm", "status"))
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert code == 1 and "too large to be real" in err and "Traceback" not in err
    assert max(before, peak_kib) < 200_000  # well under the 50 MB answer, four times over
    emulator.emulator.clear_faults()
    emulator.emulator.add_fault({"method": "user.getinfo", "times": 1, "size": 50_000_000})
    code, out, err = finish(spawn(lastfm_env, "lastfm", "status"))
    assert "too large to be real" in err and emulator.emulator.request_counts()["by_method"]["user.getinfo"] == 2


def test_paging_never_trusts_the_page_count(settings, emulator, signed_in):
    from lastfm.client import LastFM

    lying = ('<?xml version="1.0" encoding="UTF-8"?><lfm status="ok"><topalbums user="vinylfan" page="1" '
             'perPage="1000" totalPages="1000000" total="{total}"><album rank="1"><name>2112</name>'
             '<playcount>3</playcount><mbid></mbid><url>https://www.last.fm/music/Rush/2112</url>'
             '<artist><name>Rush</name><mbid></mbid><url>https://www.last.fm/music/Rush</url></artist>'
             '</album></topalbums></lfm>')
    emulator.emulator.add_fault({"method": "user.gettopalbums", "times": 100, "body": lying.format(total=1)})
    client = LastFM(settings)
    assert len(client.top_albums(USER)) == 1 and client.requests == 1  # `total` says one page
    emulator.emulator.clear_faults()
    emulator.emulator.add_fault({"method": "user.gettopalbums", "times": 100,
                                 "body": lying.format(total=10**9)})
    client = LastFM(settings)
    assert len(client.top_albums(USER, max_pages=4)) == 4 and client.requests == 4
    assert "claims 1000000 pages; reading only the first 4" in client.warnings[0]


def test_the_mobile_token_and_the_saved_key_never_show(run_cli, lastfm_env, emulator, state_dir: Path, monkeypatch):
    token = hashlib.md5((USER + hashlib.md5(PASSWORD.encode()).hexdigest()).encode()).hexdigest()
    echo = ('<?xml version="1.0" encoding="UTF-8"?><lfm status="failed"><error code="26">suspended '
            f'{token} {PASSWORD}</error></lfm>')
    emulator.emulator.add_fault({"method": "auth.getmobilesession", "times": 1, "body": echo})
    login = run_cli("-vv", "lastfm", "login", "--username", USER, "--password-stdin", input=PASSWORD + "\n")
    assert login.exit_code == 1 and token not in login.output and PASSWORD not in login.output
    assert "***" in login.stderr
    assert run_cli("lastfm", "login", "--username", USER, "--password-stdin", input=PASSWORD + "\n").exit_code == 0
    from lastfm.session import SessionStore

    key = SessionStore(state_dir).load().key
    # Reading another user's plays uses no session key, yet never shows the saved one.
    emulator.emulator.add_fault({"method": "user.gettopalbums", "times": 1, "body":
                                 f'<?xml version="1.0"?><lfm status="failed"><error code="26">{key}</error></lfm>'})
    monkeypatch.setenv("LASTFM_USERNAME", "someone-else")
    enhanced = run_cli("lastfm-enhance", "2112", "--dry-run")
    assert key not in enhanced.output and "***" in enhanced.stderr


@pytest.mark.parametrize("name, words", [("cache.sqlite", "only holds answers"), ("ledger.sqlite", "move it aside"),
                                         ("archive.sqlite", "move it aside")])
def test_a_damaged_state_file_is_one_line(lastfm_env, state_dir: Path, name: str, words: str):
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / name).write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 4)
    commands = {"cache.sqlite": ["scrobble", "album", "channels", "--dry-run", "--lookup"],
                "ledger.sqlite": ["scrobble", "history"], "archive.sqlite": ["lastfm", "stats"]}
    code, out, err = finish(spawn(lastfm_env, *commands[name]))
    assert code == 1 and words in err and "Traceback" not in err and "Exception" not in err
    assert err.count("\n") == 1, err


@pytest.mark.parametrize("text, words", [
    ('{"lastfm": {"timeout": ' + "1" * 5000 + "}}", "not valid JSON"),
    ('{"lastfm": {"daily_cap": ' + "1" * 400 + "}}", "must be a number"),
    ("[" * 100_000 + "]" * 100_000, "not valid JSON"),
    ('{"lastfm": {"daily_cap": 0.5}}', "whole number"),
    ('{"lastfm": {"daily_cap": "nan"}}', "above 0"),
    ('{"lastfm": {"stats": "perhaps"}}', "true or false"),
    ('{"lastfm": []}', "must be an object"),
])
def test_a_broken_config_file_is_one_line(run_cli, tmp_path: Path, text: str, words: str):
    config = tmp_path / "config.json"
    config.write_text(text)
    one_line_error(run_cli("--config", str(config), "albums", "check"), 1, words)


def test_a_state_folder_that_is_a_file(run_cli, tmp_path: Path, monkeypatch):
    afile = tmp_path / "not-a-folder"
    afile.write_text("x")
    assert run_cli("scrobble", "history", "--state-dir", str(afile)).exit_code == 2  # click checks the option
    monkeypatch.setenv("RUSSFM_STATE_DIR", str(afile))
    one_line_error(run_cli("scrobble", "history"), 1, "is a file, not a folder")


@pytest.mark.parametrize("field, value", [("genre_names", "Rock"), ("styles", 5), ("formats", 5),
                                          ("artists", 5), ("release_artist", ["x"]), ("date_added", 7)])
def test_odd_index_fields_do_not_break_the_filters(run_cli, lastfm_env, site: Path, field: str, value):
    index = json.loads((site / "collection.json").read_text())
    for entry in index:
        entry[field] = value
    (site / "collection.json").write_text(json.dumps(index))
    for args in (["scrobble", "queue", "add", "--genre", "rock", "--format", "vinyl", "--artist", "rush"],
                 ["albums", "pick", "--genre", "rock"]):
        result = run_cli("--data-dir", str(site), *args)
        assert result.exit_code in (0, 1) and "Traceback" not in result.output, (args, result.output)


@pytest.mark.parametrize("table, change", [
    ("scrobbles", {"sent_at": "x", "status": "accepted"}), ("scrobbles", {"timestamp": "soon"}),
    ("scrobbles", {"corrections": []}), ("jobs", {"id": 7}), ("jobs", {"scheduled_at": "tomorrow"}),
    ("jobs", {"albums": "2112"}),
])
def test_an_edited_ledger_row_is_one_line(run_cli, lastfm_env, state_dir: Path, table: str, change: dict):
    import sqlite3

    assert run_cli("scrobble", "queue", "add", "2112").exit_code == 0
    db = sqlite3.connect(state_dir / "ledger.sqlite")
    key, value = db.execute(f"SELECT key, value FROM {table} LIMIT 1").fetchone()
    db.execute(f"UPDATE {table} SET value = ? WHERE key = ?", (json.dumps({**json.loads(value), **change}), key))
    db.commit()
    db.close()
    for command in (["scrobble", "queue", "status"], ["scrobble", "queue", "list"], ["lastfm", "status"],
                    ["scrobble", "history"]):
        result = run_cli(*command)
        assert "Traceback" not in result.output and result.exit_code in (0, 1), (command, result.output)
        if result.exit_code == 1:
            assert result.stderr.count("\n") == 1 and "ledger" in result.stderr, result.stderr


def test_an_album_file_that_is_a_pipe(run_cli, site: Path):
    import os

    path = album_file(site, "2112-814617")
    path.unlink()
    os.mkfifo(path)
    one_line_error(run_cli("--data-dir", str(site), "albums", "show", "2112-814617"), 1, "not a regular file")


def test_lengths_in_weeks_and_years():
    from scrobble.timeparse import parse_span

    assert parse_span("1y") == 365 * 86400 and parse_span("2w") == 14 * 86400 and parse_span("90m") == 5400


def test_a_single_track_sends_no_track_number(run_cli, signed_in, emulator):
    assert run_cli("scrobble", "track", "--artist", "Rush", "--track", "Tears", "--at", "1h ago").exit_code == 0
    (held,) = emulator.emulator.scrobbles_of(USER)
    assert held["track_number"] == ""
