"""The tool's version, shown by `--version` and sent nowhere."""

__version__ = "0.16.0"
