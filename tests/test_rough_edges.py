"""Small promises a newcomer meets on a first evening: caps, wording, units, browsing, messages."""

from __future__ import annotations

import json
from pathlib import Path

from scrobble.daily_cap import budget_left, daily_cap, forget_learned_cap
from scrobble.ledger import Ledger
from tests.conftest import scrobbles


def _json(result) -> dict:
    assert result.stdout.lstrip().startswith(("{", "[")), (result.stdout, result.stderr)
    return json.loads(result.stdout)


# --- the daily cap: the user's choice wins over what was learned ---------------------------------------

def _learn_a_cap(run_cli, emulator, cap: int = 60) -> None:
    emulator.emulator.configure(daily_cap=cap)
    assert run_cli("scrobble", "queue", "add", "--all").exit_code == 0
    data = _json(run_cli("scrobble", "queue", "run", "--json"))
    assert data["accepted"] == cap and data["waiting_reason"] == "daily_cap"
    emulator.emulator.configure(daily_cap=None)  # Last.fm raises its cap (or the user knows better)


def test_an_option_or_a_setting_lifts_a_learned_cap(run_cli, signed_in, emulator, monkeypatch):
    _learn_a_cap(run_cli, emulator)
    status = _json(run_cli("lastfm", "status", "--json"))
    assert status["daily_cap"] == {"value": 60, "source": "learned"} and status["remaining_today"] == 0
    data = _json(run_cli("scrobble", "queue", "run", "--json", "--daily-cap", "100"))
    assert data["accepted"] == 40 and data["waiting_reason"] == "daily_cap"
    monkeypatch.setenv("RUSSFM_DAILY_CAP", "5000")
    status = _json(run_cli("lastfm", "status", "--json"))
    assert status["daily_cap"] == {"value": 5000, "source": "config"} and status["remaining_today"] == 4900
    text = run_cli("lastfm", "status").stdout
    assert "100 of 5000 (daily cap from the configuration); 4900 left" in text
    data = _json(run_cli("scrobble", "queue", "run", "--json"))
    assert data["waiting_reason"] is None and data["pending"] == 0
    assert len(scrobbles(emulator)) == data["accepted"] + 100


def test_forget_cap_clears_what_was_learned(run_cli, signed_in, emulator):
    _learn_a_cap(run_cli, emulator)
    result = run_cli("scrobble", "queue", "forget-cap")
    assert result.exit_code == 0 and "forgot the learned daily cap of 60" in result.stdout
    status = _json(run_cli("scrobble", "queue", "status", "--json"))
    assert status["daily_cap"] == {"value": 2800, "source": "default"} and status["remaining_today"] == 2740
    assert "no daily cap was learned" in run_cli("scrobble", "queue", "forget-cap").stdout
    data = _json(run_cli("scrobble", "queue", "run", "--json"))
    assert data["pending"] == 0


def test_the_cap_in_force_core(settings, state_dir: Path):
    from dataclasses import replace

    now = 1_000_000_000.0
    with Ledger(state_dir) as ledger:
        with ledger.locked():
            ledger.set_meta(learned_cap={"value": 10, "learned_at": now - 60}, cap_blocked_until=now + 3600)
        learned = daily_cap(settings, ledger, now)
        assert (learned.value, learned.source) == (10, "learned")
        assert budget_left(learned, ledger, now) == (0, now + 3600)
        assert budget_left(daily_cap(settings, ledger, now, 50), ledger, now) == (50, None)
        configured = daily_cap(replace(settings, daily_cap=70), ledger, now)
        assert configured.source == "config" and budget_left(configured, ledger, now) == (70, None)
        assert forget_learned_cap(ledger) == 10
        assert daily_cap(settings, ledger, now).source == "default"
        assert forget_learned_cap(ledger) is None


# --- lastfm-enhance --dry-run says what it would do ---------------------------------------------------

def test_enhance_dry_run_says_would_change_in_a_log(run_cli, signed_in, emulator, tmp_path: Path):
    import shutil

    from tests.conftest import REPO
    from tests.test_enhance import catalogue_for

    site = tmp_path / "public"
    shutil.copytree(REPO / "public", site)
    emulator.emulator.load_catalogue(catalogue_for(site))
    dry = run_cli("--data-dir", str(site), "lastfm-enhance", "2112", "--dry-run")
    assert dry.exit_code == 0
    assert "2112-814617: would change" in dry.stderr and "updated" not in dry.stderr
    real = run_cli("--data-dir", str(site), "lastfm-enhance", "2112")
    assert "2112-814617: updated" in real.stderr


# --- cron: the crontab line, stamped error lines, silence when idle -----------------------------------

def test_the_crontab_line_names_the_virtual_environment(run_cli):
    text = run_cli("scrobble", "queue", "--help").stdout
    line = next(line for line in text.splitlines() if line.strip().startswith("*/15"))
    assert "../.venv/bin/python main.py scrobble queue run -q" in line and " python main.py" not in line
    assert "none of your environment" in " ".join(text.split()) and "config file" in text


STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d:\d\d"  # local time with its offset from UTC


def test_queue_run_quiet_prints_nothing_when_nothing_is_due(run_cli, signed_in, emulator):
    idle = run_cli("-q", "scrobble", "queue", "run")
    assert idle.exit_code == 0 and idle.stdout == "" and idle.stderr == ""
    assert run_cli("scrobble", "queue", "add", "2112").exit_code == 0
    busy = run_cli("-q", "scrobble", "queue", "run")
    assert busy.exit_code == 0 and "queue run: 6 accepted" in busy.stdout
    assert run_cli("-q", "scrobble", "queue", "run").stdout == ""
    assert "queue run: 0 accepted" in run_cli("scrobble", "queue", "run").stdout  # without -q: the summary


def test_error_lines_of_cron_carry_the_time(lastfm_env, emulator, tmp_path: Path):
    import re

    from tests.conftest import finish, spawn

    env = {**lastfm_env, "RUSSFM_CONFIG": ""}
    assert finish(spawn(env, "scrobble", "queue", "add", "2112"))[0] == 0
    code, out, err = finish(spawn(env, "scrobble", "queue", "run", "-q"))  # never signed in
    assert code == 1 and out == ""
    assert re.fullmatch(STAMP + r" error: not signed in to Last\.fm.*\n", err), err
    code, out, err = finish(spawn(env, "scrobble", "album", "2112", "--dry-run", "--tracks", "99"))
    assert code == 2 and err.startswith("error: ")  # other commands keep plain error lines


def test_an_idle_run_is_idle_core():
    from scrobble.queue_run import RunResult

    assert RunResult().idle and RunResult(pending=3, waiting="daily_cap").idle
    assert not RunResult(accepted=1).idle and not RunResult(requests=1).idle


# --- one meaning for `m`: minutes; months are `mo` --------------------------------------------------

def test_months_are_mo_and_a_bare_m_is_refused_with_a_hint(run_cli, lastfm_env):
    for args in (["lastfm", "stats", "--period", "6m"], ["albums", "pick", "--not-since", "6m"]):
        result = run_cli(*args)
        assert result.exit_code == 2 and "write 6mo for months" in result.stderr, result.stderr
        assert "Traceback" not in result.output
    pick = run_cli("albums", "pick", "--not-since", "6mo")  # no archive yet: a different refusal
    assert "6mo" not in pick.stderr and pick.exit_code == 1
    assert "1mo" in run_cli("lastfm", "stats", "--help").stdout


def test_months_core():
    import pytest

    from errors import UsageError
    from history.periods import PERIODS, check_period, parse_age
    from scrobble.timeparse import parse_span

    assert parse_age("6mo") == parse_age("6 months") == 180 * 86400 and parse_age("1y") == 365 * 86400
    assert parse_span("10m") == 600 and parse_age("90min") == 5400
    for bad in ("6m", "12 m"):
        with pytest.raises(UsageError, match="mo for months"):
            parse_age(bad)
    assert check_period("12MO") == "12mo" and set(PERIODS) == {"7d", "1mo", "3mo", "6mo", "12mo", "all"}
    with pytest.raises(UsageError, match="write 1mo"):
        check_period("1m")


# --- browsing: albums list, nearest records, unquoted words, candidates --------------------------------

def test_albums_list_filters_and_json(run_cli, lastfm_env):
    text = run_cli("albums", "list", "--artist", "rush")
    assert text.exit_code == 0
    assert "2112-814617  Rush — 2112 (1976)  Vinyl" in text.stdout and text.stdout.endswith("2 of 14 albums\n")
    data = _json(run_cli("albums", "list", "--genre", "prog rock", "--year", "1970s", "--json"))
    assert {a["slug"] for a in data["albums"]} == {
        "2112-814617", "a-farewell-to-kings-40th-anniversary-limited-edition-super-deluxe-11255606"}
    assert data["count"] == 2 and data["total"] == 14 and data["history"] is False
    assert data["albums"][0]["plays"] is None and data["albums"][0]["year"] in (1976, 1977)
    assert _json(run_cli("albums", "list", "--format", "blu-ray", "--json"))["count"] == 1
    assert _json(run_cli("albums", "list", "--year", "1976", "--json"))["count"] == 1
    one = run_cli("albums", "list", "--artist", "kraftwerk").stdout
    assert one.endswith("1 of 14 albums\n")
    bad = run_cli("albums", "list", "--year", "seventies")
    assert bad.exit_code == 2 and "as a year" in bad.stderr
    nohistory = run_cli("albums", "list", "--unplayed")
    assert nohistory.exit_code == 1 and "lastfm sync" in nohistory.stderr


