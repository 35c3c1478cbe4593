"""Steer a running emulator from a terminal: inject a fault, clear faults, count requests.

Standard library only, so it runs by path from anywhere (`python ../tests/lastfm_emulator/steer.py …` from
scrapper/). It finds the emulator through LASTFM_API_URL and LASTFM_CA_BUNDLE, the variables the emulator
printed for the tool.
"""

from __future__ import annotations

import json
import os
import ssl
import sys
import urllib.error
import urllib.request

USAGE = """usage: steer.py fault JSON     inject a fault, e.g. '{"method": "track.scrobble", "http": 503, "times": 20}'
       steer.py clear          drop the faults not used up yet
       steer.py requests       requests counted so far, by method"""


def call(method: str, endpoint: str, body: bytes | None = None) -> dict:
    url = os.environ.get("LASTFM_API_URL", "")
    if "/2.0/" not in url or not url.startswith("https://"):
        raise SystemExit("LASTFM_API_URL does not name the emulator: paste the lines it printed first")
    context = ssl.create_default_context(cafile=os.environ.get("LASTFM_CA_BUNDLE") or None)
    request = urllib.request.Request(url.rsplit("/2.0/", 1)[0] + "/_emulator/" + endpoint, data=body,
                                     method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as answer:
            return json.loads(answer.read())
    except urllib.error.HTTPError as error:
        raise SystemExit(f"the emulator refused it: {error.read().decode('utf-8', 'replace')[:300]}") from None
    except (urllib.error.URLError, OSError) as error:
        raise SystemExit(f"cannot reach the emulator at {url}: {error}") from None


def main(argv: list[str]) -> int:
    if argv[:1] == ["fault"] and len(argv) == 2:
        try:
            spec = json.loads(argv[1])
        except json.JSONDecodeError as error:
            raise SystemExit(f"the fault is not JSON: {error}") from None
        call("POST", "fault", json.dumps(spec).encode())
        print(f"fault set: {json.dumps(spec)}")
    elif argv == ["clear"]:
        call("POST", "faults/clear", b"{}")
        print("faults cleared")
    elif argv == ["requests"]:
        print(json.dumps(call("GET", "requests")["by_method"], indent=1, sort_keys=True))
    else:
        print(USAGE, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
