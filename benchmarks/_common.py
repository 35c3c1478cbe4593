"""Shared set-up for the benchmarks: import paths, an emulator with one signed-in user, settings."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "scrapper"), str(REPO)]

from config import Settings  # noqa: E402
from lastfm.session import Session, SessionStore  # noqa: E402
from tests.lastfm_emulator import RunningEmulator  # noqa: E402

USER = "bench"


def generated_setup(description: str) -> tuple[int, Path, RunningEmulator, Settings]:
    """The benchmarks' common start: --albums, a generated collection, a running emulator."""
    import argparse

    from generate_collection import generate

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--albums", type=int, default=3000)
    albums = parser.parse_args().albums
    data = generate(Path(tempfile.mkdtemp(prefix="russfm-collection-")), albums)
    server, settings = start(data)
    return albums, data, server, settings


def start(data_dir: Path) -> tuple[RunningEmulator, Settings]:
    server = RunningEmulator().start()
    server.emulator.add_user(USER, "pw")
    state = Path(tempfile.mkdtemp(prefix="russfm-bench-"))
    settings = Settings(
        data_dir=data_dir, state_dir=state, api_key=server.emulator.state.api_key,
        api_secret=server.emulator.state.api_secret, api_url=server.url, ca_bundle=server.ca_bundle,
    )
    SessionStore(state).save(Session(USER, server.emulator.create_session(USER)))
    return server, settings
