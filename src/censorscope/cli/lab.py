"""`censorscope lab run|campaign|traffic|serve`: the emulated internet with censors."""

from __future__ import annotations

import argparse
import csv
import hashlib
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.progress import Progress, TaskID

from censorscope.analysis.traffic import grid, to_csv_rows
from censorscope.cli import output, platforms
from censorscope.cli.options import (
    Command,
    add_db,
    add_output,
    chosen_isps,
    duration_arg,
    open_store,
    positive_int,
    positive_seconds,
    run,
    scenario_arg,
    time_arg,
)
from censorscope.errors import InputError
from censorscope.inputs.scenario import load_scenario
from censorscope.lab.demand import isp_traffic
from censorscope.lab.runtime import LabProcess, run_event_loop, serve_forever
from censorscope.probe.campaign import run_campaign, sweep
from censorscope.probe.rounds import LabProbeOptions, lab_targets, run_round
from censorscope.records import Measurement, Platform, Target, Verdict
from censorscope.scenario import Scenario
from censorscope.store import Store


def _configure_run(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", type=scenario_arg, help="a scenario file or a shipped name")
    p.add_argument(
        "--at",
        type=time_arg,
        action="append",
        default=[],
        help="virtual time (ISO 8601, UTC if no offset); repeat for several",
    )
    p.add_argument("--isp", action="append", default=[], help="only these ISPs")
    add_output(p)
    p.add_argument("--timeout", type=positive_seconds, default=2.0, help="per step, seconds")
    p.add_argument("--concurrency", type=positive_int, default=64, help="targets at once per ISP")
    platforms.add_options(p)
    p.add_argument(
        "--sites",
        action="store_true",
        help="with --platform: the scenario's sites too, in a table of their own",
    )


def _run(args: argparse.Namespace, err: Console) -> int:
    scenario = load_scenario(args.scenario)
    isps = chosen_isps(scenario, args.isp)
    times = args.at or [datetime.now(UTC).replace(microsecond=0)]
    opts = LabProbeOptions(timeout=args.timeout, concurrency=args.concurrency)
    # the lab serves an app's servers by address too (on its farm, never outside)
    judged: list[Platform] = platforms.chosen(args) if args.platform else []
    sites = lab_targets(scenario)
    targets = sites
    if judged:
        targets = platforms.targets(judged, sites)
        if args.sites:
            have = {t.url for t in targets}
            targets += [t for t in sites if t.url not in have]
    listed = {t.url for t in sites} if not judged or args.sites else set()
    store = open_store(args)
    if store is not None:
        store.origin = lab_origin(scenario)
    per_round = len(targets) * (len(isps) or len(scenario.isps))
    # a platform's endpoints are other names than the scenario's sites: serve every name
    lab = LabProcess(args.scenario, any_name=bool(judged))
    try:
        lab.start()
        with output.progress(err) as bar:
            rounds = _rounds(lab, scenario, times, isps, opts, store, bar, per_round, targets)
            results = run(rounds)
    finally:
        lab.close()
        if store is not None:
            store.close()
    order = {i.name: k for k, i in enumerate(scenario.isps)}
    for at, verdicts in results:
        verdicts.sort(key=lambda v: order.get(v.vantage, len(order)))  # the scenario's order
        title = f"{scenario.name}, {at:%Y-%m-%d %H:%M} UTC"
        shown = [v for v in verdicts if v.target in listed]
        if shown and args.json:
            output.write_json(shown, sys.stdout)
        elif shown:
            names = [i.name for i in scenario.isps]
            output.console().print(output.table(shown, title, names))
        if judged:
            platforms.show(judged, verdicts, title, args.json)
    if store is not None:
        err.print(
            f"stored in {args.db} (run {store.run_id}){_repeated(store)}", style="bright_black"
        )
    return 0


def lab_origin(scenario: Scenario, noise: float | None = None, seed: int = 0) -> str:
    """What identifies the lab's measurements beside target, vantage and time: the
    scenario, by name and content (an edited scenario measures anew), and the noise."""
    try:
        digest = hashlib.sha256(Path(scenario.path).read_bytes()).hexdigest()[:16]
    except OSError:
        digest = ""
    extra = f" noise={noise} seed={seed}" if noise else ""
    return f"lab {scenario.name} {digest}{extra}"


def _repeated(store: Store) -> str:
    if not store.repeated:
        return ""
    return f"; {store.repeated} measurement(s) were stored already and were not added again"


async def _rounds(
    lab: LabProcess,
    scenario: Scenario,
    times: list[datetime],
    isps: list[str],
    opts: LabProbeOptions,
    store: Store | None,
    bar: Progress,
    per_round: int,
    targets: list[Target],
) -> list[tuple[datetime, list[Verdict]]]:
    results = []
    for at in times:
        task = bar.add_task(f"{at:%Y-%m-%d %H:%M} UTC", total=per_round)

        def done(m: Measurement, c: Measurement | None, v: Verdict, task: TaskID = task) -> None:
            if store is not None:
                store.add(m, v, c)
            bar.advance(task)

        verdicts = await run_round(
            lab, scenario, at, opts, isps=isps, on_result=done, targets=targets
        )
        if store is not None:
            store.release()  # a round is kept even if a later one fails; others may read
        results.append((at, verdicts))
    return results


def _configure_campaign(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", type=scenario_arg, help="a scenario file or a shipped name")
    p.add_argument("--from", dest="start", type=time_arg, required=True)
    p.add_argument("--to", dest="end", type=time_arg, required=True)
    p.add_argument("--every", type=duration_arg, default=timedelta(hours=1))
    p.add_argument("--isp", action="append", default=[], help="only these ISPs")
    p.add_argument("--noise", type=float, help="share of flows failing at random, all ISPs")
    p.add_argument("--seed", type=int, default=0, help="which random failures (noise)")
    p.add_argument("--slots", type=int, default=8, help="rounds measured at once")
    p.add_argument("--timeout", type=positive_seconds, default=2.0, help="per step, seconds")
    p.add_argument(
        "--resume",
        action="store_true",
        help="skip the rounds this campaign already stored whole (after an interruption)",
    )
    add_db(p)
    platforms.add_options(p)


def _campaign(args: argparse.Namespace, err: Console) -> int:
    scenario = load_scenario(args.scenario)
    isps = chosen_isps(scenario, args.isp)
    try:
        times = sweep(args.start, args.end, args.every)
    except ValueError as exc:
        raise InputError("--from/--to/--every", "command line", str(exc)) from None
    # many rounds at once: a lower bound per round keeps load spikes below the timeouts
    opts = LabProbeOptions(timeout=args.timeout, transfer_seconds=1.0, concurrency=16)
    judged: list[Platform] = platforms.chosen(args) if args.platform else []
    targets = platforms.targets(judged, lab_targets(scenario)) if judged else None
    origin = lab_origin(scenario, args.noise, args.seed)
    if judged:  # another campaign than the sites': --resume must not mix their rounds
        origin += " platforms=" + ",".join(p.name for p in judged)
    store = Store(args.db, origin=origin)
    counts: dict[str, int] = {}
    started = time.monotonic()
    if args.resume:
        stored = store.rounds_done()
        left = [t for t in times if t not in stored]
        err.print(
            f"resuming: {len(times) - len(left)} of {len(times)} rounds stored whole before",
            style="bright_black",
        )
        times = left
    if not times:
        store.close()
        err.print(f"nothing left to measure; {args.db} holds every round")
        return 0
    lab = LabProcess(
        args.scenario,
        slots=min(args.slots, len(times)),
        noise=args.noise,
        seed=args.seed,
        any_name=bool(judged),
    )
    try:
        lab.start()
        with output.progress(err) as bar:
            task = bar.add_task(f"{len(times)} rounds", total=len(times))

            def done(at: datetime, verdicts: list[Verdict]) -> None:
                for v in verdicts:
                    counts[v.verdict] = counts.get(v.verdict, 0) + 1
                store.flush()  # a round is kept even if a later one fails
                store.round_done(at, len(verdicts))
                store.release()  # others may read between rounds (a dashboard, timeline)
                bar.advance(task)
                if not err.is_terminal:  # a log (nohup, CI) says what a resume would skip
                    err.print(f"round {at:%Y-%m-%dT%H:%MZ} stored ({len(verdicts)} verdicts)")

            def keep(m: Measurement, c: Measurement | None, v: Verdict) -> None:
                store.add(m, v, c)

            made = run(
                run_campaign(
                    lab,
                    scenario,
                    times,
                    opts,
                    isps=isps,
                    on_result=keep,
                    on_round=done,
                    targets=targets,
                )
            )
    finally:
        lab.close()
        store.close()
    summary = ", ".join(f"{k} {n}" for k, n in sorted(counts.items()))
    err.print(
        f"{len(times)} rounds, {made} verdicts in {time.monotonic() - started:.0f} s "
        f"({summary}); stored in {args.db} (run {store.run_id}){_repeated(store)}"
    )
    return 0


def _configure_traffic(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", type=scenario_arg, help="a scenario file or a shipped name")
    p.add_argument("--from", dest="start", type=time_arg, required=True)
    p.add_argument("--to", dest="end", type=time_arg, required=True)
    p.add_argument("--every", type=duration_arg, default=timedelta(hours=1))
    p.add_argument("--noise", type=float, default=0.02, help="multiplicative noise (sd)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="CSV file (default: stdout)")


def _traffic(args: argparse.Namespace, err: Console) -> int:
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


def _configure_serve(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", type=scenario_arg, help="a scenario file or a shipped name")
    p.add_argument("--at", type=time_arg, help="virtual time (default: now)")


def _serve(args: argparse.Namespace, err: Console) -> int:
    with tempfile.TemporaryDirectory(prefix="censorscope-lab-") as tmp:
        load_scenario(args.scenario)
        run_event_loop(serve_forever(args.scenario, args.at, Path(tmp), commands=False))
    return 0


RUN = Command("lab run", "measure every site from every ISP of a scenario", _configure_run, _run)
CAMPAIGN = Command(
    "lab campaign", "rounds at every step between two virtual times", _configure_campaign, _campaign
)
TRAFFIC = Command(
    "lab traffic",
    "per-ISP traffic of a scenario (CSV time,entity,value)",
    _configure_traffic,
    _traffic,
)
SERVE = Command("lab serve", "run a scenario's lab in the foreground", _configure_serve, _serve)
