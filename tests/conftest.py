"""Shared fixtures: labs started once per session (real sockets on loopback)."""

from __future__ import annotations

import contextlib
import copy
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from censorscope.lab.runtime import LabProcess

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
TEST_SCENARIOS = Path(__file__).resolve().parent / "scenarios"

# Property-based tests of the parsers (marked `fuzz`): a bounded, reproducible run in CI;
# `make fuzz` runs them with many more examples and a deadline that catches a hang.
_QUIET = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
settings.register_profile(
    "ci", max_examples=150, deadline=None, derandomize=True, suppress_health_check=_QUIET
)
settings.register_profile(
    "fuzz", max_examples=5000, deadline=5000, suppress_health_check=_QUIET, print_blob=True
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# any JSON value, nested a few levels (what a hostile or broken file may hold)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def mutated(draw: st.DrawFn, seed: bytes, edits: int = 6) -> bytes:
    """`seed` with a few bytes flipped, inserted or deleted, or cut short: inputs that
    are almost right reach deeper into a parser than random bytes do."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(0, edits))):
        at = draw(st.integers(0, max(0, len(data) - 1)))
        op = draw(st.sampled_from(["flip", "insert", "delete", "cut", "grow"]))
        if op == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 8))]
        elif op == "cut":
            del data[at:]
        elif op == "grow" and data:  # a length field's worth of one byte (0xff...)
            data[at:at] = bytes([data[at]]) * draw(st.integers(1, 300))
    return bytes(data)


def _paths(doc: Any, at: tuple = ()) -> Iterator[tuple]:
    yield at
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, (*at, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, (*at, i))


@st.composite
def mutated_json(draw: st.DrawFn, seed: Any, edits: int = 4) -> Any:
    """`seed` (a parsed JSON document) with a few of its values, anywhere in it, replaced
    by other JSON values or removed."""
    doc = copy.deepcopy(seed)
    for _ in range(draw(st.integers(1, edits))):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            return draw(json_values)
        path = draw(st.sampled_from(paths))
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(json_values)
    return doc


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


HELPER_TOKEN = "test-token-not-secret"


@contextlib.contextmanager
def helper_process(*args: str) -> Iterator[str]:
    """`helper serve` as its own process with HELPER_TOKEN: yields its URL with the pin
    (https://127.0.0.1:PORT/#sha256=...). `args`: more options (a lab's vantage, limits)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "censorscope.cli", "helper", "serve", "--listen", "127.0.0.1:0",
         "--token", HELPER_TOKEN, *args],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # "helper: API on https://127.0.0.1:PORT/#sha256=..."
        assert line.startswith("helper: API on https://"), line
        yield line.split()[3]
    finally:
        proc.terminate()
        proc.wait(10)


def helper_args(lab: LabProcess, name: str = "control") -> list[str]:
    """The helper's options that measure through one vantage of a running lab (its sites
    live on 127.0.0.0/8, which the helper refuses unless allowed)."""
    args = vantage_args(lab, name)
    i = args.index("--not-bogon")
    return [*args[:i], "--allow-private", *args[i + 1 :]]


def needs_spark() -> None:
    """Skip the test, saying why, where pyspark or Java is absent."""
    import shutil

    pytest.importorskip("pyspark", reason="the optional extra: pip install '.[spark]'")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Spark needs Java 17 or later (Debian: default-jre-headless)")


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One Spark session in local mode (2 cores) for every test that needs Spark; the
    test skips where it cannot run (needs_spark)."""
    needs_spark()
    from censorscope.engine.spark import session

    s = session("local[2]", "censorscope-tests")
    yield s
    s.stop()
