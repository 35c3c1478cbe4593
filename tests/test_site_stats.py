"""public/lastfm/stats.json: computed from the listening archive (or from Last.fm without one), every value
checked, written only when it changes; and lastfm-enhance's last_scrobbled from the whole history."""

from __future__ import annotations

import json
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.conftest import REPO, USER

DAY = 86400


@pytest.fixture
def site(tmp_path: Path) -> Path:
    target = tmp_path / "public"
    shutil.copytree(REPO / "public", target)
    return target


def plays(emulator, *items: tuple[int, str, str, str]) -> None:
    emulator.emulator.add_scrobbles(USER, [{"timestamp": ts, "artist": a, "track": t, "album": al}
                                           for ts, a, t, al in items])


def stats_of(site: Path) -> dict:
    return json.loads((site / "lastfm" / "stats.json").read_text())


def history(emulator) -> int:
    now = int(time.time())
    plays(emulator,
          (now - 2 * DAY, "Rush", "2112", "2112"), (now - 2 * DAY + 1300, "Rush", "Tears", "2112"),
          (now - 2 * DAY + 1600, "Rush", "Lessons", "2112"),
          (now - 20 * DAY, "Queen", "A Kind of Magic", "A Kind Of Magic"),
          (now - 20 * DAY + 300, "Queen", "One Vision", "A Kind Of Magic"),
          (now - 200 * DAY, "Someone", "Somewhere", "Elsewhere"),
          (now - 400 * DAY, "Rush", "Xanadu", "2112"))
    return now


def test_stats_from_the_archive(run_cli, lastfm_env, signed_in, emulator, site: Path):
    now = history(emulator)
    assert run_cli("--data-dir", str(site), "lastfm", "sync").exit_code == 0
    result = run_cli("--data-dir", str(site), "lastfm-enhance", "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["stats_changed"] is True
    stats = stats_of(site)
    assert set(stats) == {"user", "recent", "top_albums", "top_artists", "weekly", "collection"}
    assert stats["user"]["name"] == USER and stats["user"]["url"] == f"https://www.last.fm/user/{USER}"
    assert stats["user"]["playcount"] == 7 and stats["user"]["registered"].endswith("Z")
    recent = stats["recent"]
    assert [r["track"] for r in recent] == ["Lessons", "Tears", "2112", "One Vision", "A Kind of Magic",
                                           "Somewhere", "Xanadu"]
    assert recent[0] == {"artist": "Rush", "track": "Lessons", "album": "2112", "slug": "2112-814617",
                         "played_at": datetime.fromtimestamp(now - 2 * DAY + 1600, timezone.utc)
                         .strftime("%Y-%m-%dT%H:%M:%SZ")}
    assert recent[5]["slug"] is None
    assert stats["top_albums"]["7day"] == [{"artist": "Rush", "album": "2112", "plays": 3, "slug": "2112-814617"}]
    assert [a["plays"] for a in stats["top_albums"]["1month"]] == [3, 2]
    assert stats["top_albums"]["1month"][1]["slug"] == "a-kind-of-magic-453215"
    assert [a["album"] for a in stats["top_albums"]["12month"]] == ["2112", "A Kind Of Magic", "Elsewhere"]
    assert stats["top_albums"]["overall"][0]["plays"] == 4
    assert stats["top_artists"]["7day"] == [{"artist": "Rush", "plays": 3}]
    assert stats["top_artists"]["overall"] == [{"artist": "Rush", "plays": 4}, {"artist": "Queen", "plays": 2},
                                               {"artist": "Someone", "plays": 1}]
    weekly = stats["weekly"]
    this_week = datetime.fromtimestamp(now, timezone.utc).isocalendar()
    assert len(weekly) == 52 and weekly[-1]["week"] == f"{this_week[0]}-W{this_week[1]:02d}"
    assert sum(w["scrobbles"] for w in weekly) == 6  # the play 400 days ago is older than a year of weeks
    assert stats["collection"] == {"albums": 14, "played": 2, "played_12month": 2}


def test_written_once_and_unchanged_on_a_rerun(run_cli, lastfm_env, signed_in, emulator, site: Path):
    history(emulator)
    run_cli("--data-dir", str(site), "lastfm", "sync")
    run_cli("--data-dir", str(site), "lastfm-enhance")
    path = site / "lastfm" / "stats.json"
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    again = run_cli("--data-dir", str(site), "lastfm-enhance", "--json")
    assert json.loads(again.stdout)["stats_changed"] is False
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    assert path.read_text().endswith("}\n") and path.read_text().startswith('{\n  "user"')


def test_without_an_archive_the_charts_are_asked(run_cli, lastfm_env, signed_in, emulator, site: Path):
    history(emulator)
    result = run_cli("--data-dir", str(site), "lastfm-enhance", "--json")
    assert result.exit_code == 0
    stats = stats_of(site)
    assert stats["weekly"] == [] and stats["top_albums"]["7day"][0]["slug"] == "2112-814617"
    assert stats["collection"] == {"albums": 14, "played": 2, "played_12month": 2}
    counts = emulator.emulator.request_counts()["by_method"]
    assert counts["user.gettopartists"] == 4 and counts["user.getinfo"] == 1
    assert counts["user.gettopalbums"] == 1 + 3  # overall (shared with the play counts), then three periods
    assert counts["user.getrecenttracks"] == 2  # since the last run (last_scrobbled), and the last ten


def test_stats_can_be_turned_off(run_cli, lastfm_env, signed_in, emulator, site: Path, tmp_path: Path):
    assert run_cli("--data-dir", str(site), "lastfm-enhance", "--no-stats").exit_code == 0
    assert not (site / "lastfm" / "stats.json").exists()
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"lastfm": {"stats": False}}))
    assert run_cli("--data-dir", str(site), "--config", str(config), "lastfm-enhance").exit_code == 0
    assert not (site / "lastfm" / "stats.json").exists()


