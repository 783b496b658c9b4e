"""censorscope: whether, since when and how an internet platform is restricted on a
network, and what that costs. The layers are described in docs/architecture.md."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("censorscope")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"
