"""`import --engine spark` gives what the embedded engine gives: the same --json lines in
the same order and the same rows in the lake, on the real measurements in tests/data
(and the shared data, when present) and on a generated set with slow handshakes judged
by their peers, repeated measurements and bad lines (Spark in local mode)."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path
from typing import Any

from censorscope.engine.spark_import import import_files
from censorscope.inputs import documents
from censorscope.store import Store
from censorscope.store.database import COLUMNS
from censorscope.store.lake import export, open_lake
from tests.conftest import needs_spark

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
SHARED = ROOT.parent / "shared" / "data" / "ooni"
sys.path.insert(0, str(ROOT / "bench"))
import corpus  # noqa: E402  # the generator the Spark bench uses (bench/corpus.py)


def _embedded(paths: list[str], tmp: Path, tool: str = "ooni") -> tuple[list[str], Path]:
    """The embedded engine's --json lines and its lake."""
    import io

    from censorscope.cli.imports import import_raw

    out = io.StringIO()
    with Store(tmp / "embedded.duckdb") as store:
        import_raw(store, paths, out=out, tool=tool, workers=1)
        export(store, tmp / "embedded-lake")
    return out.getvalue().splitlines(), tmp / "embedded-lake"


def _rows(lake: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the lake but its run id, sorted."""
    out = {}
    with open_lake(lake) as s:
        for table, cols in COLUMNS.items():
            names = ", ".join(c for c, _ in cols if c != "run_id")
            out[table] = s.db.execute(f"SELECT {names} FROM {table} ORDER BY ALL").fetchall()
    return out


def _spark(spark: Any, paths: list[str], tmp: Path, tool: str = "ooni") -> tuple[list[str], Any]:
    lines: list[str] = []
    done = import_files(spark, paths, str(tmp / "spark-lake"), "sparkrun", tool,
                        out_line=lines.append)  # fmt: skip
    return "".join(lines).splitlines(), done


def test_the_cli_prints_the_embedded_engines_lines(tmp_path: Path) -> None:
    """The acceptance command, as a user runs it (its own Spark, local[2])."""
    needs_spark()
    paths = [str(DATA / "ooni")] + ([str(SHARED)] if SHARED.exists() else [])
    want, want_lake = _embedded(paths, tmp_path)
    lake = tmp_path / "lake"
    got = subprocess.run(
        [sys.executable, "-m", "censorscope", "import", "--format", "ooni", *paths,
         "--engine", "spark", "--master", "local[2]", "--lake", str(lake), "--json"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert got.returncode == 0, got.stderr[-2000:]
    assert got.stdout.splitlines() == want and len(want) >= 34
    assert "PROVENANCE.md: not a .json" in got.stderr  # what was left out is said
    assert _rows(lake) == _rows(want_lake)
    # and the lake reads as any other: the same verdicts through --lake
    assert not (lake / f"_staging-{'x'}").exists() and not list(lake.glob("_staging-*"))


def test_censored_planet_records_give_the_same_rows(tmp_path: Path, spark: Any) -> None:
    paths = [str(DATA / "censoredplanet")]
    want, want_lake = _embedded(paths, tmp_path, "censoredplanet")
    got, done = _spark(spark, paths, tmp_path, "censoredplanet")
    assert got == want and len(got) == 48
    assert _rows(tmp_path / "spark-lake") == _rows(want_lake)
    assert done.counts["measurements"] == 48


def test_a_generated_set_with_peers_repeats_and_bad_lines(tmp_path: Path, spark: Any) -> None:
    root = tmp_path / "raw"
    corpus.generate_tree(root, 6_000, files=7, seed=3, slow=0.45, repeat=0.01, networks=4,
                         days=2)  # fmt: skip
    bad = root / "20240301" / "0000" / "web-0000.jsonl.gz"
    with gzip.open(bad, "ab") as f:  # a line that is not JSON, one that is no measurement
        f.write(b"{not json\n" + b'{"test_keys": null}\n')
    (root / "notes.txt").write_text("left out, and said")
    want, want_lake = _embedded([str(root)], tmp_path)
    got, done = _spark(spark, [str(root)], tmp_path)
    assert got == want
    rules = [line.split('"rule": "')[1].split('"')[0] for line in got]
    # slow handshakes were judged by their peers: throttled beside fast ones, a slow
    # network beside slow ones, and without enough of them
    assert {"throttle.handshake", "slow.network", "throttle.handshake.alone"} <= set(rules)
    spark_rows, embedded_rows = _rows(tmp_path / "spark-lake"), _rows(want_lake)
    assert spark_rows == embedded_rows
    # repeated measurements were printed each time and stored once
    assert len(embedded_rows["verdicts"]) < len(got)
    said = [str(p) for p in done.problems]
    assert any("notes.txt: not a .json" in p for p in said)
    assert any(p.startswith(f"{bad}:") and "not JSON" in p for p in said)
    assert done.counts["skipped"] == 3 and done.counts["files"] == 7


def test_an_unreadable_file_is_said_and_the_rest_imported(tmp_path: Path, spark: Any) -> None:
    root = tmp_path / "raw"
    corpus.generate_tree(root, 300, files=3, seed=5)
    broken = root / "20240302" / "0001" / "web-0001.jsonl.gz"
    broken.write_bytes(broken.read_bytes()[:200])  # a download cut short
    got, done = _spark(spark, [str(root), str(tmp_path / "missing")], tmp_path)
    said = [str(p) for p in done.problems]
    assert any(p.startswith(f"{broken}:") and "gzip stream breaks off" in p for p in said)
    assert any("missing: no such file or directory" in p for p in said)
    assert len(got) == done.counts["measurements"] >= 200
    assert documents.SUFFIXES  # the same suffixes decide what is a measurement file
