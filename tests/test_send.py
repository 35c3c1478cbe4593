"""Scrobbling through the CLI against the emulator: what Last.fm holds afterwards is what was played, once."""

from __future__ import annotations

import json
import os
import time
from collections import Counter

import pytest

from scrobble.sender import SETTLE_MARGIN
from tests.conftest import USER, scrobbles


def send_album(run_cli, *args: str):
    result = run_cli("scrobble", "album", *args, "--json")
    data = json.loads(result.stdout) if result.stdout.strip().startswith("{") else None
    return result, data


def plan_of(run_cli, *args: str) -> dict:
    return json.loads(run_cli("scrobble", "album", *args, "--dry-run", "--json").stdout)


def test_clean_album_scrobble(run_cli, signed_in, emulator):
    plan = plan_of(run_cli, "2112-814617", "--finished-at", "20m ago")
    result, data = send_album(run_cli, "2112-814617", "--finished-at", str(plan["finished_at"]))
    assert result.exit_code == 0, result.stderr
    assert data["accepted"] == 6 and data["ignored"] == 0 and data["requests"] == 1
    held = scrobbles(emulator)
    assert [(s["artist"], s["track"], s["timestamp"]) for s in held] == [
        (s["artist"], s["track"], s["timestamp"]) for s in plan["scrobbles"]]
    first = held[0]
    assert (first["album"], first["album_artist"], first["track_number"], first["duration"]) == ("2112", "Rush", "1", "1236")
    assert emulator.emulator.request_counts()["by_method"] == {"track.scrobble": 1}


def test_compilation_keeps_album_artist(run_cli, signed_in, emulator):
    result, data = send_album(run_cli, "90s alternative", "--finished-at", "2h ago")
    assert result.exit_code == 0 and data["accepted"] == 26
    held = scrobbles(emulator)
    assert {s["album_artist"] for s in held} == {"Various Artists"}  # Last.fm's name for compilations
    assert len({s["artist"] for s in held}) == 26
    # 26 tracks without durations: one album.getInfo (not found), then one scrobble request.
    assert emulator.emulator.request_counts()["by_method"] == {"album.getinfo": 1, "track.scrobble": 1}


def test_big_album_goes_in_batches_of_50(run_cli, signed_in, emulator):
    result, data = send_album(run_cli, "3-d-the-catalogue-10349797", "--finished-at", "1h ago", "--include-short")
    assert result.exit_code == 0 and data["accepted"] == 69
    assert emulator.emulator.request_counts()["by_method"]["track.scrobble"] == 2
    assert len(scrobbles(emulator)) == 69


def test_human_output_shows_each_track(run_cli, signed_in, emulator):
    emulator.emulator.load_catalogue({"corrections": {"artist": {"Rush": "RUSH"}}})
    result = run_cli("scrobble", "album", "2112", "--finished-at", "5m ago")
    assert result.exit_code == 0
    assert result.stdout.count("accepted  ") == 6
    assert "Last.fm corrected artist → RUSH" in result.stdout
    assert "6 accepted, 0 ignored; 1 request to Last.fm" in result.stdout


def test_rerun_is_refused_as_overlap_and_force_sends_nothing_twice(run_cli, signed_in, emulator):
    finished = int(time.time()) - 1800
    args = ("2112-814617", "--finished-at", str(finished))
    assert send_album(run_cli, *args)[0].exit_code == 0
    same, data = send_album(run_cli, *args)  # the very same listening: already there, nothing sent
    assert same.exit_code == 0 and data["accepted"] == 0 and len(data["already_scrobbled"]) == 6
    again = run_cli("scrobble", "album", "2112-814617", "--finished-at", str(finished + 300))
    assert again.exit_code == 1
    assert "overlaps Rush — 2112" in again.stderr and "--force" in again.stderr
    forced, data = send_album(run_cli, *args, "--force")
    assert forced.exit_code == 0 and data["accepted"] == 0 and len(data["already_scrobbled"]) == 6
    overlapping, _ = send_album(run_cli, "a kind of magic", "--finished-at", "40m ago")
    assert overlapping.exit_code == 1 and "overlaps" in overlapping.stderr
    assert len(scrobbles(emulator)) == 6


