"""The README and docs/ pages: every command line they show runs, in order, as a reader would paste it; every
example in every --help runs without a usage error; links and the generated reference are current."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import click
import pytest

from cli import cli
from lastfm.session import Session, SessionStore
from tests.conftest import PASSWORD, REPO, USER, finish, spawn
from tests.test_cli import all_commands

STOP = {">>", ">", "|", "&&", "2>&1", ";", ")"}
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
SHELL_FENCES = {"```sh", "```"}  # crontab lines sit in a bare fence; ```text, ```json and ```python are not run
DEMO_RECORD = "One Minute Side"  # the tutorial's one-minute record: its play-along runs to the end
EMULATOR = "-m tests.lastfm_emulator"
LB_EMULATOR = "-m tests.listenbrainz_emulator"
# Pages whose examples are shown apart rather than as one session, with the reason; their command forms run in order
# in the tutorial (tests/test_readme.py checks that each of their commands appears there).
APART = {"listenbrainz.md": "signing in, targets and the history import are shown apart, each after a logout"}
TMP_PATH = re.compile(r"/tmp/russfm(?:-[\w-]+)?")


def command_lines(lines: list[str]) -> list[str]:
    """The `main.py …` part of each line that runs the tool (after any `cd … &&`, or a pipe into it)."""
    found = []
    for line in lines:
        if "main.py " in line:
            tail = line[line.index("main.py ") + len("main.py "):]
            found.append(re.sub(r"\s+#.*$", "", tail).strip())
    return found


@dataclass
class DocLine:
    text: str  # the whole line as shown
    page: str

    @property
    def tool(self) -> str | None:
        """What follows `main.py`, without the comment, or None for other shell lines."""
        found = command_lines([self.text])
        return found[0] if found else None

    @property
    def expected(self) -> int:
        """The exit status the line's comment announces (`# … exits 1 …`), else 0."""
        comment = self.text.partition(" # ")[2]
        match = re.search(r"\bexits (\d+)\b", comment)
        return int(match.group(1)) if match else 0


def shell_lines(page: Path) -> list[DocLine]:
    """The lines of a page's shell code blocks, in order."""
    lines, inside, runnable = [], False, False
    for line in page.read_text().splitlines():
        if line.strip().startswith("```"):  # fences inside a numbered list are indented
            inside, runnable = (not inside), (not inside and line.strip() in SHELL_FENCES)
        elif inside and runnable and line.strip() and not line.lstrip().startswith("#"):
            lines.append(DocLine(line.strip(), page.name))
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


HELP_LINES = sorted(set(help_lines()))


def test_the_lines_were_found():
    assert len(HELP_LINES) > 20 and any(line.startswith("scrobble queue run") for line in HELP_LINES)
    every = [" ".join(arguments(line.tool)) for page in PAGES for line in shell_lines(page) if line.tool]
    assert len(every) > 80
    assert "scrobble queue run -q" in every  # the crontab line, options after the command
    assert "lastfm search moving pictures" in every


@pytest.mark.parametrize("line", HELP_LINES)
def test_help_examples_run_without_a_usage_error(run_cli, lastfm_env, emulator, signed_in, state_dir: Path,
                                                 tmp_path: Path, line: str):
    data = tmp_path / "public"
    shutil.copytree(REPO / "public", data)
    emulator.emulator.configure(approve_as=USER)
    SessionStore(state_dir).save(Session(USER, signed_in))
    args = [a.replace("$PASSWORD", PASSWORD) for a in arguments(line)]
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


class DocEmulator:
    """The emulator started as the tutorial starts it, in its own process, with the lines it prints."""

    def __init__(self, args: list[str], folder: Path, last: str = "# Web sign-ins") -> None:
        self.process = subprocess.Popen([sys.executable, *args], cwd=REPO, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True)
        assert self.process.stdout is not None
        self.info = json.loads(self.process.stdout.readline())
        self.printed: list[str] = []
        for _ in range(7):
            line = self.process.stdout.readline().rstrip("\n")
            self.printed.append(line)
            if line.startswith(last):
                break
        self.exports = dict(
            line[len("export "):].split("=", 1) for line in self.printed if line.startswith("export "))
        self.folder = folder

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def local(text: str, tmp_path: Path) -> str:
    """The page's /tmp/russfm… folders, moved into the test's own folder."""
    return TMP_PATH.sub(lambda m: str(tmp_path / m.group(0).rsplit("/", 1)[1]), text)


