"""The local ListenBrainz holds to the real service's rules: auth, listen types and limits, errors, duplicates,
rate limits, reads by time window, faults, and the standalone command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import LB_TOKEN, LB_USER, REPO, listens
from tests.listenbrainz_emulator import RunningListenBrainz

NOW = int(time.time())


def listen(at: int, track: str = "Xanadu", artist: str = "Rush", **info: object) -> dict:
    meta: dict = {"artist_name": artist, "track_name": track, "release_name": "A Farewell to Kings"}
    if info:
        meta["additional_info"] = info
    return {"listened_at": at, "track_metadata": meta}


def submit(lb: RunningListenBrainz, listen_type: str, payload: list, token: str | None = LB_TOKEN,
           raw: bytes | None = None) -> requests.Response:
    headers = {"Authorization": f"Token {token}"} if token else {}
    body = raw if raw is not None else json.dumps({"listen_type": listen_type, "payload": payload}).encode()
    return requests.post(lb.url + "1/submit-listens", data=body, headers=headers, verify=lb.ca_bundle, timeout=10)


def read(lb: RunningListenBrainz, **params: object) -> requests.Response:
    return requests.get(lb.url + f"1/user/{LB_USER}/listens", params=params, verify=lb.ca_bundle, timeout=10)


def test_validate_token(listenbrainz: RunningListenBrainz) -> None:
    good = requests.get(listenbrainz.url + "1/validate-token", headers={"Authorization": f"Token {LB_TOKEN}"},
                        verify=listenbrainz.ca_bundle, timeout=10).json()
    assert good == {"code": 200, "message": "Token valid.", "valid": True, "user_name": LB_USER}
    bad = requests.get(listenbrainz.url + "1/validate-token", headers={"Authorization": "Token nope"},
                       verify=listenbrainz.ca_bundle, timeout=10).json()
    assert bad["valid"] is False and "user_name" not in bad


def test_writes_need_a_valid_token(listenbrainz: RunningListenBrainz) -> None:
    none = submit(listenbrainz, "single", [listen(NOW - 300)], token=None)
    wrong = submit(listenbrainz, "single", [listen(NOW - 300)], token="not-a-token")
    assert (none.status_code, wrong.status_code) == (401, 401)
    assert none.json()["code"] == 401 and "Authorization header" in none.json()["error"]
    assert wrong.json() == {"code": 401, "error": "Invalid authorization token."}
    assert listens(listenbrainz) == []


def test_the_three_listen_types(listenbrainz: RunningListenBrainz) -> None:
    assert submit(listenbrainz, "single", [listen(NOW - 600)]).json() == {"status": "ok"}
    assert submit(listenbrainz, "import", [listen(NOW - 900 - i * 300, f"t{i}") for i in range(3)]).ok
    now_playing = {"track_metadata": {"artist_name": "Rush", "track_name": "Cygnus X-1",
                                      "additional_info": {"duration_ms": 620000}}}
    assert submit(listenbrainz, "playing_now", [now_playing]).ok
    assert len(listens(listenbrainz)) == 4  # playing_now is not a listen
    shown = requests.get(listenbrainz.url + f"_emulator/playing-now?user={LB_USER}", verify=listenbrainz.ca_bundle,
                         timeout=10).json()
    assert shown["track_metadata"]["track_name"] == "Cygnus X-1"


@pytest.mark.parametrize("listen_type, payload, words", [
    ("single", [listen(NOW - 600), listen(NOW - 300)], "more than one listen"),
    ("playing_now", [listen(NOW - 600)], "must not contain listened_at"),
    ("import", [], "does not contain any listens"),
    ("import", [listen(NOW - 10 * 86400 + i) for i in range(1001)], "more than 1000 listens"),
    ("import", [listen(1_000_000_000)], "too low"),
    ("import", [listen(NOW + 2 * 3600)], "too high"),
    ("import", [{"listened_at": NOW - 60, "track_metadata": {"artist_name": "Rush"}}], "track_name"),
    ("import", [{"listened_at": "yesterday", "track_metadata": {"artist_name": "A", "track_name": "B"}}], "int value"),
    ("import", [{**listen(NOW - 60), "extra": 1}], "top level keys"),
    ("import", [listen(NOW - 60, release_mbid="not-a-uuid")], "release_mbid MBID format invalid"),
    ("import", [listen(NOW - 60, duration_ms=-5)], "duration_ms"),
    ("import", [listen(NOW - 60, track="x" * 10300)], "may not be larger than 10240 bytes"),
    ("jukebox", [listen(NOW - 60)], "listen_type"),
])
def test_bad_payloads_get_400_with_the_real_error_shape(listenbrainz: RunningListenBrainz, listen_type: str,
                                                        payload: list, words: str) -> None:
    answer = submit(listenbrainz, listen_type, payload)
    assert answer.status_code == 400
    body = answer.json()
    assert set(body) == {"code", "error"} and body["code"] == 400 and words in body["error"]
    assert listens(listenbrainz) == []


def test_a_request_over_10240000_bytes_is_refused(listenbrainz: RunningListenBrainz) -> None:
    item = listen(NOW - 86400, track="y" * 9600)
    body = json.dumps({"listen_type": "import", "payload": [item] * 1000}) + " " * 800_000
    assert len(body) > 10_240_000
    answer = submit(listenbrainz, "import", [], raw=body.encode())
    assert answer.status_code == 400 and "too large" in answer.json()["error"]


def test_not_json_is_refused(listenbrainz: RunningListenBrainz) -> None:
    answer = submit(listenbrainz, "import", [], raw=b"listen_type=single")
    assert answer.status_code == 400 and answer.json()["code"] == 400


def test_same_time_and_track_is_stored_once(listenbrainz: RunningListenBrainz) -> None:
    first = [listen(NOW - 3000), listen(NOW - 2000, "Closer to the Heart")]
    assert submit(listenbrainz, "import", first).ok
    assert submit(listenbrainz, "import", first + [listen(NOW - 3000, "Cinderella Man")]).ok
    stored = listens(listenbrainz)
    assert sorted((s["listened_at"], s["track_metadata"]["track_name"]) for s in stored) == [
        (NOW - 3000, "Cinderella Man"), (NOW - 3000, "Xanadu"), (NOW - 2000, "Closer to the Heart")]
    assert len(stored) == 3


def test_rate_limit_headers_and_429(listenbrainz: RunningListenBrainz) -> None:
    listenbrainz.lb.configure(rate_limit=3, rate_window=60)
    answers = [read(listenbrainz) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers[:3]] == ["2", "1", "0"]
    assert all(a.headers["X-RateLimit-Limit"] == "3" for a in answers)
    assert 0 < int(answers[3].headers["X-RateLimit-Reset-In"]) <= 60
    assert answers[3].json()["code"] == 429


def test_reads_by_time_window(listenbrainz: RunningListenBrainz) -> None:
    base = NOW - 30 * 86400
    listenbrainz.lb.add_listens(LB_USER, [listen(base + i * 100, f"t{i}") for i in range(50)])
    newest = read(listenbrainz, count=5).json()["payload"]
    assert [x["listened_at"] for x in newest["listens"]] == [base + i * 100 for i in (49, 48, 47, 46, 45)]
    after = read(listenbrainz, min_ts=base + 1000, count=3).json()["payload"]["listens"]
    assert [x["listened_at"] for x in after] == [base + 1300, base + 1200, base + 1100]  # the oldest after, newest first
    before = read(listenbrainz, max_ts=base + 1000, count=2).json()["payload"]["listens"]
    assert [x["listened_at"] for x in before] == [base + 900, base + 800]
    assert read(listenbrainz).json()["payload"]["count"] == 25  # the default count
    both = read(listenbrainz, min_ts=base, max_ts=base + 500)
    assert both.status_code == 400 and "not both" in both.json()["error"]
    listenbrainz.lb.configure(max_items_per_get=100)
    assert read(listenbrainz, count=1000).json()["payload"]["count"] == 50  # fewer than asked: page on what came
    listenbrainz.lb.add_listens(LB_USER, [listen(base + 10_000 + i, f"u{i}") for i in range(200)])
    assert read(listenbrainz, count=1000).json()["payload"]["count"] == 100
    missing = requests.get(listenbrainz.url + "1/user/nobody/listens", verify=listenbrainz.ca_bundle, timeout=10)
    assert missing.status_code == 404 and missing.json()["code"] == 404


def test_fault_5xx_stores_nothing(listenbrainz: RunningListenBrainz) -> None:
    listenbrainz.lb.add_fault({"endpoint": "submit-listens", "http": 502})
    assert submit(listenbrainz, "single", [listen(NOW - 600)]).status_code == 502
    assert listens(listenbrainz) == []
    assert submit(listenbrainz, "single", [listen(NOW - 600)]).ok


def test_fault_reply_dropped_after_storing(listenbrainz: RunningListenBrainz) -> None:
    listenbrainz.lb.add_fault({"endpoint": "submit-listens", "drop_after_commit": True})
    with pytest.raises(requests.ConnectionError):
        submit(listenbrainz, "import", [listen(NOW - 600), listen(NOW - 300, "Madrigal")])
    assert len(listens(listenbrainz)) == 2


def test_fault_stall_stores_after_the_client_gave_up(listenbrainz: RunningListenBrainz) -> None:
    listenbrainz.lb.add_fault({"endpoint": "submit-listens", "stall": 1.0})
    with pytest.raises(requests.Timeout):
        requests.post(listenbrainz.url + "1/submit-listens", headers={"Authorization": f"Token {LB_TOKEN}"},
                      json={"listen_type": "single", "payload": [listen(NOW - 600)]}, verify=listenbrainz.ca_bundle,
                      timeout=0.3)
    deadline = time.monotonic() + 10
    while not listens(listenbrainz) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(listens(listenbrainz)) == 1


def test_inspection_endpoints(listenbrainz: RunningListenBrainz) -> None:
    base = listenbrainz.url + "_emulator/"
    ca = listenbrainz.ca_bundle
    assert requests.post(base + "listens", json={"user": LB_USER, "listens": [listen(NOW - 500)]}, verify=ca,
                         timeout=10).json() == {"added": 1}
    shown = requests.get(base + f"listens?user={LB_USER}", verify=ca, timeout=10).json()
    assert shown[0]["listened_at"] == NOW - 500 and shown[0]["track_metadata"]["artist_name"] == "Rush"
    read(listenbrainz)
    counted = requests.get(base + "requests", verify=ca, timeout=10).json()
    assert counted["by_endpoint"] == {"listens": 1} and counted["total"] == 1
    assert requests.post(base + "fault", json={"endpoint": "nowhere", "http": 500}, verify=ca,
                         timeout=10).status_code == 400
    assert requests.post(base + "fault", json={"endpoint": "listens", "http": 503}, verify=ca, timeout=10).ok
    assert read(listenbrainz).status_code == 503
    assert requests.post(base + "reset", verify=ca, timeout=10).ok
    assert requests.get(base + f"listens?user={LB_USER}", verify=ca, timeout=10).json() == []


def test_runs_standalone(tmp_path) -> None:
    process = subprocess.Popen([sys.executable, "-m", "tests.listenbrainz_emulator", "--port", "0",
                                "--user", "alice:tok-alice"], cwd=REPO, stdout=subprocess.PIPE, text=True,
                               env=os.environ | {"PYTHONPATH": str(REPO)})
    try:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
        assert set(info) >= {"url", "ca_bundle", "user", "token"}
        assert (info["user"], info["token"]) == ("alice", "tok-alice") and info["url"].startswith("https://127.0.0.1:")
        printed = [process.stdout.readline().rstrip("\n") for _ in range(4)]
        assert printed[1:] == [f"export LISTENBRAINZ_API_URL={info['url']}",
                               f"export LISTENBRAINZ_CA_BUNDLE={info['ca_bundle']}", "export LISTENBRAINZ_TOKEN=tok-alice"]
        env_file = Path(info["ca_bundle"]).parent / "listenbrainz.env"
        assert env_file.stat().st_mode & 0o777 == 0o600 and env_file.read_text().splitlines() == printed[1:]
        answer = requests.get(info["url"] + "1/validate-token", headers={"Authorization": "Token tok-alice"},
                              verify=info["ca_bundle"], timeout=10).json()
        assert answer["user_name"] == "alice"
    finally:
        process.terminate()
        process.wait(timeout=10)