def test_albums_list_played_from_the_history(run_cli, signed_in, emulator):
    assert run_cli("scrobble", "album", "2112", "--finished-at", "2h ago").exit_code == 0
    assert run_cli("lastfm", "sync").exit_code == 0
    played = _json(run_cli("albums", "list", "--played", "--json"))
    assert [a["slug"] for a in played["albums"]] == ["2112-814617"] and played["history"] is True
    assert played["albums"][0]["plays"] >= 1 and played["albums"][0]["last_played"]
    unplayed = _json(run_cli("albums", "list", "--unplayed", "--json"))
    assert unplayed["count"] == 13 and "2112-814617" not in {a["slug"] for a in unplayed["albums"]}
    assert "never played" in run_cli("albums", "list", "--artist", "queen").stdout


def test_a_failed_lookup_suggests_the_nearest_records(run_cli, lastfm_env):
    result = run_cli("albums", "show", "rush", "2211")
    assert result.exit_code == 1
    assert "no album" in result.stderr and "  2112-814617 (Rush: 2112)" in result.stderr
    typo = run_cli("scrobble", "queue", "add", "kraftwrk", "--json")
    data = _json(typo)
    assert typo.exit_code == 1 and data["job"] is None
    assert any("3-d-the-catalogue-10349797" in c for c in data["candidates"][data["errors"][0]])
    nothing = run_cli("albums", "show", "zzzz qqqq")
    assert nothing.exit_code == 1 and nothing.stderr.count("\n") == 1  # no far-fetched suggestions


def test_unquoted_words_name_one_album(run_cli, lastfm_env):
    show = run_cli("albums", "show", "rush", "2112")
    assert show.exit_code == 0 and show.stdout.startswith("Rush — 2112  [2112-814617]")
    added = _json(run_cli("scrobble", "queue", "add", "rush", "2112", "a", "kind", "of", "magic", "--json"))
    assert added["albums"] == 2 and added["errors"] == [] and added["tracks"] == 6 + 2


def test_an_ambiguous_queue_add_lists_the_candidates(run_cli, lastfm_env):
    result = run_cli("scrobble", "queue", "add", "rush")
    assert result.exit_code == 1 and "nothing queued" in result.stdout
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: rush: 'rush' matches 2 albums")
    assert "  2112-814617 (Rush: 2112)" in lines[1:]
    show = run_cli("albums", "show", "rush")
    assert show.exit_code == 2 and "  2112-814617 (Rush: 2112)" in show.stderr.splitlines()


def test_browse_core(sample_dir):
    import pytest

    from collection.browse import Filters, list_albums, year_range
    from collection.lookup import nearest_albums, resolve_words
    from collection.store import Store
    from errors import UsageError

    store = Store(sample_dir)
    assert year_range("1970s") == (1970, 1979) and year_range("1976-1978") == (1976, 1978)
    with pytest.raises(UsageError):
        year_range("1979-1970")
    plays = {"2112-814617": (1_700_000_000, 3)}
    found = list_albums(store, Filters(artist="rush", played=True), plays)
    assert [(a.slug, a.plays) for a in found.albums] == [("2112-814617", 3)] and found.history
    assert len(list_albums(store, Filters(played=False), plays).albums) == found.total - 1
    assert len(list_albums(store, Filters(limit=3)).albums) == 3
    with pytest.raises(UsageError, match="lastfm sync"):
        list_albums(store, Filters(played=True))
    assert nearest_albums(store, "queen magik")[0].startswith("a-kind-of-magic-453215")
    slugs, problems = resolve_words(store, ["2112-814617", "rush", "queen", "kind", "of", "magic"])
    assert slugs == ["2112-814617", "a-kind-of-magic-453215"]
    assert [p.query for p in problems] == ["rush"] and len(problems[0].candidates) >= 2


# --- finished jobs stay as they are; listed apart and cleared -----------------------------------------

def test_a_finished_job_is_not_paused_or_cancelled(run_cli, signed_in, emulator):
    assert run_cli("scrobble", "queue", "add", "2112").exit_code == 0
    assert _json(run_cli("scrobble", "queue", "run", "--json"))["accepted"] == 6
    for verb in ("pause", "cancel"):
        kept = run_cli("scrobble", "queue", verb, "1")
        assert kept.exit_code == 0 and "job 1 is finished (nothing left to send): left as it was" in kept.stdout
    job = _json(run_cli("scrobble", "queue", "status", "1", "--json"))["jobs"][0]
    assert job["status"] == "done" and job["accepted"] == 6 and job["cancelled"] == 0


