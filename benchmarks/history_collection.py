"""Copy a generated history of 100,000 scrobbles (about three years, played from a generated collection) into
the archive, then read it.

Prints: the first `lastfm sync` (requests against the pages a walk back in time takes, wall time against requests / 5 s, the
5-a-second limit), a sync with nothing new (requests, whole-process wall time), and `lastfm stats` for each
period, `albums pick --not-since 6mo` and `lastfm recent` (whole-process wall time; the target for stats is
0.5 s). Every command runs as its own process, as a user runs it.

    python benchmarks/history_collection.py [--albums 3000] [--scrobbles 100000] [--years 3]
"""

from __future__ import annotations

import argparse
import json
import statistics

from _common import USER, scratch, start
from generate_collection import generate
from queue_collection import cli

from collection.album import Album
from collection.lookup import iter_albums
from collection.store import Store
from history.archive import ARCHIVE_FILE
from history.periods import PERIODS
from history.sync import PAGE_SIZE
from lastfm.client import REQUESTS_PER_SECOND

RUNS = 3  # of each read command, for the median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--albums", type=int, default=3000)
    parser.add_argument("--scrobbles", type=int, default=100_000)
    parser.add_argument("--years", type=float, default=3.0)
    args = parser.parse_args()
    data = generate(scratch("collection-"), args.albums)
    server, settings = start(data)
    albums = [a for _, a in iter_albums(Store(data)) if isinstance(a, Album)]
    played = [{"artist": a.artist, "name": a.title,
               "tracks": [{"name": t.title, "duration": t.duration or 0} for t in a.tracks]} for a in albums]
    count = server.emulator.generate_history(USER, args.scrobbles, span_days=args.years * 365, seed=1,
                                             albums=played)
    env = {"RUSSFM_DATA_DIR": str(data), "RUSSFM_STATE_DIR": str(settings.state_dir),
           "LASTFM_API_KEY": settings.api_key, "LASTFM_API_SECRET": settings.api_secret,
           "LASTFM_API_URL": settings.api_url, "LASTFM_CA_BUNDLE": settings.ca_bundle or "",
           "LASTFM_USERNAME": USER, "RUSSFM_CONFIG": ""}
    print(f"{len(albums)} albums; {count:,} scrobbles over {args.years:g} years, played from the collection")

    wall, _, out = cli(env, "lastfm", "sync", "--json")
    first = json.loads(out)
    # Each page after the first starts with the second the one before ended on; a copy ends on a page that is
    # not full; then one request catches up to now.
    bound = (count - PAGE_SIZE) // (PAGE_SIZE - 1) + 2 + 1 if count > PAGE_SIZE else 2
    floor = first["requests"] / REQUESTS_PER_SECOND
    print(f"first sync: {first['new']:,} scrobbles, {first['requests']} requests (expected {bound}: ⌈N/199⌉ pages and the catch-up); "
          f"{wall:.1f} s, {wall / floor:.2f}× the {floor:.1f} s that {REQUESTS_PER_SECOND} requests a second "
          "allow")
    size = sum(p.stat().st_size for p in settings.state_dir.glob(f"{ARCHIVE_FILE}*"))
    print(f"archive: {size / 2**20:.1f} MiB")

    wall, _, out = cli(env, "lastfm", "sync", "--json")
    again = json.loads(out)
    print(f"sync with nothing new: {again['requests']} request(s), {again['new']} new, whole process {wall:.2f} s")

    def timed(*command: str) -> str:
        walls = [cli(env, *command)[0] for _ in range(RUNS)]
        return f"first {walls[0]:.2f} s, median of {RUNS} {statistics.median(walls):.2f} s"

    for period in PERIODS:
        print(f"lastfm stats --period {period}: {timed('lastfm', 'stats', '--period', period)}")
    print(f"albums pick --not-since 6mo: {timed('albums', 'pick', '--not-since', '6mo')}")
    before = server.emulator.request_counts()["total"]
    print(f"lastfm recent: {timed('lastfm', 'recent')}, "
          f"{(server.emulator.request_counts()['total'] - before) // RUNS} request each")
    wall, _, _ = cli(env, "--help")
    print(f"(python main.py --help, for scale: {wall:.2f} s)")
    server.stop()


if __name__ == "__main__":
    main()
