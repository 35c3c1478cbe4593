"""The offline planner, through the CLI for every sample album and through build_plan for the rules."""

from __future__ import annotations

import calendar
import json
import time
from datetime import datetime
from pathlib import Path

import pytest

from collection.lookup import load_album
from collection.store import Store
from errors import PlanError, UsageError
from scrobble.planner import PlanOptions, build_plan, parse_track_spec
from scrobble.timeparse import parse_span, parse_time
from tests.conftest import sample_slugs

SOURCES = {"discogs", "twin", "spotify", "lastfm", "default"}


def dry_run(run_cli, data_dir: Path, *args: str) -> dict:
    result = run_cli("--data-dir", str(data_dir), "scrobble", "album", *args, "--dry-run", "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("slug", sample_slugs())
def test_dry_run_plan_for_every_sample_album(run_cli, sample_dir: Path, slug: str):
    finished = int(time.time()) - 3600
    plan = dry_run(run_cli, sample_dir, slug, "--finished-at", str(finished), "--include-short")
    raw = json.loads((sample_dir / "album" / slug / f"{slug}.json").read_text())
    scrobbles = plan["scrobbles"]
    assert plan["slug"] == slug and plan["finished_at"] == finished
    assert plan["album"] == (raw.get("release_name_discogs") or raw["title"])
    stamps = [s["timestamp"] for s in scrobbles]
    assert stamps == sorted(set(stamps)), "timestamps strictly increasing"
    for before, after in zip(scrobbles, scrobbles[1:]):
        assert after["timestamp"] - before["timestamp"] == before["duration"]
    assert stamps[0] == plan["started_at"]
    assert scrobbles[-1]["timestamp"] + scrobbles[-1]["duration"] == finished
    assert {s["duration_source"] for s in scrobbles} <= SOURCES
    assert all(s["duration"] > 0 for s in scrobbles)
    headings = [r for r in raw["tracklist"] if r.get("type") == "heading"]
    sub_tracks = [r for r in raw["tracklist"] if r.get("parent")]
    if not headings and not sub_tracks and len(set(r["position"][:2] for r in raw["tracklist"] if r["position"].startswith(("CD", "BD")))) == 0:
        typeless = [r for r in raw["tracklist"] if not r["position"] and not r["duration"] and not r.get("type")]
        positioned = any(r["position"] for r in raw["tracklist"])
        assert len(scrobbles) == len(raw["tracklist"]) - (len(typeless) if positioned else 0)
    keys = {"artist", "track", "album", "album_artist", "timestamp", "duration", "track_number",
            "position", "duration_source", "medium", "disc", "side"}
    assert all(set(s) == keys for s in scrobbles)


def test_headings_and_index_in_the_plan(run_cli, sample_dir: Path):
    plan = dry_run(run_cli, sample_dir, "12-gold-bars-volume-ii-1108230", "--finished-at", "10m ago")
    titles = [s["track"] for s in plan["scrobbles"]]
    assert len(titles) == 24 and "12 Gold Bars Volume One" not in titles
    rush = dry_run(run_cli, sample_dir, "2112-814617", "--finished-at", "10m ago")
    first = rush["scrobbles"][0]
    assert (first["track"], first["duration"], first["position"]) == ("2112", 1236, "A-I")
    split = dry_run(run_cli, sample_dir, "2112-814617", "--finished-at", "10m ago", "--split-index")
    assert [s["track"] for s in split["scrobbles"][:2]] == ["Overture", "The Temples Of Syrinx"]


def test_compilation_album_artist_is_various_artists(run_cli, sample_dir: Path):
    plan = dry_run(run_cli, sample_dir, "90s-alternative-collected-28043898")
    assert {s["album_artist"] for s in plan["scrobbles"]} == {"Various Artists"}
    assert plan["scrobbles"][0]["artist"] == "Weezer"


@pytest.fixture(scope="module")
def rush(sample_dir: Path):
    return load_album(Store(sample_dir), "2112-814617")


NOW = 1_800_000_000


def test_short_tracks_are_left_out_but_keep_their_time(sample_dir: Path):
    album = load_album(Store(sample_dir), "3-d-the-catalogue-10349797")
    plan = build_plan(album, PlanOptions(disc=2, finished_at=NOW - 60), NOW)
    titles = [s.track for s in plan.scrobbles]
    assert "Intermission" not in titles and "Geiger Counter" in titles  # 0:25 out, 0:31 in
    assert [t for t, _ in plan.skipped] == ["Intermission"]
    radioland = next(s for s in plan.scrobbles if s.track == "Radioland")
    news = next(s for s in plan.scrobbles if s.track == "News")
    assert news.timestamp - radioland.timestamp == 355 + 25
    with_short = build_plan(album, PlanOptions(disc=2, finished_at=NOW - 60, include_short=True), NOW)
    assert len(with_short.scrobbles) == len(plan.scrobbles) + 1


def test_side_gap_only_between_sides(rush):
    plan = build_plan(rush, PlanOptions(started_at=NOW - 7200, side_gap=40), NOW)
    first, second, third = plan.scrobbles[:3]
    assert second.timestamp - first.timestamp == 1236 + 40
    assert third.timestamp - second.timestamp == 210
    assert plan.finished_at - plan.started_at == sum(s.duration for s in plan.scrobbles) + 40


def test_selection_options(rush):
    side_b = build_plan(rush, PlanOptions(sides=["b"], finished_at=NOW), NOW)
    assert [s.position for s in side_b.scrobbles] == ["B1", "B2", "B3", "B4", "B5"]
    picked = build_plan(rush, PlanOptions(tracks="1,3-4", finished_at=NOW), NOW)
    assert [s.track_number for s in picked.scrobbles] == [1, 3, 4]
    assert build_plan(rush, PlanOptions(disc=1, finished_at=NOW), NOW).scrobbles[0].track == "2112"


@pytest.mark.parametrize("options, error, message", [
    (PlanOptions(sides=["C"]), UsageError, "no side C"),
    (PlanOptions(disc=2), UsageError, "no disc 2"),
    (PlanOptions(tracks="7"), UsageError, "outside tracks 1-6"),
    (PlanOptions(tracks="2-x"), UsageError, "cannot read"),
    (PlanOptions(finished_at=NOW + 3600), PlanError, "in the future"),
    (PlanOptions(started_at=NOW - 600), PlanError, "in the future"),
    (PlanOptions(started_at=NOW - 14 * 86400 + 3600), PlanError, "14 days"),
    (PlanOptions(finished_at=NOW - 13 * 86400 - 12 * 3600 + 600), PlanError, "12 hours"),
    (PlanOptions(side_gap=-1), UsageError, "0 to 86400"),
    (PlanOptions(side_gap=999999999999), UsageError, "0 to 86400"),
    (PlanOptions(started_at=NOW - 9000, finished_at=NOW), UsageError, "not both"),
])
def test_impossible_plans_are_refused(rush, options, error, message):
    with pytest.raises(error, match=message):
        build_plan(rush, options, NOW)


def test_oldest_allowed_plan_passes(rush):
    plan = build_plan(rush, PlanOptions(started_at=NOW - 13 * 86400 - 11 * 3600), NOW)
    assert plan.started_at == NOW - 13 * 86400 - 11 * 3600


def test_track_spec():
    assert parse_track_spec("1-3, 5", 6) == {1, 2, 3, 5}
    with pytest.raises(UsageError):
        parse_track_spec("3-1", 6)
    with pytest.raises(UsageError):
        parse_track_spec("0", 6)


def test_time_parsing():
    now = 1_800_000_000.7
    assert parse_time("now", now) == 1_800_000_000
    assert parse_time("45m ago", now) == 1_800_000_000 - 2700
    assert parse_time("1h30m ago", now) == 1_800_000_000 - 5400
    assert parse_time("2 hours ago", now) == 1_800_000_000 - 7200
    assert parse_time("1700000000", now) == 1_700_000_000
    assert parse_time("2027-01-15T08:00:00Z", now) == calendar.timegm((2027, 1, 15, 8, 0, 0))
    assert parse_time("2027-01-15T08:00:00+02:00", now) == calendar.timegm((2027, 1, 15, 6, 0, 0))
    clock = parse_time("07:30", now)
    assert 0 <= now - clock < 86400 + 60
    assert datetime.fromtimestamp(clock).strftime("%H:%M") == "07:30"
    assert parse_span("1h30m") == 5400 and parse_span("90") == 90
    for bad in ("yesterday-ish", "25:00", "12:61", "soon ago"):
        with pytest.raises(UsageError):
            parse_time(bad, now)
