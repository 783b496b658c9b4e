"""Shared fixtures: labs started once per session (real sockets on loopback)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from censorscope.lab.runtime import LabProcess

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
TEST_SCENARIOS = Path(__file__).resolve().parent / "scenarios"


@pytest.fixture(scope="session")
def actions_lab() -> Iterator[LabProcess]:
    lab = LabProcess(TEST_SCENARIOS / "actions.toml")
    lab.start()
    yield lab
    lab.close()


@pytest.fixture(scope="session")
def russia_lab() -> Iterator[LabProcess]:
    lab = LabProcess(SCENARIOS / "russia-2022.toml")
    lab.start()
    yield lab
    lab.close()
