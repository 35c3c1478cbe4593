"""Shared fixtures: sample data, a copy of it to write to, the emulator and a CLI runner."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from config import Settings
from tests.lastfm_emulator import Emulator, RunningEmulator
from tests.listenbrainz_emulator import ListenBrainz, RunningListenBrainz

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"
SAMPLE = FIXTURES / "sample-data"
RECORDINGS = FIXTURES / "lastfm-recordings"
USER, PASSWORD = "vinylfan", "turntable-1977"
LB_USER, LB_TOKEN = "vinylfan-lb", "3f1a9c2e-6b7d-4e21-9a0c-5d8e7f6a1b2c"


def sample_slugs() -> list[str]:
    return sorted(p.name for p in (SAMPLE / "album").iterdir() if p.is_dir())


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    assert SAMPLE.is_dir(), f"sample data not found at {SAMPLE}"
    return SAMPLE


@pytest.fixture
def data_copy(tmp_path: Path, sample_dir: Path) -> Path:
    """A writable copy of the sample collection."""
    target = tmp_path / "data"
    shutil.copytree(sample_dir, target)
    for path in target.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return target


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture(scope="session")
def emulator_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    emulator = Emulator()
    emulator.add_user(USER, PASSWORD)
    running = RunningEmulator(emulator, folder=tmp_path_factory.mktemp("emulator")).start()
    yield running
    running.stop()


@pytest.fixture
def emulator(emulator_server: RunningEmulator) -> Iterator[RunningEmulator]:
    """The shared emulator, emptied of scrobbles, faults and counts for each test."""
    emulator_server.emulator.reset()
    emulator_server.emulator.state.albums.clear()
    emulator_server.emulator.state.corrections.clear()
    yield emulator_server
    emulator_server.emulator.reset()


@pytest.fixture
def lastfm_env(emulator: RunningEmulator, state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment that points the CLI at the emulator, with a private state folder."""
    env = {
        "LASTFM_API_KEY": emulator.emulator.state.api_key,
        "LASTFM_API_SECRET": emulator.emulator.state.api_secret,
        "LASTFM_API_URL": emulator.url,
        "LASTFM_CA_BUNDLE": emulator.ca_bundle,
        "LASTFM_TIMEOUT": "3",
        "RUSSFM_RETRY_DELAY": "0.05",
        "RUSSFM_STATE_DIR": str(state_dir),
        "RUSSFM_CONFIG": "",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture
def signed_in(lastfm_env: dict[str, str], emulator: RunningEmulator, state_dir: Path) -> str:
    """A saved session for USER, as `lastfm login` leaves it; returns the session key."""
    from lastfm.session import Session, SessionStore

    key = emulator.emulator.create_session(USER)
    SessionStore(state_dir).save(Session(USER, key))
    return key


def scrobbles(emulator: RunningEmulator, user: str = USER) -> list[dict]:
    return emulator.emulator.scrobbles_of(user)


@pytest.fixture
def settings(lastfm_env: dict[str, str], state_dir: Path) -> Settings:
    return Settings(
        data_dir=REPO / "public", state_dir=state_dir,
        api_key=lastfm_env["LASTFM_API_KEY"], api_secret=lastfm_env["LASTFM_API_SECRET"],
        api_url=lastfm_env["LASTFM_API_URL"], ca_bundle=lastfm_env["LASTFM_CA_BUNDLE"], timeout=3.0,
    )


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch):
    """Invoke main.py's CLI in-process; stdout and stderr are kept apart."""
    from main import cli

    monkeypatch.delenv("RUSSFM_CONFIG", raising=False)
    monkeypatch.setenv("RUSSFM_CONFIG", "")

    def invoke(*args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)

    return invoke


def spawn(env: dict[str, str], *args: str) -> subprocess.Popen:
    """`python main.py ARGS` as a real process from scrapper/, as cron and users run it."""
    return subprocess.Popen([sys.executable, "main.py", *args], cwd=REPO / "scrapper", env=os.environ | env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen, timeout: float = 120) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


@pytest.fixture(scope="session")
def listenbrainz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningListenBrainz]:
    lb = ListenBrainz()
    lb.add_user(LB_USER, LB_TOKEN)
    running = RunningListenBrainz(lb, folder=tmp_path_factory.mktemp("listenbrainz")).start()
    yield running
    running.stop()


@pytest.fixture
def listenbrainz(listenbrainz_server: RunningListenBrainz) -> Iterator[RunningListenBrainz]:
    """The shared local ListenBrainz, emptied of listens, faults, counts and limits for each test."""
    listenbrainz_server.lb.reset()
    listenbrainz_server.lb.state.tokens = {LB_TOKEN: LB_USER}
    yield listenbrainz_server
    listenbrainz_server.lb.reset()


@pytest.fixture
def listenbrainz_env(listenbrainz: RunningListenBrainz, state_dir: Path,
                     monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment that points the tool at the local ListenBrainz (beside the Last.fm one, if also asked for)."""
    env = {
        "LISTENBRAINZ_API_URL": listenbrainz.url,
        "LISTENBRAINZ_CA_BUNDLE": listenbrainz.ca_bundle,
        "LISTENBRAINZ_TIMEOUT": "2",
        "RUSSFM_STATE_DIR": str(state_dir),
        "RUSSFM_RETRY_DELAY": "0.05",
        "RUSSFM_CONFIG": "",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def lb_settle(env: dict[str, str]) -> None:
    """Wait until a batch sent to ListenBrainz is past its timeout: only then is it checked there."""
    from scrobble.sender import SETTLE_MARGIN

    time.sleep(float(env["LISTENBRAINZ_TIMEOUT"]) + SETTLE_MARGIN)


def listens(listenbrainz: RunningListenBrainz, user: str = LB_USER) -> list[dict]:
    return listenbrainz.lb.listens_of(user)


@pytest.fixture
def lb_signed_in(listenbrainz_env: dict[str, str], state_dir: Path) -> str:
    """A saved ListenBrainz token for LB_USER, as `listenbrainz login` leaves it."""
    from listenbrainz.token import Token, TokenStore

    TokenStore(state_dir).save(Token(LB_USER, LB_TOKEN))
    return LB_TOKEN
