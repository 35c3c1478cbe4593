"""`serve` without a browser: the guard (Host, token, cookie, CSRF), bad input as one sentence, secrets kept out,
and the server as one more process beside `queue run` and terminal commands (nothing sent twice)."""

from __future__ import annotations

import html
import json
import re
import signal
import stat
import time
from collections import Counter
from pathlib import Path

import pytest
import requests

from collection.shelf import ShelfIndex, cover_path, search_shelf
from collection.store import Store
from scrobble.ledger import ACCEPTED, IN_FLIGHT, PENDING, Ledger
from tests.conftest import finish, scrobbles, spawn
from tests.page_server import Served

MAGIC = "a-kind-of-magic-453215"


@pytest.fixture
def env(lastfm_env, sample_dir):
    return lastfm_env | {"RUSSFM_DATA_DIR": str(sample_dir)}


@pytest.fixture
def served(env, signed_in):
    server = Served(env, "--speed", "30")
    yield server
    server.stop()


def one_sentence(response: requests.Response) -> str:
    found = re.search(r'<p class="message" id="message">(.*?)</p>', response.text, re.S)
    assert found, response.text[:300]
    text = html.unescape(found.group(1))
    assert "Traceback" not in response.text and "\n" not in text
    return text


def held(emulator) -> Counter:
    counts = Counter((s["artist"], s["track"], s["timestamp"]) for s in scrobbles(emulator))
    assert [k for k, n in counts.items() if n > 1] == [], "a scrobble reached Last.fm twice"
    return counts


def test_only_the_served_host_is_answered(served):
    assert requests.get(served.url("/"), timeout=10).status_code == 200
    assert requests.get(served.url("/").replace("127.0.0.1", "localhost"), timeout=10).status_code == 200
    refused = requests.get(served.url("/"), headers={"Host": "rebound.example:80"}, timeout=10)
    assert refused.status_code == 421 and 'name="csrf"' not in refused.text
    assert one_sentence(refused) == "This server answers only at the address `serve` printed."


def test_every_change_needs_the_csrf_token(served, state_dir: Path):
    for path, data in (("/queue/add", {"slug": MAGIC}), ("/play", {"slug": MAGIC}),
                       ("/playing/command", {"command": "stop"}), ("/finished", {"slug": MAGIC})):
        answer = requests.post(served.url(path), data=data, timeout=10)
        assert answer.status_code == 403, path
        assert "another site" in one_sentence(answer)
        answer = requests.post(served.url(path), data={**data, "csrf": "x" * 43}, timeout=10)
        assert answer.status_code == 403
    with Ledger(state_dir) as ledger:
        assert ledger.latest(10) == [] and ledger.jobs() == {}
    token = served.csrf()
    answer = requests.post(served.url("/queue/add"), data={"slug": MAGIC, "csrf": token}, timeout=10,
                           allow_redirects=False)
    assert answer.status_code == 303
    with Ledger(state_dir) as ledger:
        assert [j.albums for j in ledger.jobs().values()] == [[MAGIC]]


