"""Run the emulator standalone: prints one JSON line once it listens, then serves until killed."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from .core import Emulator
from .server import RunningEmulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.lastfm_emulator", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: a free one)")
    parser.add_argument("--api-key", help="the API key clients must send (default: random)")
    parser.add_argument("--api-secret", help="the shared secret for signatures (default: random)")
    parser.add_argument("--user", action="append", default=[], metavar="NAME:PASSWORD",
                        help="an account; repeat for more")
    parser.add_argument("--catalogue", help="JSON file with albums and existing scrobbles")
    parser.add_argument("--history", action="append", default=[], metavar="USER:COUNT",
                        help="generate COUNT plausible scrobbles for USER, ending now; repeat for more")
    parser.add_argument("--private", action="append", default=[], metavar="USER",
                        help="hide USER's recent listening (error 17 for all but their own session)")
    parser.add_argument("--daily-cap", type=int, help="accepted scrobbles per user per rolling 24 h")
    parser.add_argument("--cap-mode", choices=("code5", "error29"), default="code5")
    parser.add_argument("--dedupe", action="store_true",
                        help="silently drop exact repeats (user, artist, track, timestamp) as Last.fm does")
    parser.add_argument("--rate-limit", type=float, help="answer error 29 above this many requests a second")
    parser.add_argument("--log", action="store_true", help="print each API request on stderr (secrets as ***)")
    parser.add_argument("--state-folder", help="where to write the CA bundle (default: a temporary folder)")
    args = parser.parse_args(argv)

    emulator = Emulator(args.api_key, args.api_secret)
    for spec in args.user:
        name, sep, password = spec.partition(":")
        if not sep or not name:
            parser.error(f"--user wants NAME:PASSWORD, got {spec!r}")
        emulator.add_user(name, password)
    if args.catalogue:
        with open(args.catalogue, encoding="utf-8") as handle:
            emulator.load_catalogue(json.load(handle))
    for spec in args.history:
        name, sep, count = spec.rpartition(":")
        if not sep or not name or not count.isdigit():
            parser.error(f"--history wants USER:COUNT, got {spec!r}")
        emulator.generate_history(name, int(count))
    emulator.configure(daily_cap=args.daily_cap, cap_mode=args.cap_mode, dedupe=args.dedupe,
                       rate_limit=args.rate_limit, private_users=args.private)
    if args.log:
        emulator.log = lambda line: print(line, file=sys.stderr, flush=True)
    running = RunningEmulator(emulator, args.port, args.state_folder).start()
    print(json.dumps(running.describe()), flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    running.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
