"""`lastfm stats`: every figure checked against a small history worked out by hand, with the clock and the time
zone fixed; the command line for rendering, exit statuses and requests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from app import App
from config import Settings
from history.stats import history_stats
from history.sync import sync
from tests.conftest import USER
from tests.test_history import COMPILATION, history_env, utc  # noqa: F401 - fixtures

DAY = 86400
NOW = 1_790_164_800  # Wednesday 2026-09-23 12:00 UTC
HISTORY = [
    *[(NOW - DAY + 600 * i, "Rush", f"2112 part {i}", "2112") for i in range(3)],  # Tue 12:00-12:20
    *[(NOW - 2 * DAY + 300 * i, "Nobody", f"Nothing {i}", "Nothing") for i in range(4)],  # Mon 12:00-12:15
    *[(NOW - 10 * DAY + 9 * 3600 + 400 * i, "Rush", f"Kings {i}", "A Farewell To Kings") for i in range(2)],  # Sun 21h
    (NOW - 40 * DAY, "Queen", "One Vision", "A Kind Of Magic"),  # Fri 12:00
    (NOW - 100 * DAY, "Eels", "Novocaine for the Soul", "90's Alternative Collected"),  # Mon 12:00
    (NOW - 400 * DAY, "Test Card", "Channel 1", "Channels"),  # Tue 12:00, over a year ago
]


@pytest.fixture
def app(history_env, emulator, settings: Settings, sample_dir: Path, utc) -> Iterator[App]:  # noqa: F811
    emulator.emulator.add_scrobbles(USER, [{"timestamp": ts, "artist": artist, "track": track, "album": album}
                                           for ts, artist, track, album in HISTORY])
    app = App(replace(settings, data_dir=sample_dir, username=USER), "test", clock=lambda: NOW)
    assert sync(app).total == len(HISTORY)
    yield app
    app.close()


@pytest.mark.parametrize("period, scrobbles, per_day", [
    ("7d", 7, 1.0), ("1mo", 9, 0.3), ("3mo", 10, 0.11), ("6mo", 11, 0.06), ("12mo", 11, 0.03), ("all", 12, 0.03),
])
def test_scrobbles_in_each_period(app: App, period, scrobbles, per_day):
    info = history_stats(app, period).to_json()
    assert info["scrobbles"] == scrobbles and info["per_day"] == per_day


def test_the_last_month_by_hand(app: App):
    info = history_stats(app, "1mo").to_json()
    assert info["since"] == "2026-08-24T12:00:00Z" and info["until"] == "2026-09-23T12:00:00Z"
    assert info["top_albums"] == [
        {"artist": "Nobody", "album": "Nothing", "plays": 4, "slug": None},
        {"artist": "Rush", "album": "2112", "plays": 3, "slug": "2112-814617"},
        {"artist": "Rush", "album": "A Farewell To Kings", "plays": 2, "slug": "a-farewell-to-kings-6951528"},
    ]
    assert info["top_artists"] == [{"artist": "Rush", "plays": 5}, {"artist": "Nobody", "plays": 4}]
    assert info["weekdays"] == {"Mon": 4, "Tue": 3, "Wed": 0, "Thu": 0, "Fri": 0, "Sat": 0, "Sun": 2}
    assert info["hours"] == [0] * 12 + [7] + [0] * 8 + [2] + [0] * 2


def test_weeks_collection_and_unplayed_records_by_hand(app: App):
    info = history_stats(app, "all").to_json()
    weeks = info["weeks"]
    assert len(weeks) == 26 and weeks[-1]["start"] == "2026-09-16T12:00:01Z"
    assert {i: w["scrobbles"] for i, w in enumerate(weeks) if w["scrobbles"]} == {11: 1, 20: 1, 24: 2, 25: 7}
    assert info["collection"] == {"records": 32, "played_ever": 5, "played_last_12_months": 4}
    assert [(r["slug"], r["plays"]) for r in info["longest_unplayed"]] == [
        ("channels-27259821", 1), (COMPILATION, 1), ("a-kind-of-magic-453215", 1),
        ("a-farewell-to-kings-6951528", 2), ("2112-814617", 3)]
    assert info["longest_unplayed"][0]["last_played"] == "2025-08-19T12:00:00Z"
    assert info["never_played"]["count"] == 27 and len(info["never_played"]["records"]) == 10
    assert info["top_albums"][3:] == [
        {"artist": "Various", "album": "90's Alternative Collected", "plays": 1, "slug": COMPILATION},
        {"artist": "Queen", "album": "A Kind Of Magic", "plays": 1, "slug": "a-kind-of-magic-453215"},
        {"artist": "Test Card", "album": "Channels", "plays": 1, "slug": "channels-27259821"}]
    assert [a["artist"] for a in info["top_artists"]] == ["Rush", "Nobody", "Eels", "Queen", "Test Card"]
    assert info["user"] == USER


def test_the_command_line_reads_the_archive_only(run_cli, app: App, emulator):
    before = emulator.emulator.request_counts()["total"]
    text = run_cli("lastfm", "stats", "--period", "all")
    assert text.exit_code == 0
    assert f"{USER}, all time (2025-08-19 to " in text.stdout and ": 12 scrobbles" in text.stdout
    assert "Nobody — Nothing\n" in text.stdout and "Rush — 2112  [2112-814617]" in text.stdout
    assert "5 of 32 (15%) records played" in text.stdout and "Never played: 27 records" in text.stdout
    assert "  Mon ███" in text.stdout and "  12  ███" in text.stdout
    data = json.loads(run_cli("lastfm", "stats", "--json", "--period", "12mo").stdout)
    assert data["collection"]["played_ever"] == 5 and data["sync"] is None
    assert emulator.emulator.request_counts()["total"] == before
    assert run_cli("lastfm", "stats", "--period", "2y").exit_code == 2


def test_without_an_archive_one_line_and_exit_1(run_cli, history_env):  # noqa: F811
    result = run_cli("lastfm", "stats")
    assert result.exit_code == 1
    assert result.stderr == "error: no listening history yet: run `python main.py lastfm sync` first\n"


def test_sync_first(run_cli, history_env, emulator):  # noqa: F811
    emulator.emulator.add_scrobbles(USER, [{"timestamp": NOW, "artist": "Rush", "track": "2112", "album": "2112"}])
    result = run_cli("lastfm", "stats", "--sync", "--json", "--period", "all")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["sync"]["new"] == 1 and data["scrobbles"] == 1
    assert data["top_albums"][0]["slug"] == "2112-814617"
    text = run_cli("lastfm", "stats", "--sync")
    assert text.exit_code == 0 and "0 new scrobbles" in text.stderr
