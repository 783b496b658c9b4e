"""`timeline --engine spark`: the changes in a lake's verdicts, found by Spark with the
embedded engine's functions (analysis.timeline: `series` and `find_changes`) over blocks
of whole series: the rows are spread over tasks by series and handed over in order
(`mapInArrow`), and each block of about BLOCK rows goes through the detector at once, as
the store's rows do (one series per call cost a Python loop of the detector per series).

A series' changes depend only on its own verdicts and on the vocabulary of labels (the
emission costs of analysis.timeline), which is taken from the whole lake first, as the
store hands it over; the changes come back in the store's order (by target and where).
"""

from __future__ import annotations

import pickle
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from censorscope.analysis.timeline import SILENT, VerdictRows, explain, find_changes, series
from censorscope.engine.spark import failure
from censorscope.engine.spark_files import require_lake
from censorscope.records import Change, Event

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

_FOUND = "target string, loc string, k int, change binary"  # k: the change's place in its series


def changes_in_lake(
    spark: SparkSession, lake: str, events: Sequence[Event], target: str | None = None
) -> tuple[list[Change], list[dict[str, object]]]:
    """What cli.changes.changes_in gives for a store: per-vantage changes, and the
    country-level ones explained, as their JSON form."""
    from pyspark.sql import functions as F

    require_lake(spark, lake, ("verdicts",))  # all a timeline reads
    try:
        verdicts = spark.read.parquet(f"{lake.rstrip('/')}/verdicts").drop("date", "cc")
        cond = ~F.col("verdict").isin(*SILENT)
        if target:
            cond = cond & (F.col("target") == target)
        src = verdicts.where(cond)
        per_vantage = _changes(
            src.select(
                "target",
                F.col("vantage").alias("loc"),
                "time",
                "verdict",
                F.coalesce("method", F.lit("")).alias("method"),
                F.lit(None).cast("long").alias("n"),
            )
        )
        per_country = _changes(
            src.groupBy(
                "target",
                F.col("country").alias("loc"),
                F.date_trunc("hour", "time").alias("time"),
                "verdict",
            )
            .agg(F.count(F.lit(1)).alias("n"))
            .withColumn("method", F.lit(""))
        )
        vantages = verdicts.groupBy("target", "country").agg(
            F.array_sort(F.collect_set("vantage")).alias("vantages")
        )
        vantages_of = {
            (r["target"], r["country"]): list(r["vantages"]) for r in vantages.toLocalIterator()
        }
    except Exception as exc:  # py4j / Spark: the job's own error
        raise failure("the Spark timeline", exc) from exc
    explained = explain(per_country, per_vantage, vantages_of, events)
    return per_vantage, [c.to_dict() for c in explained]


def _changes(rows: DataFrame) -> list[Change]:
    """Changes of every (target, loc) series of rows (target, loc, time, verdict, method,
    n: how many verdicts a row stands for, null where one)."""
    pairs = rows.select("verdict", "method").distinct().collect()
    kinds = [(v, m or None) for v, m in sorted((r["verdict"], r["method"] or "") for r in pairs)]
    shares = 2 * max(1, rows.sparkSession.sparkContext.defaultParallelism)
    grouped = rows.repartition(shares, "target", "loc").sortWithinPartitions("target", "loc")
    found = grouped.mapInArrow(_per_block(kinds), _FOUND)
    out = sorted((r["target"], r["loc"], r["k"], r["change"]) for r in found.toLocalIterator())
    return [pickle.loads(blob) for *_, blob in out]


BLOCK = 500_000  # rows of whole series handed to the change detector at once


def _per_block(
    kinds: list[tuple[str, str | None]],
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """Rows grouped by series in, changes out: whole series at a time, BLOCK rows or so
    (a series is never cut; memory holds a block, not a share of the lake)."""

    def per_block(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        held: list[pa.RecordBatch] = []
        rows = 0
        for batch in batches:
            held.append(batch)
            rows += batch.num_rows
            if rows < BLOCK:
                continue
            table = pa.Table.from_batches(held)
            cut = _last_series_start(table)
            if cut == 0:  # one series so far: keep reading
                continue
            yield _detect(table.slice(0, cut), kinds)
            held, rows = table.slice(cut).to_batches(), table.num_rows - cut
        if held:
            yield _detect(pa.Table.from_batches(held), kinds)

    return per_block


def _last_series_start(table: pa.Table) -> int:
    """Where the last series of the table begins."""
    target, loc = table["target"], table["loc"]
    last = (target[-1].as_py(), loc[-1].as_py())
    same = pc.and_(pc.equal(target, last[0]), pc.equal(loc, last[1]))
    return int(pc.index(same, True).as_py())


def _detect(table: pa.Table, kinds: list[tuple[str, str | None]]) -> pa.RecordBatch:
    """analysis.timeline's change detection over the whole series in `table`, as the
    store hands series over (VerdictRows: sorted by series, then time)."""
    code_of = {k: i for i, k in enumerate(kinds)}
    keys = list(zip(table["target"].to_pylist(), table["loc"].to_pylist(), strict=True))
    sid_of: dict[tuple[str, str], int] = {}
    sid = np.fromiter((sid_of.setdefault(k, len(sid_of)) for k in keys), np.int64, len(keys))
    code = np.fromiter(
        (code_of[(v, m or None)] for v, m in zip(table["verdict"].to_pylist(),
                                                 table["method"].to_pylist(), strict=True)),
        np.int16, len(keys),
    )  # fmt: skip
    us = table["time"].cast(pa.int64()).to_numpy()  # microseconds, UTC
    order = np.lexsort((code, us, sid))  # by series, then time, as the store orders them
    counted = table["n"].null_count == 0
    found = find_changes(
        series(
            VerdictRows(
                names=[(f"{t} @ {loc}", t, loc) for t, loc in sid_of],
                sid=sid[order],
                # whole seconds as the store gives them (DuckDB's epoch(), rounded half
                # to even)
                t=np.rint(us[order] / 1e6).astype(np.int64),
                code=code[order],
                kinds=kinds,
                counts=table["n"].to_numpy(zero_copy_only=False)[order].astype(np.int64)
                if counted
                else None,
            )
        )
    )
    k, seen = [], Counter[tuple[str, str]]()  # each change's place in its series
    for c in found:
        k.append(seen[(c.target, c.where)])
        seen[(c.target, c.where)] += 1
    return pa.RecordBatch.from_pydict(
        {
            "target": pa.array([c.target for c in found], pa.string()),
            "loc": pa.array([c.where for c in found], pa.string()),
            "k": pa.array(k, pa.int32()),
            "change": pa.array([pickle.dumps(c) for c in found], pa.binary()),
        }
    )
