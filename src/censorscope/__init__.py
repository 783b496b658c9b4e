"""censorscope: whether, since when and how an internet platform is restricted on a
network, and what that costs. The layers are described in docs/architecture.md."""

from __future__ import annotations


def __getattr__(name: str) -> str:
    # read from the installed metadata on first use only: importlib.metadata costs ~50 ms,
    # which every process (the lab's child among them) would pay at import
    if name != "__version__":
        raise AttributeError(name)
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("censorscope")
    except PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"
