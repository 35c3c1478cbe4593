"""The page (`serve`) on the generated collection: the server's time per page and per search keystroke, the
Last.fm requests those pages cost, and the server's CPU while a play-along session plays.

Prints, for the 3,000-album collection: the shelf, a record, and Now playing (median and slowest of 20
requests, from the Server-Timing header the server sets: its own time, without the network); each
keystroke of a search typed letter by letter; then the CPU the server process used over --seconds of a
real-time play-along session, alone and with a phone polling Now playing once a second.

    python benchmarks/serve_page.py [--albums 3000] [--seconds 30]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from _common import REPO, start
from generate_collection import generate

TICKS = os.sysconf("SC_CLK_TCK")


def server_ms(response: requests.Response) -> float:
    found = re.search(r"dur=([0-9.]+)", response.headers.get("Server-Timing", ""))
    assert found and response.status_code == 200, (response.status_code, response.text[:200])
    return float(found.group(1))


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def timed(url: str, times: int = 20) -> tuple[float, float, float]:
    """The first request's server time, then the median and slowest of `times` more."""
    first = server_ms(requests.get(url, timeout=30))
    rest = [server_ms(requests.get(url, timeout=30)) for _ in range(times)]
    return first, statistics.median(rest), max(rest)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--albums", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    data = generate(Path(tempfile.mkdtemp(prefix="russfm-collection-")), args.albums)
    emulator, settings = start(data)
    env = {"RUSSFM_DATA_DIR": str(data), "RUSSFM_STATE_DIR": str(settings.state_dir), "RUSSFM_CONFIG": "",
           "LASTFM_API_KEY": settings.api_key, "LASTFM_API_SECRET": settings.api_secret,
           "LASTFM_API_URL": settings.api_url, "LASTFM_CA_BUNDLE": settings.ca_bundle or "", "RUSSFM_SERVE_LOG": "0"}
    server = subprocess.Popen([sys.executable, "main.py", "serve", "--port", "0"], cwd=REPO / "scrapper",
                              env=os.environ | env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert server.stdout is not None
        base = re.search(r"(http://\S+)/", server.stdout.readline()).group(1)  # type: ignore[union-attr]
        page = requests.get(base + "/queue", timeout=30).text
        csrf = re.search(r'name="csrf" content="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        slugs = re.findall(r'href="/record/([^"]+)"', requests.get(base + "/", timeout=30).text)
        before = emulator.emulator.request_counts()["total"]
        print(f"{args.albums} albums; server time per request, ms (first, then median / slowest of 20):")
        for name, path in (("shelf", "/"), ("shelf, a search", "/?q=rush"), ("record", f"/record/{slugs[3]}"),
                           ("queue", "/queue"), ("Now playing, nothing playing", "/playing")):
            first, median, worst = timed(base + path)
            print(f"  {name:<30} {first:7.1f}  {median:7.1f} / {worst:7.1f}")
        keys = [server_ms(requests.get(base + "/shelf/results", params={"q": "the moving pictures"[:n]}, timeout=30))
                for n in range(1, len("the moving pictures") + 1)]
        print(f"  search keystrokes ({len(keys)}): median {statistics.median(keys):.1f}, slowest {max(keys):.1f}")
        print(f"  Last.fm requests for these pages: {emulator.emulator.request_counts()['total'] - before}")
        started = requests.post(base + "/play", data={"slug": slugs[0], "csrf": csrf}, timeout=60,
                                allow_redirects=False)
        assert started.status_code == 303, started.text[:300]
        for name, path in (("Now playing, a record playing", "/playing"), ("its state (each poll)", "/playing/state.json")):
            first, median, worst = timed(base + path)
            print(f"  {name:<30} {first:7.1f}  {median:7.1f} / {worst:7.1f}")
        time.sleep(2)
        for polling in (False, True):
            cpu, wall = cpu_seconds(server.pid), time.monotonic()
            end = wall + args.seconds
            while time.monotonic() < end:
                if polling:
                    requests.get(base + "/playing/state.json", timeout=30)
                time.sleep(min(1.0, max(0.0, end - time.monotonic())))
            used = cpu_seconds(server.pid) - cpu
            what = "a phone polling once a second" if polling else "no page open"
            print(f"server CPU while playing along, {what}: {used:.2f} s in {args.seconds:.0f} s "
                  f"({100 * used / args.seconds:.1f}%)")
    finally:
        server.terminate()
        server.wait(30)
        emulator.stop()


if __name__ == "__main__":
    main()