def emulator_args(lines: list[DocLine], tmp_path: Path) -> list[str]:
    """The page's own emulator command, else the tutorial's: the pages' examples all run against it."""
    for line in [*lines, *shell_lines(REPO / "docs" / "tutorial.md")]:
        if EMULATOR in line.text:
            words = shlex.split(local(line.text, tmp_path))
            return words[words.index("-m"):]
    raise AssertionError("docs/tutorial.md starts no emulator")


def command_form(tool: str) -> tuple[str, frozenset[str]]:
    """A command line's command (`scrobble queue add`) and the options it gives."""
    words = arguments(tool)
    paths = {" ".join(path) for path in all_commands()}
    command = max((" ".join(words[:n]) for n in range(1, len(words) + 1) if " ".join(words[:n]) in paths), key=len,
                  default="")
    return command, frozenset(word for word in words if word.startswith("--"))


def test_pages_shown_apart_run_in_the_tutorial():
    """A page left out of the in-order run shows only commands the tutorial runs, with the same options."""
    tutorial = [command_form(line.tool) for line in shell_lines(REPO / "docs" / "tutorial.md") if line.tool]
    for name in APART:
        shown = [line for line in shell_lines(REPO / "docs" / name) if line.tool]
        assert shown, name
        for line in shown:
            command, options = command_form(line.tool)  # type: ignore[arg-type]
            assert command and any(command == c and options <= o for c, o in tutorial), (name, line.text)


@pytest.mark.slow
@pytest.mark.parametrize("page", [p for p in PAGES if any(line.tool for line in shell_lines(p))
                                  and p.name not in APART], ids=lambda p: p.name)
def test_page_runs_in_order(run_cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, page: Path):
    """Each page's command lines, in the order shown, in one state folder, as a reader pastes them: each one
    exits as its comment says (0 unless `exits N`), so no example collides with one before it."""
    lines = shell_lines(page)
    server = DocEmulator(emulator_args(lines, tmp_path), tmp_path)
    others: list[DocEmulator] = []
    try:
        data = tmp_path / "public"
        shutil.copytree(REPO / "public", data)
        env = {"RUSSFM_STATE_DIR": str(tmp_path / "state"), "RUSSFM_DATA_DIR": str(data), "RUSSFM_CONFIG": "",
               "LASTFM_TIMEOUT": "3", "RUSSFM_RETRY_DELAY": "0.05", "LASTFM_USERNAME": USER} | server.exports
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        for line in lines:
            text = local(line.text, tmp_path)
            if text.startswith("export "):
                for word in shlex.split(text)[1:]:
                    name, _, value = word.partition("=")
                    if name in server.exports:
                        continue  # the page shows an example; the reader pastes what their emulator printed
                    env[name] = value
                    monkeypatch.setenv(name, value)
                continue
            if LB_EMULATOR in text:  # the local ListenBrainz, started in another terminal
                words = shlex.split(text)
                lb = DocEmulator(words[words.index("-m"):], tmp_path, last="export LISTENBRAINZ_TOKEN")
                others.append(lb)
                server.exports |= lb.exports
                continue
            if text.startswith(". "):
                for row in Path(shlex.split(text)[1]).read_text().splitlines():
                    name, _, value = row[len("export "):].partition("=")
                    assert server.exports[name] == value, row
                    env[name] = shlex.split(value)[0]
                    monkeypatch.setenv(name, env[name])
                continue
            if line.tool is None:
                if re.match(r"(rm|mkdir|cp) ", text):
                    subprocess.run(["bash", "-c", text], cwd=REPO / "scrapper", check=True)
                elif text.startswith("python "):  # a helper script the page runs, such as the emulator's steer.py
                    subprocess.run([sys.executable, *shlex.split(text)[1:]], cwd=REPO / "scrapper",
                                   env=os.environ | env, check=True, stdout=subprocess.DEVNULL)
                continue
            run_line(run_cli, env, line, local(line.tool, tmp_path))
    finally:
        for other in others:
            other.stop()
        server.stop()


