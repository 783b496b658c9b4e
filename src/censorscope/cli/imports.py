"""`censorscope import`: other tools' measurements into the store, each judged by the
verdict table.

Formats: `ooni` (OONI's raw measurements: .json, .jsonl, .jsonl.gz, directories),
`ooni-obs` (OONI's flattened observations, CSV), `censoredplanet` (Hyperquack and
Satellite records). Without --format, CSV files are observations and the rest raw.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from rich.console import Console

from censorscope.analysis.peers import HandshakePeers
from censorscope.analysis.verdict import decide_imported, decide_observed
from censorscope.cli import output
from censorscope.cli.options import Command, add_db
from censorscope.inputs import documents
from censorscope.records import Imported, Verdict
from censorscope.store import Store
from censorscope.wire import censoredplanet as cp_format
from censorscope.wire.ooni import FormatProblem, parse

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
    add_db(p)


def import_observations(store: Store, files: list[str], err: Console | None = None) -> int:
    """OONI observations into the store, each measurement judged by the verdict table
    (rules ooni.*); what was left out is said on `err`. Returns how many were added."""
    observed, problems = store.observed(files)
    if err is not None:
        for problem in problems:
            err.print(f"[yellow]skipped:[/] {problem}", highlight=False, soft_wrap=True)
    for o in observed:
        store.add_verdict(decide_observed(o), o.measurement_id)
    store.flush()
    return len(observed)


def import_raw(
    store: Store,
    paths: list[str],
    err: Console | None = None,
    out: TextIO | None = None,
    tool: str = "ooni",
) -> Counter[str]:
    """Raw measurements into the store, streamed, each judged by the verdict table; a
    line that cannot be read is said on `err` and the rest imported. `out`: a JSON line
    per measurement. Returns counts: measurements, skipped lines, files."""
    counts: Counter[str] = Counter()
    peers = HandshakePeers()
    deferred: list[Imported] = []  # slow handshake traces wait for the hour's peers

    def judge(i: Imported, how: str | None) -> None:
        v = decide_imported(i, how)
        store.add_imported(i, v)
        counts["measurements"] += 1
        counts["app" if i.app is not None else "web"] += 1
        if out is not None:
            out.write(json.dumps(line(i, v), ensure_ascii=False) + "\n")

    reader = _ooni_records if tool == "ooni" else _cp_records
    said = _Problems(err)
    with _Progress(err) as tick:
        for item in reader(paths, counts):
            if isinstance(item, documents.Problem):
                counts["skipped"] += 1
                said(item)
                continue
            tick()
            if item.app is None and peers.add(item.measurement) == "slow":
                deferred.append(item)
            else:
                judge(item, None)
        for item in deferred:
            judge(item, peers.judge(item.measurement))
    said.close()
    store.flush()
    return counts


def _ooni_records(paths: list[str], counts: Counter[str]) -> Iterator[Imported | documents.Problem]:
    for f in documents.files(paths):
        if isinstance(f, documents.Problem):
            yield f
            continue
        counts["files"] += 1
        for d in documents.documents(f):
            if isinstance(d, documents.Problem):
                yield d
                continue
            try:
                yield parse(d.doc, d.source)
            except FormatProblem as p:
                yield documents.Problem(d.source, p.why, p.fix)


def _cp_records(paths: list[str], counts: Counter[str]) -> Iterator[Imported | documents.Problem]:
    for f in documents.files(paths):
        if isinstance(f, documents.Problem):
            yield f
            continue
        counts["files"] += 1
        for d in documents.documents(f):
            if isinstance(d, documents.Problem):
                yield d
                continue
            try:
                yield from cp_format.parse(d.doc, d.source)
            except cp_format.FormatProblem as p:
                yield documents.Problem(d.source, p.why, p.fix)


def line(i: Imported, v: Verdict) -> dict[str, Any]:
    """The --json line: the verdict's fields, where it came from, and the tool's own."""
    return {
        **v.to_dict(),
        "test_name": i.measurement.test_name,
        "source": i.source,
        "measurement_uid": i.uid,
        i.tool if i.tool != "censoredplanet" else "censoredplanet": i.theirs,
    }


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
    """A running count on the error console, refreshed every thousand measurements."""

    def __init__(self, err: Console | None) -> None:
        self.err, self.n = err, 0

    def __enter__(self) -> Callable[[], None]:
        if self.err is None or not self.err.is_terminal:
            return self._count
        self.bar = output.progress(self.err)
        self.bar.start()
        self.task = self.bar.add_task("importing", total=None)
        return self._tick

    def _count(self) -> None:
        self.n += 1

    def _tick(self) -> None:
        self.n += 1
        if self.n % 1000 == 0:
            self.bar.update(self.task, completed=self.n)

    def __exit__(self, *exc: object) -> None:
        if hasattr(self, "bar"):
            self.bar.stop()


def _run(args: argparse.Namespace, err: Console) -> int:
    fmt = args.format
    csvs = [f for f in args.files if f.endswith((".csv", ".csv.gz"))]
    if fmt is None:
        fmt = "ooni-obs" if csvs and len(csvs) == len(args.files) else "ooni"
    out = sys.stdout if args.json else None
    with Store(args.db) as store:
        if fmt == "ooni-obs":
            n = import_observations(store, args.files, err)
            err.print(f"imported {n} measurements into {args.db} (run {store.run_id})")
            return 0 if n else 1
        counts = import_raw(store, args.files, err, out, tool=fmt)
    n = counts["measurements"]
    err.print(
        f"imported {n} measurements ({counts['web']} web, {counts['app']} app tests) from"
        f" {counts['files']} file(s) into {args.db} (run {store.run_id});"
        f" {counts['skipped']} skipped",
        highlight=False,
    )
    return 0 if n or not counts["skipped"] else 1


IMPORT = Command("import", "bring other tools' measurements into the store", _configure, _run)
