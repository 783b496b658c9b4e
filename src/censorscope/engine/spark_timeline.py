"""`timeline --engine spark`: the changes in a lake's verdicts, found by Spark with the
embedded engine's functions (analysis.timeline: `series` and `find_changes`), one series
per group (`applyInArrow`), so that a series never has to share a machine with another.

A series' changes depend only on its own verdicts and on the vocabulary of labels (the
emission costs of analysis.timeline), which is taken from the whole lake first, as the
store hands it over; the changes come back in the store's order (by target and where).
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from censorscope.analysis.timeline import SILENT, VerdictRows, explain, find_changes, series
from censorscope.engine.spark import failure
from censorscope.records import Change, Event

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

_FOUND = "target string, loc string, k int, change binary"


def changes_in_lake(
    spark: SparkSession, lake: str, events: Sequence[Event], target: str | None = None
) -> tuple[list[Change], list[dict[str, object]]]:
    """What cli.changes.changes_in gives for a store: per-vantage changes, and the
    country-level ones explained, as their JSON form."""
    from pyspark.sql import functions as F

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
    kinds = sorted(
        (r["verdict"], r["method"] or None)
        for r in rows.select("verdict", "method").distinct().collect()
    )
    found = rows.groupBy("target", "loc").applyInArrow(_per_series(kinds), _FOUND)
    out = sorted((r["target"], r["loc"], r["k"], r["change"]) for r in found.toLocalIterator())
    return [pickle.loads(blob) for *_, blob in out]


def _per_series(
    kinds: list[tuple[str, str | None]],
) -> Callable[[pa.Table], pa.Table]:
    code_of = {k: i for i, k in enumerate(kinds)}

    def per_series(table: pa.Table) -> pa.Table:
        target, loc = table["target"][0].as_py(), table["loc"][0].as_py()
        us = table["time"].cast(pa.int64()).to_numpy()  # microseconds, UTC
        code = np.array(
            [
                code_of[(v, m or None)]
                for v, m in zip(
                    table["verdict"].to_pylist(), table["method"].to_pylist(), strict=True
                )
            ],
            dtype=np.int16,
        )
        order = np.lexsort((code, us))  # by time, as the store orders them
        counts = table["n"].to_numpy(zero_copy_only=False)
        counted = table["n"].null_count == 0
        found = find_changes(
            series(
                VerdictRows(
                    names=[(f"{target} @ {loc}", target, loc)],
                    sid=np.zeros(len(order), dtype=np.int64),
                    # whole seconds as the store gives them (DuckDB's epoch(), rounded half
                    # to even)
                    t=np.rint(us[order] / 1e6).astype(np.int64),
                    code=code[order],
                    kinds=kinds,
                    counts=counts[order].astype(np.int64) if counted else None,
                )
            )
        )
        return pa.table(
            {
                "target": pa.array([target] * len(found), pa.string()),
                "loc": pa.array([loc] * len(found), pa.string()),
                "k": pa.array(range(len(found)), pa.int32()),
                "change": pa.array([pickle.dumps(c) for c in found], pa.binary()),
            }
        )

    return per_series
