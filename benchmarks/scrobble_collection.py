"""Scrobble every album of a collection against the emulator: requests and wall time per album,
beside the naive way (one track.scrobble request per track, 100 ms apart) in the same run.

    python benchmarks/scrobble_collection.py [--data-dir public] [--albums N]
"""

from __future__ import annotations

import argparse
import statistics
import time

from _common import REPO, USER, start

from app import App
from collection.lookup import iter_albums
from collection.store import Store
from lastfm.client import LastFM
from scrobble.planner import PlanOptions, build_plan
from scrobble.send import scrobble_plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", default=str(REPO / "public"))
    parser.add_argument("--albums", type=int, default=0, help="only the first N albums")
    args = parser.parse_args()

    server, settings = start(args.data_dir)
    albums = [a for _, a in iter_albums(Store(settings.data_dir)) if not isinstance(a, Exception)]
    if args.albums:
        albums = albums[: args.albums]
    now = time.time()
    plans = []
    finish = int(now) - 60
    for album in albums:  # back to back into the past, so that no two overlap
        plan = build_plan(album, PlanOptions(finished_at=finish), now)
        plans.append(plan)
        finish = plan.started_at - 60

    tool_requests, tool_times = [], []
    app = App(settings, "benchmark")
    for plan in plans:
        before, started = app.requests(), time.perf_counter()
        result = scrobble_plan(app, plan)
        assert result.refused is None and result.stopped is None
        assert len(result.with_status("accepted")) == len(plan.scrobbles)
        tool_times.append(time.perf_counter() - started)
        tool_requests.append(app.requests() - before)
    app.close()
    tracks = sum(len(p.scrobbles) for p in plans)
    held = len(server.emulator.scrobbles_of(USER))
    assert held == tracks, (held, tracks)

    server.emulator.reset()
    naive = LastFM(settings, server.emulator.create_session(USER)).network
    naive_requests, naive_times = [], []
    for plan in plans:
        started = time.perf_counter()
        for s in plan.scrobbles:
            naive.scrobble(s.artist, s.track, s.timestamp, album=s.album, album_artist=s.album_artist,
                           track_number=s.track_number, duration=s.duration)
            time.sleep(0.1)
        naive_times.append(time.perf_counter() - started)
        naive_requests.append(len(plan.scrobbles))
    server.stop()

    def row(name: str, requests: list[int], times: list[float]) -> str:
        return (f"{name:<28} {sum(requests):>8} {sum(requests) / len(plans):>10.2f} {tracks / sum(requests):>10.1f}"
                f" {statistics.mean(times) * 1000:>12.0f} {statistics.median(times) * 1000:>10.0f} {sum(times):>9.1f}")

    print(f"{len(plans)} albums, {tracks} scrobbles, emulator over HTTPS on 127.0.0.1")
    print(f"{'approach':<28} {'requests':>8} {'req/album':>10} {'per req':>10} {'ms/album':>12} {'median':>10} {'total s':>9}")
    print(row("tool (batches of 50)", tool_requests, tool_times))
    print(row("naive (1/track, 100 ms gap)", naive_requests, naive_times))


if __name__ == "__main__":
    main()
