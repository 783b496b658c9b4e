"""The dashboard's shared read-only connection lets a writer in within a request's time,
under continuous reads, and then reads what it wrote."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from censorscope.store import Store
from censorscope.store.readers import SharedReader

WRITE = """
import sys, time
from datetime import UTC, datetime
from censorscope.records import Measurement, Verdict
from censorscope.store import Store
at = datetime(2022, 3, 14, tzinfo=UTC)
started = time.monotonic()
s = Store(sys.argv[1], wait=30)
s.add(Measurement("https://a.test/", "X", 1, "RU", at), Verdict("https://a.test/", "X", 1, "RU",
      at, "blocked", "tls"))
s.close()
print(f"{time.monotonic() - started:.3f}")
"""


def count(reader: SharedReader) -> int:
    with reader.store() as s:
        row = s.db.execute("SELECT count(*) FROM verdicts").fetchone()
        return int(row[0]) if row else 0


def test_a_writer_gets_in_under_continuous_reads(tmp_path: Path) -> None:
    db = tmp_path / "r.duckdb"
    Store(db).close()
    reader = SharedReader(str(db))
    seen: list[int] = []
    stop = threading.Event()

    def reads() -> None:
        while not stop.is_set():
            seen.append(count(reader))
            time.sleep(0.005)

    threads = [threading.Thread(target=reads) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.3)
        assert seen and seen[-1] == 0
        out = subprocess.run([sys.executable, "-c", WRITE, str(db)], capture_output=True,
                             text=True, timeout=60, check=True).stdout  # fmt: skip
        waited = float(out)
        deadline = time.monotonic() + 5
        while seen[-1] != 1 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        for t in threads:
            t.join(10)
        reader.close()
    assert waited < 3.0  # a request's time and the interpreter's start, not the reads'
    assert seen[-1] == 1 and set(seen) == {0, 1}
    assert not Path(str(db) + ".writer-waiting").exists()


def test_an_idle_reader_lets_go_of_the_file(tmp_path: Path) -> None:
    db = tmp_path / "i.duckdb"
    Store(db).close()
    reader = SharedReader(str(db), idle=0.2)
    assert count(reader) == 0
    time.sleep(0.5)
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-c", WRITE, str(db)], capture_output=True, text=True,
                         timeout=60, check=True).stdout  # fmt: skip
    assert float(out) < 1.0 and time.monotonic() - started < 10
    assert count(reader) == 1
    reader.close()