def test_list_all_and_clear(run_cli, signed_in, emulator):
    assert run_cli("scrobble", "queue", "add", "2112").exit_code == 0
    assert _json(run_cli("scrobble", "queue", "run", "--json"))["accepted"] == 6
    assert run_cli("scrobble", "queue", "add", "a kind of magic").exit_code == 0
    assert run_cli("scrobble", "queue", "add", "channels").exit_code == 0
    assert run_cli("scrobble", "queue", "cancel", "3").exit_code == 0
    listing = run_cli("scrobble", "queue", "list")
    assert [line.split()[:2] for line in listing.stdout.splitlines()] == [["2", "active"]]
    assert "2 finished jobs not shown" in listing.stderr
    every = run_cli("scrobble", "queue", "list", "--all").stdout.splitlines()
    assert [line.split()[:2] for line in every] == [["1", "done"], ["2", "active"], ["3", "cancelled"]]
    cleared = run_cli("scrobble", "queue", "clear")
    assert cleared.exit_code == 0 and "cleared 2 finished jobs (1, 3)" in cleared.stdout
    assert [line.split()[0] for line in run_cli("scrobble", "queue", "list", "--all").stdout.splitlines()] == ["2"]
    assert "cleared 0 finished jobs" in run_cli("scrobble", "queue", "clear").stdout
    gone = run_cli("scrobble", "queue", "resume", "1")
    assert gone.exit_code == 1 and "no queue job '1'" in gone.stderr
    new = _json(run_cli("scrobble", "queue", "add", "channels", "--json"))
    assert new["job"] == "4"  # numbers of cleared jobs are not reused
    assert _json(run_cli("lastfm", "status", "--json"))["sent_24h"] == 6  # what they sent stays


def test_an_unknown_job_exits_as_an_unknown_album(run_cli, lastfm_env):
    album = run_cli("albums", "show", "no such record anywhere")
    codes = {album.exit_code}
    for args in (["pause", "7"], ["resume", "7"], ["cancel", "7"], ["status", "7"]):
        result = run_cli("scrobble", "queue", *args)
        assert "no queue job '7'" in result.stderr and "Traceback" not in result.output
        codes.add(result.exit_code)
    assert codes == {1}


def test_finished_jobs_core(settings, signed_in, emulator):
    import pytest

    from app import App
    from errors import JobNotFound
    from scrobble import queue
    from scrobble.queue_run import run_queue

    app = App(settings)
    try:
        queue.add_job(app, ["2112-814617"], False, queue.Filters(), queue.QueueOptions())
        queue.add_job(app, ["a-kind-of-magic-453215"], False, queue.Filters(), queue.QueueOptions())
        queue.set_job_status(app, "2", "paused")
        assert run_queue(app).accepted == 6
        kept = queue.set_job_status(app, "1", "cancelled")
        assert kept.finished and kept.job.status == "active" and app.ledger.job("1").status == "active"
        assert queue.clear_finished(app) == ["1"]
        with pytest.raises(JobNotFound):
            queue.set_job_status(app, "1", "active")
        assert queue.set_job_status(app, "2", "cancelled").dropped == 2
        assert queue.clear_finished(app) == ["2"]
    finally:
        app.close()


# --- albums show --json: the durations of the plan ------------------------------------------------------

def test_albums_show_json_gives_the_plans_durations(run_cli):
    shown = _json(run_cli("albums", "show", "channels", "--json"))
    plan = _json(run_cli("scrobble", "album", "channels", "--dry-run", "--json"))
    untimed = [t for t in shown["tracks"] if t["duration_source"] == "default"]
    assert untimed and all(t["duration"] == 180 and t["length"] == "3:00" for t in untimed)
    planned = plan["scrobbles"]
    assert [t["duration"] for t in shown["tracks"]] == [s["duration"] for s in planned]
    text = run_cli("albums", "show", "channels").stdout
    assert "3:00  default" in text


def test_album_view_core(sample_dir):
    from collection.store import Store
    from collection.views import album_view

    view = album_view(Store(sample_dir), "2112-814617")
    data = view.to_json()
    assert all(isinstance(t["duration"], int) and t["duration"] > 0 for t in data["tracks"])
    assert [t["length"] for t in data["tracks"]] == [length for length, _ in view.lengths()]


# --- a refused scrobble reports other commands' leftovers apart ---------------------------------------

def test_a_refused_album_reports_leftovers_apart(run_cli, signed_in, emulator):
    assert run_cli("scrobble", "album", "2112", "--finished-at", "1h ago").exit_code == 0
    emulator.emulator.add_fault({"method": "track.scrobble", "times": 10, "error": 16})
    first = run_cli("scrobble", "track", "--artist", "Rush", "--track", "Tears", "--at", "5h ago")
    assert first.exit_code == 75
    emulator.emulator.clear_faults()
    refused = run_cli("scrobble", "album", "a kind of magic", "--finished-at", "1h ago", "--json")
    data = _json(refused)
    assert refused.exit_code == 1 and "overlaps" in data["refused"]
    assert data["accepted"] == 0 and data["scrobbles"] == []
    assert data["leftovers"]["accepted"] == 1 and data["leftovers"]["scrobbles"][0]["track"] == "Tears"
    text = run_cli("scrobble", "album", "channels", "--finished-at", "1h ago")
    assert text.exit_code == 1 and "accepted" not in text.stdout  # nothing of this listening was sent
    assert len(scrobbles(emulator)) == 7


