"""The listening archive: copying the history (first, incremental, full, resumed), matching plays to records,
`lastfm recent` and `albums pick`."""

from __future__ import annotations

import json
import math
import signal
import sqlite3
import stat
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from app import App
from collection.lookup import load_album
from collection.matching import Matcher
from collection.store import Store
from config import Settings
from errors import StateError, UsageError
from history.archive import ARCHIVE_FILE, Archive
from history.pick import NothingToPick, pick_record
from history.recent import recent_plays
from history.sync import PAGE_SIZE, SYNC_LOCK, sync
from scrobble.queue import Filters
from statefiles import file_lock
from tests.conftest import USER, finish, spawn

DAY = 86400
AFTK = "a-farewell-to-kings-6951528"
COMPILATION = "90s-alternative-collected-28043898"
MBID_2112 = "01befdc5-0af8-4720-a21c-0f24209f5e16"


@pytest.fixture
def history_env(lastfm_env: dict[str, str], sample_dir: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The emulator, the sample collection, and whose history to read."""
    env = {**lastfm_env, "LASTFM_USERNAME": USER, "RUSSFM_DATA_DIR": str(sample_dir)}
    monkeypatch.setenv("LASTFM_USERNAME", USER)
    monkeypatch.setenv("RUSSFM_DATA_DIR", str(sample_dir))
    return env


def synced(run_cli, *args: str) -> tuple[int, dict | None, str]:
    result = run_cli("lastfm", "sync", *args, "--json")
    data = json.loads(result.stdout) if result.stdout.startswith("{") else None
    return result.exit_code, data, result.stderr


def archived(state_dir: Path) -> list[tuple[int, str, str, str]]:
    with sqlite3.connect(state_dir / ARCHIVE_FILE) as db:
        return db.execute("SELECT timestamp, artist, track, album FROM scrobbles ORDER BY 1, 2, 3, 4").fetchall()


def on_lastfm(emulator) -> list[tuple[int, str, str, str]]:
    return sorted((s["timestamp"], s["artist"], s["track"], s["album"])
                  for s in emulator.emulator.scrobbles_of(USER))


def recent_requests(emulator) -> int:
    return emulator.emulator.request_counts()["by_method"].get("user.getrecenttracks", 0)


def pages_after(left: int) -> int:
    """Requests a copy makes for `left` scrobbles after its first page: each later page starts with the
    second the one before ended on, and the copy ends on a page that is not full."""
    return left // (PAGE_SIZE - 1) + 1


def add(emulator, *plays: tuple[int, str, str, str]) -> None:
    emulator.emulator.add_scrobbles(USER, [{"timestamp": ts, "artist": artist, "track": track, "album": album}
                                           for ts, artist, track, album in plays])


# --- copying ------------------------------------------------------------------------------------

def test_first_sync_copies_everything_then_nothing_new_costs_one_request(run_cli, history_env, emulator,
                                                                          state_dir: Path):
    count = 1234
    emulator.emulator.generate_history(USER, count, seed=3)
    code, data, _ = synced(run_cli)
    assert code == 0 and data is not None
    assert data["new"] == data["total"] == count and data["resumed"] is False
    pages = math.ceil(count / PAGE_SIZE)
    assert pages <= data["requests"] <= pages + 2
    assert recent_requests(emulator) == data["requests"]
    assert archived(state_dir) == on_lastfm(emulator)
    assert stat.S_IMODE((state_dir / ARCHIVE_FILE).stat().st_mode) == 0o600

    before = recent_requests(emulator)
    code, again, _ = synced(run_cli)
    assert code == 0 and again is not None
    assert again["requests"] == 1 and recent_requests(emulator) == before + 1
    assert again["new"] == 0 and again["total"] == count


def test_paging_never_trusts_total_pages_beyond_the_total(run_cli, history_env, emulator, state_dir: Path):
    now = int(time.time())
    tracks = "".join(f'<track><artist mbid="">Rush</artist><name>T{i}</name><album mbid="">2112</album>'
                     f'<date uts="{now - 100 * i}">x</date></track>' for i in range(1, 4))
    emulator.emulator.add_fault({"method": "user.getrecenttracks", "times": 1, "body":
                                 f'<?xml version="1.0" encoding="UTF-8"?><lfm status="ok"><recenttracks user="{USER}" '
                                 f'page="1" perPage="200" totalPages="1000" total="3">{tracks}</recenttracks></lfm>'})
    code, data, _ = synced(run_cli)
    assert code == 0 and data is not None
    assert data["requests"] == 2  # the page claiming 1,000 pages, then the catch-up to now
    assert [row[2] for row in archived(state_dir)] == ["T3", "T2", "T1"]


def test_incremental_sync_new_scrobbles_and_late_arrivals(run_cli, history_env, signed_in, emulator,
                                                          state_dir: Path):
    now = int(time.time())
    emulator.emulator.generate_history(USER, 500, until=now - 3600, seed=4)
    assert synced(run_cli)[0] == 0
    newest = archived(state_dir)[-1][0]

    new = [(now - 60 * i, "Rush", f"New {i}", "2112") for i in range(1, 31)]
    late_within_a_day = (newest - 3 * 3600, "Rush", "Late", "Signals")
    add(emulator, *new, late_within_a_day)
    code, data, _ = synced(run_cli)
    assert code == 0 and data is not None and data["new"] == 31 and data["requests"] == 1
    assert archived(state_dir) == on_lastfm(emulator)

    # Another player's scrobble five days late is beyond the day of overlap…
    five_days_back = (now - 5 * DAY, "Queen", "One Vision", "A Kind Of Magic")
    add(emulator, five_days_back)
    assert synced(run_cli)[1]["new"] == 0  # type: ignore[index]
    assert five_days_back not in archived(state_dir)
    # …but what this tool sends into the past (as the queue does) is reached for.
    sent = run_cli("scrobble", "track", "--artist", "Rush", "--track", "Xanadu", "--album", "A Farewell To Kings",
                   "--at", "6d ago", "--duration", "660")
    assert sent.exit_code == 0, sent.stderr
    code, data, _ = synced(run_cli)
    assert code == 0 and data is not None and data["new"] == 2
    assert archived(state_dir) == on_lastfm(emulator)


def test_full_sync_alone_drops_scrobbles_deleted_on_lastfm(run_cli, history_env, emulator, state_dir: Path):
    emulator.emulator.generate_history(USER, 450, seed=5)
    assert synced(run_cli)[0] == 0
    history = emulator.emulator.history(USER)
    deleted = history[100]
    del history[100]  # removed on the Last.fm website
    gone = (deleted.timestamp, deleted.artist, deleted.track, deleted.album)
    assert synced(run_cli)[0] == 0
    assert gone in archived(state_dir)
    code, data, _ = synced(run_cli, "--full")
    assert code == 0 and data is not None and data["full"] is True
    assert data["total"] == 449 and data["new"] == 0
    assert gone not in archived(state_dir)
    assert archived(state_dir) == on_lastfm(emulator)


def test_private_and_unknown_users_are_one_line(run_cli, history_env, emulator, monkeypatch):
    emulator.emulator.configure(private_users=[USER])
    for args in (("lastfm", "sync"), ("lastfm", "recent")):
        result = run_cli(*args)
        assert result.exit_code == 1
        assert result.stderr.count("\n") == 1 and "private" in result.stderr and "error 17" in result.stderr
    monkeypatch.setenv("LASTFM_USERNAME", "nobody-at-all")
    result = run_cli("lastfm", "sync")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "no user 'nobody-at-all'" in result.stderr


def test_an_outage_mid_copy_exits_75_and_the_next_run_resumes(run_cli, history_env, emulator, state_dir: Path):
    emulator.emulator.generate_history(USER, 1000, seed=6)
    # Page 3 fails on every attempt the client makes.
    emulator.emulator.add_fault({"method": "user.getrecenttracks", "times": 4, "after": 2, "http": 503})
    code, data, err = synced(run_cli)
    assert code == 75 and data is not None and data["stopped"] and "resumes" in err
    assert data["total"] == 2 * PAGE_SIZE - 1  # the second page starts with the second the first ended on
    with Archive(state_dir / ARCHIVE_FILE) as archive:
        assert not archive.complete and archive.window().pages_done == 2  # type: ignore[union-attr]
    stats = run_cli("lastfm", "stats")
    assert stats.exit_code == 1 and "unfinished" in stats.stderr

    before = recent_requests(emulator)
    code, data, _ = synced(run_cli)
    assert code == 0 and data is not None and data["resumed"] is True
    assert data["requests"] == pages_after(1000 - 399) + 1  # the pages left, then the catch-up to now
    assert recent_requests(emulator) - before == data["requests"]
    assert archived(state_dir) == on_lastfm(emulator)


@pytest.mark.slow
def test_killed_between_pages_resumes_with_nothing_missing_or_doubled(run_cli, history_env, emulator,
                                                                      state_dir: Path):
    emulator.emulator.generate_history(USER, 3000, seed=7)
    emulator.emulator.add_fault({"method": "user.getrecenttracks", "times": 100, "stall": 0.3})
    process = spawn(history_env, "lastfm", "sync", "--json")
    deadline = time.monotonic() + 60
    done = 0
    while done < 3 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
        try:
            found = Archive.existing(state_dir)
        except StateError:  # caught while the schema is being written
            continue
        if found is not None:
            with found as archive:
                window = archive.window()
                done = window.pages_done if window else 0
    busy = run_cli("lastfm", "sync")  # a second sync while the first copies
    assert busy.exit_code == 75
    assert f"`lastfm sync` (pid {process.pid})" in busy.stderr
    process.send_signal(signal.SIGKILL)
    finish(process)
    copied = len(archived(state_dir))
    assert 3 * (PAGE_SIZE - 1) < copied < 3000, copied  # the kill fell in the middle of the copy
    with Archive(state_dir / ARCHIVE_FILE) as archive:
        done = archive.window().pages_done  # type: ignore[union-attr]

    emulator.emulator.clear_faults()
    code, data, _ = synced(run_cli)
    assert code == 0 and data is not None and data["resumed"] is True
    assert data["total"] == 3000 and data["new"] == 3000 - copied
    assert data["requests"] == pages_after(3000 - copied) + 1  # the pages left, then the catch-up to now
    assert archived(state_dir) == on_lastfm(emulator)


def test_sync_lock_names_its_holder(run_cli, history_env, emulator, state_dir: Path):
    with file_lock(state_dir / SYNC_LOCK, "lastfm stats"):
        result = run_cli("lastfm", "sync")
    assert result.exit_code == 75 and "`lastfm stats` (pid" in result.stderr


def test_the_archive_belongs_to_one_user(run_cli, history_env, emulator, monkeypatch, state_dir: Path):
    add(emulator, (int(time.time()) - 60, "Rush", "Xanadu", "A Farewell To Kings"))
    emulator.emulator.add_scrobbles("someone", [{"timestamp": int(time.time()) - 90, "artist": "Queen",
                                                 "track": "One Vision", "album": "A Kind Of Magic"}])
    assert synced(run_cli)[0] == 0
    monkeypatch.setenv("LASTFM_USERNAME", "someone")
    code, _, err = synced(run_cli)
    assert code == 1 and f"holds {USER}'s scrobbles" in err
    code, data, _ = synced(run_cli, "--full")
    assert code == 0 and data is not None and data["total"] == 1
    assert [row[1] for row in archived(state_dir)] == ["Queen"]


# --- matching -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def matcher(sample_dir: Path) -> Matcher:
    return Matcher.from_store(Store(sample_dir))


@pytest.mark.parametrize("artist, album, mbid, slug", [
    ("Rush", "2112", "", "2112-814617"),
    ("rush", "2112 (Remastered 2012)", "", "2112-814617"),
    ("Rush", "Twenty-One Twelve", MBID_2112, "2112-814617"),  # the album mbid alone
    ("Someone", "Anything", MBID_2112.upper(), "2112-814617"),
    ("Rush", "A Farewell to Kings", "", AFTK),  # the plain LP, not the box sharing its key
    ("Voivod", "Synchro Anarchy", "", "synchro-anarchy-22112023"),
    ("Lisa Loeb and Nine Stories", "Tails", "", "tails-38085483"),
    ("The Beatles", "A Hard Day's Night [Deluxe Edition]", "", "a-hard-days-night-6344227"),
    ("Eels", "90's Alternative Collected", "", COMPILATION),  # a track artist of the compilation
    ("Various Artists", "90s Alternative Collected", "", COMPILATION),
    ("Rush", "90's Alternative Collected", "", None),  # not on the compilation
    ("Rush", "", "", None),
    ("Rush", "Moving Pictures", "", None),
])
def test_plays_match_the_sample_albums(matcher: Matcher, artist, album, mbid, slug):
    assert matcher.slug_of({"artist": artist, "album": album, "album_mbid": mbid}) == slug


def test_every_sample_album_matches_its_own_name(matcher: Matcher, sample_dir: Path):
    store = Store(sample_dir)
    for slug in (p.name for p in (sample_dir / "album").iterdir()):
        album = load_album(store, slug)
        found = matcher.slug_of({"artist": album.artist, "album": album.title, "album_mbid": ""})
        assert found == slug or (slug.startswith("a-farewell-to-kings-40th") and found == AFTK)


def test_slugs_stored_at_sync_and_matched_again_when_the_collection_changes(run_cli, history_env, emulator,
                                                                             data_copy: Path, monkeypatch):
    monkeypatch.setenv("RUSSFM_DATA_DIR", str(data_copy))
    emulator.emulator.load_catalogue({"albums": [{"artist": "Rush", "name": "2112 Live", "mbid": MBID_2112}]})
    now = int(time.time())
    add(emulator, (now - 300, "Rush", "Overture", "2112 Live"), (now - 200, "Eels", "Novocaine for the Soul",
                                                                 "90's Alternative Collected"),
        (now - 100, "Nobody", "Nothing", "Nowhere"))
    assert synced(run_cli)[0] == 0
    top = json.loads(run_cli("lastfm", "stats", "--json").stdout)["top_albums"]
    assert {a["album"]: a["slug"] for a in top} == {
        "2112": "2112-814617", "90's Alternative Collected": COMPILATION, "Nowhere": None}

    # The stored keys serve while the index is unchanged: the album files are not read again.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Matcher, "from_store", classmethod(lambda cls, store: pytest.fail("matched again")))
        assert run_cli("lastfm", "stats").exit_code == 0

    index = data_copy / "collection.json"
    entries = [e for e in json.loads(index.read_text()) if "2112-814617" not in e["uri_release"]]
    index.write_text(json.dumps(entries, indent=2))
    stats = json.loads(run_cli("lastfm", "stats", "--json").stdout)
    assert {a["album"]: a["slug"] for a in stats["top_albums"]}["2112 Live"] is None
    assert stats["collection"]["records"] == 31 and stats["collection"]["played_ever"] == 1


# --- recent ---------------------------------------------------------------------------------------

def test_recent_is_one_request_with_now_playing_marked(run_cli, history_env, emulator):
    emulator.emulator.generate_history(USER, 300, until=time.time() - 600, seed=8)
    add(emulator, (int(time.time()) - 120, "Queen", "One Vision", "A Kind Of Magic"))
    emulator.emulator.state.now_playing[USER] = (
        {"artist": "Rush", "track": "Xanadu", "album": "A Farewell To Kings"}, emulator.emulator.clock())
    before = emulator.emulator.request_counts()["total"]
    result = run_cli("lastfm", "recent", "--limit", "5", "--json")
    assert result.exit_code == 0
    assert emulator.emulator.request_counts()["total"] == before + 1
    plays = json.loads(result.stdout)["plays"]
    assert len(plays) == 6
    assert plays[0]["now_playing"] and plays[0]["timestamp"] is None and plays[0]["slug"] == AFTK
    assert plays[1]["track"] == "One Vision" and plays[1]["slug"] == "a-kind-of-magic-453215"
    assert not any(p["now_playing"] for p in plays[1:])
    text = run_cli("lastfm", "recent", "--limit", "1").stdout.splitlines()
    assert text[0].startswith("now playing") and f"[{AFTK}]" in text[0]
    assert "One Vision" in text[1] and len(text) == 2
    for bad in ("0", "201"):
        assert run_cli("lastfm", "recent", "--limit", bad).exit_code == 2


def test_recent_core(history_env, emulator, settings: Settings, sample_dir: Path):
    add(emulator, (int(time.time()) - 60, "Eels", "Novocaine for the Soul", "90's Alternative Collected"),
        (int(time.time()) - 30, "Nobody", "Nothing", ""))
    app = App(replace(settings, data_dir=sample_dir, username=USER), "test")
    try:
        result = recent_plays(app, 5)
        with pytest.raises(UsageError):
            recent_plays(app, 0)
    finally:
        app.close()
    assert result.requests == 1
    assert [(p.track, p.slug, p.now_playing) for p in result.plays] == [
        ("Nothing", None, False), ("Novocaine for the Soul", COMPILATION, False)]


# --- pick -------------------------------------------------------------------------------------------

def test_pick_without_an_archive(run_cli, history_env, state_dir: Path):
    result = run_cli("albums", "pick", "--artist", "rush", "--seed", "1", "--json")
    assert result.exit_code == 0
    chosen = json.loads(result.stdout)
    assert chosen["artist"] == "Rush" and chosen["candidates"] == 3 and chosen["plays"] is None
    assert "no listening history" in chosen["reasons"][0]
    for flag in (["--unplayed"], ["--not-since", "6mo"]):
        result = run_cli("albums", "pick", *flag)
        assert result.exit_code == 1 and "run `python main.py lastfm sync`" in result.stderr
    assert run_cli("albums", "pick", "--not-since", "soon").exit_code == 2


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time is UTC, so that dates and hours can be written down by hand."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def played(history_env, emulator, settings: Settings, sample_dir: Path, utc) -> Iterator[App]:
    """An archive of a few plays of Rush and Queen records, and an App whose clock stands still."""
    now = 1_790_164_800
    add(emulator,
        *[(now - 250 * DAY + 300 * i, "Rush", f"2112 part {i}", "2112") for i in range(3)],
        (now - 2 * DAY, "Rush", "Xanadu", "A Farewell To Kings"),
        (now - 20 * DAY, "Queen", "One Vision", "A Kind Of Magic"))
    app = App(replace(settings, data_dir=sample_dir, username=USER), "test", clock=lambda: now)
    sync(app)
    yield app
    app.close()


def test_pick_filters_and_reasons(played: App):
    rush = Filters(artist="rush")
    picked = {pick_record(played, rush, not_since=180 * DAY, seed=seed).record.slug: seed for seed in range(30)}
    assert set(picked) == {"2112-814617", "a-farewell-to-kings-40th-anniversary-limited-edition-super-deluxe-11255606"}
    old = pick_record(played, rush, not_since=180 * DAY, seed=picked["2112-814617"])
    assert old.candidates == 2 and old.record.plays == 1  # three tracks of one listen
    assert old.reasons == ["last played 2026-01-16, 8 months ago", "played 1 time"]
    never = pick_record(played, rush, unplayed=True, seed=0)
    assert never.record.slug.startswith("a-farewell-to-kings-40th") and never.reasons == ["never played"]
    assert pick_record(played, rush, not_since=365 * DAY).record.slug == never.record.slug
    any_record = pick_record(played, Filters(), seed=1)
    assert any_record.candidates == 32
    with pytest.raises(NothingToPick, match="1 played since"):
        pick_record(played, Filters(artist="queen"), not_since=30 * DAY)
    with pytest.raises(NothingToPick, match="matches these filters"):
        pick_record(played, Filters(artist="nobody at all"))


def test_pick_through_the_command_line(run_cli, played: App):
    result = run_cli("albums", "pick", "--artist", "queen", "--not-since", "2w", "--json", "--seed", "3")
    assert result.exit_code == 0
    chosen = json.loads(result.stdout)
    assert chosen["slug"] == "a-kind-of-magic-453215" and chosen["plays"] == 1
    assert chosen["reasons"][1] == "played 1 time" and chosen["reasons"][0].startswith("last played ")
    text = run_cli("albums", "pick", "--artist", "rush", "--unplayed")
    assert text.exit_code == 0
    assert "[a-farewell-to-kings-40th" in text.stdout and "never played (one of 1 record)" in text.stdout
    empty = run_cli("albums", "pick", "--artist", "queen", "--unplayed")
    assert empty.exit_code == 1 and empty.stderr.startswith("error: nothing to pick")
    assert empty.stderr.count("\n") == 1
