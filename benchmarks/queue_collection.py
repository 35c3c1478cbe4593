"""Queue a whole generated collection and drain it against the emulator with the daily cap lifted.

Prints: time and peak memory to queue it all (the CLI, as a process); with the whole queue
waiting, `queue status`, a `queue run` that finds nothing due (the job paused) and a
`scrobble album` of an LP (whole process each, and its requests); then requests per scrobble
and wall time per 1,000 scrobbles of the drain without the rate-limit sleeps, and the same
commands over the drained ledger. Simulated time moves the 14-day window along, since real
listening cannot exceed real time.

    python benchmarks/queue_collection.py [--albums 3000]
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time

from dataclasses import replace

from _common import REPO, USER, generated_setup

from app import App
from collection.lookup import iter_albums
from collection.store import Store
from scrobble.queue_run import run_queue


def cli(env: dict, *args: str) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MiB, stdout of one CLI process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    # Bytecode is cached as on any user's machine, whatever this shell says.
    plain = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    done = subprocess.run([sys.executable, "main.py", *args], cwd=REPO / "scrapper", env=plain | env,
                          capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode not in (0,):
        raise SystemExit(f"{args}: exit {done.returncode}: {done.stderr}")
    peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    return wall, peak, done.stdout


def main() -> None:
    _albums, data, server, settings = generated_setup(__doc__)
    env = {"RUSSFM_DATA_DIR": str(data), "RUSSFM_STATE_DIR": str(settings.state_dir),
           "LASTFM_API_KEY": settings.api_key, "LASTFM_API_SECRET": settings.api_secret,
           "LASTFM_API_URL": settings.api_url, "LASTFM_CA_BUNDLE": settings.ca_bundle or "", "RUSSFM_CONFIG": ""}

    wall, peak, out = cli(env, "scrobble", "queue", "add", "--all", "--json")
    added = json.loads(out)
    print(f"queue add --all: {added['albums']} albums, {added['tracks']} scrobbles in {wall:.2f} s, "
          f"peak RSS {peak:.0f} MiB")
    wall, _, _ = cli(env, "scrobble", "queue", "status", "--json")
    print(f"queue status on the full queue ({added['tracks']} pending): {wall:.2f} s")
    cli(env, "scrobble", "queue", "pause", added["job"])
    wall, _, out = cli(env, "scrobble", "queue", "run", "--json")
    print(f"queue run with nothing due (the job paused, {added['tracks']} pending): {wall:.2f} s, "
          f"{json.loads(out)['requests']} requests")
    cli(env, "scrobble", "queue", "resume", added["job"])
    lp = next(a for _, a in iter_albums(Store(data)) if not isinstance(a, Exception)
              and 4 <= len(a.playable()) <= 14 and all(t.duration for t in a.playable()))
    before = server.emulator.request_counts()["total"]
    wall, _, out = cli(env, "scrobble", "album", lp.slug, "--finished-at", "2h ago", "--json")
    print(f"scrobble album of an LP ({len(lp.playable())} tracks) beside the waiting queue: {wall:.2f} s, "
          f"{server.emulator.request_counts()['total'] - before} request(s) to Last.fm")

    now = time.time()
    clock = lambda: now  # noqa: E731 - simulated time, shared with the emulator
    server.emulator.clock = clock
    app = App(replace(settings, daily_cap=10**9, retry_delay=0.01), "benchmark", clock=clock)
    runs = sent = 0
    busy = waited = 0.0
    throttle = app.client(signed=True).throttle
    while True:
        waited_before, started = throttle.waited, time.perf_counter()
        result = run_queue(app)
        busy += time.perf_counter() - started
        waited += throttle.waited - waited_before
        runs += 1
        sent += result.accepted
        if result.pending == 0:
            break
        now += 13 * 86400  # the window moves on; queued albums wait for real time to pass
    requests = app.requests()
    app.close()
    held = len(server.emulator.scrobbles_of(USER))
    assert held == sent + len(lp.playable()) and sent == added["tracks"], (held, sent, added["tracks"])
    print(f"drain: {sent} scrobbles in {runs} runs, {requests} requests "
          f"({sent / requests:.1f} scrobbles per request, batches of up to 50)")
    print(f"  wall {busy:.1f} s, of which rate-limit sleeps {waited:.1f} s; "
          f"{(busy - waited) / sent * 1000:.2f} s per 1,000 scrobbles without them")

    server.emulator.clock = time.time
    wall, _, out = cli(env, "scrobble", "queue", "run", "--json")
    print(f"queue run with nothing due (ledger of {sent} scrobbles): {wall:.2f} s, "
          f"{json.loads(out)['requests']} requests")
    wall, _, _ = cli(env, "scrobble", "queue", "status", "--json")
    print(f"queue status after the drain: {wall:.2f} s")
    server.stop()


if __name__ == "__main__":
    main()
