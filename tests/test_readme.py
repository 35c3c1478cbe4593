"""Every command line the README shows, and every example in every --help, runs without a usage error."""

from __future__ import annotations

import re
import shlex
import shutil
import signal
import time
from pathlib import Path

import click
import pytest

from cli import cli
from lastfm.session import Session, SessionStore
from tests.conftest import PASSWORD, REPO, USER, finish, spawn
from tests.test_cli import all_commands

STOP = {">>", ">", "|", "&&", "2>&1", ";"}


def command_lines(lines: list[str]) -> list[str]:
    """The `main.py …` part of each line that runs the tool (after any `cd … &&`, or a pipe into it)."""
    found = []
    for line in lines:
        if "main.py " in line:
            tail = line[line.index("main.py ") + len("main.py "):]
            found.append(re.sub(r"\s+#.*$", "", tail).strip())
    return found


def readme_lines() -> list[str]:
    """Lines of the README's code blocks (shell and crontab; not JSON)."""
    block: list[str] = []
    inside = False
    lines = []
    for line in (REPO / "README.md").read_text().splitlines():
        if line.startswith("```"):
            if inside:
                lines += command_lines(block)
            inside, block = not inside, []
        elif inside:
            block.append(line)
    return lines


def help_lines() -> list[str]:
    lines = []
    for path in all_commands():
        command: click.Command = cli
        for name in path:
            command = command.commands[name]  # type: ignore[attr-defined]
        lines += command_lines((command.help or "").splitlines())
    return lines


def arguments(line: str) -> list[str]:
    words = shlex.split(line)
    for i, word in enumerate(words):
        if word in STOP:
            return words[:i]
    return words


LINES = sorted(set(readme_lines() + help_lines()))


def test_the_lines_were_found():
    assert len(LINES) > 40 and any(line.startswith("scrobble queue run") for line in LINES)
    assert "scrobble queue run -q" in LINES  # the crontab line, options after the command


@pytest.mark.parametrize("line", LINES)
def test_runs_without_a_usage_error(run_cli, lastfm_env, emulator, signed_in, state_dir: Path, tmp_path: Path,
                                    line: str):
    data = tmp_path / "public"
    shutil.copytree(REPO / "public", data)
    emulator.emulator.configure(approve_as=USER)
    SessionStore(state_dir).save(Session(USER, signed_in))
    args = [str(tmp_path / "other-state") if a == "/tmp/russfm" else a.replace("$PASSWORD", PASSWORD)
            for a in arguments(line)]
    if "--username" in args:
        args[args.index("--username") + 1] = USER
    if "--live" in args:
        # A play-along session runs as long as the record: it must start, then stop cleanly on Ctrl-C.
        process = spawn(lastfm_env | {"RUSSFM_DATA_DIR": str(data)}, *args)
        time.sleep(3)
        assert process.poll() is None, finish(process)
        process.send_signal(signal.SIGINT)
        code, out, err = finish(process, timeout=30)
        assert code == 130 and "Traceback" not in err, (line, code, err)
        return
    if args[:1] == ["serve"]:
        # The page serves until Ctrl-C: on a free port of a loopback address (tests never listen beyond it).
        args = ["127.0.0.2" if a == "0.0.0.0" else a for a in args if a != "--open"]
        args = [a if i == 0 or args[i - 1] != "--port" else "0" for i, a in enumerate(args)] + ["--port", "0"]
        process = spawn(lastfm_env | {"RUSSFM_DATA_DIR": str(data)}, *args)
        assert process.stdout is not None and "serving on http://" in process.stdout.readline()
        process.send_signal(signal.SIGINT)
        code, out, err = finish(process, timeout=30)
        assert code == 0 and "Traceback" not in err, (line, code, err)
        return
    result = run_cli("--data-dir", str(data), *args, input=PASSWORD + "\n")
    assert result.exit_code != 2 or "Usage:" not in result.stderr, (line, result.stderr)
    assert "Traceback" not in result.output and "No such option" not in result.stderr, (line, result.output)
