"""The command line: help for every command, README coverage, and bad input handled in one clear line."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import click
import pytest

from main import cli
from tests.conftest import REPO

SOON = (datetime.now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")


def all_commands(group: click.Group = cli, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in group.commands.items():
        path = prefix + (name,)
        found.append(path)
        if isinstance(command, click.Group):
            found.extend(all_commands(command, path))
    return found


@pytest.mark.parametrize("path", all_commands(), ids=" ".join)
def test_every_command_has_help_with_an_example_and_is_in_the_readme(run_cli, path):
    result = run_cli(*path, "--help")
    assert result.exit_code == 0
    assert "Example" in result.stdout and "python main.py" in result.stdout
    docs = "".join(page.read_text() for page in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))])
    assert f"main.py {' '.join(path)}" in docs


def test_dry_run_on_the_bundled_collection(run_cli):
    result = run_cli("scrobble", "album", "2112-814617", "--dry-run")
    assert result.exit_code == 0
    assert "Rush — 2112" in result.stdout and "dry run: nothing sent" in result.stdout


def test_bundled_collection_is_all_usable(run_cli):
    result = run_cli("albums", "check", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"albums": 14, "broken": [], "warnings": []}


def test_albums_show_json(run_cli):
    result = run_cli("albums", "show", "rush 2112", "--json")
    data = json.loads(result.stdout)
    assert data["slug"] == "2112-814617" and data["tracks"][0]["duration"] == 1236


@pytest.mark.parametrize("args, code, message", [
    (["scrobble", "album", "no such record", "--dry-run"], 1, "no album"),
    (["scrobble", "album", "rush", "--dry-run"], 2, "matches 2 albums"),
    (["scrobble", "album", "2112", "--dry-run", "--finished-at", "tomorrow"], 2, "cannot read 'tomorrow'"),
    (["scrobble", "album", "2112", "--dry-run", "--finished-at", SOON], 2, "in the future"),
    (["scrobble", "album", "2112", "--dry-run", "--finished-at", "2099-01-01T00:00"], 2, "out of range"),
    (["scrobble", "album", "2112", "--dry-run", "--started-at", "20d ago"], 2, "14 days"),
    (["scrobble", "album", "2112", "--dry-run", "--tracks", "9"], 2, "outside tracks"),
    (["scrobble", "album", "2112", "--dry-run", "--side", "Q"], 2, "no side Q"),
    (["albums", "show", "../../etc/passwd"], 1, "error:"),
])
def test_bad_input_is_one_line(run_cli, args, code, message):
    result = run_cli(*args)
    assert result.exit_code == code
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == "" or "Usage" not in result.stderr


def test_broken_album_file(run_cli, data_copy: Path):
    path = data_copy / "album" / "2112-814617" / "2112-814617.json"
    path.write_text('{"title": "2112", "tracklist": [')
    before = path.read_bytes()
    result = run_cli("--data-dir", str(data_copy), "scrobble", "album", "2112-814617", "--dry-run")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "2112-814617.json: invalid JSON" in lines[0]
    assert path.read_bytes() == before
    check = run_cli("--data-dir", str(data_copy), "albums", "check")
    assert check.exit_code == 1
    assert "2112-814617: " in check.stdout and "31 of 32 albums are usable" in check.stdout


def test_missing_data_folder(run_cli, tmp_path: Path):
    result = run_cli("--data-dir", str(tmp_path / "nope"), "albums", "check")
    assert result.exit_code == 1 and "does not exist" in result.stderr


def test_broken_config_file(run_cli, tmp_path: Path):
    config = tmp_path / "config.json"
    config.write_text("{nope")
    result = run_cli("--config", str(config), "albums", "check")
    assert result.exit_code == 1 and "not valid JSON" in result.stderr


def test_real_process_broken_pipe_and_exit_code():
    """Run as users do, from scrapper/, piped into a reader that stops early."""
    script = "import subprocess,sys;p=subprocess.Popen([sys.executable,'main.py','albums','show','3-d-the-catalogue-10349797'],stdout=subprocess.PIPE,stderr=subprocess.PIPE);p.stdout.readline();p.stdout.close();err=p.stderr.read();p.wait();print(p.returncode);print(err.decode())"
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO / "scrapper", capture_output=True, text=True, timeout=60)
    assert "Traceback" not in out.stdout, out.stdout


def test_progress_bars_only_on_a_terminal_and_not_with_quiet(monkeypatch, tmp_path: Path):
    import io

    from config import Settings
    from cli.output import progress_bar

    settings = Settings(data_dir=tmp_path, state_dir=tmp_path)
    fake = io.StringIO()
    monkeypatch.setattr(sys, "stderr", fake)
    fake.isatty = lambda: False  # type: ignore[method-assign]
    assert progress_bar(settings, 10) is None
    fake.isatty = lambda: True  # type: ignore[method-assign]
    bar = progress_bar(settings, 10)
    assert bar is not None
    bar.update(5)
    bar.close()
    assert "/10 [" in fake.getvalue()  # drawn on stderr
    assert progress_bar(replace(settings, quiet=True), 10) is None
    assert progress_bar(settings, 10, as_json=True) is None


def test_albums_check_on_the_sample_collection_finds_nothing_wrong(run_cli, sample_dir: Path):
    result = run_cli("--data-dir", str(sample_dir), "albums", "check", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"albums": 32, "broken": [], "warnings": []}