def test_send_result_core():
    from scrobble.ledger import ACCEPTED, PENDING, Entry
    from scrobble.send import SendResult

    def entry(i: int, status: str) -> Entry:
        return Entry(id=str(i), artist="A", track=f"t{i}", album="", album_artist="", timestamp=1_700_000_000 + i,
                     duration=180, status=status)

    result = SendResult(scrobbles=[entry(1, ACCEPTED)], leftovers=[entry(2, ACCEPTED), entry(3, PENDING)])
    data = result.to_json()
    assert (data["accepted"], data["deferred"]) == (1, 0)
    assert (data["leftovers"]["accepted"], data["leftovers"]["deferred"]) == (1, 1)
    assert result.exit_status == 75  # a leftover still waits


# --- signing in: plain words, an honest "already", the approval page's site -----------------------------

def test_login_while_signed_in_says_so(run_cli, signed_in, emulator, state_dir: Path):
    before = (state_dir / "session.json").read_text()
    result = run_cli("lastfm", "login", "--no-browser")
    assert result.exit_code == 0 and "already signed in to Last.fm as vinylfan" in result.stdout
    assert "lastfm logout" in result.stdout and (state_dir / "session.json").read_text() == before
    assert emulator.emulator.request_counts()["total"] == 0


def test_the_approval_page_follows_the_endpoint(lastfm_env, emulator, monkeypatch):
    import re
    import signal

    from tests.conftest import finish, spawn

    process = spawn(lastfm_env, "lastfm", "login", "--no-browser", "--poll-every", "0.2")
    line = ""
    for _ in range(3):
        line = process.stdout.readline()
        if "token=" in line:
            break
    process.send_signal(signal.SIGINT)
    finish(process)
    site = lastfm_env["LASTFM_API_URL"].split("/2.0")[0].rstrip("/")
    assert re.search(rf"{re.escape(site)}/api/auth/\?api_key=\w+&token=[0-9a-f]{{32}}", line), line


def test_approval_site_core(settings):
    from dataclasses import replace

    from config import DEFAULT_API_URL
    from lastfm.client import approval_site

    assert approval_site(replace(settings, api_url=DEFAULT_API_URL)) == "https://www.last.fm"
    assert approval_site(replace(settings, api_url="https://127.0.0.1:8443/2.0/")) == "https://127.0.0.1:8443"
    assert approval_site(replace(settings, auth_url="https://example.org/")) == "https://example.org"


def test_a_bad_approval_site_is_refused(run_cli, lastfm_env, monkeypatch):
    monkeypatch.setenv("LASTFM_AUTH_URL", "javascript:alert(1)")
    result = run_cli("lastfm", "login", "--no-browser")
    assert result.exit_code == 1 and "LASTFM_AUTH_URL" in result.stderr


# --- progress bars: totals, a label, an honest rate ------------------------------------------------------

def _stderr_on_a_terminal(env: dict, *args: str) -> tuple[int, str]:
    """Run main.py with stderr on a pseudo-terminal (where bars are drawn); its exit status and what it drew."""
    import fcntl
    import os
    import pty
    import struct
    import subprocess
    import sys
    import termios

    from tests.conftest import REPO

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 160, 0, 0))  # a terminal of 160 columns
    process = subprocess.Popen([sys.executable, "main.py", *args], cwd=REPO / "scrapper", env=os.environ | env,
                               stdout=subprocess.PIPE, stderr=slave, text=True)
    os.close(slave)
    drawn = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the other side closed
            break
        if not chunk:
            break
        drawn += chunk
    out, _ = process.communicate(timeout=120)
    os.close(master)
    return process.returncode, out + drawn.decode("utf-8", "replace")


def test_the_queue_bar_has_a_label_a_total_and_an_eta(lastfm_env, signed_in, emulator):
    from tests.conftest import finish, spawn

    env = {**lastfm_env, "RUSSFM_CONFIG": ""}
    assert finish(spawn(env, "scrobble", "queue", "add", "--all"))[0] == 0
    code, drawn = _stderr_on_a_terminal(env, "scrobble", "queue", "run", "--max", "120")
    assert code == 0, drawn
    bar = drawn[drawn.index("\rqueue run:"):]
    assert "0/120 [" in bar and "<" in bar  # label, total, and the time left after the elapsed time


def test_expected_sends_core(settings, signed_in, emulator):
    from dataclasses import replace

    from app import App
    from scrobble import queue
    from scrobble.queue_run import expected_sends

    app = App(replace(settings, daily_cap=10))
    try:
        assert expected_sends(app) == 0
        queue.add_job(app, ["2112-814617"], False, queue.Filters(), queue.QueueOptions())
        assert expected_sends(app) == 6 and expected_sends(app, max_items=4) == 4
        queue.add_job(app, ["a-kind-of-magic-453215"], False, queue.Filters(), queue.QueueOptions())
        assert expected_sends(app) == 8 and expected_sends(app, cap_override=7) == 7
        queue.set_job_status(app, "1", "paused")
        assert expected_sends(app) == 2
    finally:
        app.close()


