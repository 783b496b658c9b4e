"""One store, many processes: a reader waits its turn instead of failing on DuckDB's lock,
and reads everything a campaign in another process wrote meanwhile."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from censorscope.errors import StoreError
from censorscope.store import Store

HOLD = """
import sys, time
from censorscope.store import Store
s = Store(sys.argv[1])
print("held", flush=True)
time.sleep(1.0)
s.release()
print("released", flush=True)
time.sleep(5)
"""


def test_a_reader_waits_for_the_writer_to_let_go(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    Store(path).close()
    writer = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE,
                              text=True)  # fmt: skip
    try:
        assert writer.stdout is not None and writer.stdout.readline() == "held\n"
        with pytest.raises(StoreError, match="longer than the wait"):
            Store(path, read_only=True, wait=0.2)
        started = time.monotonic()
        with Store(path, read_only=True, wait=10) as reader:  # waits its turn
            assert reader.targets() == set()
        assert 0.3 < time.monotonic() - started < 5
    finally:
        writer.kill()
        writer.wait(10)


SCENARIO = """
[scenario]
name = "sharing"
[[isp]]
name = "Alpha"
country = "XA"
[[site]]
name = "ok.test"
[[site]]
name = "reset.test"
[[rule]]
isps = ["Alpha"]
on = "sni"
match = "exact"
pattern = "reset.test"
action = "tls-reset"
"""


def test_read_while_a_campaign_writes_and_lose_nothing(tmp_path: Path) -> None:
    db, scenario = tmp_path / "c.duckdb", tmp_path / "sharing.toml"
    scenario.write_text(SCENARIO)
    cmd = [sys.executable, "-m", "censorscope.cli", "lab", "campaign", str(scenario),
           "--from", "2025-01-01T00:00Z", "--to", "2025-01-02T00:00Z", "--slots", "2",
           "--db", str(db)]  # fmt: skip
    campaign = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    seen: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while campaign.poll() is None and time.monotonic() < deadline:
            if db.exists():
                with Store(db, read_only=True) as reader:  # never a lock error
                    n = reader.db.execute("SELECT count(*) FROM verdicts").fetchone()
                    seen.append(int(n[0]) if n else 0)
            time.sleep(0.2)
        _, err = campaign.communicate(timeout=60)
    finally:
        campaign.kill()
    assert campaign.returncode == 0, err
    assert len(seen) >= 2 and seen == sorted(seen)  # read while it wrote, growing
    with Store(db, read_only=True) as reader:
        total = reader.db.execute("SELECT count(*) FROM verdicts").fetchone()
    made = int(err.split(" verdicts in ")[0].rsplit(" ", 1)[-1])  # "25 rounds, N verdicts in"
    assert total is not None and total[0] == made > 0
