"""Shared fixtures: labs started once per session (real sockets on loopback)."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from censorscope.lab.runtime import LabProcess

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
TEST_SCENARIOS = Path(__file__).resolve().parent / "scenarios"


@contextlib.contextmanager
def within(seconds: float) -> Iterator[None]:
    """Fail, rather than hang, when the block runs past `seconds` of wall time (the main
    thread's interval timer: what a test of a hang needs, where the old code never ends)."""

    def expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _running(path: Path) -> Iterator[LabProcess]:
    lab = LabProcess(path)
    lab.start()
    yield lab
    lab.close()


@pytest.fixture(scope="session")
def actions_lab() -> Iterator[LabProcess]:
    yield from _running(TEST_SCENARIOS / "actions.toml")


@pytest.fixture(scope="session")
def russia_lab() -> Iterator[LabProcess]:
    yield from _running(SCENARIOS / "russia-2022.toml")


def vantage_args(lab: LabProcess, name: str) -> list[str]:
    """Probe options that measure through one vantage of a running lab."""
    assert lab.info is not None
    e = lab.info.endpoint(name)
    return [
        "--resolver",
        "{}:{}".format(*e.resolver),
        "--proxy",
        "{}:{}".format(*e.proxy),
        "--ca-file",
        lab.info.ca_file,
        "--timeout",
        "1",
        "--not-bogon",
        "127.0.0.0/8",
    ]
