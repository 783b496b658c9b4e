"""`import --engine spark`: OONI's raw measurements (or Censored Planet's) judged by Spark
and written to a lake, with what the embedded engine gives: the same rows, the same
`--json` lines in the same order, the same problems.

Spark reads each file's bytes (`binaryFile`: any file system Hadoop knows, s3a:// and
gs:// with their connectors); a Python worker splits them into documents and judges them
a chunk at a time with `engine.judging`, as the embedded importer's workers do. A slow
handshake trace waits for its network's peers, as there: the first pass counts every
(ASN, hour)'s handshakes, the second judges the waiting with those counts. The first
pass is staged as Parquet in the lake's `_staging-RUN/` (removed at the end), so that the
documents are parsed once however many things are read from them.
"""

from __future__ import annotations

import pickle
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from censorscope.analysis.peers import HandshakePeers
from censorscope.engine import judging
from censorscope.engine.spark import failure, spark_schema
from censorscope.engine.spark_files import key, list_files, remove, staged_lines
from censorscope.errors import EngineError
from censorscope.inputs import documents
from censorscope.store.database import COLUMNS, IDENTITY
from censorscope.store.lake import COUNTRY, TIME, UNKNOWN_COUNTRY

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, DataFrameWriter, SparkSession

CHUNK = 1000  # documents judged at a time (the embedded importer's chunk)
LINES_PER_FILE = 20_000  # --json lines per staged file (part-NNNNN, in order)

# One row of the staged first pass is one of: kind m (a measurement row), v (a verdict
# row with its --json line), d (a measurement waiting for its peers, pickled), k (a
# count of handshakes of one class in one ASN and hour), p (a problem). `late`, `file`
# and `seq` order them as the embedded engine does: the waiting after all the rest.
_ORDER = [("kind", pa.string()), ("late", pa.int32()), ("file", pa.int32()),
          ("seq", pa.int64())]  # fmt: skip
_EXTRA = [
    ("text", pa.string()),  # v: the --json line; p: the problem's place
    ("why", pa.string()),
    ("fix", pa.string()),
    ("blob", pa.binary()),
    ("asn", pa.int32()),
    ("hour", pa.int64()),
    ("cls", pa.string()),
    ("n", pa.int64()),
    ("app", pa.bool_()),
]
STAGE = pa.schema(
    _ORDER
    + _EXTRA
    + [(f"m_{c}", t) for c, t in COLUMNS["measurements"]]
    + [(f"v_{c}", t) for c, t in COLUMNS["verdicts"]]
)


@dataclass(slots=True)
class Done:
    """What an import through Spark did: counts as the embedded import's, and the
    problems in file order (said by the caller)."""

    counts: Counter[str] = field(default_factory=Counter)
    problems: list[documents.Problem] = field(default_factory=list)


# --- the Python workers' part -----------------------------------------------------------


