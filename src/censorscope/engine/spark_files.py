"""Files as Spark reaches them (Hadoop's file systems: local, s3a://, gs://, hdfs://),
for the Spark import: the measurement files to read, in the embedded engine's order and
with its names; the staged --json lines read back in order; the staging folder removed;
a lake refused before reading where it is none.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import pyarrow.fs as pafs

from censorscope.errors import EngineError
from censorscope.inputs import documents
from censorscope.store.lake import TABLES, not_a_lake

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def list_files(
    spark: SparkSession, paths: list[str]
) -> tuple[list[tuple[str, str, int]], list[documents.Problem]]:
    """(URI for Spark, name as the embedded engine says it, size) of each measurement
    file, in the embedded engine's order; the paths that are not, as problems. Local
    paths are walked here (documents.files); others (s3a://, gs://, hdfs://) listed by
    Spark."""
    found: list[tuple[str, str, int]] = []
    problems: list[documents.Problem] = []
    for p in paths:
        scheme = urlsplit(p).scheme
        if len(scheme) > 1 and scheme != "file":
            for uri, size in listed(spark, p):
                if uri.endswith(documents.SUFFIXES):
                    found.append((uri, uri, size))
                else:
                    problems.append(documents.Problem(uri, "not a .json, .jsonl or .jsonl.gz"
                                                      " file: left out"))  # fmt: skip
            continue
        for f in documents.files([unquote(urlsplit(p).path) if scheme == "file" else p]):
            if isinstance(f, documents.Problem):
                problems.append(f)
            else:
                found.append((f.resolve().as_uri(), str(f), f.stat().st_size))
    return found, problems


def listed(spark: SparkSession, root: str) -> list[tuple[str, int]]:
    """Every file under `root` on a Hadoop file system and its size, in the order os.walk
    would give (a folder's files before its subfolders, each sorted)."""
    try:
        fs, path = hadoop_path(spark, root)
        if not fs.exists(path):
            return []
        files = fs.listFiles(path, True)
        out = []
        while files.hasNext():
            status = files.next()
            out.append((str(status.getPath().toString()), int(status.getLen())))
    except Exception as exc:  # py4j: the connector's own error (credentials, bucket)
        raise EngineError(f"{root}: cannot list it: {exc}") from exc
    base = root.rstrip("/")

    def walk_key(listed: tuple[str, int]) -> list[tuple[int, str]]:
        uri = listed[0]
        inner = uri[len(base) :].lstrip("/") if uri.startswith(base) else uri
        parts = PurePosixPath(inner).parts
        return [(1, d) for d in parts[:-1]] + [(0, parts[-1] if parts else "")]

    return sorted(out, key=walk_key)


def require_lake(spark: SparkSession, lake: str, tables: tuple[str, ...] = TABLES) -> None:
    """Refuse a folder without the lake's `tables` as the embedded engine does
    (store.lake), before Spark says only that a path was not found."""
    try:
        found = all(fs.isDirectory(path) for fs, path in
                    (hadoop_path(spark, f"{lake.rstrip('/')}/{t}") for t in tables))  # fmt: skip
    except Exception as exc:  # py4j: the connector's own error (credentials, bucket)
        raise EngineError(f"{lake}: cannot reach it: {exc}") from exc
    if not found:
        raise not_a_lake(lake, tables)


def hadoop_path(spark: SparkSession, uri: str) -> tuple[Any, Any]:
    """Hadoop's file system for `uri` and its Path (py4j objects): files as Spark reaches
    them."""
    jvm = spark.sparkContext._jvm
    if jvm is None:
        raise EngineError("Spark's JVM is gone")
    path = jvm.org.apache.hadoop.fs.Path(uri)
    return path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), path


def key(uri: str) -> str:
    """A file's URI as Spark's binaryFile says it and as Path.as_uri() does, made equal
    (file:/x and file:///x; percent escapes)."""
    parts = urlsplit(uri)
    if parts.scheme in ("", "file"):
        return "file:" + unquote(parts.path)
    return unquote(uri)


def staged_lines(spark: SparkSession, folder: str) -> Iterator[str]:
    """The lines of the part files Spark wrote in `folder`, file by file in order."""
    fs, path = hadoop_path(spark, folder)
    listed = fs.listStatus(path)
    parts = sorted(str(st.getPath().toString()) for st in listed
                   if st.getPath().getName().startswith("part-"))  # fmt: skip
    for uri in parts:
        fs, where = arrow_fs(uri)
        pending = b""
        with fs.open_input_stream(where) as f:
            while block := f.read(2**20):
                lines = (pending + block).split(b"\n")
                pending = lines.pop()
                for line in lines:
                    yield line.decode() + "\n"
        if pending:
            yield pending.decode() + "\n"


def arrow_fs(uri: str) -> tuple[pafs.FileSystem, str]:
    """pyarrow's file system for a URI Spark wrote to (s3a:// is S3 to pyarrow)."""
    parts = urlsplit(uri)
    if parts.scheme in ("", "file"):
        return pafs.LocalFileSystem(), unquote(parts.path)
    if parts.scheme in ("s3a", "s3n"):
        uri = "s3" + uri[len(parts.scheme) :]
    fs, where = pafs.FileSystem.from_uri(uri)
    return fs, where


def remove(spark: SparkSession, folder: str) -> None:
    try:
        fs, path = hadoop_path(spark, folder)
        fs.delete(path, True)
    except Exception:  # noqa: BLE001  # a staging folder left behind is harmless
        pass
