"""The command line: only this package imports every layer."""

from censorscope.cli.main import main

__all__ = ["main"]
