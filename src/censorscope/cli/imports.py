"""`censorscope import`: other tools' measurements into the store, each judged by the
verdict table.

Formats: `ooni` (OONI's raw measurements: .json, .jsonl, .jsonl.gz, directories),
`ooni-obs` (OONI's flattened observations, CSV), `censoredplanet` (Hyperquack and
Satellite records). Without --format, CSV files are observations and the rest raw.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import functools
import gc
import importlib.abc
import multiprocessing
import os
import re
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console

from censorscope.analysis.peers import HandshakePeers
from censorscope.analysis.verdict import decide_observed
from censorscope.cli import output
from censorscope.cli.lake import write_lake
from censorscope.cli.options import Command, add_db, add_engine, positive_int
from censorscope.engine import judging
from censorscope.inputs import documents
from censorscope.records import HttpRequest, Imported
from censorscope.store import Store, spool
from censorscope.store.database import arrow_table, new_run_id

FORMATS = ("ooni", "ooni-obs", "censoredplanet")


def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "files",
        nargs="+",
        metavar="PATH",
        help="files or directories: OONI raw measurements (.json, .jsonl, .jsonl.gz), OONI"
        " observation CSVs (obs_web, obs_web_ctrl), Censored Planet results",
    )
    p.add_argument(
        "--format",
        choices=FORMATS,
        help="default: ooni-obs for .csv/.csv.gz files, ooni for the rest",
    )
    p.add_argument("--json", action="store_true", help="one JSON line per measurement judged")
    p.add_argument(
        "--workers",
        type=positive_int,
        help="processes that judge (default: one per core up to four, for inputs over 16 MB;"
        " 1 judges here, with less memory)",
    )
    add_db(p)
    p.add_argument("--lake", metavar="DIR", help="also write the store as a Parquet lake there"
                   " (the store's every row: `lake export`); with --engine spark, the lake"
                   " written instead of the store (a local folder or any URI Spark"
                   " writes: s3a://, gs://, hdfs://)")  # fmt: skip
    add_engine(p)


def import_observations(store: Store, files: list[str], err: Console | None = None) -> int:
    """OONI observations into the store, each measurement judged by the verdict table
    (rules ooni.*); what was left out is said on `err`. Returns how many were added."""
    with tempfile.TemporaryDirectory(prefix="censorscope-obs-") as tmp:
        usable, said = _whole_files(files, Path(tmp))
        observed, problems = store.observed(usable)
    problems = said + problems
    if err is not None:
        for problem in problems:
            err.print(f"[yellow]skipped:[/] {problem}", highlight=False, soft_wrap=True)
    for o in observed:
        store.add_verdict(decide_observed(o), o.measurement_id)
    store.flush()
    return len(observed)


def _whole_files(files: list[str], tmp: Path) -> tuple[list[str], list[str]]:
    """The files to read, a gzip cut short replaced by its whole lines (DuckDB would read
    none of it, and say so in SQL); what was done, said."""
    usable, said = [], []
    for i, f in enumerate(files):
        path = Path(f)
        if not f.endswith(".gz") or not path.is_file():
            usable.append(f)
            continue
        into = tmp / f"{i}-{path.name[:-3]}"
        lines = documents.salvage_gzip(path, into)
        if lines is None:
            usable.append(f)
        else:
            usable.append(str(into))
            said.append(
                f"{f}: the gzip stream breaks off after {lines:,} lines (the header among"
                " them); those were read (download the file again for the rest)"
            )
    return usable, said


def import_raw(
    store: Store,
    paths: list[str],
    err: Console | None = None,
    out: TextIO | None = None,
    tool: str = "ooni",
    workers: int | None = None,
) -> Counter[str]:
    """Raw measurements into the store, streamed, each judged by the verdict table; a
    line that cannot be read is said on `err` and the rest imported. `out`: a JSON line
    per measurement. Lines are decoded and judged by `workers` processes (by default one
    per core, up to four, for inputs over 16 MB); their rows are written here, in order.
    Returns counts: measurements, web, app, skipped lines, files."""
    counts: Counter[str] = Counter()
    peers = HandshakePeers()
    deferred: list[Imported] = []  # slow handshake traces wait for the hour's peers
    said = _Problems(err)
    if workers is None:
        workers = _default_workers(paths)
    chunks = _chunks(_items(paths, counts), CHUNK)
    with _Progress(err) as tick, _few_collections(), store.bulk() as spooled, \
            _mapper(workers) as mapper:  # fmt: skip
        # the workers write their rows into the spool's folder: only counts come back
        judge = functools.partial(_judge_chunk, tool=tool, run_id=store.run_id,
                                  lines=out is not None, folder=spooled.folder)  # fmt: skip
        for chunk in mapper(judge, chunks):
            for p in chunk.problems:
                counts["skipped"] += 1
                said(p)
            tick(len(chunk.keys))
            for key, cls in chunk.keys:
                peers.count(key, cls)
            deferred.extend(chunk.deferred)
            spooled.adopt(chunk.files)
            counts["measurements"] += chunk.judged
            counts["app"] += chunk.apps
            counts["web"] += chunk.judged - chunk.apps
            if out is not None:
                out.writelines(text + "\n" for text in chunk.lines)
        late = judging.judge_deferred(((i, 0) for i in deferred), peers, store.run_id,
                                      lines=out is not None)  # fmt: skip
        if late.rows:
            store.add_tables([("measurements", arrow_table("measurements", late.rows)),
                              ("verdicts", arrow_table("verdicts", late.verdicts))])  # fmt: skip
        counts["measurements"] += late.judged
        counts["web"] += late.judged
        if out is not None:
            out.writelines(text + "\n" for text in late.lines)
    said.close()
    store.flush()
    return counts


CHUNK = 1000  # documents handed to a worker at once
PARALLEL_BYTES = 16 * 2**20  # smaller inputs are judged in this process


@dataclass(slots=True)
class _Chunk:
    """A chunk of documents judged in a worker (engine.judging), its rows spooled as
    Arrow tables for the store: only counts, lines and the waiting come back."""

    files: list[tuple[str, str]] = field(default_factory=list)  # (table, spooled file)
    judged: int = 0
    apps: int = 0
    lines: list[str] = field(default_factory=list)
    keys: list[tuple[tuple[int, int], str | None]] = field(default_factory=list)
    deferred: list[Imported] = field(default_factory=list)
    problems: list[documents.Problem] = field(default_factory=list)


def _judge_chunk(
    items: list[documents.Item], tool: str, run_id: str, lines: bool, folder: str
) -> _Chunk:
    j = judging.judge(documents.expand(items), tool, run_id, lines)
    out = _Chunk(judged=j.judged, apps=j.apps, lines=j.lines, keys=j.keys,
                 deferred=j.deferred, problems=j.problems)  # fmt: skip
    if j.rows:
        out.files = spool.write(folder, [
            ("measurements", arrow_table("measurements", j.rows)),
            ("verdicts", arrow_table("verdicts", j.verdicts)),
        ])  # fmt: skip
    return out


def _items(paths: list[str], counts: Counter[str]) -> Iterator[documents.Item]:
    for f in documents.files(paths):
        if isinstance(f, documents.Problem):
            yield f
            continue
        counts["files"] += 1
        yield from documents.batched(f)


def _chunks(items: Iterator[documents.Item], size: int) -> Iterator[list[documents.Item]]:
    """Items in chunks of about `size` documents (a batch of lines counts its lines)."""
    chunk: list[documents.Item] = []
    weight = 0
    for item in items:
        chunk.append(item)
        weight += item.count() if isinstance(item, documents.Lines) else 1
        if weight >= size:
            yield chunk
            chunk, weight = [], 0
    if chunk:
        yield chunk


def _default_workers(paths: list[str]) -> int:
    total = 0
    for f in documents.files(paths):
        if not isinstance(f, documents.Problem):
            total += f.stat().st_size
            if total > PARALLEL_BYTES:
                return max(1, min(4, os.cpu_count() or 1))
    return 1


@contextlib.contextmanager
def _mapper(workers: int) -> Iterator[Callable[..., Iterator[Any]]]:
    """map(fn, chunks) in order: here, or in worker processes with a few chunks in flight
    (memory stays flat however long the input)."""
    if workers <= 1:
        yield lambda fn, chunks: map(fn, chunks)
        return
    _warm()
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_start) as pool:

        def mapped(fn: Callable[..., Any], chunks: Iterator[Any]) -> Iterator[Any]:
            pending: collections.deque[Any] = collections.deque()
            for chunk in chunks:
                pending.append(pool.submit(fn, chunk))
                if len(pending) >= 2 * workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()

        yield mapped


GC_THRESHOLD = 100_000  # objects allocated between two collections of the young


@contextlib.contextmanager
def _few_collections() -> Iterator[None]:
    """Import with the cyclic collector run rarely: a measurement makes hundreds of small
    objects, none in a cycle, and collections every 700 allocations took a third of the
    time; reference counting frees them all the same."""
    before = gc.get_threshold()
    gc.set_threshold(GC_THRESHOLD, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


class _NoPandas(importlib.abc.MetaPathFinder):
    """pyarrow imports pandas, when installed, the first time it builds an array (to ask
    whether the values are a pandas Series): 40 MB more in every worker, for nothing."""

    def find_spec(self, name: str, *_: object) -> None:
        if name == "pandas":
            raise ModuleNotFoundError("not in an import worker", name=name)


def _worker_start() -> None:
    sys.meta_path.insert(0, _NoPandas())
    gc.freeze()  # what the worker inherited stays out of its collections
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])


def _warm() -> None:
    """Compile the signature tables once, before the workers fork and share them."""
    from censorscope.analysis import blockpage, pages

    blockpage.match_http({}, "warm")
    blockpage.match_dns(["192.0.2.1"])
    blockpage.match_cp("warm")
    pages.page_kind(HttpRequest(url="", body="warm"))


class _Problems:
    """Says each problem on `err`; past the first few of one kind in one file, counts
    them and says how many at the end of that file (a file of 1,000 listings is one
    mistake, not a thousand)."""

    FIRST = 3

    def __init__(self, err: Console | None) -> None:
        self.err = err
        self.file = ""
        self.seen: Counter[str] = Counter()

    def __call__(self, p: documents.Problem) -> None:
        file = re.sub(r"(\[\d+\]|:\d+)$", "", p.source)
        if file != self.file:
            self.close()
            self.file = file
        self.seen[p.why] += 1
        if self.seen[p.why] <= self.FIRST:
            self._say(str(p))

    def close(self) -> None:
        for why, n in self.seen.items():
            if n > self.FIRST:
                self._say(f"{self.file}: {n - self.FIRST} more skipped: {why}")
        self.seen.clear()

    def _say(self, text: str) -> None:
        if self.err is not None:
            self.err.print(f"[yellow]skipped:[/] {text}", highlight=False, soft_wrap=True)


class _Progress:
    """A running count on the error console, when it is a terminal."""

    def __init__(self, err: Console | None) -> None:
        self.err, self.n = err, 0

    def __enter__(self) -> Callable[[int], None]:
        if self.err is None or not self.err.is_terminal:
            return self._count
        self.bar = output.progress(self.err)
        self.bar.start()
        self.task = self.bar.add_task("importing", total=None)
        return self._tick

    def _count(self, n: int) -> None:
        self.n += n

    def _tick(self, n: int) -> None:
        self.n += n
        self.bar.update(self.task, completed=self.n)

    def __exit__(self, *exc: object) -> None:
        if hasattr(self, "bar"):
            self.bar.stop()


def _repeated(n: int) -> str:
    return f"; {n} were stored already (not added again)" if n else ""


def _run(args: argparse.Namespace, err: Console) -> int:
    fmt = args.format
    csvs = [f for f in args.files if f.endswith((".csv", ".csv.gz"))]
    if fmt is None:
        fmt = "ooni-obs" if csvs and len(csvs) == len(args.files) else "ooni"
    if args.engine == "spark":
        return _run_spark(args, fmt, err)
    out = sys.stdout if args.json else None
    with Store(args.db) as store:
        if fmt == "ooni-obs":
            n = import_observations(store, args.files, err)
            err.print(
                f"imported {n} measurements into {args.db} (run {store.run_id})"
                + _repeated(store.repeated)
            )
            if args.lake:
                write_lake(store, args.lake, err)
            return 0 if n else 1
        workers = None if args.workers is None else max(1, args.workers)
        counts = import_raw(store, args.files, err, out, tool=fmt, workers=workers)
        if args.lake:
            write_lake(store, args.lake, err)
    return _said(counts, f"{args.db} (run {store.run_id})", store.repeated, err)


def _said(counts: Counter[str], into: str, repeated: int, err: Console) -> int:
    """What an import of raw measurements did, on `err`; its exit code (1: nothing
    imported and something skipped)."""
    n = counts["measurements"]
    err.print(
        f"imported {n} measurements ({counts['web']} web, {counts['app']} app tests) from"
        f" {counts['files']} file(s) into {into}; {counts['skipped']} skipped"
        + _repeated(repeated),
        highlight=False,
    )
    return 0 if n or not counts["skipped"] else 1


def _run_spark(args: argparse.Namespace, fmt: str, err: Console) -> int:
    """The same import through Spark, into the lake (engine/spark_import.py)."""
    from censorscope.engine.spark import session, stop
    from censorscope.engine.spark_import import import_files
    from censorscope.errors import InputError

    if fmt == "ooni-obs":
        raise InputError(args.files[0], "--engine spark", "reads raw measurements only",
                         "import observation CSVs with the embedded engine")  # fmt: skip
    if not args.lake:
        raise InputError("--lake", "--engine spark", "Spark writes a lake, not the store",
                         "add --lake DIR (then read it with --lake DIR)")  # fmt: skip
    run_id = new_run_id()
    with err.status("starting Spark"):
        spark = session(args.master, "censorscope import")
    try:
        with err.status(f"importing with Spark ({spark.sparkContext.master})"):
            done = import_files(spark, args.files, args.lake, run_id, fmt,
                                out_line=sys.stdout.write if args.json else None)  # fmt: skip
        said = _Problems(err)
        for p in done.problems:
            said(p)
        said.close()
    finally:
        stop(spark)
    return _said(done.counts, f"the lake {args.lake} (run {run_id}, Spark)", 0, err)


IMPORT = Command("import", "bring other tools' measurements into the store", _configure, _run)