@pytest.mark.parametrize("shift, args, code, reason", [
    (0, ("--artist", "Various", "--track", "Intro"), 1, "artist name filtered"),
    (15 * 86400, ("--artist", "Rush", "--track", "Tears"), 3, "too old"),
    (-86400, ("--artist", "Rush", "--track", "Tears"), 4, "in the future"),
])
def test_ignored_codes(run_cli, signed_in, emulator, shift, args, code, reason):
    emulator.emulator.clock = lambda: time.time() + shift
    try:
        result = run_cli("scrobble", "track", *args, "--json")
    finally:
        emulator.emulator.clock = time.time
    assert result.exit_code == 3
    data = json.loads(result.stdout)
    assert data["ignored"] == 1 and data["scrobbles"][0]["code"] == code
    assert reason in data["scrobbles"][0]["reason"]
    human = json.loads(run_cli("scrobble", "history", "--json").stdout)[0]
    assert human["status"] == "ignored" and human["code"] == code


def test_daily_cap_keeps_the_rest_for_later(run_cli, signed_in, emulator):
    emulator.emulator.configure(daily_cap=4)
    result, data = send_album(run_cli, "2112-814617", "--finished-at", "1h ago")
    assert result.exit_code == 75
    assert data["accepted"] == 4 and data["deferred"] == 2 and "daily scrobble limit" in data["stopped"]
    assert len(scrobbles(emulator)) == 4
    emulator.emulator.configure(daily_cap=None)
    later, data = send_album(run_cli, "a kind of magic", "--finished-at", "3h ago")
    assert later.exit_code == 0 and data["accepted"] == 2  # the single's two,
    assert data["leftovers"]["accepted"] == 2  # and apart from them the two left over
    assert Counter(s["track"] for s in scrobbles(emulator)).most_common(1)[0][1] == 1


@pytest.mark.parametrize("fault", [
    {"error": 11}, {"error": 16}, {"error": 29}, {"http": 500}, {"http": 502}, {"http": 503},
    {"delay": 4}, {"drop_after_commit": True},
])
def test_retried_errors_leave_no_duplicate(run_cli, signed_in, emulator, fault):
    emulator.emulator.add_fault({"method": "track.scrobble", "times": 1, **fault})
    result, data = send_album(run_cli, "2112-814617", "--finished-at", "15m ago")
    assert result.exit_code == 0, result.stderr
    assert data["accepted"] == 6
    held = scrobbles(emulator)
    assert len(held) == 6 and len({(s["track"], s["timestamp"]) for s in held}) == 6
    counts = emulator.emulator.request_counts()["by_method"]
    if "delay" in fault or "drop_after_commit" in fault:
        assert data["reconciled"] == 6  # committed, then confirmed rather than sent again
        assert counts["track.scrobble"] == 1 and counts["user.getrecenttracks"] == 1
    else:
        assert counts["track.scrobble"] == 2


def test_retries_are_bounded_and_nothing_is_lost(run_cli, signed_in, emulator):
    emulator.emulator.add_fault({"method": "track.scrobble", "times": 10, "error": 16})
    result, data = send_album(run_cli, "2112-814617", "--finished-at", "15m ago")
    assert result.exit_code == 75 and data["accepted"] == 0 and data["deferred"] == 6
    assert emulator.emulator.request_counts()["by_method"]["track.scrobble"] == 4
    emulator.emulator.reset()
    later, data = send_album(run_cli, "a kind of magic", "--finished-at", "5h ago")
    assert later.exit_code == 0 and data["accepted"] == 2 and data["leftovers"]["accepted"] == 6
    assert len(scrobbles(emulator)) == 8