@pytest.mark.parametrize("method, path, data, status, words", [
    ("get", "/record/not-a-record", None, 404, "There is no record 'not-a-record' in the collection"),
    ("get", "/record/.hidden", None, 400, "That is not a record of the collection"),
    ("get", "/?q=" + "a" * 201, None, 400, "The search is too long: at most 200 characters"),
    ("get", f"/record/{MAGIC}?medium=laserdisc", None, 400, "Medium must be one of"),
    ("get", "/me?period=5y", None, 400, "Unknown period"),
    ("get", "/queue/add?year=19x7", None, 400, "Cannot read '19x7' as a year (try 1977, 1970-1979 or 1970s)"),
    ("get", "/queue/add", None, 400, "Choose records by artist, genre, format or year"),
    ("post", "/finished", {"slug": MAGIC, "finished_at": "next tuesday-ish"}, 400, "Cannot read 'next tuesday-ish' as a time"),
    ("post", "/finished", {"slug": MAGIC, "finished_at": "99999999999999999999"}, 400, None),
    ("post", "/finished", {"slug": MAGIC, "side": "Z"}, 400, "has no side Z"),
    ("post", "/finished", {"slug": MAGIC, "side": "<script>"}, 400, "Sides are letters such as A or B"),
    ("post", "/play", {"lastfm_artist": "Rush"}, 400, "needs its artist and its title"),
    ("post", "/play", {"slug": MAGIC, "started_at": "in 5m"}, 400, None),
    ("post", "/playing/command", {"command": "rewind"}, 400, "Unknown command"),
    ("post", "/playing/command", {"command": "stop"}, 400, "Nothing is playing along now"),
    ("post", "/queue/1/explode", {}, 400, "Unknown queue action"),
    ("post", "/queue/7/cancel", {}, 400, "No queue job '7'"),
    ("get", "/nowhere", None, 404, "There is no such page."),
    ("post", "/", {}, 405, None),
])
def test_bad_input_is_one_sentence_and_changes_nothing(served, state_dir, method, path, data, status, words):
    if method == "post":
        answer = requests.post(served.url(path), data={**(data or {}), "csrf": served.csrf()}, timeout=10)
    else:
        answer = requests.get(served.url(path), timeout=10)
    assert answer.status_code == status, answer.text[:300]
    text = one_sentence(answer)
    if words:
        assert words in text
    with Ledger(state_dir) as ledger:
        assert ledger.latest(10) == []


def test_beyond_this_machine_a_token_then_a_strict_cookie(env, signed_in, state_dir: Path):
    server = Served(env, "--host", "127.0.0.2")
    try:
        assert requests.get(server.url("/"), timeout=10).status_code == 403
        assert requests.get(server.url("/?token=guess" + "x" * 40), timeout=10).status_code == 403
        path = state_dir / "page.token"
        token = json.loads(path.read_text())["token"]
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        printed = [line for line in server.lines if token in line]
        assert printed == [f"open on your phone: {server.base}/?token={token}"]
        answer = requests.get(server.url(f"/me?token={token}"), allow_redirects=False, timeout=10)
        assert answer.status_code == 303 and answer.headers["Location"] == "/me"
        cookie = answer.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        session = requests.Session()
        session.get(server.url(f"/?token={token}"), timeout=10)
        page = session.get(server.url("/queue"), timeout=10)
        assert page.status_code == 200 and token not in page.text
        assert session.post(server.url("/queue/add"), data={"slug": MAGIC, "csrf": server.csrf(session)},
                            timeout=10).status_code == 200
    finally:
        code, out, err = server.stop()
    assert code == 0
    assert token not in err and "token=" not in err  # the log has paths without their query strings
    assert "GET /me 303" in err


def test_no_secret_in_pages(served, signed_in, env):
    session_key = signed_in
    pages = [requests.get(served.url(p), timeout=10).text for p in ("/", f"/record/{MAGIC}", "/me", "/queue",
                                                                      "/playing", "/search")]
    for secret in (session_key, env["LASTFM_API_SECRET"], env["LASTFM_API_KEY"]):
        assert not any(secret in page for page in pages)