def test_hostile_names_and_profile_values(run_cli, lastfm_env, signed_in, emulator, site: Path):
    now = int(time.time())
    plays(emulator, (now - DAY, "Evil\u202e\u200bBand", "Track\x00One\n", "Album"),
          (now - DAY + 300, "<img src=x onerror=alert(1)>", "Markup", "Album"))
    emulator.emulator.add_fault({"method": "user.getinfo", "times": 1, "body":
                                 '<?xml version="1.0"?><lfm status="ok"><user><name>vinylfan</name>'
                                 '<url>javascript:alert(1)</url><playcount>-4</playcount>'
                                 '<registered unixtime="32503680000">x</registered></user></lfm>'})
    run_cli("--data-dir", str(site), "lastfm", "sync")
    assert run_cli("--data-dir", str(site), "lastfm-enhance").exit_code == 0
    stats = stats_of(site)
    assert stats["user"] == {"name": USER, "url": None, "playcount": None, "registered": None}
    assert [r["artist"] for r in stats["recent"]] == ["EvilBand"]  # the name holding markup is left out
    assert stats["recent"][0]["track"] == "TrackOne"


def test_last_scrobbled_comes_from_the_whole_history(run_cli, lastfm_env, signed_in, emulator, site: Path):
    """A record last played two years ago, long before the 14 days a run without an archive looks back."""
    long_ago = int(time.time()) - 730 * DAY
    plays(emulator, (long_ago, "Test Card", "Channel One", "Channels"))
    before = run_cli("--data-dir", str(site), "lastfm-enhance", "channels", "--json", "--no-stats")
    assert before.exit_code == 0
    block = json.loads((site / "album/channels-27259821/channels-27259821.json").read_text())["services"]
    assert "last_scrobbled" not in block.get("lastfm", {})
    assert run_cli("--data-dir", str(site), "lastfm-enhance", "channels", "--sync", "--no-stats").exit_code == 0
    block = json.loads((site / "album/channels-27259821/channels-27259821.json").read_text())["services"]
    assert block["lastfm"]["last_scrobbled"] == datetime.fromtimestamp(long_ago, timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
