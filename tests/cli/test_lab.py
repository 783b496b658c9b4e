"""`lab campaign` run again, or killed and resumed: the store ends with the rows of one
uninterrupted run, and the timeline counts each measurement once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

CAMPAIGN = [
    sys.executable, "-m", "censorscope", "lab", "campaign", "russia-2021-twitter",
    "--from", "2021-03-09T00:00Z", "--to", "2021-03-11T12:00Z", "--every", "6h", "--isp", "MTS",
]  # fmt: skip
ROUNDS = 11


def campaign(db: Path, *extra: str) -> str:
    done = subprocess.run(
        [*CAMPAIGN, "--db", str(db), *extra], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stderr


def rows(db: Path) -> tuple[list[tuple], list[tuple]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        m = con.execute("SELECT id, role, input, vantage FROM measurements ORDER BY id").fetchall()
        v = con.execute(
            "SELECT measurement_id, target, vantage, time, verdict, method FROM verdicts"
            " ORDER BY measurement_id"
        ).fetchall()
    finally:
        con.close()
    return m, v


def timeline(db: Path) -> list[dict]:
    done = subprocess.run(
        [sys.executable, "-m", "censorscope", "timeline", "--db", str(db), "--json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


@pytest.fixture(scope="module")
def whole(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    db = tmp_path_factory.mktemp("whole") / "c.duckdb"
    campaign(db)
    return db, timeline(db)


def test_running_a_campaign_again_adds_nothing(whole: tuple[Path, list[dict]]) -> None:
    db, changes = whole
    before = rows(db)
    assert len(before[1]) == ROUNDS * 8
    said = campaign(db)
    assert rows(db) == before
    assert f"{ROUNDS * 8} measurement(s) were stored already" in " ".join(said.split())
    # the onsets are found with the same evidence (it was doubled: 9/16 became 18/32)
    assert changes and timeline(db) == changes
    assert {c["n_before"] + c["n_after"] for c in changes} == {ROUNDS}


def test_killed_and_resumed_ends_with_the_rows_of_an_uninterrupted_run(
    whole: tuple[Path, list[dict]], tmp_path: Path
) -> None:
    db = tmp_path / "c.duckdb"
    proc = subprocess.Popen(
        [*CAMPAIGN, "--db", str(db), "--slots", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    deadline = time.monotonic() + 120
    try:
        for line in proc.stderr:  # a line per round stored whole (stderr is not a terminal)
            if line.startswith("round ") or time.monotonic() > deadline:
                break
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    assert line.startswith("round "), "no round was stored before the deadline"
    said = campaign(db, "--resume")
    first = said.split("\n", 1)[0]
    skipped = int(first.split("resuming: ", 1)[1].split(" ", 1)[0])
    assert 1 <= skipped < ROUNDS, first
    assert rows(db) == rows(whole[0])
    assert timeline(db) == whole[1]
    assert "nothing left to measure" in campaign(db, "--resume")
