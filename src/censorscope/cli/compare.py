"""`censorscope compare`: our verdicts on other tools' measurements against their own
judgement: a confusion table, and every disagreement with both sides' evidence."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from censorscope.analysis.agreement import compare, ours_label, their_label, their_verdict
from censorscope.cli import output
from censorscope.cli.options import Command, add_db, existing_store

_CSV = (
    "tool",
    "source",
    "uid",
    "test_name",
    "target",
    "country",
    "asn",
    "time",
    "ours",
    "rule",
    "theirs",
    "agree",
)


def _configure(p: argparse.ArgumentParser) -> None:
    add_db(p, lake=True)
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="one JSON document")
    fmt.add_argument("--csv", action="store_true", help="one CSV row per measurement compared")


def _run(args: argparse.Namespace, err: Console) -> int:
    with existing_store(args.db, lake=args.lake) as store:
        rows = store.compared()
    if not rows:
        err.print(f"{args.db}: no imported measurements to compare (run `censorscope import`)")
        return 1
    result = compare(rows)
    if args.json:
        doc = result.to_dict()
        doc["disagreements"] = [_shown(d) for d in doc["disagreements"]]
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, default=str) + "\n")
        return 0
    if args.csv:
        wrong = {(d["source"], d["uid"]) for d in result.disagreements}
        w = csv.writer(sys.stdout)
        w.writerow(_CSV)
        for r in rows:
            label = their_label(r["tool"], r["test_name"], r["theirs"])
            agree = "" if their_verdict(label) is None else (r["source"], r["uid"]) not in wrong
            ours = ours_label(r["verdict"], r["method"])
            when = r["time"].isoformat()
            w.writerow(
                [r["tool"], r["source"], r["uid"], r["test_name"], r["target"], r["country"],
                 r["asn"], when, ours, r["rule"], label, str(agree).lower()]
            )  # fmt: skip
        return 0
    con = output.console()
    summary = result.to_dict()
    con.print(
        f"compared {summary['compared']} measurements: {summary['agreed']} agree"
        f" ({(summary['agreement'] or 0) * 100:.0f}%); {summary['not_comparable']} where the"
        " other tool says nothing comparable"
    )
    table = Table(title="ours against theirs")
    for col in ("ours", "theirs", "n"):
        table.add_column(col)
    for c in summary["confusion"]:
        table.add_row(c["ours"], c["theirs"], str(c["n"]))
    con.print(table)
    if result.disagreements:
        dis = Table(title="disagreements")
        for col in ("source", "target", "cc", "ours", "rule", "why", "theirs"):
            dis.add_column(col, overflow="fold")
        for d in result.disagreements:
            s = _shown(d)
            dis.add_row(
                s["source"],
                s["target"],
                s["country"],
                s["ours"],
                s["rule"],
                s["why"],
                s["theirs_label"],
            )
        con.print(dis)
    return 0


def _shown(d: dict[str, Any]) -> dict[str, Any]:
    ev = d.get("evidence") or {}
    return {
        "source": d["source"],
        "uid": d["uid"],
        "target": d["target"],
        "country": d["country"],
        "time": d["time"].isoformat() if hasattr(d["time"], "isoformat") else d["time"],
        "ours": ours_label(d["verdict"], d["method"]),
        "rule": d["rule"],
        "why": ev.get("why", ""),
        "evidence": ev,
        "theirs_label": d["theirs_label"],
        "theirs": d["theirs"],
    }


COMPARE = Command(
    "compare", "our verdicts on imported measurements against the other tool's", _configure, _run
)
