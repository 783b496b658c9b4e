"""Shared fixtures: labs started once per session (real sockets on loopback)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from censorscope.lab.runtime import LabProcess

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
TEST_SCENARIOS = Path(__file__).resolve().parent / "scenarios"


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
