"""Shared set-up for the benchmarks: import paths, their scratch folder, an emulator with one signed-in user.

Every file a benchmark writes (generated collection, state folders with a
session, the emulator's certificates) goes under one folder: the one
RUSSFM_BENCH_DIR names, kept afterwards, or else a temporary folder removed
when the benchmark ends, however it ends (Ctrl-C and failures included).
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "scrapper"), str(REPO)]

from config import Settings  # noqa: E402
from lastfm.session import Session, SessionStore  # noqa: E402
from tests.lastfm_emulator import RunningEmulator  # noqa: E402

USER = "bench"
_ROOT: list[Path] = []


def _remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def work_dir() -> Path:
    """The benchmark's scratch folder: RUSSFM_BENCH_DIR if set (created, and kept), else a temporary
    folder that is removed at exit."""
    if not _ROOT:
        given = os.environ.get("RUSSFM_BENCH_DIR")
        if given:
            root = Path(given)
            root.mkdir(parents=True, exist_ok=True)
        else:
            root = Path(tempfile.mkdtemp(prefix="russfm-benchmark-"))
            atexit.register(_remove, root)
        _ROOT.append(root)
    return _ROOT[0]


def scratch(prefix: str) -> Path:
    """A new, empty folder inside the scratch folder."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir=work_dir()))


def generated_setup(description: str) -> tuple[int, Path, RunningEmulator, Settings]:
    """The benchmarks' common start: --albums, a generated collection, a running emulator."""
    import argparse

    from generate_collection import generate

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--albums", type=int, default=3000)
    albums = parser.parse_args().albums
    data = generate(scratch("collection-"), albums)
    server, settings = start(data)
    return albums, data, server, settings


def start(data_dir: Path) -> tuple[RunningEmulator, Settings]:
    server = RunningEmulator(folder=scratch("emulator-")).start()
    atexit.register(server.stop)  # also when the benchmark fails half-way (a second stop does nothing)
    server.emulator.add_user(USER, "pw")
    state = scratch("state-")
    settings = Settings(
        data_dir=data_dir, state_dir=state, api_key=server.emulator.state.api_key,
        api_secret=server.emulator.state.api_secret, api_url=server.url, ca_bundle=server.ca_bundle,
    )
    SessionStore(state).save(Session(USER, server.emulator.create_session(USER)))
    return server, settings