@pytest.mark.parametrize("code", [4, 10, 13, 26])
def test_fatal_errors_stop_and_keep_items_pending(run_cli, signed_in, emulator, code):
    emulator.emulator.add_fault({"method": "track.scrobble", "times": 1, "error": code})
    result = run_cli("scrobble", "album", "2112-814617", "--finished-at", "15m ago")
    assert result.exit_code == 1
    assert f"error {code}" in result.stderr and "Traceback" not in result.stderr
    assert emulator.emulator.request_counts()["by_method"]["track.scrobble"] == 1
    history = json.loads(run_cli("scrobble", "history", "--json").stdout)
    assert {h["status"] for h in history} == {"pending"}
    retry = run_cli("scrobble", "track", "--artist", "Queen", "--track", "One Vision", "--at", "3h ago")
    assert retry.exit_code == 0
    assert len(scrobbles(emulator)) == 7


def test_unknown_outcome_with_lastfm_unreachable_stays_in_flight(run_cli, signed_in, emulator, monkeypatch):
    monkeypatch.setenv("LASTFM_TIMEOUT", "1")
    emulator.emulator.add_fault({"method": "track.scrobble", "times": 1, "drop_after_commit": True})
    emulator.emulator.add_fault({"method": "user.getrecenttracks", "times": 4, "http": 503})
    result = run_cli("scrobble", "album", "2112-814617", "--finished-at", "15m ago")
    assert result.exit_code == 75
    assert emulator.emulator.request_counts()["by_method"]["user.getrecenttracks"] == 4  # reads are retried
    status = json.loads(run_cli("lastfm", "status", "--json").stdout)
    assert status["in_flight"] == 6 and status["pending"] == 0
    again = run_cli("scrobble", "history", "--json")
    assert {h["status"] for h in json.loads(again.stdout)} == {"in_flight"}
    # The command waited as long as any other would (the request timeout and a margin) before asking, so the
    # next scrobble command settles them first: they were stored, so none is sent again.
    early = run_cli("scrobble", "track", "--artist", "Queen", "--track", "Friends Will Be Friends", "--at", "8h ago",
                    "--json")
    data = json.loads(early.stdout)
    assert early.exit_code == 0 and data["reconciled"] == 6 and data["accepted"] == 1
    assert data["leftovers"]["accepted"] == 6
    later, data = send_album(run_cli, "a kind of magic", "--finished-at", "5h ago")
    assert later.exit_code == 0 and data["reconciled"] == 0 and data["accepted"] == 2
    assert data["leftovers"]["accepted"] == 0
    assert len(scrobbles(emulator)) == 9


def test_lastfm_durations_are_looked_up_once(run_cli, signed_in, emulator):
    emulator.emulator.load_catalogue({"albums": [{
        "artist": "Test Card", "name": "Channels",
        "tracks": [{"name": "The Blank Code Re-write", "duration": 301},
                   {"name": "Into Through Exit Wormhole", "duration": 0}],
    }]})
    offline = plan_of(run_cli, "channels")
    assert {s["duration_source"] for s in offline["scrobbles"]} == {"default"}
    assert emulator.emulator.request_counts()["total"] == 0
    looked = plan_of(run_cli, "channels", "--lookup")
    sources = [s["duration_source"] for s in looked["scrobbles"]]
    assert sources[:2] == ["lastfm", "default"] and looked["scrobbles"][0]["duration"] == 301
    plan_of(run_cli, "channels", "--lookup")
    result, data = send_album(run_cli, "channels", "--finished-at", "1h ago")
    assert result.exit_code == 0
    assert emulator.emulator.request_counts()["by_method"] == {"album.getinfo": 1, "track.scrobble": 1}
    assert scrobbles(emulator)[0]["duration"] == "301"


def test_single_track_and_now_playing(run_cli, signed_in, emulator):
    result = run_cli("scrobble", "track", "--artist", "Rush", "--track", "Xanadu", "--duration", "11m8s",
                     "--at", "20m ago", "--album", "A Farewell To Kings")
    assert result.exit_code == 0 and "1 accepted" in result.stdout
    (held,) = scrobbles(emulator)
    assert held["duration"] == "668" and held["album"] == "A Farewell To Kings"
    playing = run_cli("scrobble", "track", "--artist", "Rush", "--track", "Madrigal", "--now-playing")
    assert playing.exit_code == 0 and "now playing" in playing.stdout
    assert emulator.emulator.state.now_playing[USER][0]["track"] == "Madrigal"
    assert len(scrobbles(emulator)) == 1
    future = run_cli("scrobble", "track", "--artist", "Rush", "--track", "Madrigal", "--at", "1d")
    assert future.exit_code == 2 and "cannot read '1d'" in future.stderr
    ahead = run_cli("scrobble", "track", "--artist", "Rush", "--track", "Madrigal", "--at",
                    str(int(time.time()) + 7200))
    assert ahead.exit_code == 2 and "in the future" in ahead.stderr


