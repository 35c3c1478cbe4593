"""Run the emulator standalone: prints one JSON line once it listens, then `export` lines to paste, then serves
until killed."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
import threading
from pathlib import Path

from .core import Emulator
from .demo import demo_catalogue
from .server import RunningEmulator


def exports(running: RunningEmulator) -> str:
    """Shell lines that point the tool at this emulator; also written to `lastfm.env` beside the CA bundle."""
    info = running.describe()
    names = {"LASTFM_API_URL": "url", "LASTFM_CA_BUNDLE": "ca_bundle", "LASTFM_API_KEY": "api_key",
             "LASTFM_API_SECRET": "api_secret"}
    lines = [f"export {name}={shlex.quote(info[key])}" for name, key in names.items()]
    env_file = Path(running.folder) / "lastfm.env"
    descriptor = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds the API secret
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    return "\n".join([
        "# Paste these lines into the terminal where you run the tool (or: . " + shlex.quote(str(env_file)) + "):",
        *lines,
        f"# Web sign-ins are approved at {running.base}/api/auth/?token=… (the token lastfm login prints).",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.lastfm_emulator", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: a free one)")
    parser.add_argument("--api-key", help="the API key clients must send (default: random)")
    parser.add_argument("--api-secret", help="the shared secret for signatures (default: random)")
    parser.add_argument("--user", action="append", default=[], metavar="NAME:PASSWORD",
                        help="an account; repeat for more")
    parser.add_argument("--catalogue", help="JSON file with albums and existing scrobbles")
    parser.add_argument("--demo", action="store_true",
                        help="load the demo catalogue: the bundled collection's records and a few well-known ones")
    parser.add_argument("--approve-as", metavar="USER",
                        help="approve every web sign-in (lastfm login) as USER at once, without the approval page")
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
    if args.demo:
        emulator.load_catalogue(demo_catalogue())
    if args.catalogue:
        with open(args.catalogue, encoding="utf-8") as handle:
            emulator.load_catalogue(json.load(handle))
    for spec in args.history:
        name, sep, count = spec.rpartition(":")
        if not sep or not name or not count.isdigit():
            parser.error(f"--history wants USER:COUNT, got {spec!r}")
        emulator.generate_history(name, int(count))
    if args.approve_as and args.approve_as not in emulator.state.users:
        parser.error(f"--approve-as {args.approve_as}: no such account (add it with --user NAME:PASSWORD)")
    emulator.configure(daily_cap=args.daily_cap, cap_mode=args.cap_mode, dedupe=args.dedupe,
                       rate_limit=args.rate_limit, private_users=args.private, approve_as=args.approve_as)
    if args.log:
        emulator.log = lambda line: print(line, file=sys.stderr, flush=True)
    if args.state_folder:
        Path(args.state_folder).mkdir(parents=True, exist_ok=True)
    running = RunningEmulator(emulator, args.port, args.state_folder).start()
    print(json.dumps(running.describe()), flush=True)
    print(exports(running), flush=True)
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