def run_line(run_cli, env: dict[str, str], line: DocLine, tool: str) -> None:
    args = [a.replace("$PASSWORD", PASSWORD) for a in arguments(tool)]
    if "--username" in args:
        args[args.index("--username") + 1] = USER
    stdin = PASSWORD + "\n"
    if line.text.startswith("printf ") and "| python main.py" in line.text:  # what the reader pipes in
        piped = line.text.split("| python main.py")[0]
        stdin = subprocess.run(["bash", "-c", piped], env=os.environ | env | {"PASSWORD": PASSWORD},
                               capture_output=True, text=True, check=True).stdout
    if args[:1] == ["serve"]:
        # The page serves until Ctrl-C: on a free port of a loopback address (tests never listen beyond it).
        args = ["127.0.0.2" if a == "0.0.0.0" else a for a in args if a != "--open"]
        args = [a if i == 0 or args[i - 1] != "--port" else "0" for i, a in enumerate(args)] + ["--port", "0"]
        process = spawn(env, *args)
        assert process.stdout is not None and "serving on http://" in process.stdout.readline(), finish(process)
        process.send_signal(signal.SIGINT)
        code, out, err = finish(process, timeout=30)
        assert code == 0 and "Traceback" not in err, (line, code, err)
        return
    if "--live" in args:
        process = spawn(env, *args)
        if DEMO_RECORD not in line.text:
            # A whole record plays for most of an hour: it must start, then stop cleanly on Ctrl-C.
            time.sleep(3)
            assert process.poll() is None, finish(process)
            process.send_signal(signal.SIGINT)
            code, out, err = finish(process, timeout=30)
            assert code == 130 and "Traceback" not in err, (line, code, err)
            return
        code, out, err = finish(process, timeout=180)
        assert code == line.expected and "Traceback" not in err, (line, code, out, err)
        return
    result = run_cli(*args, input=stdin)
    assert "Traceback" not in result.output, (line, result.output)
    assert result.exit_code == line.expected, (line, result.exit_code, result.stdout[-2000:], result.stderr[-2000:])


def slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_links_between_pages_lead_somewhere():
    for page in PAGES:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if re.match(r"[a-z]+:", target):
                continue
            name, _, anchor = target.partition("#")
            path = (page.parent / name).resolve() if name else page
            assert path.exists(), (page.name, target)
            if anchor:
                headings = [slug(h) for h in re.findall(r"^#+ (.*)$", path.read_text(), re.M)]
                assert anchor in headings, (page.name, target, headings)


def test_the_reference_is_current():
    sys.path.insert(0, str(REPO / "docs"))
    try:
        import make_reference
    finally:
        sys.path.pop(0)
    current = (REPO / "docs" / "reference.md").read_text()
    assert make_reference.render(current) == current, "run .venv/bin/python docs/make_reference.py"
    for path in make_reference.commands():
        assert f"<!-- help: {' '.join(path) or 'main.py'} -->" in current


def test_the_readme_is_short_and_its_start_here_lines_run_from_the_root():
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) < 150
    start = readme.split("## Start here", 1)[1].split("\n## ", 1)[0]
    first, second = [line.text for line in shell_lines_of(start)][:2]
    # Pasted one after the other in one terminal: the first must leave the shell where it began.
    assert "cd scrapper" not in first or "( cd scrapper" in first
    assert second.startswith("python3 -m venv .venv") or second.startswith(".venv/")


def shell_lines_of(text: str) -> list[DocLine]:
    lines, inside = [], False
    for line in text.splitlines():
        if line.strip().startswith("```"):
            inside = not inside
        elif inside and line.strip():
            lines.append(DocLine(line.strip(), "README.md"))
    return lines


def test_in_a_time_ahead(run_cli, tmp_path: Path):
    """`in 2h` reads as a time ahead, so scheduling examples never go stale."""
    from scrobble.timeparse import parse_time

    now = 1_800_000_000.5
    assert parse_time("in 2h", now) == 1_800_000_000 + 7200
    assert parse_time("in 1h30m", now) == 1_800_000_000 + 5400
    for bad in ("in", "in soon", "in 999999999999d"):
        with pytest.raises(Exception, match="cannot read|out of range"):
            parse_time(bad, now)


