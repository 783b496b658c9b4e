"""The Parquet lake: a store written as hive-partitioned Parquet and read back through
DuckDB gives the same rows, and the commands that read a store read a lake the same."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pytest

from censorscope.cli import main
from censorscope.errors import StoreError
from censorscope.store import Store
from censorscope.store.database import COLUMNS
from censorscope.store.lake import export, open_lake
from tests.dashboard.test_app import fill


@pytest.fixture
def stored(tmp_path: Path) -> Path:
    db = tmp_path / "s.duckdb"
    store = Store(db)
    fill(store, range(30))  # 2022-03-13 12:00 onwards: two days, RU and DE
    store.close()
    return db


def _rows(store: Store, table: str) -> list[tuple]:
    return sorted(store.db.execute(f"SELECT * FROM {table}").fetchall(), key=repr)


def test_a_lake_holds_the_stores_rows_by_day_and_country(stored: Path, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    with Store(stored, read_only=True) as s:
        assert export(s, lake) == {"measurements": 120, "verdicts": 90}
        assert export(s, lake) == {"measurements": 120, "verdicts": 90}  # again: the same
    parts = sorted(str(p.relative_to(lake / "verdicts")) for p in lake.glob("verdicts/*/*"))
    assert parts == ["date=2022-03-13/cc=DE", "date=2022-03-13/cc=RU",
                     "date=2022-03-14/cc=DE", "date=2022-03-14/cc=RU"]  # fmt: skip
    # the controls' country is ZZ (unknown) in the store: their own partition
    assert (lake / "measurements" / "date=2022-03-13" / "cc=ZZ").is_dir()
    # as Spark or any hive reader sees it: the partition columns from the paths
    seen = ds.dataset(lake / "verdicts", format="parquet", partitioning="hive").to_table()
    assert seen.num_rows == 90 and {"date", "cc", "verdict", "time"} <= set(seen.column_names)
    with open_lake(lake) as got, Store(stored, read_only=True) as s:
        for table in ("measurements", "verdicts"):
            assert _rows(got, table) == _rows(s, table)


def test_read_commands_read_a_lake_as_they_read_the_store(
    stored: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = tmp_path / "lake"
    assert main(["lake", "export", "--db", str(stored), "--out", str(lake)]) == 0
    capsys.readouterr()
    for cmd in (["timeline", "--json"], ["timeline"]):
        assert main([*cmd, "--db", str(stored)]) == 0
        from_store = capsys.readouterr().out
        assert main([*cmd, "--lake", str(lake)]) == 0
        assert capsys.readouterr().out == from_store and from_store
    # nothing imported from another tool: the same answer from both
    assert main(["compare", "--lake", str(lake)]) == main(["compare", "--db", str(stored)]) == 1
    out = tmp_path / "o.jsonl"
    assert main(["export", "--lake", str(lake), "--out", str(out)]) == 0
    assert len(out.read_text().splitlines()) == 90


def test_a_folder_that_is_not_a_lake_is_said_so(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    with pytest.raises(StoreError, match=r"not a lake.*lake export"):
        open_lake(tmp_path / "x")
    assert main(["timeline", "--lake", str(tmp_path / "x")]) == 2
    broken = tmp_path / "broken"
    for table in ("measurements", "verdicts"):
        part = broken / table / "date=2022-03-14" / "cc=RU"
        part.mkdir(parents=True)
        (part / "part-0.parquet").write_bytes(b"not parquet")
    with pytest.raises(StoreError, match=r"part-0\.parquet.*lake export") as e:
        open_lake(broken)
    assert "LINE" not in str(e.value) and "CREATE VIEW" not in str(e.value)
    assert main(["timeline", "--lake", str(tmp_path / "missing")]) == 2
    assert main(["lake", "export", "--db", str(tmp_path / "none.duckdb"),
                 "--out", str(tmp_path / "l")]) == 2  # fmt: skip


def test_spark_reads_the_lake_in_place(stored: Path, tmp_path: Path, spark: Any) -> None:
    """The lake as Apache Spark (local mode) reads it: the same rows, by partition."""
    lake = tmp_path / "lake"
    with Store(stored, read_only=True) as s:
        export(s, lake)
        want = s.db.execute(
            "SELECT strftime(time, '%Y-%m-%d'), country, verdict, count(*) FROM verdicts"
            " GROUP BY ALL ORDER BY ALL"
        ).fetchall()
    df = spark.read.parquet(str(lake / "verdicts"))
    got = df.groupBy("date", "cc", "verdict").count().orderBy("date", "cc", "verdict")
    assert [(str(r["date"]), r["cc"], r["verdict"], r["count"]) for r in got.collect()] == want
    assert {f.name for f in df.schema} >= {"target", "vantage", "time", "rule", "evidence"}


def test_an_import_writes_the_lake_with_every_row_it_stored(tmp_path: Path) -> None:
    data = Path(__file__).resolve().parents[1] / "data" / "ooni"
    db, lake = tmp_path / "o.duckdb", tmp_path / "lake"
    assert main(["import", "--format", "ooni", str(data), "--db", str(db),
                 "--lake", str(lake)]) == 0  # fmt: skip
    with open_lake(lake) as got, Store(db, read_only=True) as s:
        assert _rows(got, "verdicts") == _rows(s, "verdicts") and _rows(s, "verdicts")


def test_the_documented_schema_is_the_lakes() -> None:
    """docs/lake.md's tables name every column of both tables with its type, in order:
    the schema users read lakes by (issue 17: stable and documented)."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "lake.md").read_text()
    for table, cols in COLUMNS.items():
        section = doc.split(f"### {table}\n", 1)[1].split("\n\n###", 1)[0]
        rows = re.findall(r"^\| `(\w+)` \| ([\w\[\]]+) \|$", section, re.MULTILINE)
        assert rows == [(name, str(t)) for name, t in cols], table