def _judge_files(
    names: dict[str, tuple[int, str]], tool: str, run_id: str, lines: bool
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    def judge_files(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            paths = batch.column("path").to_pylist()
            for k, path in enumerate(paths):
                order, name = names[key(path)]
                content = batch.column("content")[k].as_py()
                yield from _judge_file(order, name, content, tool, run_id, lines)

    return judge_files


def _judge_file(
    order: int, name: str, content: bytes, tool: str, run_id: str, lines: bool
) -> Iterator[pa.RecordBatch]:
    docs = documents.expand(documents.batched_bytes(name, content))
    base = 0  # documents of the file before this chunk
    chunk: list[documents.Document | documents.Problem] = []
    for doc in docs:
        chunk.append(doc)
        if len(chunk) < CHUNK:
            continue
        yield _staged(judging.judge(chunk, tool, run_id, lines), order, base)
        base += len(chunk)
        chunk = []
    if chunk:
        yield _staged(judging.judge(chunk, tool, run_id, lines), order, base)


PER_DOCUMENT = 1 << 20  # seq = document's place in its file * this + verdict's in it


def _staged(j: judging.Judged, file: int, base: int, late: int = 0) -> pa.RecordBatch:
    """A chunk's results as rows of STAGE. A verdict's seq is its document's place in the
    file, then its own among the document's (a Censored Planet document gives several)."""
    sections: list[tuple[int, dict[str, list[Any]]]] = []
    vseq, k, last = [], 0, -1
    for p in j.places:
        k = k + 1 if p == last else 0
        vseq.append((base + p) * PER_DOCUMENT + k)
        last = p
    if j.rows:
        cols = _columns("m", "measurements", j.rows)
        cols["seq"] = [vseq[o] for o in j.owners]
        sections.append((len(j.rows), {"kind": ["m"] * len(j.rows), **cols}))
    if j.verdicts:
        cols = _columns("v", "verdicts", j.verdicts)
        cols["seq"] = vseq
        cols["text"] = j.lines or [None] * len(j.verdicts)
        cols["app"] = j.is_app
        sections.append((len(j.verdicts), {"kind": ["v"] * len(j.verdicts), **cols}))
    if j.deferred:
        n = len(j.deferred)
        key = [HandshakePeers.key(i.measurement) for i in j.deferred]
        sections.append((n, {
            "kind": ["d"] * n,
            "seq": [(base + p) * PER_DOCUMENT for p in j.deferred_places],
            "blob": [pickle.dumps(i, protocol=pickle.HIGHEST_PROTOCOL) for i in j.deferred],
            "asn": [a for a, _ in key],
            "hour": [h for _, h in key],
        }))  # fmt: skip
    counted = Counter((k, c) for k, c in j.keys if c is not None and k[0])
    if counted:
        sections.append((len(counted), {
            "kind": ["k"] * len(counted),
            "asn": [k[0] for k, _ in counted],
            "hour": [k[1] for k, _ in counted],
            "cls": [c for _, c in counted],
            "n": list(counted.values()),
        }))  # fmt: skip
    if j.problems:
        n = len(j.problems)
        sections.append((n, {
            "kind": ["p"] * n,
            "seq": [(base + p) * PER_DOCUMENT for p in j.problem_places],
            "text": [p.source for p in j.problems],
            "why": [p.why for p in j.problems],
            "fix": [p.fix for p in j.problems],
        }))  # fmt: skip
    total = sum(n for n, _ in sections)
    arrays = []
    for f in STAGE:
        if f.name == "file":
            values: list[Any] = [file] * total
        elif f.name == "late":
            values = [late] * total
        else:
            values = [v for n, cols in sections for v in cols.get(f.name, [None] * n)]
        arrays.append(pa.array(values, f.type))
    return pa.RecordBatch.from_arrays(arrays, schema=STAGE)


def _columns(prefix: str, table: str, rows: list[tuple[Any, ...]]) -> dict[str, list[Any]]:
    names = [f"{prefix}_{c}" for c, _ in COLUMNS[table]]
    return {name: list(values) for name, values in zip(names, zip(*rows, strict=True),
                                                       strict=True)}  # fmt: skip


def _judge_waiting(
    run_id: str, lines: bool
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    def judge_waiting(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for row in batch.to_pylist():
                i = pickle.loads(row["blob"])
                peers = HandshakePeers()
                peers.set((row["asn"], row["hour"]), row["fast"] or 0, row["slow"] or 0)
                j = judging.judge_deferred([(i, 0)], peers, run_id, lines)
                yield _staged(j, row["file"], row["seq"] // PER_DOCUMENT, late=1)

    return judge_waiting


# --- the driver's part ------------------------------------------------------------------


def import_files(
    spark: SparkSession, paths: list[str], lake: str, run_id: str, tool: str = "ooni",
    out_line: Callable[[str], object] | None = None,
) -> Done:  # fmt: skip
    """Judge the files under `paths` with Spark and write measurements and verdicts into
    the lake (the partitions written replaced). `out_line`: given each --json line, in
    the embedded engine's order, streamed from the executors."""
    from pyspark.sql import functions as F

    lines = out_line is not None
    found, problems = list_files(spark, paths)
    out = Done(problems=problems)
    out.counts["files"] = len(found)
    if not found:
        return out
    names = {key(uri): (k, name) for k, (uri, name, _) in enumerate(found)}
    staging = f"{lake.rstrip('/')}/_staging-{run_id}"
    schema = spark_schema(STAGE)
    try:
        # a task per few files (at most 64 MB of them): Spark packs files into tasks of
        # up to 128 MB, which left two cores one task when files are a few MB
        share = sum(size for *_, size in found) // (4 * spark.sparkContext.defaultParallelism)
        spark.conf.set("spark.sql.files.maxPartitionBytes", str(max(2**20, min(share, 2**26))))
        raw = spark.read.format("binaryFile").load([uri for uri, *_ in found])
        first = raw.mapInArrow(_judge_files(names, tool, run_id, lines), schema)
        _staging_writer(first).parquet(f"{staging}/first")
        staged = spark.read.parquet(f"{staging}/first")
        peers = (
            staged.where("kind = 'k'")
            .groupBy("asn", "hour")
            .agg(
                F.sum(F.when(F.col("cls") == "fast", F.col("n")).otherwise(0)).alias("fast"),
                F.sum(F.when(F.col("cls") == "slow", F.col("n")).otherwise(0)).alias("slow"),
            )
        )
        waiting = staged.where("kind = 'd'").select("file", "seq", "blob", "asn", "hour")
        second = waiting.join(peers, ["asn", "hour"], "left").mapInArrow(
            _judge_waiting(run_id, lines), schema
        )
        _staging_writer(second).parquet(f"{staging}/second")
        rows = staged.where("kind IN ('m', 'v')").unionByName(
            spark.read.schema(schema).parquet(f"{staging}/second")
        )
        for table, prefix in (("measurements", "m"), ("verdicts", "v")):
            _write_table(rows.where(f"kind = '{prefix}'"), table, prefix, lake)
        verdicts = rows.where("kind = 'v'")
        n, apps = verdicts.select(F.count(F.lit(1)), F.sum(F.col("app").cast("long"))).first() or (
            0,
            0,
        )
        out.counts["measurements"] = int(n or 0)
        out.counts["app"] = int(apps or 0)
        out.counts["web"] = out.counts["measurements"] - out.counts["app"]
        for r in staged.where("kind = 'p'").orderBy("file", "seq").toLocalIterator():
            out.problems.append(documents.Problem(r["text"], r["why"], r["fix"] or ""))
        out.counts["skipped"] = len(out.problems)
        if out_line is not None:
            # sorted into text files in the staging folder, read from there in order:
            # fetched through toLocalIterator, a million lines filled the 1 GB heap
            order = ("late", "file", "seq")
            slices = max(1, out.counts["measurements"] // LINES_PER_FILE)
            (
                verdicts.select(*order, "text")
                .repartitionByRange(slices, *order)
                .sortWithinPartitions(*order)
                .select("text")
                .write.mode("overwrite")
                .text(f"{staging}/lines")
            )
            for line in staged_lines(spark, f"{staging}/lines"):
                out_line(line)
    except EngineError:
        raise
    except Exception as exc:  # py4j / Spark: the job's own error
        raise failure("the Spark import", exc) from exc
    finally:
        remove(spark, staging)
    return out


def _staging_writer(df: DataFrame) -> DataFrameWriter:
    """Staged rows are read once or twice, then removed: fast to write beats small (lz4,
    no dictionaries for columns of long JSON documents: a third of the time of zstd)."""
    return (
        df.write.mode("overwrite")
        .option("compression", "lz4")
        .option("parquet.enable.dictionary", "false")
    )


def _write_table(rows: DataFrame, table: str, prefix: str, lake: str) -> None:
    """One table of the lake, in the layout `lake export` writes (store/lake.py): a file
    per day and country. Of rows with one id (a measurement found twice), the one the
    store keeps (Store._drop_repeated: the first source by name). Both in one shuffle:
    rows of one id share their day and country, so the rows are sent to a task per day
    and country, sorted there by id, and written in that order."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    cols = [F.col(f"{prefix}_{c}").alias(c) for c, _ in COLUMNS[table]]
    ident = IDENTITY[table][0]
    by = ["source", "late", "file", "seq"] if table == "measurements" else ["late", "file", "seq"]
    first = Window.partitionBy("date", "cc", ident).orderBy(*by)
    df = (
        rows.select(*cols, "late", "file", "seq")
        .withColumns({
            "date": F.date_format(F.col(TIME[table]), "yyyy-MM-dd"),
            "cc": F.coalesce(F.upper(F.nullif(F.col(COUNTRY[table]), F.lit(""))),
                             F.lit(UNKNOWN_COUNTRY)),
        })
        .repartition("date", "cc")
        .withColumn("_n", F.row_number().over(first))
        .where("_n = 1")
        .drop("_n", "late", "file", "seq")
    )  # fmt: skip
    df.write.mode("overwrite").partitionBy("date", "cc").parquet(f"{lake.rstrip('/')}/{table}")
