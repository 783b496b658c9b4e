"""The spool: rows written by another process into its folder are adopted and appended
with those written here; the folder goes with the spool."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime
from pathlib import Path

from censorscope.records import Measurement, Verdict
from censorscope.store import Store, spool
from censorscope.store.database import arrow_table, own_identity, verdict_row

AT = datetime(2022, 3, 14, tzinfo=UTC)


def _rows(k: int) -> list[tuple[str, object]]:
    v = Verdict(f"https://s{k}.test/", "X", 1, "RU", AT, "blocked", "tls")
    mid = own_identity("spool", "vantage", Measurement(v.target, "X", 1, "RU", AT))
    return [("verdicts", arrow_table("verdicts", [verdict_row(v, mid, "run")]))]


def _elsewhere(args: tuple[str, int]) -> list[tuple[str, str]]:
    folder, k = args
    return spool.write(folder, _rows(k))  # type: ignore[arg-type]


def test_rows_written_by_workers_are_appended(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    with store.bulk() as spooled:
        folder = spooled.folder
        with multiprocessing.get_context("fork").Pool(2) as pool:
            for files in pool.map(_elsewhere, [(folder, k) for k in range(6)]):
                spooled.adopt(files)
        store.add_tables(_rows(99))  # and one written here
    assert {r["target"] for r in store.verdicts()} == {
        f"https://s{k}.test/" for k in (*range(6), 99)
    }
    assert not Path(folder).exists()
    store.close()
