"""`censorscope audit|infer`: what a rule set blocks beyond its aim, and which rules a
censor really applies."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import sys
from datetime import UTC, datetime

from rich.console import Console

from censorscope.analysis.timeline import SILENT
from censorscope.cli import output
from censorscope.cli.options import (
    Command,
    add_engine,
    existing_store,
    run,
    scenario_arg,
    time_arg,
)
from censorscope.errors import InputError
from censorscope.inputs.observations import read_observations, seed_names
from censorscope.lab.runtime import LabProcess
from censorscope.records import Rule
from censorscope.rules.audit import Domain

AUDIT_COLUMNS = (
    "rule",
    "match",
    "pattern",
    "matches",
    "intended",
    "collateral",
    "unclassified",
    "top_collateral",
)


def _configure_audit(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--rules",
        required=True,
        type=scenario_arg,
        help="scenario (a file or a shipped name), domain list or registry dump",
    )
    p.add_argument("--rules-kind", choices=["auto", "scenario", "list", "registry"], default="auto")
    p.add_argument(
        "--domains-as",
        choices=["suffix", "exact"],
        default="suffix",
        help="how a plain domain in a list or dump matches (default: suffix)",
    )
    p.add_argument(
        "--population",
        action="append",
        required=True,
        metavar="FILE",
        help="domain list or Citizen Lab CSV; repeatable",
    )
    p.add_argument("--intended", help="the domains the rules are meant to block")
    p.add_argument("--top", type=int, default=10, help="collateral domains shown per rule")
    p.add_argument("--at", type=time_arg, help="only the rules in force at this time")
    p.add_argument(
        "--case-sensitive",
        action="store_true",
        help="the DPI compares names case-sensitively (default: it folds case)",
    )
    p.add_argument(
        "--fold-trailing-dot",
        action="store_true",
        help="treat 'name.' as 'name' (real DPIs did not: the dot evaded them)",
    )
    add_engine(p)
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="one JSON object per rule")
    fmt.add_argument("--csv", action="store_true", help="one CSV row per rule")


def _audit(args: argparse.Namespace, err: Console) -> int:
    from censorscope.inputs.populations import load_intended, load_population
    from censorscope.inputs.rulesets import load_rules
    from censorscope.rules.audit import audit

    rules = load_rules(args.rules, args.rules_kind, args.domains_as)
    if args.at:
        rules.rules = [r for r in rules.rules if r.in_force(args.at)]
    if args.case_sensitive:
        rules.rules = [dataclasses.replace(r, case_sensitive=True) for r in rules.rules]
    for line, why in rules.problems[:20]:
        err.print(f"[yellow]{args.rules}: line {line}:[/] {why}", highlight=False)
    if len(rules.problems) > 20:
        err.print(f"[yellow]... and {len(rules.problems) - 20} more problems[/]")
    pop = load_population(args.population, fold_trailing_dot=args.fold_trailing_dot)
    intended = load_intended(args.intended) if args.intended else None
    if args.engine == "spark":
        rows, collateral = _audit_spark(args, rules.rules, list(pop.domains.values()), intended,
                                        err)  # fmt: skip
    else:
        results = audit(rules.rules, pop.domains.values(), intended)
        rows = [r.to_dict(args.top) for r in results]
        collateral = len({d.name for r in results for d in r.collateral})
    total = {
        "rules": len(rules.rules),
        "rules_matching": len(rows),
        "population": len(pop),
        "skipped_lines": len(rules.problems),
        "intended": sum(int(r["intended"]) for r in rows),  # type: ignore[call-overload]
        "collateral": collateral,
    }
    if args.json:
        for r in rows:
            sys.stdout.write(json.dumps(r) + "\n")
        sys.stdout.write(json.dumps({"total": total}) + "\n")
    elif args.csv:
        w = csv.writer(sys.stdout)
        w.writerow(AUDIT_COLUMNS)
        for r in rows:
            top = " ".join(d["domain"] for d in r["top_collateral"])  # type: ignore[attr-defined]
            w.writerow([*(r[c] for c in AUDIT_COLUMNS[:-1]), top])
    else:
        output.console().print(output.audit_table(rows, total))
    return 0


def _audit_spark(
    args: argparse.Namespace,
    rules: list[Rule],
    population: list[Domain],
    intended: set[str] | None,
    err: Console,
) -> tuple[list[dict[str, object]], int]:
    """The same audit, the population matched by Spark's workers (engine/spark_audit.py)."""
    from censorscope.engine.spark import session, stop
    from censorscope.engine.spark_audit import audit_population

    with err.status("starting Spark"):
        spark = session(args.master, "censorscope audit")
    try:
        with err.status(f"auditing with Spark ({spark.sparkContext.master})"):
            return audit_population(spark, rules, population, intended, args.top)
    finally:
        stop(spark)


def _configure_infer(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--observations", help="CSV domain,blocked (blocked: 1/0, true/false)")
    src.add_argument(
        "--lab", metavar="SCENARIO", type=scenario_arg, help="probe a lab ISP actively"
    )
    src.add_argument("--db", help="observations from a store's verdicts (latest per name)")
    src.add_argument("--lake", metavar="DIR", help="the same from a Parquet lake")
    p.add_argument("--vantage", help="with --db: only this vantage's verdicts")
    p.add_argument("--isp", help="the lab ISP to probe (with --lab)")
    p.add_argument(
        "--seed",
        action="append",
        default=[],
        metavar="DOMAINS",
        help="names to start from: comma-separated, or a file; repeatable",
    )
    p.add_argument("--at", type=time_arg, help="virtual time for the lab (default: now)")
    p.add_argument("--budget", type=int, default=200, help="at most this many probes")
    p.add_argument("--json", action="store_true")


def _infer(args: argparse.Namespace, err: Console) -> int:
    from censorscope.rules.inference import infer, observations_from

    probes = 0
    if args.observations or args.db or args.lake:
        if args.db or args.lake:
            with existing_store(args.db, lake=args.lake) as store:
                latest = store.latest_verdicts(args.vantage, skip=SILENT)
            observations = observations_from(latest)
        else:
            observations = read_observations(args.observations)
        result = infer(observations)
    else:
        from censorscope.probe.probing import infer_in_lab

        if not args.isp or not args.seed:
            raise InputError("--lab", args.lab, "needs --isp and --seed", "name both")
        seeds = [s for arg in args.seed for s in seed_names(arg)]
        at = args.at or datetime.now(UTC)
        lab = LabProcess(args.lab, any_name=True)
        try:
            info = lab.start()
            info.endpoint(args.isp)  # a clear error for an unknown ISP
            with output.progress(err) as bar:
                task = bar.add_task("probing", total=args.budget)
                result, observations, probes = run(
                    infer_in_lab(
                        lab,
                        args.isp,
                        at,
                        seeds,
                        args.budget,
                        on_probe=lambda name, blocked: bar.advance(task),
                    )
                )
        finally:
            lab.close()
    rows = [r.to_dict() for r in result.rules]
    summary = {
        "observations": len(observations),
        "probes": probes,
        "settled": result.settled,
        "unexplained": result.unexplained,
    }
    if args.json:
        for r in rows:
            sys.stdout.write(json.dumps(r) + "\n")
        sys.stdout.write(json.dumps({"summary": summary}) + "\n")
    else:
        output.console().print(output.inference_table(rows, summary))
    return 0


AUDIT = Command(
    "audit", "collateral damage of blocking rules on a population", _configure_audit, _audit
)
INFER = Command("infer", "infer the rules a censor applies", _configure_infer, _infer)