def test_the_emulator_prints_what_to_paste_and_approves_in_a_browser(tmp_path: Path):
    import requests

    server = DocEmulator([*EMULATOR.split(), "--demo", "--user", f"{USER}:{PASSWORD}",
                          "--state-folder", str(tmp_path / "emu")], tmp_path)
    try:
        assert set(server.exports) == {"LASTFM_API_URL", "LASTFM_CA_BUNDLE", "LASTFM_API_KEY", "LASTFM_API_SECRET"}
        assert server.exports["LASTFM_API_URL"] == server.info["url"]
        env_file = tmp_path / "emu" / "lastfm.env"
        assert env_file.stat().st_mode & 0o777 == 0o600
        assert env_file.read_text().splitlines() == [p for p in server.printed if p.startswith("export ")]
        # The tutorial shows the same names in its example.
        shown = {line.text.split("=")[0].split()[-1] for line in shell_lines(REPO / "docs" / "tutorial.md")
                 if line.text.startswith("export LASTFM_")}
        assert shown == set(server.exports)
        base, ca = server.info["url"].rsplit("/2.0/", 1)[0], server.info["ca_bundle"]
        token_answer = requests.post(server.info["url"], data=signed({"method": "auth.getToken"}, server.info),
                                     verify=ca, timeout=5).text
        token = re.search(r"<token>(\w+)</token>", token_answer).group(1)  # type: ignore[union-attr]
        page = requests.get(f"{base}/api/auth/?api_key={server.info['api_key']}&token={token}", verify=ca, timeout=5)
        assert page.status_code == 200 and "Yes, allow access" in page.text and f"<option>{USER}</option>" in page.text
        before = requests.post(server.info["url"], data=signed({"method": "auth.getSession", "token": token},
                                                                server.info), verify=ca, timeout=5)
        assert '<error code="14">' in before.text  # not approved yet
        unknown = requests.post(f"{base}/api/auth/", data={"token": "nope", "user": USER}, verify=ca, timeout=5)
        assert unknown.status_code == 404
        nobody = requests.post(f"{base}/api/auth/", data={"token": token, "user": "<b>x"}, verify=ca, timeout=5)
        assert nobody.status_code == 400 and "<b>x" not in nobody.text  # escaped, never markup
        done = requests.post(f"{base}/api/auth/", data={"token": token, "user": USER}, verify=ca, timeout=5)
        assert done.status_code == 200 and "Access allowed" in done.text
        after = requests.post(server.info["url"], data=signed({"method": "auth.getSession", "token": token},
                                                               server.info), verify=ca, timeout=5)
        assert f"<name>{USER}</name>" in after.text
        search = requests.post(server.info["url"], data={"method": "album.search", "album": "moving pictures",
                                                         "api_key": server.info["api_key"]}, verify=ca, timeout=5)
        assert "<name>Moving Pictures</name>" in search.text
    finally:
        server.stop()


def signed(params: dict[str, str], info: dict) -> dict[str, str]:
    from tests.lastfm_emulator.core import signature

    params = params | {"api_key": info["api_key"]}
    return params | {"api_sig": signature(params, info["api_secret"])}


def test_the_demo_catalogue_holds_the_collection_and_a_short_record():
    from tests.lastfm_emulator.demo import demo_catalogue

    albums = {(a["artist"], a["name"]): a for a in demo_catalogue()["albums"]}
    collection = json.loads((REPO / "public" / "collection.json").read_text())
    assert all((e["release_artist"], e["release_name"]) in albums for e in collection)
    suite = albums[("Rush", "2112")]["tracks"][0]
    assert suite["name"] == "2112" and suite["duration"] > 1000  # the suite as one track, its parts summed
    demo = albums[("The Test Pressings", DEMO_RECORD)]
    assert sum(t["duration"] for t in demo["tracks"]) <= 60
    assert any(t["duration"] > 30 for t in demo["tracks"])  # something to scrobble in that minute
    assert os.path.exists(REPO / "docs" / "tutorial.md")


def test_steer_sets_and_clears_faults_from_a_terminal(tmp_path: Path):
    import requests

    server = DocEmulator([*EMULATOR.split(), "--user", f"{USER}:{PASSWORD}", "--state-folder", str(tmp_path)],
                         tmp_path)
    steer = [sys.executable, str(REPO / "tests" / "lastfm_emulator" / "steer.py")]
    env = os.environ | server.exports

    def scrobble_status() -> int:
        answer = requests.post(server.info["url"], data=signed({"method": "track.scrobble", "sk": "x"}, server.info),
                               verify=server.info["ca_bundle"], timeout=5)
        return answer.status_code

    try:
        done = subprocess.run([*steer, "fault", '{"method": "track.scrobble", "http": 503, "times": 5}'], env=env,
                              capture_output=True, text=True)
        assert done.returncode == 0 and "fault set" in done.stdout
        assert scrobble_status() == 503
        assert subprocess.run([*steer, "clear"], env=env, capture_output=True).returncode == 0
        assert scrobble_status() != 503  # the four faults left are gone (the bad session key is what answers now)
        counted = subprocess.run([*steer, "requests"], env=env, capture_output=True, text=True)
        assert json.loads(counted.stdout) == {"track.scrobble": 2}
        bad = subprocess.run([*steer, "fault", "{not json"], env=env, capture_output=True, text=True)
        assert bad.returncode != 0 and "not JSON" in bad.stderr and "Traceback" not in bad.stderr
        refused = subprocess.run([*steer, "fault", '{"method": "*"}'], env=env, capture_output=True, text=True)
        assert refused.returncode != 0 and "refused" in refused.stderr
        lost = subprocess.run([*steer, "clear"], env=os.environ | {"LASTFM_API_URL": ""}, capture_output=True,
                              text=True)
        assert lost.returncode != 0 and "paste the lines" in lost.stderr
        assert subprocess.run([*steer], env=env, capture_output=True).returncode == 2
    finally:
        server.stop()
