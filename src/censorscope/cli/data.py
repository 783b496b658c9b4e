"""`censorscope events|anomalies|examples`: the registry of events, drops in traffic
series, the shipped examples."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from rich.console import Console

from censorscope.analysis.drops import corroborate, detect_drops
from censorscope.cli import output
from censorscope.cli.options import Command, add_events
from censorscope.errors import InputError
from censorscope.inputs.events import load_events
from censorscope.inputs.scenario import SHIPPED
from censorscope.inputs.traffic import read_series

EXAMPLES = SHIPPED.parent / "examples"


def _configure_anomalies(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "series", help="CSV time,entity,value (or time,entity,SIGNAL,...) or IODA signal JSON"
    )
    p.add_argument("--json", action="store_true", help="one JSON object per anomaly")


def _anomalies(args: argparse.Namespace, err: Console) -> int:
    # each signal alone, then drops of one entity on several signals joined
    found = corroborate([a for s in read_series(args.series) for a in detect_drops(s)])
    if args.json:
        for a in found:
            sys.stdout.write(json.dumps(a.to_dict()) + "\n")
        return 0
    output.console().print(output.anomalies_table(found))
    return 0


def _configure_events(p: argparse.ArgumentParser) -> None:
    p.add_argument("--country", help="only events of this country (e.g. RU)")
    add_events(p)
    p.add_argument("--json", action="store_true")


def _events(args: argparse.Namespace, err: Console) -> int:
    events = load_events(args.events)
    if args.country:
        events = [e for e in events if e.country == args.country.upper()]
    if args.json:
        for e in events:
            doc = {
                "id": e.id,
                "time": e.time.isoformat(),
                "kind": e.kind,
                "subject": e.subject,
                "country": e.country,
                "detail": e.detail,
                "source": e.source,
                "caused_by": list(e.caused_by),
                "domains": list(e.domains),
            }
            sys.stdout.write(json.dumps(doc) + "\n")
        return 0
    output.console().print(output.events_table(events))
    return 0


def _configure_examples(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="a folder to write them to (made if missing)")


def _examples(args: argparse.Namespace, err: Console) -> int:
    """Copy what ships (the scenarios, a sample list, observations) where a user can read
    and change it; existing files are never overwritten."""
    out = Path(args.dir)
    copies = [(p, out / "scenarios" / p.name) for p in sorted(SHIPPED.glob("*.toml"))]
    copies += [(p, out / p.name) for p in sorted(EXAMPLES.iterdir()) if p.is_file()]
    for _, dst in copies:
        if dst.exists():
            raise InputError(str(dst), "-", "already exists", "give an empty or new folder")
    for src, dst in copies:
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
        sys.stdout.write(f"{dst}\n")
    return 0


ANOMALIES = Command(
    "anomalies", "drops in traffic series (CSV or IODA JSON)", _configure_anomalies, _anomalies
)
EVENTS = Command("events", "the registry of dated, sourced events", _configure_events, _events)
EXAMPLES_COMMAND = Command(
    "examples",
    "copy the shipped scenarios and sample inputs to a folder",
    _configure_examples,
    _examples,
)
