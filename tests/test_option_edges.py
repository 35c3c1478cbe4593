"""The queue's and the browser's newer options under odd input: filters beside --all or named albums, and empty
values, through the CLI. Each is refused in one line, or does what it says, and nothing is queued by mistake."""

from __future__ import annotations

import json

import pytest

from tests.conftest import finish, spawn
from tests.test_bad_input import one_line_error


def _queued(run_cli) -> list[dict]:
    result = run_cli("scrobble", "queue", "status", "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)["jobs"]


def test_all_with_a_filter_queues_only_what_the_filter_leaves(run_cli, lastfm_env):
    listed = json.loads(run_cli("albums", "list", "--year", "1970s", "--json").stdout)
    added = json.loads(run_cli("scrobble", "queue", "add", "--all", "--year", "1970s", "--json").stdout)
    assert 0 < added["albums"] == listed["count"] < listed["total"]
    rush = json.loads(run_cli("scrobble", "queue", "add", "--all", "--artist", "rush", "--force", "--json").stdout)
    assert rush["albums"] == json.loads(run_cli("albums", "list", "--artist", "rush", "--json").stdout)["count"]


@pytest.mark.parametrize("args, words", [
    (["--all", "--year", "seventies"], ["as a year"]),
    (["--all", "--year", ""], ["as a year"]),
    (["--artist", ""], ["--artist is empty"]),
    (["--all", "--genre", " "], ["--genre is empty"]),
    (["2112-814617", "--year", "1976"], ["not both"]),
    (["2112-814617", "--artist", "rush"], ["not both"]),
    (["2112-814617", "--hours", ""], ["listening hours"]),
    (["2112-814617", "--hours", "0-24"], ["whole day", "leave --hours out"]),
    (["2112-814617", "--hours", "25-01"], ["from 0 to 24"]),
    (["2112-814617", "--gap", ""], ["length of time"]),
    (["2112-814617", "--hours", "18-01", "--gap", ""], ["length of time"]),
])
def test_bad_filters_and_empty_values_queue_nothing(run_cli, lastfm_env, args, words):
    one_line_error(run_cli("scrobble", "queue", "add", *args), 2, *words)
    assert _queued(run_cli) == []


@pytest.mark.parametrize("args, words", [
    (["--year", ""], ["as a year"]),
    (["--artist", ""], ["--artist is empty"]),
    (["--format", " "], ["--format is empty"]),
])
def test_an_empty_filter_is_refused_by_albums_list(run_cli, lastfm_env, args, words):
    one_line_error(run_cli("albums", "list", *args), 2, *words)


def test_an_empty_age_is_refused_by_albums_pick(run_cli, lastfm_env):
    one_line_error(run_cli("albums", "pick", "--not-since", ""), 2, "length of time")


def test_a_cleared_job_says_it_was_cleared(run_cli, signed_in, emulator):
    assert run_cli("scrobble", "queue", "add", "2112-814617").exit_code == 0
    assert json.loads(run_cli("scrobble", "queue", "run", "--json").stdout)["accepted"] == 6
    assert run_cli("scrobble", "queue", "clear").stdout == "cleared 1 finished job (1)\n"
    for command in ("status", "pause", "resume", "cancel"):
        one_line_error(run_cli("scrobble", "queue", command, "1"), 1, "no queue job '1' any more", "cleared")
    one_line_error(run_cli("scrobble", "queue", "status", "2"), 1, "no queue job '2'")


def test_listening_hours_keep_the_zone_they_were_chosen_in(lastfm_env, signed_in, emulator, state_dir):
    """Cron often runs in another zone than the shell (a server on UTC, TZ set in the user's profile): the
    hours chosen at 6 pm in Tokyo stay 6 pm in Tokyo when a `queue run` in UTC places the albums."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from scrobble.ledger import Ledger

    code, out, err = finish(spawn(lastfm_env | {"TZ": "Asia/Tokyo"}, "scrobble", "queue", "add", "2112-814617",
                                  "a-kind-of-magic-453215", "--hours", "18-01", "--json"))
    assert code == 0, err
    assert json.loads(finish(spawn(lastfm_env | {"TZ": "UTC"}, "scrobble", "queue", "status", "--json"))[1]
                      )["jobs"][0]["hours_zone"] == "Asia/Tokyo"
    code, out, err = finish(spawn(lastfm_env | {"TZ": "UTC"}, "scrobble", "queue", "run", "--json"))
    assert code == 0, err
    assert json.loads(out)["accepted"] == 8
    with Ledger(state_dir) as ledger:
        rows = ledger.latest(100)
    tokyo = ZoneInfo("Asia/Tokyo")
    for row in rows:
        for moment in (row.timestamp, row.timestamp + row.duration - 1):
            hour = datetime.fromtimestamp(moment, tokyo).hour
            assert hour >= 18 or hour < 1, (row.track, datetime.fromtimestamp(moment, tokyo))
