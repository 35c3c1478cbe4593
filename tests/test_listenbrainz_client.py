"""The ListenBrainz client against the local ListenBrainz: token check, submissions, failures classed as never sent
or maybe stored, the rate limit obeyed across processes, reads by time window, and secrets kept out of messages."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from config import load_settings
from errors import (
    ConfigError, ListenBrainzNotSent, ListenBrainzRefused, ListenBrainzTokenInvalid, ListenBrainzUnknown,
)
from listenbrainz.client import ListenBrainz
from listenbrainz.listens import entry_listen, problem, track_listen
from listenbrainz.ratelimit import RATE_FILE, RateLimit
from scrobble.rows import Entry
from tests.conftest import LB_TOKEN, LB_USER, listens
from tests.listenbrainz_emulator import RunningListenBrainz

NOW = int(time.time())


@pytest.fixture
def client(listenbrainz_env: dict[str, str]) -> ListenBrainz:
    lb = ListenBrainz(load_settings(), LB_TOKEN)
    yield lb
    lb.close()


def test_https_only_and_a_real_ca_file(listenbrainz_env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
                                       tmp_path: Path) -> None:
    monkeypatch.setenv("LISTENBRAINZ_API_URL", "http://127.0.0.1:1/")
    with pytest.raises(ConfigError, match="https://"):
        load_settings()
    monkeypatch.setenv("LISTENBRAINZ_API_URL", "https://example.invalid")
    monkeypatch.setenv("LISTENBRAINZ_CA_BUNDLE", str(tmp_path / "missing.pem"))
    with pytest.raises(ConfigError, match="LISTENBRAINZ_CA_BUNDLE"):
        load_settings()


def test_targets_from_environment_and_config(listenbrainz_env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text('{"targets": ["listenbrainz"]}')
    monkeypatch.setenv("RUSSFM_CONFIG", str(config))
    assert load_settings().targets == ("listenbrainz",)
    monkeypatch.setenv("RUSSFM_TARGETS", "lastfm, listenbrainz")
    assert load_settings().targets == ("lastfm", "listenbrainz")
    monkeypatch.setenv("RUSSFM_TARGETS", "lastfm,myspace")
    with pytest.raises(ConfigError, match="myspace"):
        load_settings()


def test_validate_token(client: ListenBrainz) -> None:
    assert client.validate_token(LB_TOKEN) == LB_USER
    assert client.validate_token("0000") is None


def test_submit_and_read_back(client: ListenBrainz, listenbrainz: RunningListenBrainz) -> None:
    client.submit("import", [track_listen("Rush", f"t{i}", "Hemispheres", NOW - 3000 + i * 300, 240, i + 1, 1)
                             for i in range(5)])
    stored = listens(listenbrainz)
    assert len(stored) == 5
    info = stored[0]["track_metadata"]["additional_info"]
    assert info["duration_ms"] == 240_000 and info["tracknumber"] == 1 and info["discnumber"] == 1
    assert info["submission_client"] == "russfm" and info["submission_client_version"]
    assert [x["listened_at"] for x in client.listens_between(LB_USER, NOW - 2700, NOW - 2100)] == [
        NOW - 2700, NOW - 2400, NOW - 2100]


def test_entry_listen_carries_disc_and_mbid() -> None:
    entry = Entry(id="1", artist="Rush", track="Tom Sawyer", album="Moving Pictures", album_artist="Rush",
                  timestamp=NOW - 600, duration=276, track_number=1, position="B2")
    listen = entry_listen(entry, "A1B2C3D4-0000-4000-8000-000000000001")
    info = listen["track_metadata"]["additional_info"]
    assert (info["discnumber"], info["tracknumber"], info["duration_ms"]) == (1, 1, 276_000)
    assert info["release_mbid"] == "a1b2c3d4-0000-4000-8000-000000000001"
    assert "release_mbid" not in entry_listen(entry, "not an mbid")["track_metadata"]["additional_info"]
    assert problem(track_listen("Rush", "x" * 11000, "", NOW - 60), NOW) is not None
    assert problem(track_listen("Rush", "Xanadu", "", 1_000_000_000), NOW) is not None


def test_refused_and_bad_token(client: ListenBrainz, listenbrainz_env: dict[str, str]) -> None:
    with pytest.raises(ListenBrainzRefused, match="too low"):
        client.submit("single", [track_listen("Rush", "Xanadu", "", 1_000_000_000)])
    revoked = ListenBrainz(load_settings(), "an-old-token")
    with pytest.raises(ListenBrainzTokenInvalid) as caught:
        revoked.submit("single", [track_listen("Rush", "Xanadu", "", NOW - 60)])
    assert "an-old-token" not in str(caught.value)


def test_5xx_and_dropped_replies_are_outcome_unknown(client: ListenBrainz, listenbrainz: RunningListenBrainz) -> None:
    listenbrainz.lb.add_fault({"endpoint": "submit-listens", "http": 503})
    with pytest.raises(ListenBrainzUnknown):
        client.submit("single", [track_listen("Rush", "Xanadu", "", NOW - 60)])
    listenbrainz.lb.add_fault({"endpoint": "submit-listens", "drop_after_commit": True})
    with pytest.raises(ListenBrainzUnknown) as caught:
        client.submit("single", [track_listen("Rush", "Xanadu", "", NOW - 60)])
    assert LB_TOKEN not in str(caught.value)
    assert len(listens(listenbrainz)) == 1


def test_nothing_listening_is_never_sent(listenbrainz_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("LISTENBRAINZ_API_URL", f"https://127.0.0.1:{port}/")
    with pytest.raises(ListenBrainzNotSent):
        ListenBrainz(load_settings(), LB_TOKEN).submit("single", [track_listen("Rush", "Xanadu", "", NOW - 60)])


def test_429_is_waited_out_and_shared_between_processes(listenbrainz_env: dict[str, str],
                                                        listenbrainz: RunningListenBrainz, state_dir: Path) -> None:
    listenbrainz.lb.configure(rate_limit=2, rate_window=2)
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(seconds)

    first = ListenBrainz(load_settings(), LB_TOKEN, sleep=sleep)
    for _ in range(2):
        first.listens_page(LB_USER, count=1)
    assert first.requests == 2
    # A second process, sharing the state folder, knows the window is spent and waits without asking.
    second = ListenBrainz(load_settings(), LB_TOKEN, sleep=sleep)
    second.listens_page(LB_USER, count=1)
    assert second.requests == 1 and slept and (state_dir / RATE_FILE).exists()
    assert listenbrainz.lb.requests()["by_endpoint"]["listens"] == 3
    assert not [e for e in listenbrainz.lb.requests()["log"] if e["status"] == 429]


def test_429_from_elsewhere_is_waited_out(client: ListenBrainz, listenbrainz: RunningListenBrainz) -> None:
    listenbrainz.lb.configure(rate_limit=1, rate_window=1)
    rate = RateLimit(None)
    client.rate = rate  # no shared record: the client only learns of the limit from the 429
    client.listens_page(LB_USER, count=1)
    client.rate = RateLimit(None)
    client.listens_page(LB_USER, count=1)
    statuses = [e["status"] for e in listenbrainz.lb.requests()["log"]]
    assert statuses[-1] == 200 and 429 in statuses


def test_window_reads_page_on_what_came_back(client: ListenBrainz, listenbrainz: RunningListenBrainz) -> None:
    listenbrainz.lb.configure(max_items_per_get=100)
    base = NOW - 40 * 86400
    same_second = [track_listen("Rush", f"s{i}", "", base + 5000) for i in range(30)]
    spread = [track_listen("Rush", f"t{i}", "", base + i * 60) for i in range(250)]
    listenbrainz.lb.add_listens(LB_USER, same_second + spread)
    found = client.listens_between(LB_USER, base, base + 249 * 60)
    assert len(found) == 280
    assert [x["listened_at"] for x in found] == sorted(x["listened_at"] for x in found)
