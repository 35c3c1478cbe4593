"""Signing in both ways, status, logout, revoked sessions, private state files, and secrets kept out of sight."""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import subprocess
import sys
import time
from pathlib import Path

import requests

from lastfm.session import Session, SessionStore
from statefiles import private_file, write_private_json
from tests.conftest import PASSWORD, REPO, USER


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_mobile_login_status_logout(run_cli, lastfm_env, emulator, state_dir: Path):
    result = run_cli("lastfm", "login", "--username", USER, "--password-stdin", input=PASSWORD + "\n")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == f"signed in to Last.fm as {USER}"
    saved = json.loads((state_dir / "session.json").read_text())
    assert saved["username"] == USER and emulator.emulator.state.sessions[saved["key"]] == USER
    assert PASSWORD not in (state_dir / "session.json").read_text()

    status = json.loads(run_cli("lastfm", "status", "--json").stdout)
    assert status | {"playcount": 0} == {
        "signed_in": True, "username": USER, "session_valid": True, "playcount": 0, "problem": None,
        "sent_24h": 0, "daily_cap": {"value": 2800, "source": "default"}, "remaining_today": 2800,
        "pending": 0, "in_flight": 0,
    }
    assert run_cli("lastfm", "logout").stdout.strip() == "signed out"
    signed_out = run_cli("lastfm", "status")
    assert signed_out.exit_code == 0 and "signed out" in signed_out.stdout


def test_wrong_password(run_cli, lastfm_env, state_dir: Path):
    result = run_cli("lastfm", "login", "--username", USER, "--password-stdin", input="nope\n")
    assert result.exit_code == 1
    assert result.stderr == "error: Last.fm did not accept this user name and password; check them and try again\n"
    assert not (state_dir / "session.json").exists()


def test_password_never_an_argument(run_cli, lastfm_env):
    result = run_cli("lastfm", "login", "--username", USER)
    assert result.exit_code == 2 and "--password-stdin" in result.stderr


def test_missing_credentials_say_how(run_cli, lastfm_env, monkeypatch):
    monkeypatch.delenv("LASTFM_API_KEY")
    result = run_cli("lastfm", "login", "--no-browser")
    assert result.exit_code == 1
    assert "LASTFM_API_KEY" in result.stderr and "config" in result.stderr


def login_process(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "main.py", "lastfm", "login", "--no-browser", "--poll-every", "0.2"],
        cwd=REPO / "scrapper", env=os.environ | env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def token_from(process: subprocess.Popen) -> str:
    for _ in range(3):
        line = process.stdout.readline()
        found = re.search(r"token=([0-9a-f]{32})", line)
        if found:
            return found.group(1)
    raise AssertionError("no approval URL printed")


def test_web_login_waits_for_approval(lastfm_env, emulator, state_dir: Path):
    process = login_process(lastfm_env)
    token = token_from(process)
    time.sleep(0.6)  # a few polls answered 14 (not yet approved)
    assert process.poll() is None
    requests.post(f"{emulator.base}/_emulator/approve?token={token}", verify=emulator.ca_bundle, timeout=5)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert f"signed in to Last.fm as {USER}" in out
    assert emulator.emulator.request_counts()["by_method"]["auth.getsession"] >= 2
    assert SessionStore(state_dir).load().username == USER


def test_web_login_token_expiry(lastfm_env, emulator, state_dir: Path):
    process = login_process(lastfm_env)
    token = token_from(process)
    requests.post(f"{emulator.base}/_emulator/expire?token={token}", verify=emulator.ca_bundle, timeout=5)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 1
    assert "expired" in err and "lastfm login" in err and "Traceback" not in err
    assert not (state_dir / "session.json").exists()


def test_web_login_ctrl_c(lastfm_env, emulator):
    import signal

    process = login_process(lastfm_env)
    token_from(process)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 130 and "interrupted" in err and "Traceback" not in err


def test_revoked_session(run_cli, signed_in, emulator):
    emulator.emulator.revoke(USER)
    result = run_cli("lastfm", "status")
    assert result.exit_code == 1
    assert "REVOKED" in result.stdout and "lastfm login" in result.stderr
    send = run_cli("scrobble", "track", "--artist", "Rush", "--track", "Tears")
    assert send.exit_code == 1 and "sign in again" in send.stderr
    pending = json.loads(run_cli("scrobble", "history", "--json").stdout)
    assert [p["status"] for p in pending] == ["pending"]


def test_state_files_private_from_creation(tmp_path: Path, monkeypatch):
    """Modes come from creation, not a later chmod: with chmod broken and umask 0 they still hold."""
    old = os.umask(0)
    try:
        def no_chmod(*args, **kwargs):
            raise AssertionError("chmod called")

        monkeypatch.setattr(os, "chmod", no_chmod)
        monkeypatch.setattr(Path, "chmod", no_chmod)
        state = tmp_path / "state" / "deeper"
        SessionStore(state).save(Session(USER, "k" * 32))
        private_file(state / "ledger.sqlite")
        write_private_json(state / "other.json", {"a": 1})
    finally:
        os.umask(old)
    assert mode(state) == 0o700
    assert mode(state / "session.json") == 0o600
    assert mode(state / "ledger.sqlite") == 0o600
    assert mode(state / "other.json") == 0o600


def test_state_modes_after_a_real_scrobble(run_cli, signed_in, state_dir: Path):
    assert run_cli("scrobble", "track", "--artist", "Rush", "--track", "Tears").exit_code == 0
    assert mode(state_dir) == 0o700
    for path in state_dir.iterdir():
        assert mode(path) == 0o600, path.name


def test_secrets_never_shown(run_cli, lastfm_env, emulator, state_dir: Path, caplog):
    caplog.set_level(logging.DEBUG)
    login = run_cli("-vv", "lastfm", "login", "--username", USER, "--password-stdin", input=PASSWORD + "\n")
    key = SessionStore(state_dir).load().key
    emulator.emulator.add_fault({"method": "track.scrobble", "times": 1, "drop_after_commit": True})
    runs = [
        login,
        run_cli("-vv", "scrobble", "track", "--artist", "Rush", "--track", "Tears", "--json"),
        run_cli("-vv", "lastfm", "status", "--json"),
        run_cli("-vv", "scrobble", "history", "--json"),
    ]
    emulator.emulator.revoke(USER)
    runs.append(run_cli("-vv", "scrobble", "track", "--artist", "Rush", "--track", "Lessons", "--at", "30m ago"))
    text = "".join(r.stdout + r.stderr for r in runs) + caplog.text
    assert "track.scrobble" in caplog.text  # the requests were logged…
    for secret in (key, PASSWORD, lastfm_env["LASTFM_API_SECRET"]):
        assert secret not in text  # …without their secrets
    assert "'sk': '***'" in caplog.text
