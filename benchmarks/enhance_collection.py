"""lastfm-enhance on a generated collection against the emulator, stats.json on: a cold run, a warm run
(cache fresh), a warm run after 50 new scrobbles, then the same with a listening history (synced first);
requests, wall time and files rewritten for each, beside the collector's old way of one album.getInfo
per album per run.

    python benchmarks/enhance_collection.py [--albums 3000]
"""

from __future__ import annotations

import random
import time
from pathlib import Path

from _common import USER, generated_setup

from dataclasses import replace

from app import App
from collection.lookup import iter_albums
from collection.store import Store
from enhance import enhance
from history.sync import sync
from tests.lastfm_emulator.core import Scrobble


def files(data: Path) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in data.rglob("*.json")}


def main() -> None:
    _albums, data, server, settings = generated_setup(__doc__)
    emu = server.emulator
    rng = random.Random(5)
    now = int(time.time())
    albums = [a for _, a in iter_albums(Store(data)) if not isinstance(a, Exception)]
    emu.load_catalogue({"albums": [{
        "artist": a.artist, "name": a.title, "listeners": rng.randint(10, 10**6),
        "playcount": rng.randint(100, 10**7), "tags": ["rock", "vinyl"], "tracks": [],
    } for a in albums]})
    played = rng.sample(albums, len(albums) // 2)  # half the collection has plays
    for album in played:
        for i in range(rng.randint(1, 5)):
            emu.state.scrobbles[USER].append(Scrobble(USER, album.artist, f"t{i}", album.title, album.artist,
                                                      now - rng.randint(86400, 300 * 86400), now))
    settings = replace(settings, username=USER)
    print(f"{len(albums)} albums; the user has played {len(played)} of them")
    print(f"{'run':<26} {'requests':>9} {'wall s':>8} {'files rewritten':>16}")

    def run(name: str, sync_first: bool = False) -> None:
        before = files(data)
        started = time.perf_counter()
        app = App(settings, "lastfm-enhance")  # a new process each run, as cron runs it
        try:
            report = enhance(app, sync_first=sync_first)
        finally:
            app.close()
        wall = time.perf_counter() - started
        rewritten = sum(1 for p, t in files(data).items() if before.get(p) != t)
        print(f"{name:<26} {report.requests:>9} {wall:>8.1f} {rewritten:>16}")

    run("cold")
    run("warm (cache fresh)")
    for album in rng.sample(albums, min(50, len(albums))):
        emu.state.scrobbles[USER].append(Scrobble(USER, album.artist, "new", album.title, album.artist,
                                                  int(time.time()) - 60, time.time()))
    run("warm + 50 new scrobbles")
    app = App(settings, "lastfm sync")
    try:
        synced = sync(app)
    finally:
        app.close()
    print(f"{'(lastfm sync: history)':<26} {synced.requests:>9} {'':>8} {synced.total:>10} scrobbles")
    run("warm, with the history")
    for album in rng.sample(albums, min(50, len(albums))):
        emu.state.scrobbles[USER].append(Scrobble(USER, album.artist, "newer", album.title, album.artist,
                                                  int(time.time()) - 30, time.time()))
    run("+ 50 new, --sync", sync_first=True)

    sample = albums[:200]  # the old way, measured on 200 albums and scaled
    app = App(settings, "benchmark")
    client = app.client()
    started = time.perf_counter()
    for album in sample:
        client.album_info(album.artist, album.title, username=USER)
    per_album = (time.perf_counter() - started) / len(sample)
    print(f"{'one getInfo per album':<26} {len(albums):>9} {per_album * len(albums):>8.1f} "
          f"{'(every run; measured on 200)':>16}")
    app.close()
    server.stop()


if __name__ == "__main__":
    main()
