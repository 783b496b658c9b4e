"""`censorscope timeline|watch|report`: what changed, when, and who to tell. All three show
the same changes, found by `changes_in`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from censorscope.analysis.timeline import SILENT, explain, find_changes, series
from censorscope.cli import output, platforms
from censorscope.cli.alerts import Dispatched, dispatch, pending
from censorscope.cli.options import (
    Command,
    add_db,
    add_engine,
    add_events,
    add_sinks,
    existing_store,
)
from censorscope.inputs.events import load_events
from censorscope.inputs.traffic import read_series
from censorscope.records import Change, Event, Platform
from censorscope.store import Store


def changes_in(
    store: Store, events: Sequence[Event], target: str | None = None
) -> tuple[list[Change], list[dict[str, object]]]:
    """Per-vantage changes, and the country-level ones explained (vantages agreeing,
    registry events near them, as their JSON form): what `timeline`, `watch` and `report`
    all show."""
    per_vantage = find_changes(series(store.verdict_rows("vantage", target, SILENT)))
    per_country = find_changes(series(store.verdict_rows("country", target, SILENT)))
    explained = explain(per_country, per_vantage, store.vantages_by_country(), events)
    return per_vantage, [c.to_dict() for c in explained]


_BY_PLATFORM = "changes of whole platforms (instagram, twitter, ...) from their endpoints"


def _configure_timeline(p: argparse.ArgumentParser) -> None:
    p.add_argument("--target", help="only this target URL")
    add_db(p, lake=True)
    add_events(p)
    p.add_argument("--json", action="store_true", help="one JSON object per change")
    platforms.add_options(p, _BY_PLATFORM)
    add_engine(p)


def _timeline(args: argparse.Namespace, err: Console) -> int:
    if args.engine == "spark":
        return _timeline_spark(args, err)
    store = existing_store(args.db, "run lab run/campaign or measure first", args.lake)
    if args.platform:
        judged = platforms.chosen(args)
        with store:
            summed, per_vantage_p, _ = platforms.history(store, judged)
        if args.json:
            for a in platforms.alerts(summed, per_vantage_p):
                sys.stdout.write(json.dumps(a) + "\n")
        else:
            output.console().print(platforms.changes_table(summed, per_vantage_p))
        return 0
    events = load_events(args.events)
    with store:
        per_vantage, explained = changes_in(store, events, args.target)
    _show_changes(args.json, explained, per_vantage, events)
    return 0


def _timeline_spark(args: argparse.Namespace, err: Console) -> int:
    """The same changes, found by Spark in a lake (engine/spark_timeline.py)."""
    from censorscope.engine.spark import session, stop
    from censorscope.engine.spark_timeline import changes_in_lake
    from censorscope.errors import InputError

    if not args.lake:
        raise InputError("--lake", "--engine spark", "Spark reads a lake, not the store",
                         "add --lake DIR (from `lake export` or `import --lake`)")  # fmt: skip
    if args.platform:
        raise InputError("--platform", "--engine spark", "platform timelines are not"
                         " distributed yet", "leave out --engine spark")  # fmt: skip
    events = load_events(args.events)
    with err.status("starting Spark"):
        spark = session(args.master, "censorscope timeline")
    try:
        with err.status(f"finding changes with Spark ({spark.sparkContext.master})"):
            per_vantage, explained = changes_in_lake(spark, args.lake, events, args.target)
    finally:
        stop(spark)
    _show_changes(args.json, explained, per_vantage, events)
    return 0


def _show_changes(
    as_json: bool,
    explained: list[dict[str, object]],
    per_vantage: list[Change],
    events: Sequence[Event],
) -> None:
    if as_json:
        for d in explained:
            sys.stdout.write(json.dumps({"level": "country", **d}) + "\n")
        for c in per_vantage:
            sys.stdout.write(json.dumps({"level": "vantage", **c.to_dict()}) + "\n")
        return
    output.console().print(output.changes_table(explained, per_vantage, events))


def alert_changes(
    db: str,
    sinks: list[str],
    events_file: str,
    err: Console,
    now: datetime | None = None,
    judged: Sequence[Platform] = (),
) -> Dispatched:
    """One pass: the changes not alerted yet are queued for every sink, and what is due
    is delivered (cli/alerts.py). A sink that fails is said on `err`, never raised.
    With `judged`, the changes of those platforms too."""
    store = existing_store(db)
    events = load_events(events_file)
    with store:
        per_vantage, explained = changes_in(store, events)
        changes = [{"level": "country", **d} for d in explained]
        changes += [{"level": "vantage", **c.to_dict()} for c in per_vantage]
        if judged:
            changes += platforms.alerts(*platforms.history(store, judged)[:2])
        fresh = pending(changes, store.sent_alerts())
        done = dispatch(store, fresh, sinks, sys.stdout, now or datetime.now(UTC))
    for line in done.failures:
        err.print(f"[yellow]warning:[/] {line}", highlight=False)
    return done


def _configure_watch(p: argparse.ArgumentParser) -> None:
    add_db(p)
    add_sinks(p, "--notify", "- (stdout, default), a JSON-lines file, or a webhook URL; repeatable")
    add_events(p)
    platforms.add_options(p, "alert on changes of these platforms too")


def _watch(args: argparse.Namespace, err: Console) -> int:
    judged = platforms.chosen(args) if args.platform else []
    done = alert_changes(args.db, args.notify or ["-"], args.events, err, judged=judged)
    err.print(f"{done.sent} alert(s) sent, {done.waiting} waiting for a retry")
    return 2 if done.failures else 0


def _configure_report(p: argparse.ArgumentParser) -> None:
    add_db(p, lake=True)
    p.add_argument("--out", required=True, help="directory to write")
    add_events(p)
    p.add_argument("--traffic", help="traffic series (CSV or IODA JSON) to plot")
    platforms.add_options(p, "platforms on the first screen (default: every known platform "
                             "whose endpoints were all measured)")  # fmt: skip


def _report(args: argparse.Namespace, err: Console) -> int:
    from censorscope.cli.report import write_report  # matplotlib: only when needed

    store = existing_store(args.db, lake=args.lake)
    traffic = read_series(args.traffic) if args.traffic else []
    with store:
        judged = (
            platforms.chosen(args) if args.platform else platforms.measured(store, args.platforms)
        )
        page = write_report(store, Path(args.out), load_events(args.events), traffic, judged)
    err.print(f"report written to {page}")
    return 0


TIMELINE = Command(
    "timeline", "when blocking started, ended or changed method", _configure_timeline, _timeline
)
WATCH = Command(
    "watch",
    "alert once when a target is blocked, unblocked or changes method",
    _configure_watch,
    _watch,
)
REPORT = Command("report", "a static HTML report with plots", _configure_report, _report)
