"""The page in a real browser (Debian's headless Chromium through Selenium) at a phone's 360×740: find a record,
play along on a fast clock, pause, skip, turn the side, stop, queue and cancel, a second device, the token."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from scrobble.ledger import ACCEPTED, CANCELLED, Ledger
from tests.conftest import USER, finish, scrobbles, spawn
from tests.page_server import (
    DESKTOP,
    Served,
    both_widths,
    browser,
    close,
    need_browser,
    resize,
    screenshot,
    wait_for,
)

MAGIC = "a-kind-of-magic-453215"  # side A 4:19, side B 4:42
GOLD = "12-gold-bars-volume-ii-1108230"  # twelve tracks on sides A and B
SPEED = "30"  # a track of four minutes plays in eight seconds, timed hours in the past


@pytest.fixture
def served(lastfm_env, signed_in, emulator, sample_dir):
    need_browser()
    server = Served(lastfm_env | {"RUSSFM_DATA_DIR": str(sample_dir)}, "--speed", SPEED)
    yield server
    server.stop()


@pytest.fixture
def phone():
    web = browser()
    yield web
    close(web)


def by_id(web, name: str):
    return web.find_element("id", name)


def events(web) -> list[str]:
    return [e.text for e in web.find_elements("css selector", "#events li")]


def has_event(web, text: str) -> bool:
    return any(text in e for e in events(web))


def click(web, name: str) -> None:
    button = wait_for(lambda: by_id(web, name) if by_id(web, name).is_displayed() else None, what=f"button {name}")
    button.click()


def once_each(emulator) -> Counter:
    held = Counter((s["artist"], s["track"], s["timestamp"]) for s in scrobbles(emulator))
    assert [k for k, n in held.items() if n > 1] == [], "a scrobble reached Last.fm twice"
    return held


def test_find_open_and_play_along_with_pause_turn_and_skip(served, phone, emulator, state_dir: Path):
    phone.get(served.url("/"))
    assert phone.execute_script("return window.innerWidth") == 360
    box = by_id(phone, "q")
    box.send_keys("kind of mag")
    wait_for(lambda: "A Kind Of Magic" in by_id(phone, "results").text and
             len(phone.find_elements("css selector", "#results li")) == 1, what="the search as you type")
    screenshot(phone, "shelf-search")
    phone.find_element("css selector", "#results a").click()
    wait_for(lambda: by_id(phone, "album-title").text == "A Kind Of Magic", what="the record page")
    screenshot(phone, "record")
    click(phone, "play-along")
    wait_for(lambda: phone.current_url.endswith("/playing"), what="the Now playing page")
    wait_for(lambda: has_event(phone, "▶"), what="now playing")
    screenshot(phone, "playing")
    click(phone, "cmd-pause")
    wait_for(lambda: has_event(phone, "Paused"), what="the pause")
    assert by_id(phone, "cmd-resume").is_displayed() and not by_id(phone, "cmd-pause").is_displayed()
    screenshot(phone, "playing-paused")
    click(phone, "cmd-resume")
    wait_for(lambda: has_event(phone, "Resumed"), what="the resume")
    wait_for(lambda: has_event(phone, "✓ scrobbled"), what="side A's scrobble")
    wait_for(lambda: by_id(phone, "cmd-side").is_displayed(), what="the end of side A")
    assert "Side B is on" == by_id(phone, "cmd-side").text
    screenshot(phone, "playing-turn")
    click(phone, "cmd-side")
    wait_for(lambda: has_event(phone, "side B is on"), what="side B starting")
    click(phone, "cmd-skip")
    wait_for(lambda: by_id(phone, "finished").is_displayed(), what="the end of the session")
    assert has_event(phone, "Skipped")
    screenshot(phone, "playing-finished")
    held = once_each(emulator)
    titles = [track for (_, track, _) in held]
    assert titles.count("A Kind Of Magic") == 1
    with Ledger(state_dir) as ledger:
        accepted = [e for e in ledger.latest(100) if e.status == ACCEPTED]
    assert Counter((e.artist, e.track, e.timestamp) for e in accepted) == held


def test_a_second_device_sees_the_session_and_stops_it(served, phone, emulator, state_dir: Path):
    phone.get(served.url(f"/record/{GOLD}"))
    click(phone, "play-along")
    wait_for(lambda: has_event(phone, "✓ scrobbled"), what="a first scrobble")
    other = browser(DESKTOP)
    try:
        other.get(served.url("/playing"))
        wait_for(lambda: by_id(other, "now-album").text == by_id(phone, "now-album").text, what="the same session")
        wait_for(lambda: any("✓ scrobbled" in e.text for e in other.find_elements("css selector", "#events li")),
                 what="the second device's events")
        screenshot(other, "playing")
        click(other, "cmd-stop")
        wait_for(lambda: by_id(other, "finished").is_displayed(), what="the stop on the second device")
    finally:
        close(other)
    wait_for(lambda: has_event(phone, "Stopped") and by_id(phone, "finished").is_displayed(),
             what="the stop seen by the first device")
    assert not by_id(phone, "cmd-stop").is_displayed()
    held = once_each(emulator)
    with Ledger(state_dir) as ledger:
        rows = ledger.latest(100)
    assert {e.status for e in rows} <= {ACCEPTED}
    assert Counter((e.artist, e.track, e.timestamp) for e in rows) == held
    assert len(held) >= 1


def test_just_finished_then_queue_and_cancel(served, phone, emulator, lastfm_env, sample_dir, state_dir: Path):
    phone.get(served.url("/record/2112-814617"))
    by_id(phone, "just-finished-open").click()
    by_id(phone, "finished_at").send_keys("1h ago")
    click(phone, "just-finished")
    wait_for(lambda: "accepted" in by_id(phone, "summary").text, what="the scrobbles' outcome")
    screenshot(phone, "sent")
    assert by_id(phone, "summary").text.startswith("6 accepted, 0 ignored")
    assert len(once_each(emulator)) == 6
    phone.get(served.url(f"/record/{MAGIC}"))
    click(phone, "queue-it")
    wait_for(lambda: phone.current_url.endswith("/queue"), what="the queue page")
    job = wait_for(lambda: phone.find_element("css selector", ".job"), what="the job")
    assert job.get_attribute("data-status") == "active"
    screenshot(phone, "queue")
    job_id = job.get_attribute("id").split("-")[1]
    click(phone, f"cancel-{job_id}")
    wait_for(lambda: phone.find_element("css selector", ".job").get_attribute("data-status") == "cancelled",
             what="the cancelled job")
    code, out, err = finish(spawn(lastfm_env | {"RUSSFM_DATA_DIR": str(sample_dir)}, "scrobble", "queue", "run"))
    assert code == 0, err
    assert len(once_each(emulator)) == 6  # nothing of the cancelled job was sent
    with Ledger(state_dir) as ledger:
        assert {e.status for e in ledger.latest(100) if e.job} == {CANCELLED}


def test_queue_part_of_the_shelf_after_a_confirmation(served, phone, state_dir: Path):
    phone.get(served.url("/queue"))
    phone.find_element("name", "artist").send_keys("rush")
    click(phone, "preview")
    summary = wait_for(lambda: by_id(phone, "preview-summary").text, what="the confirmation")
    assert summary.startswith("3 records,") and "day at the daily cap" in summary
    screenshot(phone, "queue-add")
    click(phone, "confirm-queue")
    wait_for(lambda: phone.current_url.endswith("/queue"), what="the queue page")
    with Ledger(state_dir) as ledger:
        jobs = list(ledger.jobs().values())
    assert len(jobs) == 1 and len(jobs[0].albums) == 3


MOVING_PICTURES = {"artist": "Rush", "name": "Moving Pictures", "listeners": 612000, "tracks": [
    {"name": "Tom Sawyer", "duration": 276}, {"name": "Red Barchetta", "duration": 370},
    {"name": "YYZ", "duration": 266}]}


def test_a_record_found_on_last_fm_is_scrobbled_from_the_result(served, phone, emulator):
    emulator.emulator.load_catalogue({"albums": [MOVING_PICTURES]})
    phone.get(served.url("/search"))
    by_id(phone, "lq").send_keys("moving pict\n")
    wait_for(lambda: "Moving Pictures" in by_id(phone, "found").text, what="the Last.fm result")
    screenshot(phone, "search")
    phone.find_element("css selector", "#found form[action='/finished'] button").click()
    wait_for(lambda: by_id(phone, "summary").text.startswith("3 accepted"), what="the scrobbles")
    assert sorted(s["track"] for s in scrobbles(emulator)) == ["Red Barchetta", "Tom Sawyer", "YYZ"]


def test_every_page_at_both_widths(served, phone, lastfm_env, sample_dir):
    env = lastfm_env | {"RUSSFM_DATA_DIR": str(sample_dir), "LASTFM_USERNAME": USER}
    assert finish(spawn(env, "scrobble", "album", "2112-814617", "--finished-at", "2h ago"))[0] == 0
    assert finish(spawn(env, "scrobble", "album", "a-kind-of-magic-453215", "--finished-at", "1h ago"))[0] == 0
    assert finish(spawn(env, "lastfm", "sync"))[0] == 0
    for path, name in (("/", "shelf"), ("/record/a-farewell-to-kings-40th-anniversary-limited-edition-super-deluxe-"
                                         "11255606", "record-box"), ("/playing", "playing-none"), ("/queue", "queue-empty"),
                       ("/me", "me"), ("/record/nothing-here", "not-found")):
        both_widths(phone, served.url(path), name)
        resize(phone, 320, 640)  # the narrowest phone the page is made for: nothing wider than the screen
        phone.get(served.url(path))
        assert phone.execute_script("return document.documentElement.scrollWidth") <= 320, path
        small = phone.execute_script(
            "return [...document.querySelectorAll('button, .button, .chip, nav.tabs a, .record-link')]"
            ".filter(e => e.offsetParent !== null && e.getBoundingClientRect().height < 44)"
            ".map(e => e.textContent.trim())")
        assert small == [], (path, "touch targets under 44 px")
        resize(phone, 360, 740)
    phone.get(served.url("/record/nothing-here"))
    assert by_id(phone, "message").text == "There is no record 'nothing-here' in the collection"
    phone.get(served.url("/me"))
    assert USER in by_id(phone, "user").text


def test_beyond_this_machine_the_token_is_needed(lastfm_env, signed_in, sample_dir, phone):
    server = Served(lastfm_env | {"RUSSFM_DATA_DIR": str(sample_dir)}, "--host", "127.0.0.2")
    try:
        phone.get(server.url("/"))
        assert "needs its access token" in by_id(phone, "message").text
        screenshot(phone, "token-refused")
        token_address = next(line.split(": ", 1)[1] for line in server.lines if line.startswith("open on your phone"))
        phone.get(token_address)
        wait_for(lambda: by_id(phone, "q"), what="the shelf once the token is given")
        assert "token" not in phone.current_url
        phone.get(server.url("/queue"))
        assert by_id(phone, "cap")  # the cookie lets the phone in from now on
    finally:
        code, out, err = server.stop()
    assert code == 0
