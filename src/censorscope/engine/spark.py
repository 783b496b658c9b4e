"""Apache Spark as censorscope's engine for archives beyond one machine (docs/scaling.md).

Only the session and the translation of the store's Arrow columns live here; each job
(`spark_import`, `spark_timeline`, `spark_audit`) hands Spark the same pure functions the
embedded engine calls, per Arrow batch or per group. pyspark is an optional extra
(`pip install 'censorscope[spark]'`) and needs Java 17 or later.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import warnings
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from censorscope.errors import EngineError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession
    from pyspark.sql.types import DataType, StructType

BATCH_ROWS = 2_000  # rows per Arrow batch a Python worker is handed or makes


def session(master: str | None = None, app: str = "censorscope") -> SparkSession:
    """A Spark session: `master` as spark-submit takes it (local[2], spark://host:7077,
    yarn, k8s://...); None: the one spark-submit set, else local[*]."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise EngineError("--engine spark needs pyspark: pip install 'censorscope[spark]'") from exc
    if not os.environ.get("JAVA_HOME") and shutil.which("java") is None:
        raise EngineError(
            "--engine spark needs Java 17 or later (Debian: apt-get install"
            " default-jre-headless; or set JAVA_HOME)"
        )
    # pyspark warns that pandas 3 is newer than it knows; the jobs hand it Arrow only
    warnings.filterwarnings("ignore", category=FutureWarning, module="pyspark")
    submitted = "PYSPARK_GATEWAY_PORT" in os.environ  # run by spark-submit: its master
    local = master.startswith("local") if master else not submitted
    if local:  # the Python workers run this interpreter (its packages); on a cluster,
        # the Python spark-submit was told (spark.pyspark.python: docs/scaling.md)
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app)
    if master:
        builder = builder.master(master)
    conf = {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        "spark.sql.parquet.compression.codec": "zstd",
        # a re-import replaces the partitions it writes, as `lake export` does
        "spark.sql.sources.partitionOverwriteMode": "dynamic",
        "spark.sql.execution.arrow.maxRecordsPerBatch": str(BATCH_ROWS),
        # a batch of whole files (binaryFile) is at most about a file over this: the
        # default, a task's every file in one batch, filled a 1 GB heap
        "spark.sql.execution.arrow.maxBytesPerBatch": str(16 * 2**20),
        "spark.sql.shuffle.partitions": "16" if local else "200",
        "spark.ui.enabled": "false" if local else "true",
        "spark.ui.showConsoleProgress": "false",
        # a task's files renamed into place once, not twice (the lake has many of them)
        "spark.hadoop.mapreduce.fileoutputcommitter.algorithm.version": "2",
    }
    log = resources.files("censorscope").joinpath("data/spark/log4j2.properties")
    if isinstance(log, Path) and "spark.driver.extraJavaOptions" not in os.environ.get(
        "PYSPARK_SUBMIT_ARGS", ""
    ):
        conf["spark.driver.extraJavaOptions"] = f"-Dlog4j2.configurationFile={log.as_uri()}"
    for key, value in conf.items():
        builder = builder.config(key, value)
    from pyspark import SparkContext

    if SparkContext._active_spark_context is not None:  # the caller's (a notebook's, a
        running = builder.getOrCreate()  # test's): used, and left running by stop()
        _BORROWED[id(running)] += 1
        return running
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # py4j or Java: whatever stopped the JVM from starting
        raise EngineError(f"Spark did not start (master {master or 'default'}): {exc}") from exc
    spark.sparkContext.setLogLevel("ERROR")
    return spark


_BORROWED: Counter[int] = Counter()  # sessions session() found running, per handing out


def stop(spark: SparkSession) -> None:
    """Stop the session, unless session() found it running (then the one who started it
    stops it); a JVM already gone (killed, out of memory) is not a second error hiding
    the first."""
    if _BORROWED[id(spark)] > 0:
        _BORROWED[id(spark)] -= 1
        return
    try:
        spark.stop()
    except Exception:  # noqa: BLE001  # py4j: the connection to a dead JVM
        pass


def failure(what: str, exc: BaseException) -> EngineError:
    """A failed job's error in one line: the Python worker's exception when there was one
    (Spark wraps it in pages of Java stack), else Spark's first line."""
    text = str(exc)
    raised = re.findall(r"^(?:[\w.]+\.)?\w*(?:Error|Exception): .*$", text, re.MULTILINE)
    python = [r for r in raised if not r.startswith(("org.", "java.", "py4j."))]
    why = (python or raised or text.splitlines() or ["?"])[-1]
    return EngineError(f"{what} failed: {why}")


def spark_type(t: pa.DataType) -> DataType:
    from pyspark.sql import types as st

    if pa.types.is_timestamp(t):
        return st.TimestampNTZType()  # the store's times are UTC without a zone
    simple: dict[Any, DataType] = {
        pa.string(): st.StringType(),
        pa.int16(): st.ShortType(),
        pa.int32(): st.IntegerType(),
        pa.int64(): st.LongType(),
        pa.bool_(): st.BooleanType(),
        pa.float64(): st.DoubleType(),
        pa.binary(): st.BinaryType(),
    }
    return simple[t]


def spark_schema(schema: pa.Schema) -> StructType:
    from pyspark.sql import types as st

    return st.StructType([st.StructField(f.name, spark_type(f.type), True) for f in schema])
