"""Writes each command's usage and options into docs/reference.md, from the commands themselves.

Run it after changing a command's options: `.venv/bin/python docs/make_reference.py`
(`--check` only says whether the page is current; tests/test_readme.py runs that check).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "reference.md"
sys.path.insert(0, str(ROOT / "scrapper"))

import click  # noqa: E402

from cli import cli  # noqa: E402

BLOCK = re.compile(r"<!-- help: (?P<name>[^>]*?) -->\n.*?<!-- end help -->\n", re.S)
MISSING = "## Commands not described yet"


def commands(group: click.Group = cli, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and group, the root first (as the empty path), in alphabetical order."""
    found = [] if prefix else [()]
    for name in sorted(group.commands):
        command = group.commands[name]
        found.append(prefix + (name,))
        if isinstance(command, click.Group):
            found.extend(commands(command, prefix + (name,)))
    return found


def usage(path: tuple[str, ...]) -> str:
    """The usage line and the option list, as `--help` shows them, at a fixed width."""
    context = click.Context(cli, info_name="main.py", **cli.context_settings)  # -h as well as --help
    command: click.Command = cli
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
        context = click.Context(command, info_name=name, parent=context)
    formatter = click.HelpFormatter(width=100, max_width=100)
    command.format_usage(context, formatter)
    # Every command also takes the global options; they are listed once, under main.py.
    hidden = {param.name for param in cli.params} if path else set()
    rows = [record for param in command.get_params(context) if param.name not in hidden
            for record in [param.get_help_record(context)] if record]
    with formatter.section("Options"):
        formatter.write_dl(rows)
    if isinstance(command, click.Group):
        command.format_commands(context, formatter)
    return formatter.getvalue().rstrip() + "\n"


def block(path: tuple[str, ...]) -> str:
    name = " ".join(path) or "main.py"
    return f"<!-- help: {name} -->\n```text\n{usage(path)}```\n<!-- end help -->\n"


def render(text: str) -> str:
    """The page with every block regenerated, and blocks added at the end for commands it lacks."""
    known = {" ".join(path) or "main.py": path for path in commands()}
    seen: set[str] = set()

    def replace(match: re.Match[str]) -> str:
        name = match["name"]
        if name not in known:
            return f"<!-- help: {name} -->\n(no such command any more)\n<!-- end help -->\n"
        seen.add(name)
        return block(known[name])

    text = BLOCK.sub(replace, text)
    missing = [path for name, path in known.items() if name not in seen]
    if missing:
        if MISSING not in text:
            text = text.rstrip("\n") + f"\n\n{MISSING}\n"
        for path in missing:
            text += f"\n### `{' '.join(path)}`\n\n{block(path)}"
    return text


def main(argv: list[str]) -> int:
    current = PAGE.read_text(encoding="utf-8")
    fresh = render(current)
    if "--check" in argv:
        if fresh != current:
            print(f"{PAGE.relative_to(ROOT)} is not current: run .venv/bin/python docs/make_reference.py",
                  file=sys.stderr)
            return 1
        return 0
    if fresh != current:
        PAGE.write_text(fresh, encoding="utf-8")
        print(f"wrote {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
