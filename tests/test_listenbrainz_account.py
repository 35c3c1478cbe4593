"""`listenbrainz login`, `status` and `logout` through the command line, against the local ListenBrainz."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from tests.conftest import LB_TOKEN, LB_USER


def test_login_checks_and_keeps_the_token_privately(run_cli, listenbrainz_env: dict[str, str], state_dir: Path,
                                                    listenbrainz) -> None:
    result = run_cli("listenbrainz", "login", input=LB_TOKEN + "\n")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"signed in to ListenBrainz as {LB_USER}"
    saved = state_dir / "listenbrainz.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert json.loads(saved.read_text()) == {"username": LB_USER, "token": LB_TOKEN}
    assert listenbrainz.lb.requests()["by_endpoint"] == {"validate-token": 1}
    assert LB_TOKEN not in result.output


def test_a_wrong_token_is_not_kept(run_cli, listenbrainz_env: dict[str, str], state_dir: Path) -> None:
    result = run_cli("listenbrainz", "login", input="d00d-not-a-token\n")
    assert result.exit_code == 1
    assert "does not take this token" in result.stderr and "Traceback" not in result.output
    assert "d00d-not-a-token" not in result.output
    assert not (state_dir / "listenbrainz.json").exists()
    empty = run_cli("listenbrainz", "login", input="\n")
    assert empty.exit_code == 2 and "no token" in empty.stderr
    spaced = run_cli("listenbrainz", "login", input="two words\n")
    assert spaced.exit_code == 2 and "not a ListenBrainz user token" in spaced.stderr


def test_status_and_logout(run_cli, lb_signed_in: str, listenbrainz) -> None:
    listenbrainz.lb.add_listens(LB_USER, [{"listened_at": 1_700_000_000,
                                           "track_metadata": {"artist_name": "Rush", "track_name": "Xanadu"}}])
    result = run_cli("listenbrainz", "status", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["signed_in"], data["username"], data["token_valid"], data["listen_count"]) == (
        True, LB_USER, True, 1)
    assert data["targets"] == ["listenbrainz"] and data["pending"] == 0
    assert LB_TOKEN not in result.output
    text = run_cli("listenbrainz", "status")
    assert f"signed in as {LB_USER} (token valid)" in text.stdout and "listens go to: listenbrainz" in text.stdout
    listenbrainz.lb.revoke(LB_USER)
    revoked = run_cli("listenbrainz", "status")
    assert revoked.exit_code == 1 and "REVOKED" in revoked.stdout and "listenbrainz login" in revoked.stderr
    assert run_cli("listenbrainz", "logout").stdout.strip() == "signed out of ListenBrainz"
    assert run_cli("listenbrainz", "logout").stdout.strip() == "was not signed in to ListenBrainz"
    assert "signed out" in run_cli("listenbrainz", "status").stdout


def test_status_when_listenbrainz_is_down(run_cli, lb_signed_in: str, listenbrainz) -> None:
    listenbrainz.lb.add_fault({"endpoint": "*", "http": 503, "times": 5})
    result = run_cli("listenbrainz", "status")
    assert result.exit_code == 0
    assert "could not ask ListenBrainz" in result.stderr and "not checked" in result.stdout