def test_the_sync_bar_has_a_label_and_a_total(lastfm_env, signed_in, emulator):
    emulator.emulator.generate_history("vinylfan", 450, span_days=5, seed=4)
    code, drawn = _stderr_on_a_terminal({**lastfm_env, "RUSSFM_CONFIG": ""}, "lastfm", "sync")
    assert code == 0, drawn
    assert "\rlastfm sync:" in drawn and "/3 [" in drawn, drawn


# --- times: local with the zone shown in text, UTC in JSON ----------------------------------------------

def test_text_shows_local_time_with_its_zone(run_cli, signed_in, emulator, monkeypatch):
    import re
    import time

    monkeypatch.setenv("TZ", "Asia/Kolkata")  # +05:30, all year
    time.tzset()
    try:
        plan = run_cli("scrobble", "album", "2112", "--dry-run", "--finished-at", "2h ago").stdout
        assert re.search(STAMP + r" → \d\d:\d\d:\d\d\n", plan) and "+05:30" in plan
        assert run_cli("scrobble", "queue", "add", "2112", "--at", "30m ago").exit_code == 0
        run = run_cli("scrobble", "queue", "run").stdout
        assert re.search(STAMP + " queue run: 6 accepted", run) and "+05:30 queue run" in run
        listing = run_cli("scrobble", "queue", "list", "--all").stdout
        assert "+05:30" in listing and "Z" not in listing
        history = run_cli("scrobble", "history").stdout
        assert "+05:30" in history
        data = _json(run_cli("scrobble", "queue", "status", "--json"))
        assert data["jobs"][0]["created_at"].endswith("Z")  # JSON stays UTC
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_local_clock_core(monkeypatch):
    import time

    from scrobble.timeparse import local_clock, local_time, parse_time

    monkeypatch.setenv("TZ", "America/Sao_Paulo")  # -03:00
    time.tzset()
    try:
        assert local_clock(1_800_000_000) == "2027-01-15 05:00:00-03:00"
        assert local_time(1_800_000_000) == "05:00:00"
        assert parse_time(local_clock(1_800_000_000), 1_800_000_100) == 1_800_000_000  # pasted back in
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


# --- queue add --hours: records only within chosen hours, with gaps between them ------------------------

def _albums_placed(state_dir: Path) -> list[tuple[int, int, str]]:
    """(start, end, slug) of each timed album of the queue, earliest first."""
    with Ledger(state_dir) as ledger:
        entries = [e for e in ledger.latest(100_000) if e.timed and e.job]
    albums: dict[tuple[str, str], tuple[int, int]] = {}
    for e in entries:
        start, end = albums.get((e.job, e.slug), (e.timestamp, e.timestamp + e.duration))
        albums[(e.job, e.slug)] = (min(start, e.timestamp), max(end, e.timestamp + e.duration))
    return sorted((start, end, slug) for (_, slug), (start, end) in albums.items())


def test_queue_add_hours_places_albums_only_then(run_cli, signed_in, emulator, state_dir, monkeypatch):
    import time
    from datetime import datetime

    monkeypatch.setenv("TZ", "Europe/Paris")
    time.tzset()
    try:
        added = _json(run_cli("scrobble", "queue", "add", "--all", "--hours", "18-01", "--json"))
        assert added["albums"] == 14
        job = _json(run_cli("scrobble", "queue", "status", "--json"))["jobs"][0]
        assert job["hours"] == [18, 1] and job["gap"] == 600
        data = _json(run_cli("scrobble", "queue", "run", "--json"))
        assert data["accepted"] > 0
        placed = _albums_placed(state_dir)
        assert len(placed) >= 5
        for start, end, slug in placed:
            begin = datetime.fromtimestamp(start)
            assert begin.hour >= 18 or begin.hour < 1, (slug, begin)
            last = datetime.fromtimestamp(end - 1)
            assert last.hour >= 18 or last.hour < 1, (slug, last)
        for (_, end, _), (start, _, _) in zip(placed, placed[1:]):
            assert start - end >= 600  # ten minutes at least between records
        text = run_cli("scrobble", "queue", "add", "2112", "--force", "--hours", "18-01", "--gap", "5m").stdout
        assert "within 18:00–01:00, 5 min between albums" in text
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    bad = run_cli("scrobble", "queue", "add", "2112", "--hours", "evenings")
    assert bad.exit_code == 2 and "18-01" in bad.stderr
    both = run_cli("scrobble", "queue", "add", "2112", "--hours", "18-01", "--finished-at", "20:00")
    assert both.exit_code == 2 and "one or the other" in both.stderr


def test_hours_core(monkeypatch):
    import time

    import pytest

    from errors import UsageError
    from scrobble.hours import Hours, parse_hours, place_within

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        assert parse_hours("18-01") == Hours(18, 1) and parse_hours("9-17").seconds == 8 * 3600
        assert parse_hours("20:00-24:00") == Hours(20, 24) and Hours(18, 1).seconds == 7 * 3600
        for bad in ("18", "25-3", "7-7"):
            with pytest.raises(UsageError):
                parse_hours(bad)
        day = 1_800_057_600  # 2027-01-16 00:00 UTC
        windows = Hours(18, 1).windows(day, day + 2 * 86400)
        assert windows[0] == (day, day + 3600) and windows[1] == (day + 18 * 3600, day + 25 * 3600)
        gaps = [(day, day + 2 * 86400)]
        first = place_within(gaps, 3000, windows, 600)
        second = place_within(gaps, 3000, windows, 600)
        assert first == day + 600 and second == day + 18 * 3600 + 600  # the first stretch is full
        assert place_within(gaps, 8 * 3600, windows, 600) is None  # longer than the hours: never placed
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


