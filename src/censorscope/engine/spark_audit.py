"""`audit --engine spark`: a rule set against a population too large for one machine's
patience. The population is split across Spark's workers; each builds the rule set's
index once (rules.audit.NameIndex) and classifies its share with rules.audit.classify,
the function the embedded audit calls; Spark counts per rule and keeps each rule's most
popular collateral domains. The lines are rules.audit.audit_row's, in the embedded order.

The population is read on the driver (inputs.populations: the same files, the same
errors) and handed to Spark as Arrow; the matching, the costly part, is distributed.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

import pyarrow as pa

from censorscope.engine.spark import failure
from censorscope.records import Rule
from censorscope.rules.audit import Domain, NameIndex, audit_row, classify

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

_MATCHES = "rule int, cls string, pos long, name string, rank int, category string"


def audit_population(
    spark: SparkSession,
    rules: Sequence[Rule],
    population: Sequence[Domain],
    intended: set[str] | None = None,
    top: int = 10,
) -> tuple[list[dict[str, object]], int]:
    """The audit's lines (rules.audit.audit_row), rules with the most collateral first,
    and how many distinct domains were collateral of some rule."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    table = pa.table(
        {
            "pos": pa.array(range(len(population)), pa.int64()),
            "name": pa.array([d.name for d in population], pa.string()),
            "rank": pa.array([d.rank for d in population], pa.int32()),
            "category": pa.array([d.category for d in population], pa.string()),
        }
    )
    try:
        shares = max(1, spark.sparkContext.defaultParallelism)
        pop = spark.createDataFrame(table).repartition(shares)
        blob = spark.sparkContext.broadcast(pickle.dumps((list(rules), intended)))
        matches = pop.mapInArrow(_matcher(blob), _MATCHES).cache()
        counts = matches.groupBy("rule", "cls").count().collect()
        # each rule's `top` collateral by rank; a tie goes to the domain listed first
        first = Window.partitionBy("rule").orderBy("rank", "pos")
        worst = (
            matches.where("cls = 'collateral'")
            .withColumn("_n", F.row_number().over(first))
            .where(F.col("_n") <= top)
            .orderBy("rule", "_n")
            .collect()
        )
        collateral = matches.where("cls = 'collateral'").select("name").distinct().count()
        matches.unpersist()
    except Exception as exc:  # py4j / Spark: the job's own error
        raise failure("the Spark audit", exc) from exc
    per: dict[int, dict[str, int]] = {}
    for r in counts:
        per.setdefault(r["rule"], {})[r["cls"]] = r["count"]
    tops: dict[int, list[Domain]] = {}
    for r in worst:
        tops.setdefault(r["rule"], []).append(Domain(r["name"], r["rank"], r["category"]))
    hit = sorted(per, key=lambda i: (-per[i].get("collateral", 0), rules[i].id))
    lines = [
        audit_row(
            rules[i],
            per[i].get("intended", 0),
            per[i].get("collateral", 0),
            per[i].get("unclassified", 0),
            tops.get(i, []),
        )
        for i in hit
    ]
    return lines, collateral


def _matcher(blob: object) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    def match(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        rules, intended = pickle.loads(blob.value)  # type: ignore[attr-defined]
        index = NameIndex(rules)  # once per share of the population
        for batch in batches:
            domains = [
                (pos, Domain(n, r, c))
                for pos, n, r, c in zip(
                    batch.column("pos").to_pylist(),
                    batch.column("name").to_pylist(),
                    batch.column("rank").to_pylist(),
                    batch.column("category").to_pylist(),
                    strict=True,
                )
            ]
            place = {id(d): pos for pos, d in domains}
            found = list(classify(index, (d for _, d in domains), intended))
            yield pa.RecordBatch.from_pydict(
                {
                    "rule": pa.array([i for i, _, _ in found], pa.int32()),
                    "cls": pa.array([c for _, c, _ in found], pa.string()),
                    "pos": pa.array([place[id(d)] for _, _, d in found], pa.int64()),
                    "name": pa.array([d.name for _, _, d in found], pa.string()),
                    "rank": pa.array([d.rank for _, _, d in found], pa.int32()),
                    "category": pa.array([d.category for _, _, d in found], pa.string()),
                }
            )

    return match
