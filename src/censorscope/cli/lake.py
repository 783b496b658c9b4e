"""`censorscope lake export`: a store's measurements and verdicts as a Parquet lake
(store/lake.py, docs/lake.md), for DuckDB, Spark, Trino or BigQuery to read in place;
read commands take `--lake DIR` beside `--db F`."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from censorscope.cli.options import Command, add_db, existing_store
from censorscope.store import Store


def write_lake(store: Store, out: str, err: Console) -> dict[str, int]:
    """Export with a line of progress per table; the counts written."""
    from censorscope.store.lake import export

    with err.status(f"writing the lake in {out}") as status:
        counts = export(store, out, lambda table, n: status.update(f"{table}: {n:,} rows"))
    err.print(f"lake {out}: {counts['measurements']:,} measurements, "
              f"{counts['verdicts']:,} verdicts (date=YYYY-MM-DD/cc=XX partitions)")  # fmt: skip
    return counts


def _configure(p: argparse.ArgumentParser) -> None:
    add_db(p)
    p.add_argument("--out", required=True, metavar="DIR", help="the lake's folder")


def _export(args: argparse.Namespace, err: Console) -> int:
    if Path(args.out).exists() and not Path(args.out).is_dir():
        from censorscope.errors import InputError

        raise InputError(args.out, "--out", "not a folder", "give a folder for the lake")
    with existing_store(args.db, "run lab run/campaign, measure or import first") as store:
        counts = write_lake(store, args.out, err)
    return 0 if counts["measurements"] else 1


EXPORT = Command("lake export", "a store as a Parquet lake (hive layout)", _configure, _export)
