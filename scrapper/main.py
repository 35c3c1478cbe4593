"""Entry point: `python main.py …` from scrapper/ runs the command line in the `cli` package."""

from __future__ import annotations

from cli import cli


def main() -> None:
    cli(prog_name="main.py")


if __name__ == "__main__":
    main()
