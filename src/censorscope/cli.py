"""The command line: `censorscope lab run|serve`, `censorscope measure`,
`censorscope helper serve`. Errors print one clear line, never a traceback."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import ipaddress
import json
import sys
import tempfile
import time
from collections.abc import Coroutine, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console
from rich.progress import Progress

from censorscope import output, unblocking
from censorscope.alerts import deliver, pending
from censorscope.alerts import key as alert_key
from censorscope.errors import CensorscopeError, InputError
from censorscope.events import REGISTRY, load_events
from censorscope.helper import HelperClient
from censorscope.lab import packets
from censorscope.lab.campaign import run_campaign, sweep
from censorscope.lab.demand import isp_traffic
from censorscope.lab.rounds import LabProbeOptions, lab_targets, run_round
from censorscope.lab.runtime import LabProcess, run_event_loop, serve_forever
from censorscope.probe.measure import Probe, ProbeConfig
from censorscope.probe.runner import VantageJob, measure_all
from censorscope.records import Measurement, Target, Vantage, Verdict
from censorscope.scenario import Scenario, load_scenario
from censorscope.store import Store
from censorscope.targets import load_targets
from censorscope.timeline import changes_in
from censorscope.timeparse import parse_duration, parse_time
from censorscope.traffic import detect_drops, grid, read_series, to_csv_rows

DEFAULT_DB = "censorscope.duckdb"
T = TypeVar("T")


def _time(text: str) -> datetime:
    try:
        return parse_time(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _duration(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _hostport(default_port: int):
    def parse(text: str) -> tuple[str, int]:
        host, _, port = text.rpartition(":") if text.count(":") == 1 else (text, "", "")
        try:
            return (host or text, int(port) if port else default_port)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: write HOST or HOST:PORT") from None

    return parse


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="censorscope", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    lab = sub.add_parser("lab", help="the emulated internet with censors").add_subparsers(
        dest="lab_command", required=True
    )
    run = lab.add_parser("run", help="measure every site from every ISP of a scenario")
    run.add_argument("scenario")
    run.add_argument(
        "--at",
        type=_time,
        action="append",
        default=[],
        help="virtual time (ISO 8601, UTC if no offset); repeat for several",
    )
    run.add_argument("--isp", action="append", default=[], help="only these ISPs")
    _output_args(run)
    run.add_argument("--timeout", type=float, default=2.0, help="per step, seconds")
    run.add_argument("--concurrency", type=int, default=64, help="targets at once per ISP")
    camp = lab.add_parser("campaign", help="rounds at every step between two virtual times")
    camp.add_argument("scenario")
    camp.add_argument("--from", dest="start", type=_time, required=True)
    camp.add_argument("--to", dest="end", type=_time, required=True)
    camp.add_argument("--every", type=_duration, default=timedelta(hours=1))
    camp.add_argument("--isp", action="append", default=[], help="only these ISPs")
    camp.add_argument("--noise", type=float, help="share of flows failing at random, all ISPs")
    camp.add_argument("--seed", type=int, default=0, help="which random failures (noise)")
    camp.add_argument("--slots", type=int, default=8, help="rounds measured at once")
    camp.add_argument("--timeout", type=float, default=2.0, help="per step, seconds")
    camp.add_argument("--db", default=DEFAULT_DB, help=f"DuckDB file (default {DEFAULT_DB})")
    tr = lab.add_parser("traffic", help="per-ISP traffic of a scenario (CSV time,entity,value)")
    tr.add_argument("scenario")
    tr.add_argument("--from", dest="start", type=_time, required=True)
    tr.add_argument("--to", dest="end", type=_time, required=True)
    tr.add_argument("--every", type=_duration, default=timedelta(hours=1))
    tr.add_argument("--noise", type=float, default=0.02, help="multiplicative noise (sd)")
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--out", help="CSV file (default: stdout)")
    serve = lab.add_parser("serve", help="run a scenario's lab in the foreground")
    serve.add_argument("scenario")
    serve.add_argument("--at", type=_time, help="virtual time (default: now)")

    m = sub.add_parser("measure", help="measure URLs from this machine")
    m.add_argument("inputs", nargs="+", metavar="URL|LIST")
    m.add_argument("--control", help="helper URL, e.g. http://helper.example.org:8080")
    _probe_args(m)
    m.add_argument("--vantage", default="local", help="a name for this vantage point")
    m.add_argument("--asn", type=int, default=0, help="this network's AS number, if known")
    m.add_argument("--cc", default="ZZ", help="this network's country code, if known")
    m.add_argument("--no-throughput", action="store_true", help="skip the throughput test")
    m.add_argument("--concurrency", type=int, default=16)
    m.add_argument("--every", type=_duration, help="repeat, a round every DURATION (e.g. 1h)")
    m.add_argument("--for", dest="for_", type=_duration, help="repeat for DURATION (e.g. 2d)")
    m.add_argument(
        "--watch",
        action="append",
        default=[],
        metavar="SINK",
        help="after each round, alert changes to - / a file / a webhook URL",
    )
    _output_args(m)

    tl = sub.add_parser("timeline", help="when blocking started, ended or changed method")
    tl.add_argument("--target", help="only this target URL")
    tl.add_argument("--db", default=DEFAULT_DB, help=f"DuckDB file (default {DEFAULT_DB})")
    tl.add_argument("--events", default=str(REGISTRY), help="events registry (TOML)")
    tl.add_argument("--json", action="store_true", help="one JSON object per change")

    wa = sub.add_parser(
        "watch", help="alert once when a target is blocked, unblocked or changes method"
    )
    wa.add_argument("--db", default=DEFAULT_DB, help=f"DuckDB file (default {DEFAULT_DB})")
    wa.add_argument(
        "--notify",
        action="append",
        default=[],
        metavar="SINK",
        help="- (stdout, default), a JSON-lines file, or a webhook URL; repeatable",
    )
    wa.add_argument("--events", default=str(REGISTRY), help="events registry (TOML)")

    rp = sub.add_parser("report", help="a static HTML report with plots")
    rp.add_argument("--db", default=DEFAULT_DB, help=f"DuckDB file (default {DEFAULT_DB})")
    rp.add_argument("--out", required=True, help="directory to write")
    rp.add_argument("--events", default=str(REGISTRY), help="events registry (TOML)")
    rp.add_argument("--traffic", help="traffic series (CSV or IODA JSON) to plot")

    au = sub.add_parser("audit", help="collateral damage of blocking rules on a population")
    au.add_argument("--rules", required=True, help="scenario TOML, domain list or registry dump")
    au.add_argument(
        "--rules-kind", choices=["auto", "scenario", "list", "registry"], default="auto"
    )
    au.add_argument(
        "--domains-as",
        choices=["suffix", "exact"],
        default="suffix",
        help="how a plain domain in a list or dump matches (default: suffix)",
    )
    au.add_argument(
        "--population",
        action="append",
        required=True,
        metavar="FILE",
        help="domain list or Citizen Lab CSV; repeatable",
    )
    au.add_argument("--intended", help="the domains the rules are meant to block")
    au.add_argument("--top", type=int, default=10, help="collateral domains shown per rule")
    au.add_argument("--at", type=_time, help="only the rules in force at this time")
    au.add_argument(
        "--case-sensitive",
        action="store_true",
        help="the DPI compares names case-sensitively (default: it folds case)",
    )
    au.add_argument(
        "--fold-trailing-dot",
        action="store_true",
        help="treat 'name.' as 'name' (real DPIs did not: the dot evaded them)",
    )
    fmt = au.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="one JSON object per rule")
    fmt.add_argument("--csv", action="store_true", help="one CSV row per rule")

    inf = sub.add_parser("infer", help="infer the rules a censor applies")
    src = inf.add_mutually_exclusive_group(required=True)
    src.add_argument("--observations", help="CSV domain,blocked (blocked: 1/0, true/false)")
    src.add_argument("--lab", metavar="SCENARIO", help="probe a lab ISP actively")
    src.add_argument("--db", help="observations from a store's verdicts (latest per name)")
    inf.add_argument("--vantage", help="with --db: only this vantage's verdicts")
    inf.add_argument("--isp", help="the lab ISP to probe (with --lab)")
    inf.add_argument(
        "--seed",
        action="append",
        default=[],
        metavar="DOMAINS",
        help="names to start from: comma-separated, or a file; repeatable",
    )
    inf.add_argument("--at", type=_time, help="virtual time for the lab (default: now)")
    inf.add_argument("--budget", type=int, default=200, help="at most this many probes")
    inf.add_argument("--json", action="store_true")

    im = sub.add_parser("import", help="bring other tools' measurements into the store")
    im.add_argument("files", nargs="+", help="OONI observation CSVs (.csv or .csv.gz)")
    im.add_argument("--format", choices=["ooni-obs"], default="ooni-obs")
    im.add_argument("--db", default=DEFAULT_DB, help=f"DuckDB file (default {DEFAULT_DB})")

    an = sub.add_parser("anomalies", help="drops in traffic series (CSV or IODA JSON)")
    an.add_argument("series", help="CSV time,entity,value or IODA signal JSON")
    an.add_argument("--json", action="store_true", help="one JSON object per anomaly")

    ev = sub.add_parser("events", help="the registry of dated, sourced events")
    ev.add_argument("--country", help="only events of this country (e.g. RU)")
    ev.add_argument("--events", default=str(REGISTRY), help="events registry (TOML)")
    ev.add_argument("--json", action="store_true")

    _unblock_args(sub)

    h = sub.add_parser("helper", help="the control helper").add_subparsers(
        dest="helper_command", required=True
    )
    hs = h.add_parser("serve", help="serve control measurements and the throughput test")
    hs.add_argument("--listen", type=_hostport(8080), default=("127.0.0.1", 8080))
    hs.add_argument("--throughput-port", type=int, default=0)
    _probe_args(hs)
    return p


def _output_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="one JSON object per line on stdout")
    p.add_argument("--db", default=DEFAULT_DB, help=f"DuckDB file (default {DEFAULT_DB})")
    p.add_argument("--no-store", action="store_true", help="do not store measurements")


def _unblock_args(sub: argparse._SubParsersAction) -> None:
    u = sub.add_parser("unblock", help="which circumvention strategies restore access")
    u.add_argument("urls", nargs="+", metavar="URL")
    u.add_argument("--lab", metavar="SCENARIO", help="try it in the lab, from --isp")
    u.add_argument("--isp", help="the lab ISP to measure from (with --lab)")
    u.add_argument("--at", type=_time, help="the lab's virtual time (default: now)")
    u.add_argument(
        "--packets",
        action="store_true",
        help="the lab's DPIs see real TCP segments (NFQUEUE in a network namespace of its"
        " own; needs unshare and iptables)",
    )
    u.add_argument(
        "--strategy",
        action="append",
        default=[],
        help="only these strategies (repeat, or comma-separate; default: all)",
    )
    u.add_argument("--tries", type=int, default=3, help="trials per strategy (default 3)")
    u.add_argument(
        "--via",
        help="a proxy to try: http://HOST:PORT or socks5://HOST:PORT"
        " (in the lab, 'lab' is a plain HTTP proxy abroad)",
    )
    u.add_argument("--front", help="a name for domain fronting (same service, not blocked)")
    u.add_argument("--force", action="store_true", help="try strategies even if not blocked")
    u.add_argument("--json", action="store_true", help="one JSON object per outcome")
    u.add_argument("--timeout", type=float, default=None, help="per step, seconds")
    u.add_argument("--concurrency", type=int, default=32, help="trials at once")
    u.add_argument(
        "--resolver", type=_hostport(53), help="the ISP's resolver (default: the system's)"
    )
    u.add_argument("--proxy", type=_hostport(1080), help="reach the network via SOCKS5")
    u.add_argument("--ca-file", help="CA bundle to trust (default: system CAs)")


def _probe_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--resolver", type=_hostport(53), help="UDP resolver (default: system)")
    p.add_argument("--proxy", type=_hostport(1080), help="reach the network via SOCKS5")
    p.add_argument("--ca-file", help="CA bundle to trust (default: system CAs)")
    p.add_argument("--timeout", type=float, default=10.0, help="per step, seconds")
    p.add_argument(
        "--not-bogon",
        action="append",
        default=[],
        metavar="CIDR",
        help="answers in this network are not bogus (e.g. 127.0.0.0/8 for a lab)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    err = Console(stderr=True)
    try:
        if getattr(args, "packets", False) and args.lab:
            if not packets.in_own_namespace():
                return packets.run_in_namespace(sys.argv[1:] if argv is None else list(argv))
            packets.loopback_up()
        if args.command == "lab" and args.lab_command == "run":
            return _lab_run(args, err)
        if args.command == "lab" and args.lab_command == "campaign":
            return _lab_campaign(args, err)
        if args.command == "lab" and args.lab_command == "traffic":
            return _lab_traffic(args)
        if args.command == "lab" and args.lab_command == "serve":
            with tempfile.TemporaryDirectory(prefix="censorscope-lab-") as tmp:
                load_scenario(args.scenario)
                run_event_loop(serve_forever(args.scenario, args.at, Path(tmp), commands=False))
            return 0
        if args.command == "measure":
            return _measure(args, err)
        if args.command == "unblock":
            return unblocking.run(args, err)
        if args.command == "timeline":
            return _timeline(args)
        if args.command == "events":
            return _events(args)
        if args.command == "anomalies":
            return _anomalies(args)
        if args.command == "infer":
            return _infer(args, err)
        if args.command == "audit":
            return _audit(args, err)
        if args.command == "watch":
            sent = _watch(args.db, args.notify or ["-"], args.events)
            err.print(f"{sent} new alert(s)")
            return 0
        if args.command == "report":
            from censorscope.report import write_report  # matplotlib: only when needed

            if not Path(args.db).exists():
                raise InputError(args.db, "--db", "no such store", "measure something first")
            traffic = read_series(args.traffic) if args.traffic else []
            with Store(args.db) as store:
                page = write_report(store, Path(args.out), load_events(args.events), traffic)
            err.print(f"report written to {page}")
            return 0
        if args.command == "import":
            with Store(args.db) as store:
                n = store.import_ooni_observations(args.files)
            err.print(f"imported {n} measurements into {args.db} (run {store.run_id})")
            return 0
        if args.command == "helper":
            from censorscope.helper import serve

            run_event_loop(serve(*args.listen, _probe_config(args), args.throughput_port))
            return 0
    except CensorscopeError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        return 2
    except KeyboardInterrupt:
        return 130
    return 1


def _infer(args: argparse.Namespace, err: Console) -> int:
    from censorscope.inference import infer

    probes = 0
    if args.observations or args.db:
        if args.db:
            with Store(args.db) as store:
                observations = store.observations(args.vantage)
        else:
            observations = _read_observations(args.observations)
        result = infer(observations)
    else:
        from censorscope.lab.probing import infer_in_lab

        if not args.isp or not args.seed:
            raise InputError("--lab", args.lab, "needs --isp and --seed", "name both")
        seeds = [s for arg in args.seed for s in _seed_names(arg)]
        at = args.at or datetime.now(UTC)
        lab = LabProcess(args.lab, any_name=True)
        try:
            info = lab.start()
            info.endpoint(args.isp)  # a clear error for an unknown ISP
            with output.progress(err) as bar:
                task = bar.add_task("probing", total=args.budget)
                result, observations, probes = _run(
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


def _seed_names(arg: str) -> list[str]:
    path = Path(arg)
    if path.is_file():
        return [ln.strip().lower() for ln in path.read_text().splitlines() if ln.strip()]
    return [s.strip().lower() for s in arg.split(",") if s.strip()]


def _read_observations(file: str) -> dict[str, bool]:
    truth = {
        "1": True,
        "true": True,
        "blocked": True,
        "yes": True,
        "throttled": True,
        "0": False,
        "false": False,
        "accessible": False,
        "no": False,
    }
    try:
        lines = Path(file).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InputError(file, "-", "no such file", "give a CSV domain,blocked") from None
    out: dict[str, bool] = {}
    for n, line in enumerate(lines, start=1):
        parts = [p.strip().lower() for p in line.split(",")]
        if not line.strip() or (n == 1 and parts[0] in ("domain", "name")):
            continue
        if len(parts) < 2 or parts[1] not in truth:
            raise InputError(
                file,
                f"line {n}",
                f"expected domain,blocked, got {line[:60]!r}",
                "blocked is 1/0, true/false, blocked/accessible",
            )
        out[parts[0].rstrip(".")] = truth[parts[1]]
    return out


def _audit(args: argparse.Namespace, err: Console) -> int:
    from censorscope.audit import audit
    from censorscope.populations import load_intended, load_population
    from censorscope.rulesets import load_rules

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
    results = audit(rules.rules, pop.domains.values(), intended)
    rows = [r.to_dict(args.top) for r in results]
    total = {
        "rules": len(rules.rules),
        "rules_matching": len(rows),
        "population": len(pop),
        "skipped_lines": len(rules.problems),
        "intended": sum(int(r["intended"]) for r in rows),  # type: ignore[call-overload]
        "collateral": len({d.name for r in results for d in r.collateral}),
    }
    if args.json:
        for r in rows:
            sys.stdout.write(json.dumps(r) + "\n")
        sys.stdout.write(json.dumps({"total": total}) + "\n")
    elif args.csv:
        w = csv.writer(sys.stdout)
        w.writerow(
            [
                "rule",
                "match",
                "pattern",
                "matches",
                "intended",
                "collateral",
                "unclassified",
                "top_collateral",
            ]
        )
        for r in rows:
            top = " ".join(d["domain"] for d in r["top_collateral"])  # type: ignore[attr-defined]
            w.writerow(
                [
                    r["rule"],
                    r["match"],
                    r["pattern"],
                    r["matches"],
                    r["intended"],
                    r["collateral"],
                    r["unclassified"],
                    top,
                ]
            )
    else:
        output.console().print(output.audit_table(rows, total))
    return 0


def _watch(db: str, sinks: list[str], events_file: str) -> int:
    """One pass: the changes not alerted yet go to every sink, then are marked sent."""
    if not Path(db).exists():
        raise InputError(db, "--db", "no such store", "measure something first")
    events = load_events(events_file)
    with Store(db) as store:
        per_vantage, explained = changes_in(store, events)
        changes = [{"level": "country", **d} for d in explained]
        changes += [{"level": "vantage", **c.to_dict()} for c in per_vantage]
        fresh = pending(changes, store.sent_alerts())
        for sink in sinks:
            deliver(fresh, sink, sys.stdout)
        store.mark_sent([alert_key(a) for a in fresh])
    return len(fresh)


def _timeline(args: argparse.Namespace) -> int:
    if not Path(args.db).exists():
        raise InputError(args.db, "--db", "no such store", "run lab run/campaign or measure first")
    events = load_events(args.events)
    with Store(args.db) as store:
        per_vantage, explained = changes_in(store, events, args.target)
    if args.json:
        for d in explained:
            sys.stdout.write(json.dumps({"level": "country", **d}) + "\n")
        for c in per_vantage:
            sys.stdout.write(json.dumps({"level": "vantage", **c.to_dict()}) + "\n")
        return 0
    output.console().print(output.changes_table(explained, per_vantage, events))
    return 0


def _lab_traffic(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    if args.end < args.start:
        raise InputError("--from/--to", "command line", "--to is before --from")
    times = grid(args.start, args.end, args.every)
    series = [isp_traffic(scenario, isp, times, args.noise, args.seed) for isp in scenario.isps]
    out = open(args.out, "w", newline="", encoding="utf-8") if args.out else sys.stdout  # noqa: SIM115
    try:
        writer = csv.writer(out)
        writer.writerow(["time", "entity", "value"])
        writer.writerows(to_csv_rows(series))
    finally:
        if args.out:
            out.close()
    return 0


def _anomalies(args: argparse.Namespace) -> int:
    found = [a for s in read_series(args.series) for a in detect_drops(s)]
    if args.json:
        for a in found:
            sys.stdout.write(json.dumps(a.to_dict()) + "\n")
        return 0
    output.console().print(output.anomalies_table(found))
    return 0


def _events(args: argparse.Namespace) -> int:
    events = load_events(args.events)
    if args.country:
        events = [e for e in events if e.country == args.country.upper()]
    if args.json:
        for e in events:
            sys.stdout.write(
                json.dumps(
                    {
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
                )
                + "\n"
            )
        return 0
    output.console().print(output.events_table(events))
    return 0


def _open_store(args: argparse.Namespace) -> Store | None:
    return None if args.no_store else Store(args.db)


def _chosen_isps(scenario: Scenario, names: list[str]) -> list[str]:
    known = {i.name.lower(): i.name for i in scenario.isps}
    for name in names:
        if name.lower() not in known:
            raise InputError(
                "--isp", name, "no such ISP in the scenario", "known: " + ", ".join(known.values())
            )
    return [known[n.lower()] for n in names]


def _lab_campaign(args: argparse.Namespace, err: Console) -> int:
    scenario = load_scenario(args.scenario)
    isps = _chosen_isps(scenario, args.isp)
    try:
        times = sweep(args.start, args.end, args.every)
    except ValueError as exc:
        raise InputError("--from/--to/--every", "command line", str(exc)) from None
    # many rounds at once: a lower bound per round keeps load spikes below the timeouts
    opts = LabProbeOptions(timeout=args.timeout, transfer_seconds=1.0, concurrency=16)
    lab = LabProcess(
        args.scenario, slots=min(args.slots, len(times)), noise=args.noise, seed=args.seed
    )
    store = Store(args.db)
    counts: dict[str, int] = {}
    started = time.monotonic()
    try:
        lab.start()
        with output.progress(err) as bar:
            task = bar.add_task(f"{len(times)} rounds", total=len(times))

            def done(at: datetime, verdicts: list[Verdict]) -> None:
                for v in verdicts:
                    counts[v.verdict] = counts.get(v.verdict, 0) + 1
                bar.advance(task)

            made = _run(
                run_campaign(lab, scenario, times, opts, isps=isps, store=store, on_round=done)
            )
    finally:
        lab.close()
        store.close()
    summary = ", ".join(f"{k} {n}" for k, n in sorted(counts.items()))
    err.print(
        f"{len(times)} rounds, {made} verdicts in {time.monotonic() - started:.0f} s "
        f"({summary}); stored in {args.db} (run {store.run_id})"
    )
    return 0


def _lab_run(args: argparse.Namespace, err: Console) -> int:
    scenario = load_scenario(args.scenario)
    isps = _chosen_isps(scenario, args.isp)
    times = args.at or [datetime.now(UTC).replace(microsecond=0)]
    opts = LabProbeOptions(timeout=args.timeout, concurrency=args.concurrency)
    store = _open_store(args)
    per_round = len(lab_targets(scenario)) * (len(isps) or len(scenario.isps))
    lab = LabProcess(args.scenario)
    try:
        lab.start()
        with output.progress(err) as bar:
            rounds = _lab_rounds(lab, scenario, times, isps, opts, store, bar, per_round)
            results = _run(rounds)
    finally:
        lab.close()
        if store is not None:
            store.close()
    for at, verdicts in results:
        if args.json:
            output.write_json(verdicts, sys.stdout)
        else:
            output.console().print(
                output.table(
                    verdicts,
                    f"{scenario.name}, {at:%Y-%m-%d %H:%M} UTC",
                    [i.name for i in scenario.isps],
                )
            )
    if store is not None:
        err.print(f"stored in {args.db} (run {store.run_id})", style="bright_black")
    return 0


async def _lab_rounds(
    lab: LabProcess,
    scenario: Scenario,
    times: list[datetime],
    isps: list[str],
    opts: LabProbeOptions,
    store: Store | None,
    bar: Progress,
    per_round: int,
) -> list[tuple[datetime, list[Verdict]]]:
    results = []
    for at in times:
        task = bar.add_task(f"{at:%Y-%m-%d %H:%M} UTC", total=per_round)
        verdicts = await run_round(
            lab,
            scenario,
            at,
            opts,
            isps=isps,
            store=store,
            on_result=lambda m, v, t=task: bar.advance(t),
        )
        results.append((at, verdicts))
    return results


def _run(coro: Coroutine[Any, Any, T]) -> T:
    out: list[T] = []

    async def wrapper() -> None:
        out.append(await coro)

    run_event_loop(wrapper())
    return out[0]


def _probe_config(args: argparse.Namespace) -> ProbeConfig:
    if args.ca_file and not Path(args.ca_file).is_file():
        raise InputError(args.ca_file, "--ca-file", "no such file", "give a PEM CA bundle")
    for net in args.not_bogon:
        try:
            ipaddress.ip_network(net, strict=False)
        except ValueError:
            raise InputError("--not-bogon", net, "not a network", "write e.g. 10.0.0.0/8") from None
    return ProbeConfig(
        resolver=args.resolver,
        proxy=args.proxy,
        ca_file=args.ca_file,
        timeout=args.timeout,
        throughput=not getattr(args, "no_throughput", False),
        bogon_exempt=tuple(args.not_bogon),
    )


def _measure(args: argparse.Namespace, err: Console) -> int:
    targets = [t for arg in args.inputs for t in load_targets(arg)]
    cfg = _probe_config(args)
    vantage = Vantage(args.vantage, args.asn, args.cc.upper())
    control = HelperClient(args.control) if args.control else None
    if args.watch and args.no_store:
        raise InputError("--watch", "command line", "alerts need the store", "drop --no-store")
    rounds = 1
    if args.every is not None:
        span = args.for_ if args.for_ is not None else args.every
        rounds = int(span / args.every) + 1
    store = _open_store(args)
    try:
        for i in range(rounds):
            started = time.monotonic()
            _measure_round(args, err, targets, cfg, vantage, control, store, i, rounds)
            if args.watch and store is not None:
                store.flush()
                _watch(args.db, args.watch, str(REGISTRY))
            if i + 1 < rounds:
                time.sleep(max(0.0, args.every.total_seconds() - (time.monotonic() - started)))
    finally:
        if store is not None:
            store.close()
    return 0


def _measure_round(
    args: argparse.Namespace,
    err: Console,
    targets: list[Target],
    cfg: ProbeConfig,
    vantage: Vantage,
    control: HelperClient | None,
    store: Store | None,
    i: int,
    rounds: int,
) -> None:
    controls: dict[str, Measurement | None] = {}

    async def go() -> list[tuple[Measurement, Verdict]]:
        probe_cfg = cfg
        if control is not None:
            try:
                health = await control.health()
                server = (control.host, int(health["throughput_port"]))
                probe_cfg = dataclasses.replace(cfg, throughput_server=server)
            except CensorscopeError as exc:
                err.print(f"[yellow]warning:[/] {exc}; no control, verdicts will be limited")

        async def control_of(t: Target) -> Measurement | None:
            if control is None:
                return None
            if t.url not in controls:
                controls[t.url] = await control(t)
            return controls[t.url]

        with output.progress(err) as bar:
            label = "measuring" if rounds == 1 else f"round {i + 1}/{rounds}"
            task = bar.add_task(label, total=len(targets))

            def done(m: Measurement, v: Verdict) -> None:
                if store is not None:
                    store.add(m, v, controls.get(m.input))
                bar.advance(task)

            return await measure_all(
                targets,
                [VantageJob(vantage, Probe(probe_cfg))],
                control_of,
                datetime.now(UTC),
                concurrency=args.concurrency,
                on_result=done,
                bogon_exempt=cfg.bogon_exempt,
            )

    verdicts = [v for _, v in _run(go())]
    if store is not None:
        store.flush()
    if args.json:
        output.write_json(verdicts, sys.stdout)
    else:
        output.console().print(output.table(verdicts, f"measured from {vantage.name}"))
    if control is not None and control.errors:
        err.print(
            f"[yellow]control failed for {len(control.errors)} target(s)[/]: " + control.errors[0]
        )
        control.errors.clear()


if __name__ == "__main__":
    sys.exit(main())