def test_not_signed_in(run_cli, lastfm_env, emulator):
    result = run_cli("scrobble", "album", "2112", "--finished-at", "5m ago")
    assert result.exit_code == 1 and "lastfm login" in result.stderr
    assert emulator.emulator.request_counts()["total"] == 0


def test_history(run_cli, signed_in, emulator):
    send_album(run_cli, "2112-814617", "--finished-at", "15m ago")
    rows = json.loads(run_cli("scrobble", "history", "--limit", "3", "--json").stdout)
    assert [r["track"] for r in rows] == ["Something For Nothing", "Tears", "Lessons"]
    assert all(r["status"] == "accepted" for r in rows)
    text = run_cli("scrobble", "history").stdout.splitlines()
    assert len(text) == 6 and "accepted  Rush — Something For Nothing" in text[0]


@pytest.mark.parametrize("body, status", [
    ('<?xml version="1.0"?><lfm status="failed"></lfm>', 200),  # pylast: bare IndexError
    ('<?xml version="1.0"?><lfm status="failed"><error code="8"/></lfm>', 200),  # pylast: AttributeError
    ('<?xml version="1.0"?><lfm status="ok"><scrobbles accepted="999" ignored="0"/></lfm>', 200),
    ("<html>gateway</html>", 403),  # not XML: pylast's MalformedResponseError
    ("", 200),
])
def test_garbled_answers_are_checked_not_resent(run_cli, signed_in, emulator, body, status):
    emulator.emulator.add_fault({"method": "track.scrobble", "times": 1, "body": body, "status": status})
    result, data = send_album(run_cli, "2112-814617", "--finished-at", "15m ago")
    assert result.exit_code == 0, result.stderr
    counts = emulator.emulator.request_counts()["by_method"]
    assert counts["user.getrecenttracks"] == 1 and counts["track.scrobble"] == 2
    assert data["accepted"] == 6 and data["reconciled"] == 0
    assert len(scrobbles(emulator)) == 6


def test_error_translation_in_one_place():
    import pylast

    from errors import (
        LastfmError, LastfmNotFound, LastfmTemporary, OutcomeUnknown, RequestNotSent, SessionInvalid,
    )
    from lastfm.client import translate

    net = pylast.LastFMNetwork("k", "s")
    secret = "0123456789abcdef0123456789abcdef"
    cases = [
        (pylast.WSError(net, "9", "Invalid session key"), False, SessionInvalid),
        (pylast.WSError(net, "11", "offline"), False, LastfmTemporary),
        (pylast.WSError(net, "29", "rate"), True, LastfmTemporary),
        (pylast.WSError(net, "6", "Album not found"), False, LastfmNotFound),
        (pylast.WSError(net, "26", f"suspended {secret}"), False, LastfmError),
        (pylast.WSError(net, 503, "HTTP 503"), True, OutcomeUnknown),
        (pylast.WSError(net, 503, "HTTP 503"), False, LastfmTemporary),
        (pylast.NetworkError(net, ConnectionRefusedError("refused")), True, OutcomeUnknown),
        (IndexError("list index out of range"), True, OutcomeUnknown),
        (AttributeError("'NoneType' object has no attribute 'data'"), False, LastfmTemporary),
    ]
    for exc, write, kind in cases:
        translated = translate(exc, "track.scrobble", [secret], write)
        assert type(translated) is kind, (exc, translated)
        assert secret not in str(translated) and "\n" not in str(translated)
    multi = translate(pylast.WSError(net, "8", "line one\n  line two"), "x", [], False)
    assert str(multi) == "x: Last.fm error 8: line one line two"
    import httpx2

    refused = pylast.NetworkError(net, httpx2.ConnectError("Connection refused"))
    assert type(translate(refused, "track.scrobble", [], True)) is RequestNotSent