# --- albums pick: never a missing file or a record played today; plays are listens ---------------------

def test_pick_skips_missing_files_and_records_played_today(run_cli, signed_in, emulator, data_copy: Path):
    import shutil

    from tests.test_history import add

    def pick(*args: str):
        return run_cli("--data-dir", str(data_copy), "albums", "pick", "--artist", "rush", *args)

    shutil.rmtree(data_copy / "album" / "a-farewell-to-kings-6951528")
    assert run_cli("--data-dir", str(data_copy), "scrobble", "album", "2112", "--finished-at", "1m ago",
                   ).exit_code == 0
    picked = {_json(pick("--json", "--seed", str(seed)))["slug"] for seed in range(20)}
    assert picked == {"a-farewell-to-kings-40th-anniversary-limited-edition-super-deluxe-11255606"}
    now = int(__import__("time").time())
    # The box was played through twice long ago, and once more today on another player.
    add(emulator, *[(now - 40 * 86400 + 240 * i, "Rush", f"Track {i}", "A Farewell To Kings") for i in range(8)],
        *[(now - 30 * 86400 + 240 * i, "Rush", f"Track {i}", "A Farewell To Kings") for i in range(8)])
    assert run_cli("--data-dir", str(data_copy), "lastfm", "sync").exit_code == 0
    listed = _json(run_cli("--data-dir", str(data_copy), "albums", "list", "--artist", "rush", "--json"))
    plays = {a["slug"]: a["plays"] for a in listed["albums"]}
    assert plays["a-farewell-to-kings-40th-anniversary-limited-edition-super-deluxe-11255606"] == 2  # not 16
    assert plays["2112-814617"] == 1  # six tracks, one listen
    chosen = _json(pick("--json", "--seed", "1"))
    assert chosen["plays"] == 2 and "played 2 times" in chosen["reasons"]
    add(emulator, (now - 600, "Rush", "Xanadu", "A Farewell To Kings"))
    assert run_cli("--data-dir", str(data_copy), "lastfm", "sync").exit_code == 0
    nothing = pick()
    assert nothing.exit_code == 1
    assert "1 without an album file" in nothing.stderr and "2 played today" in nothing.stderr


def test_listens_core(settings, emulator):
    import time
    from dataclasses import replace

    from app import App
    from history.archive import Archive
    from history.sync import sync
    from tests.conftest import USER
    from tests.test_history import add

    now = int(time.time())
    add(emulator, *[(now - 5 * 86400 + 300 * i, "Rush", f"2112 part {i}", "2112") for i in range(7)],
        (now - 5 * 86400 + 300 * 6 + 3601, "Rush", "Tears", "2112"),  # over an hour later: a second listen
        (now - 86400, "Queen", "One Vision", "A Kind Of Magic"))
    app = App(replace(settings, username=USER))
    try:
        sync(app)
        with Archive.finished(settings.state_dir) as archive:
            archive.refresh_matches(app.store)
            listened = archive.records_listened(3600)
            tracks = archive.records_played()
    finally:
        app.close()
    assert listened["2112-814617"] == (now - 5 * 86400 + 300 * 6 + 3601, 2) and tracks["2112-814617"][1] == 8
    assert listened["a-kind-of-magic-453215"][1] == 1


# --- small things: -v, a bad timeout offline, one line per failure, plurals, --version, no arguments, live JSON

def test_verbose_names_the_folders_in_use(run_cli, lastfm_env, state_dir: Path):
    result = run_cli("-v", "albums", "show", "2112")
    assert result.exit_code == 0
    assert f"config file none; data folder " in result.stderr and f"state folder {state_dir.resolve()}" in result.stderr
    assert "config file" not in run_cli("albums", "show", "2112").stderr


def test_a_bad_timeout_stops_only_what_talks_to_lastfm(run_cli, lastfm_env, monkeypatch):
    monkeypatch.setenv("LASTFM_TIMEOUT", "-1")
    for args in (["albums", "show", "2112"], ["scrobble", "album", "2112", "--dry-run"], ["albums", "list"],
                 ["scrobble", "queue", "status"]):
        assert run_cli(*args).exit_code == 0, args
    online = run_cli("lastfm", "search", "moving pictures")
    assert online.exit_code == 1 and online.stderr == (
        "error: LASTFM_TIMEOUT must be above 0 and at most 600, got '-1'\n")


