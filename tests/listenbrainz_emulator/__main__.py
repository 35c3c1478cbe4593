"""Run the ListenBrainz emulator standalone: prints one JSON line and the lines to paste, then serves until killed."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
import threading
from pathlib import Path

from .core import ListenBrainz
from .server import RunningListenBrainz


def exports(info: dict, folder: Path) -> str:
    """Shell lines that point the tool at this emulator; also written to `listenbrainz.env` beside the CA bundle."""
    names = {"LISTENBRAINZ_API_URL": "url", "LISTENBRAINZ_CA_BUNDLE": "ca_bundle", "LISTENBRAINZ_TOKEN": "token"}
    lines = [f"export {name}={shlex.quote(str(info[key]))}" for name, key in names.items()]
    env_file = folder / "listenbrainz.env"
    descriptor = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds the user token
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    return "\n".join([
        "# Paste these lines into the terminal where you run the tool (or: . " + shlex.quote(str(env_file)) + "):",
        *lines,
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.listenbrainz_emulator", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: a free one)")
    parser.add_argument("--user", action="append", default=[], metavar="NAME[:TOKEN]",
                        help="an account and its user token (default token: random); repeat for more")
    parser.add_argument("--rate-limit", type=int, help="requests allowed per window, per token (default 1000)")
    parser.add_argument("--rate-window", type=float, help="the rate-limit window in seconds (default 10)")
    parser.add_argument("--state-folder", help="where to write the CA bundle (default: a temporary folder)")
    args = parser.parse_args(argv)

    lb = ListenBrainz()
    users = args.user or ["listener"]
    for spec in users:
        name, _, token = spec.partition(":")
        if not name:
            parser.error(f"--user wants NAME[:TOKEN], got {spec!r}")
        lb.add_user(name, token or None)
    lb.configure(rate_limit=args.rate_limit, rate_window=args.rate_window)
    if args.state_folder:
        Path(args.state_folder).mkdir(parents=True, exist_ok=True)
    running = RunningListenBrainz(lb, args.port, args.state_folder).start()
    first = users[0].partition(":")[0]
    info = running.describe(first)
    print(json.dumps(info), flush=True)
    print(exports(info, running.folder), flush=True)
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