def test_another_sender_holding_the_lock(run_cli, signed_in, emulator, state_dir, monkeypatch):
    from scrobble.sendlock import SEND_LOCK
    from statefiles import file_lock

    monkeypatch.setenv("RUSSFM_LOCK_WAIT", "0.3")
    with file_lock(state_dir / SEND_LOCK, "scrobble queue run"):
        result = run_cli("scrobble", "track", "--artist", "Rush", "--track", "Tears")
    assert result.exit_code == 75
    assert f"`scrobble queue run` (pid {os.getpid()}) holds it" in result.stderr
    assert "waiting" in result.stdout and scrobbles(emulator) == []
    later = run_cli("scrobble", "track", "--artist", "Rush", "--track", "Lessons", "--at", "30m ago")
    assert later.exit_code == 0 and "1 accepted" in later.stdout
    assert "also sent what earlier commands left: 1 accepted" in later.stdout  # the waiting one goes too


def test_reconciliation_needs_the_same_track_not_only_the_artist(run_cli, signed_in, emulator):
    """Last.fm holds another track of the same artist at the very same second; the unsent one is sent."""
    at = int(time.time()) - 3600
    emulator.emulator.load_catalogue({"scrobbles": {USER: [
        {"artist": "Johnny Cash", "track": "Ring of Fire", "album": "The Best Of", "timestamp": at}]}})
    emulator.emulator.add_fault({"method": "track.scrobble", "times": 1, "body": "<html>gateway</html>",
                                 "status": 502})
    result = run_cli("scrobble", "track", "--artist", "Johnny Cash", "--track", "Folsom Prison Blues",
                     "--at", str(at), "--json")
    data = json.loads(result.stdout)
    assert result.exit_code == 0 and data["accepted"] == 1 and data["reconciled"] == 0
    held = {(s["track"], s["timestamp"]) for s in scrobbles(emulator)}
    assert held == {("Ring of Fire", at), ("Folsom Prison Blues", at)}


def test_reconciliation_accepts_corrections_last_fm_is_known_to_make(run_cli, signed_in, emulator):
    emulator.emulator.load_catalogue({"corrections": {"artist": {"Guns N Roses": "Guns N' Roses"},
                                                      "track": {"Paradise City (Remastered)": "Paradise City"}}})
    first = run_cli("scrobble", "track", "--artist", "Guns N Roses", "--track", "Paradise City (Remastered)",
                    "--at", "3h ago")
    assert first.exit_code == 0 and "Last.fm corrected" in first.stdout
    emulator.emulator.add_fault({"method": "track.scrobble", "times": 1, "drop_after_commit": True})
    again = run_cli("scrobble", "track", "--artist", "Guns N Roses", "--track", "Paradise City (Remastered)",
                    "--at", "1h ago", "--json")
    data = json.loads(again.stdout)
    assert again.exit_code == 0 and data["reconciled"] == 1
    assert len(scrobbles(emulator)) == 2


def test_a_rerun_while_last_fm_is_offline_is_try_again_later(run_cli, signed_in, emulator):
    emulator.emulator.add_fault({"method": "track.scrobble", "times": 100, "error": 11})
    first, _ = send_album(run_cli, "2112-814617", "--finished-at", "15m ago")
    assert first.exit_code == 75
    rerun = run_cli("scrobble", "album", "2112-814617", "--finished-at", "14m ago")
    assert rerun.exit_code == 75, rerun.stderr
    assert "recorded before and not yet sent" in rerun.stdout and "overlap" not in rerun.stderr
    emulator.emulator.clear_faults()
    later, data = send_album(run_cli, "2112-814617", "--finished-at", "13m ago")
    assert later.exit_code == 0 and data["accepted"] == 6 and len(scrobbles(emulator)) == 6
