"""`censorscope measure`: measure URLs from this machine, once or every DURATION."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from datetime import UTC, datetime

from rich.console import Console

from censorscope.cli import output, platforms
from censorscope.cli.changes import alert_changes
from censorscope.cli.options import (
    Command,
    add_output,
    add_probe,
    add_sinks,
    duration_arg,
    open_store,
    positive_int,
    probe_config,
    run,
)
from censorscope.errors import CensorscopeError, InputError
from censorscope.helper.client import TOKEN_ENV, HelperClient
from censorscope.inputs.events import REGISTRY
from censorscope.inputs.targets import load_targets
from censorscope.probe.measure import Probe, ProbeConfig
from censorscope.probe.runner import VantageJob, measure_all
from censorscope.records import Measurement, Platform, Target, Vantage, Verdict
from censorscope.store import Store


def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="*", metavar="URL|LIST")
    p.add_argument(
        "--control",
        help="the helper, as `helper serve` prints it: https://HOST:PORT/#sha256=PIN",
    )
    p.add_argument(
        "--control-token",
        help=f"the helper's token (default: ${TOKEN_ENV})",
    )
    p.add_argument(
        "--allow-no-control",
        action="store_true",
        help="exit 0 even when the --control helper could not be reached (else exit 3)",
    )
    add_probe(p)
    p.add_argument("--vantage", default="local", help="a name for this vantage point")
    p.add_argument("--asn", type=int, default=0, help="this network's AS number, if known")
    p.add_argument("--cc", default="ZZ", help="this network's country code, if known")
    p.add_argument("--no-throughput", action="store_true", help="skip the throughput test")
    p.add_argument("--concurrency", type=positive_int, default=16)
    p.add_argument("--every", type=duration_arg, help="repeat, a round every DURATION (e.g. 1h)")
    p.add_argument("--for", dest="for_", type=duration_arg, help="repeat for DURATION (e.g. 2d)")
    add_sinks(p, "--watch", "after each round, alert changes to - / a file / a webhook URL")
    add_output(p)
    platforms.add_options(p)


def _measure(args: argparse.Namespace, err: Console) -> int:
    judged = platforms.chosen(args) if args.platform else []
    if not args.inputs and not judged:
        raise InputError("measure", "command line", "nothing to measure",
                         "give URLs, lists, or --platform NAME")  # fmt: skip
    listed = [t for arg in args.inputs for t in load_targets(arg)]
    targets = list({t.url: t for t in listed + platforms.targets(judged)}.values())
    cfg = probe_config(args)
    vantage = Vantage(args.vantage, args.asn, args.cc.upper())
    token = args.control_token or os.environ.get(TOKEN_ENV, "")
    control = HelperClient(args.control, token) if args.control else None
    if args.watch and args.no_store:
        raise InputError("--watch", "command line", "alerts need the store", "drop --no-store")
    rounds = 1
    if args.every is not None:
        span = args.for_ if args.for_ is not None else args.every
        rounds = int(span / args.every) + 1
    store = open_store(args)
    if store is not None:
        store.origin = "measure"  # with the round's real time, the target and the vantage
    missed = 0  # targets whose control could not be had, over all rounds
    try:
        for i in range(rounds):
            started = time.monotonic()
            missed += _round(
                args, err, targets, cfg, vantage, control, store, (i, rounds), judged, listed
            )
            if store is not None:
                store.release()  # between rounds others may read it (a dashboard, timeline)
            if args.watch and store is not None:
                alert_changes(args.db, args.watch, str(REGISTRY), err, judged=judged)  # never fatal
            if i + 1 < rounds:
                time.sleep(max(0.0, args.every.total_seconds() - (time.monotonic() - started)))
    finally:
        if store is not None:
            store.close()
    if missed and not args.allow_no_control:
        err.print(
            f"[red]the control at {args.control} failed for {missed} measurement(s): their"
            " verdicts are limited[/] (exit 3; --allow-no-control accepts that)"
        )
        return NO_CONTROL
    return 0


NO_CONTROL = 3  # exit status: measured, but without the control that was asked for


def asked(t: Target) -> bool:
    """Is the helper asked for a control of this target? Not for an app's server by
    address (tcp://): the helper measures URLs, and a connection made is its own proof."""
    return t.scheme != "tcp"


def _round(
    args: argparse.Namespace,
    err: Console,
    targets: list[Target],
    cfg: ProbeConfig,
    vantage: Vantage,
    control: HelperClient | None,
    store: Store | None,
    round_of: tuple[int, int],
    judged: list[Platform],
    listed: list[Target],
) -> int:
    """One round (`round_of`: its number from 0, and how many); returns how many targets
    went without the control asked for. `listed`: the targets given as URLs or lists,
    shown one by one (a platform's endpoints are shown through its verdict)."""
    i, rounds = round_of
    controls: dict[str, Measurement | None] = {}
    unreachable = False

    async def go() -> list[tuple[Measurement, Verdict]]:
        probe_cfg = cfg
        if control is not None:
            try:
                health = await control.health()
                server = (control.host, int(health["throughput_port"]))
                probe_cfg = dataclasses.replace(
                    cfg, throughput_server=server, throughput_headers=(control.auth,)
                )
            except CensorscopeError as exc:
                nonlocal unreachable
                unreachable = True
                err.print(f"[yellow]warning:[/] {exc}; no control, verdicts will be limited")

        async def control_of(t: Target) -> Measurement | None:
            if control is None or not asked(t):
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

    verdicts = [v for _, v in run(go())]
    if store is not None:
        store.flush()
    given = {t.url for t in listed}
    shown = [v for v in verdicts if v.target in given]
    if args.json:
        output.write_json(shown, sys.stdout)
    elif shown:
        output.console().print(output.table(shown, f"measured from {vantage.name}"))
    if judged:
        platforms.show(judged, verdicts, f"measured from {vantage.name}", args.json)
    missed = 0
    if control is not None:
        missed = sum(1 for t in targets if asked(t) and controls.get(t.url) is None)
        if unreachable:
            missed = sum(1 for t in targets if asked(t))
    if control is not None and control.errors:
        err.print(
            f"[yellow]control failed for {len(control.errors)} target(s)[/]: " + control.errors[0]
        )
        control.errors.clear()
    return missed


MEASURE = Command("measure", "measure URLs from this machine", _configure, _measure)
