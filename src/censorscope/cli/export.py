"""`censorscope export --format ooni`: our measurements in OONI's data format, one JSON
line each (gzip when the name ends in .gz), with our verdict under `x_censorscope`."""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path
from typing import IO

from rich.console import Console

import censorscope
from censorscope.cli.options import Command, add_db, existing_store
from censorscope.records import Verdict
from censorscope.wire import ooniwrite


def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=["ooni"], default="ooni")
    p.add_argument("--out", required=True, help="FILE.jsonl, or FILE.jsonl.gz to compress")
    add_db(p, lake=True)


def _run(args: argparse.Namespace, err: Console) -> int:
    out = Path(args.out)
    n = 0
    version = censorscope.__version__
    with existing_store(args.db, lake=args.lake) as store, _open(out) as f:
        for mid, m, control, row in store.with_controls():
            v = None
            if row is not None:
                v = Verdict(
                    target=row["target"],
                    vantage=row["vantage"],
                    asn=row["asn"],
                    country=row["country"],
                    time=row["time"],
                    verdict=row["verdict"],
                    method=row["method"],
                    rate_kbps=row["rate_kbps"],
                    rule=row["rule"],
                    evidence={k: x for k, x in json.loads(row["evidence"] or "{}").items()
                              if k != "rule"},
                )  # fmt: skip
            doc = ooniwrite.measurement(m, control, v, mid, version)
            f.write(json.dumps(doc, ensure_ascii=False) + "\n")
            n += 1
    err.print(f"exported {n} measurements to {out} in OONI's format")
    return 0 if n else 1


def _open(path: Path) -> IO[str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.name.endswith(".gz"):
        return gzip.open(path, "wt", encoding="utf-8")
    return path.open("w", encoding="utf-8")


EXPORT = Command("export", "measurements out in OONI's data format", _configure, _run)
