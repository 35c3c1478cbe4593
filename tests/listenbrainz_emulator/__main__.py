"""Run the ListenBrainz emulator standalone: prints one JSON line once it listens, then serves until killed."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from .core import ListenBrainz
from .server import RunningListenBrainz


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
    running = RunningListenBrainz(lb, args.port, args.state_folder).start()
    first = users[0].partition(":")[0]
    print(json.dumps(running.describe(first)), flush=True)
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
