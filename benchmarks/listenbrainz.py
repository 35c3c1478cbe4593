"""Both services from one ledger, against the local Last.fm and the local ListenBrainz.

Prints: (1) a queue of a whole generated collection (3,000 albums) sent to both targets — requests to each
service against the floor of its batch size (Last.fm 50 a request, 5 requests a second; ListenBrainz up to
1,000 a request), and wall time, with Last.fm's rate-limit sleeps apart; (2) `listenbrainz import-history` of
an archive of 100,000 listens as a process — requests against ⌈N/1000⌉ + reads, with nothing on ListenBrainz
yet, then again with half of it already there; (3) `listenbrainz status --compare` on the result.

    python benchmarks/listenbrainz.py [--albums 3000] [--listens 100000]
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from _common import USER, start
from generate_collection import generate
from queue_collection import cli

from app import App
from collection.store import Store
from history.archive import Archive
from lastfm.client import REQUESTS_PER_SECOND
from listenbrainz.token import Token, TokenStore
from scrobble.queue_run import run_queue
from tests.listenbrainz_emulator import RunningListenBrainz

LB_USER, LB_TOKEN = "bench-lb", "8c6f3e0a-5b1d-4c2e-9f7a-0d4b2c1e6a59"


def environment(settings, lb: RunningListenBrainz, data: Path) -> dict[str, str]:
    return {"RUSSFM_DATA_DIR": str(data), "RUSSFM_STATE_DIR": str(settings.state_dir),
            "LASTFM_API_KEY": settings.api_key, "LASTFM_API_SECRET": settings.api_secret,
            "LASTFM_API_URL": settings.api_url, "LASTFM_CA_BUNDLE": settings.ca_bundle or "",
            "LISTENBRAINZ_API_URL": lb.url, "LISTENBRAINZ_CA_BUNDLE": lb.ca_bundle,
            "LASTFM_USERNAME": USER, "RUSSFM_CONFIG": ""}


def queue_to_both(albums: int) -> None:
    data = generate(Path(tempfile.mkdtemp(prefix="russfm-collection-")), albums)
    server, settings = start(data)
    lb = RunningListenBrainz().start()
    lb.lb.add_user(LB_USER, LB_TOKEN)
    TokenStore(settings.state_dir).save(Token(LB_USER, LB_TOKEN))
    settings = replace(settings, listenbrainz_url=lb.url, listenbrainz_ca_bundle=lb.ca_bundle)
    env = environment(settings, lb, data)
    wall, _, out = cli(env, "scrobble", "queue", "add", "--all", "--json")
    added = json.loads(out)
    print(f"queue add --all: {added['albums']} albums, {added['tracks']:,} listens for lastfm and listenbrainz "
          f"in {wall:.1f} s")

    now = time.time()
    clock = lambda: now  # noqa: E731 - simulated time, shared with both services
    server.emulator.clock = clock
    lb.lb.clock = clock
    app = App(replace(settings, daily_cap=10**9, retry_delay=0.01), "benchmark", clock=clock)
    runs = lastfm_sent = lb_sent = 0
    busy = waited = 0.0
    throttle = app.client(signed=True).throttle
    while True:
        waited_before, started = throttle.waited, time.perf_counter()
        result = run_queue(app)
        busy += time.perf_counter() - started
        waited += throttle.waited - waited_before
        runs += 1
        lastfm_sent += result.accepted
        lb_sent += len(result.listenbrainz.accepted) if result.listenbrainz else 0
        if result.pending == 0 and result.listenbrainz_pending == 0:
            break
        now += 13 * 86400  # the window moves on; queued albums wait for real time to pass
    lastfm_requests, lb_requests = app.requests(), app.listenbrainz_requests()
    app.close()
    tracks = added["tracks"]
    assert lastfm_sent == lb_sent == tracks == len(lb.lb.listens_of(LB_USER)), (lastfm_sent, lb_sent, tracks)
    print(f"drain to both in {runs} runs: {tracks:,} listens on each service")
    print(f"  Last.fm: {lastfm_requests} requests (floor ⌈N/50⌉ = {math.ceil(tracks / 50)}); at "
          f"{REQUESTS_PER_SECOND} a second that is at least {lastfm_requests / REQUESTS_PER_SECOND:.0f} s")
    print(f"  ListenBrainz: {lb_requests} requests (floor ⌈N/1000⌉ = {math.ceil(tracks / 1000)}; one or more "
          f"a run, since each run sends what the 14-day window lets it time)")
    print(f"  wall {busy:.1f} s, of which Last.fm rate-limit sleeps {waited:.1f} s")
    server.stop()
    lb.stop()


def import_history(count: int) -> None:
    data = generate(Path(tempfile.mkdtemp(prefix="russfm-collection-")), 50)
    server, settings = start(data)
    lb = RunningListenBrainz().start()
    lb.lb.add_user(LB_USER, LB_TOKEN)
    TokenStore(settings.state_dir).save(Token(LB_USER, LB_TOKEN))
    env = environment(settings, lb, data)
    server.emulator.generate_history(USER, count, span_days=3 * 365, seed=2)
    plays = [{"timestamp": s["timestamp"], "artist": s["artist"], "track": s["track"], "album": s["album"],
              "album_mbid": ""} for s in server.emulator.scrobbles_of(USER)]
    # The archive as `lastfm sync` leaves it (benchmarks/history_collection.py measures the copy itself).
    with Archive.create(settings.state_dir) as archive:
        window = archive.begin(USER, None, int(time.time()), time.time(), whole=True)
        matcher = archive.matcher(Store(data))
        for page, first in enumerate(range(0, len(plays), 1000), start=1):
            archive.add_page(window, page, plays[first:first + 1000], matcher)
        archive.finish(window)
        held = archive.count()
    floor = math.ceil(held / 1000)
    wall, _, out = cli(env, "listenbrainz", "import-history", "--json")
    first = json.loads(out)
    print(f"import-history of {held:,} listens, nothing on ListenBrainz yet: {first['requests']} requests "
          f"({first['requests'] - first['reads']} sends + {first['reads']} reads; ⌈N/1000⌉ = {floor}), "
          f"{wall:.1f} s as a process; {first['sent']:,} sent, {first['already']} already there, "
          f"{first['refused']} refused")

    lb.lb.reset()
    lb.lb.add_listens(LB_USER, [{"listened_at": p["timestamp"], "track_metadata": {
        "artist_name": p["artist"], "track_name": p["track"]}} for p in plays[::2]])
    wall, _, out = cli(env, "listenbrainz", "import-history", "--from-start", "--json")
    again = json.loads(out)
    print(f"import-history again with half of it on ListenBrainz: {again['requests']} requests "
          f"({again['requests'] - again['reads']} sends + {again['reads']} reads), {wall:.1f} s; "
          f"{again['sent']:,} sent, {again['already']:,} already there")
    wall, _, out = cli(env, "listenbrainz", "status", "--compare", "--json")
    compared = json.loads(out)["archive"]
    print(f"status --compare: {compared['missing_on_listenbrainz']} missing on ListenBrainz, "
          f"{compared['only_on_listenbrainz']} only there; {compared['requests']} requests, {wall:.1f} s")
    server.stop()
    lb.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--albums", type=int, default=3000)
    parser.add_argument("--listens", type=int, default=100_000)
    parser.add_argument("--only", choices=("queue", "import"), help="run one part only")
    args = parser.parse_args()
    if args.only != "import":
        queue_to_both(args.albums)
    if args.only != "queue":
        import_history(args.listens)


if __name__ == "__main__":
    main()