def test_settings_core(monkeypatch):
    import pytest

    from config import load_settings
    from errors import ConfigError

    monkeypatch.setenv("LASTFM_TIMEOUT", "nan")
    monkeypatch.setenv("RUSSFM_CONFIG", "")
    settings = load_settings()
    assert settings.timeout == 20.0 and "LASTFM_TIMEOUT" in settings.lastfm_problem
    with pytest.raises(ConfigError, match="LASTFM_TIMEOUT"):
        settings.require_credentials()
    monkeypatch.setenv("RUSSFM_DAILY_CAP", "nan")  # the tool's own settings stay strict
    with pytest.raises(ConfigError, match="above 0"):
        load_settings()


def test_an_enhance_failure_is_one_line(run_cli, signed_in, emulator, tmp_path: Path):
    import shutil

    from tests.conftest import REPO

    site = tmp_path / "public"
    shutil.copytree(REPO / "public", site)
    emulator.emulator.add_fault({"method": "album.getinfo", "times": 100, "http": 503})
    result = run_cli("--data-dir", str(site), "lastfm-enhance", "2112", "--refresh", "--no-stats")
    assert result.exit_code == 0
    about = [line for line in result.stderr.splitlines() if "2112-814617" in line]
    assert len(about) == 1 and "previous values kept" in about[0]
    assert result.stdout.startswith("1 album: 0 updated") and " 1 failed;" in result.stdout


def test_singular_and_plural(run_cli, lastfm_env):
    added = run_cli("scrobble", "queue", "add", "2112")
    assert "job 1: 1 album, 6 tracks queued" in added.stdout
    assert "job 1 [active]: 1 album, 6 tracks" in run_cli("scrobble", "queue", "status").stdout
    assert "    1 album   " in run_cli("scrobble", "queue", "list").stdout


def test_plural_core():
    from enhance import AlbumOutcome, EnhanceReport

    report = EnhanceReport(albums=[AlbumOutcome("x", "updated")], requests=1, files_written=1)
    text = report.summary(dry_run=False)
    assert text.startswith("1 album: 1 updated") and "1 request in" in text and "1 file written" in text


def test_version_and_no_arguments(run_cli):
    import subprocess
    import sys

    from tests.conftest import REPO
    from version import __version__

    version = run_cli("--version")
    assert version.exit_code == 0 and f" {__version__} (Python " in version.stdout
    bare = subprocess.run([sys.executable, "main.py"], cwd=REPO / "scrapper", capture_output=True, text=True,
                          timeout=60)
    assert bare.returncode == 0 and bare.stdout.startswith("Usage: main.py") and "Commands:" in bare.stdout
    assert bare.stderr == ""


def test_live_json_sides_are_letters_like_the_tracks(run_cli, signed_in, emulator):
    import time

    started = int(time.time()) - 539  # A Kind of Magic: side B has 2 s to go
    result = run_cli("scrobble", "album", "a-kind-of-magic-453215", "--live", "--started-at", str(started), "--json")
    assert result.exit_code == 0, result.stderr
    events = {e["event"]: e for e in map(json.loads, result.stdout.splitlines())}
    assert (events["side_done"]["side"], events["side_done"]["next_side"]) == ("A", "B")
    assert events["side_started"]["side"] == "B" and events["now_playing"]["track"]["side"] == "B"


def test_face_json_core():
    from scrobble.live_events import face_json

    assert face_json("side C") == ("C", None) and face_json("disc 2") == (None, 2)
    assert face_json("the record") == (None, None) and face_json(None) == (None, None)


# --- benchmarks: their files only where told, and nothing left behind -------------------------------------

def _benchmark(tmp: Path, *args: str, bench_dir: Path | None = None):
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUSSFM_", "LASTFM_"))}
    env["TMPDIR"] = str(tmp)
    if bench_dir is not None:
        env["RUSSFM_BENCH_DIR"] = str(bench_dir)
    return subprocess.run([sys.executable, str(REPO / "benchmarks" / "scrobble_collection.py"), *args],
                          env=env, capture_output=True, text=True, timeout=300)


def test_benchmarks_leave_nothing_behind(tmp_path: Path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    done = _benchmark(tmp, "--albums", "1")
    assert done.returncode == 0, done.stderr
    assert "1 albums, " in done.stdout or "1 album, " in done.stdout
    assert list(tmp.iterdir()) == []  # state folder, session, certificates: all gone
    failed = _benchmark(tmp, "--data-dir", str(tmp_path / "no-such-collection"))
    assert failed.returncode != 0 and list(tmp.iterdir()) == []  # gone after a failure too


def test_benchmarks_write_where_told(tmp_path: Path):
    tmp, told = tmp_path / "tmp", tmp_path / "told"
    tmp.mkdir()
    done = _benchmark(tmp, "--albums", "1", bench_dir=told)
    assert done.returncode == 0, done.stderr
    assert list(tmp.iterdir()) == []
    kept = sorted(p.name.split("-")[0] for p in told.iterdir())
    assert kept == ["emulator", "state"] and any(told.glob("state-*/session.json"))