def test_play_along_with_a_queue_run_and_a_terminal_command_at_once(served, env, emulator, state_dir: Path):
    """The page's session, cron's queue run and `scrobble album` share the ledger: nothing twice, nothing lost."""
    assert finish(spawn(env, "scrobble", "queue", "add", "2112-814617", "signals-33007098"))[0] == 0
    token = served.csrf()
    answer = requests.post(served.url("/play"), data={"slug": "12-gold-bars-volume-ii-1108230", "side": ["A", "B"],
                                                      "csrf": token}, timeout=30, allow_redirects=False)
    assert answer.status_code == 303
    busy = finish(spawn(env, "scrobble", "album", MAGIC, "--live"))
    assert busy[0] == 75 and "a play-along session is already running" in busy[2]
    runner = spawn(env, "scrobble", "queue", "run")
    terminal = spawn(env, "scrobble", "album", "channels-27259821", "--finished-at", "20h ago")
    assert finish(runner)[0] == 0
    assert finish(terminal)[0] == 0
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        state = requests.get(served.url("/playing/state.json"), timeout=10).json()
        if not state["running"]:
            break
        if state["phase"] == "turning":
            requests.post(served.url("/playing/command"), data={"command": "side", "csrf": token}, timeout=10)
        time.sleep(0.3)
    assert state["finished"]["exit_status"] == 0 and state["finished"]["accepted"] == 12
    assert finish(spawn(env, "scrobble", "queue", "run"))[0] == 0
    counts = held(emulator)
    with Ledger(state_dir) as ledger:
        rows = ledger.latest(1000)
    assert {e.status for e in rows} == {ACCEPTED}
    assert Counter((e.artist, e.track, e.timestamp) for e in rows) == counts


def test_ctrl_c_stops_a_session_as_it_stops_live(env, signed_in, emulator, state_dir: Path):
    server = Served(env, "--speed", "30")
    try:
        requests.post(server.url("/play"), data={"slug": "12-gold-bars-volume-ii-1108230", "csrf": server.csrf()},
                      timeout=30)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            events = requests.get(server.url("/playing/state.json"), timeout=10).json()["events"]
            if any(e["event"] == "scrobbled" for e in events):
                break
            time.sleep(0.2)
    finally:
        code, out, err = server.stop(signal.SIGINT)
    assert code == 0 and "stopping" in err and "Traceback" not in err
    with Ledger(state_dir) as ledger:
        rows = ledger.latest(100)
    assert rows and not [e for e in rows if e.status in (PENDING, IN_FLIGHT)]
    assert Counter((e.artist, e.track, e.timestamp) for e in rows) == held(emulator)
    assert not (state_dir / "live.lock").exists() or finish(spawn(env, "scrobble", "album", "channels-27259821",
                                                                  "--finished-at", "30h ago"))[0] == 0


def test_shelf_search_ranks_as_albums_show(sample_dir: Path):
    shelf = ShelfIndex(Store(sample_dir))
    assert [i.slug for i in search_shelf(shelf, "rush").items][:3] == [
        "2112-814617", "a-farewell-to-kings-6951528",
        "a-farewell-to-kings-40th-anniversary-limited-edition-super-deluxe-11255606"]
    assert [i.slug for i in search_shelf(shelf, "rush 2112").items] == ["2112-814617"]
    assert search_shelf(shelf, "kind mag").items[0].slug == MAGIC
    assert search_shelf(shelf, "zzzz").items == []
    assert search_shelf(shelf, "").matches == len(shelf)


def test_covers_come_from_the_collection_files_only(data_copy: Path):
    store = Store(data_copy)
    assert cover_path(store, MAGIC) is None
    image = data_copy / "album" / MAGIC / f"{MAGIC}-medium.jpg"
    image.write_bytes(b"\xff\xd8\xff\xd9")
    assert cover_path(store, MAGIC) == image
    assert cover_path(store, "../../etc") is None


def test_the_record_page_warns_before_anything_is_sent(env, signed_in, emulator, data_copy: Path):
    image = data_copy / "album" / MAGIC / f"{MAGIC}-small.jpg"
    image.write_bytes(b"\xff\xd8\xff\xe0cover\xff\xd9")
    env = env | {"RUSSFM_DATA_DIR": str(data_copy)}
    assert finish(spawn(env, "scrobble", "album", MAGIC, "--finished-at", "2m ago"))[0] == 0
    server = Served(env)
    try:
        page = requests.get(server.url(f"/record/{MAGIC}"), timeout=10).text
        assert "would overlap Queen — A Kind Of Magic" in html.unescape(page)
        assert f'src="/cover/{MAGIC}"' in page
        cover = requests.get(server.url(f"/cover/{MAGIC}"), timeout=10)
        assert cover.content == image.read_bytes() and cover.headers["Content-Type"] == "image/jpeg"
        shelf = requests.get(server.url("/?q=rush"), timeout=10).text
        assert "/cover/" not in shelf and "placeholder" in shelf  # no file, no image: nothing from elsewhere
        untimed = requests.get(server.url("/record/pills-n-thrills-and-bellyaches-38210451"), timeout=10).text
        assert "tracks without a known length: 3:00 each" in untimed
    finally:
        server.stop()


def test_the_address_as_a_qr_code(capsys):
    from cli.serve import _qr

    _qr("http://192.168.1.20:8808/?token=abc")
    drawn = capsys.readouterr().out
    assert len(drawn.splitlines()) > 10


@pytest.mark.parametrize("faults", [
    [{"drop_after_commit": True}, {"error": 11}],
    [{"http": 503}, {"stall": 0.4}, {"error": 16}],
])
def test_faults_during_a_page_session_beside_queue_run_leave_each_scrobble_once(served, env, emulator,
                                                                                  state_dir: Path, faults):
    assert finish(spawn(env, "scrobble", "queue", "add", "signals-33007098", "tails-38085483"))[0] == 0
    for n, fault in enumerate(faults):
        emulator.emulator.add_fault({"method": "track.scrobble", "times": 1, "after": n, **fault})
    token = served.csrf()
    requests.post(served.url("/play"), data={"slug": MAGIC, "csrf": token}, timeout=30)
    runner = spawn(env, "scrobble", "queue", "run")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = requests.get(served.url("/playing/state.json"), timeout=10).json()
        if not state["running"]:
            break
        if state["phase"] == "turning":
            requests.post(served.url("/playing/command"), data={"command": "side", "csrf": token}, timeout=10)
        time.sleep(0.3)
    finish(runner)
    time.sleep(6)  # past the request timeout and its margin: an unanswered batch may now be checked
    assert finish(spawn(env, "scrobble", "queue", "run"))[0] == 0
    counts = held(emulator)
    with Ledger(state_dir) as ledger:
        rows = ledger.latest(1000)
    assert {e.status for e in rows} == {ACCEPTED}
    assert Counter((e.artist, e.track, e.timestamp) for e in rows) == counts
    assert {"A Kind Of Magic", "A Dozen Red Roses For My Darling"} <= {track for _, track, _ in counts}


def test_not_signed_in_is_one_sentence(env, state_dir: Path):
    server = Served(env)
    try:
        answer = requests.post(server.url("/play"), data={"slug": MAGIC, "csrf": server.csrf()}, timeout=10)
        assert answer.status_code == 409
        assert one_sentence(answer) == "Not signed in to Last.fm: run `python main.py lastfm login`"
        me = requests.get(server.url("/me"), timeout=10).text
        assert "Not signed in. Signing in happens in a terminal" in me
    finally:
        server.stop()


def test_pause_and_resume_a_job_from_the_page(served, state_dir: Path):
    token = served.csrf()
    requests.post(served.url("/queue/add"), data={"artist": "rush", "year": "1977", "csrf": token}, timeout=30)
    with Ledger(state_dir) as ledger:
        (job,) = ledger.jobs().values()
        assert len(job.albums) == 2  # the two 1977 records of Rush, not 2112 (1976)
    for action, status in (("pause", "paused"), ("resume", "active")):
        answer = requests.post(served.url(f"/queue/{job.id}/{action}"), data={"csrf": token}, timeout=10)
        assert answer.status_code == 200 and f'data-status="{status}"' in answer.text
        with Ledger(state_dir) as ledger:
            assert ledger.job(job.id).status == status
