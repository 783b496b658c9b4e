"""`censorscope unblock`: confirm that each URL is restricted, then try every strategy N
times and say what restores access, in the lab (`--lab S --isp NAME`) or from here."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime

from rich.console import Console

from censorscope.analysis.circumvention import (
    Outcome,
    Trial,
    outcomes,
    restored_above,
    restricted,
    select,
    working_everywhere,
)
from censorscope.analysis.verdict import decide
from censorscope.cli import output
from censorscope.cli.options import (
    Command,
    add_network,
    positive_int,
    positive_seconds,
    scenario_arg,
    time_arg,
)
from censorscope.errors import InputError
from censorscope.probe.measure import Probe, ProbeConfig
from censorscope.probe.unblock import (
    Attempts,
    UnblockConfig,
    Via,
    check_url,
    check_via,
    sweep,
    trials_planned,
)
from censorscope.records import Baseline, Target, Vantage

PUBLIC_PLAIN = ("9.9.9.9", 53)
PUBLIC_DOT = ("1.1.1.1", 853, "cloudflare-dns.com")
PUBLIC_DOH = ("1.1.1.1", 443, "cloudflare-dns.com")


def _configure(u: argparse.ArgumentParser) -> None:
    u.add_argument("urls", nargs="+", metavar="URL")
    u.add_argument(
        "--lab", metavar="SCENARIO", type=scenario_arg, help="try it in the lab, from --isp"
    )
    u.add_argument("--isp", help="the lab ISP to measure from (with --lab)")
    u.add_argument("--at", type=time_arg, help="the lab's virtual time (default: now)")
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
    u.add_argument("--timeout", type=positive_seconds, default=None, help="per step, seconds")
    u.add_argument("--concurrency", type=positive_int, default=32, help="trials at once")
    add_network(u, "the ISP's resolver (default: the system's)")


def _unblock(args: argparse.Namespace, err: Console) -> int:
    urls = [check_url(u) for u in args.urls]
    names = [n.strip() for arg in args.strategy for n in arg.split(",") if n.strip()]
    strategies = select(names)
    if args.tries < 1:
        raise InputError("--tries", str(args.tries), "must be at least 1")
    if args.lab:
        return _in_lab(args, err, urls, strategies)
    if args.isp or args.at or args.packets:
        raise InputError(
            "--isp/--at/--packets", "command line", "only with --lab", "add --lab SCENARIO"
        )
    cfg = UnblockConfig(
        proxy=args.proxy,
        resolver=args.resolver,
        ca_file=args.ca_file,
        timeout=args.timeout or 5.0,
        trial_timeout=3 * (args.timeout or 5.0) + 2.5,
        plain_resolver=PUBLIC_PLAIN,
        dot=PUBLIC_DOT,
        doh=PUBLIC_DOH,
        via=Via.parse(args.via) if args.via else None,
        front=args.front,
    )
    probe = Probe(ProbeConfig(resolver=cfg.resolver, proxy=cfg.proxy, ca_file=cfg.ca_file))
    vantage = Vantage("local", 0, "ZZ")
    return asyncio.run(_go(args, err, urls, strategies, cfg, probe, None, vantage, None))


def _in_lab(args: argparse.Namespace, err: Console, urls: list[str], strategies: list) -> int:
    from censorscope.lab.runtime import LabProcess
    from censorscope.probe.rounds import LabProbeOptions, probe_config, unblock_config

    if not args.isp:
        raise InputError("--isp", "command line", "--lab needs an ISP", "add --isp NAME")
    at = args.at or datetime.now(UTC)
    opts = LabProbeOptions(timeout=args.timeout or 2.0)
    with LabProcess(args.lab, at, packets=args.packets) as info:
        e = info.endpoint(args.isp)
        cfg = unblock_config(info, e, opts, args.via, args.front)
        if args.packets:
            cfg.segment_gap = 0.0  # back to back, as zapret sends them: the DPI sees packets
        probe = Probe(probe_config(info, e, opts))
        control = Probe(probe_config(info, info.control, opts))
        return asyncio.run(_go(args, err, urls, strategies, cfg, probe, control, e.vantage, at))


async def _go(
    args: argparse.Namespace,
    err: Console,
    urls: list[str],
    strategies: list,
    cfg: UnblockConfig,
    probe: Probe,
    control: Probe | None,
    vantage: Vantage,
    at: datetime | None,
) -> int:
    await check_via(cfg)
    baselines = await confirm(urls, probe, control, vantage, at or datetime.now(UTC))
    plan = []
    for b in baselines:
        if restricted(b) or args.force:
            plan.append((b.url, restored_above(b)))
        else:
            err.print(f"{b.url}: {b.verdict} here ({b.rule}); nothing to circumvent")
    attempts = Attempts(cfg)
    total = len(trials_planned(plan, strategies, args.tries, attempts))
    trials: list[Trial] = []
    with output.progress(err) as bar:
        task = bar.add_task("trying strategies", total=total)
        trials = await sweep(
            plan,
            strategies,
            args.tries,
            attempts,
            args.concurrency,
            on_trial=lambda _t: bar.advance(task),
        )
    results = outcomes(trials)
    works = working_everywhere(results, [u for u, _ in plan])
    if args.json:
        _write_json(baselines, results, works)
    else:
        con = output.console()
        for b in baselines:
            rows = [o for o in results if o.target == b.url]
            if rows:
                con.print(output.unblock_table(b, rows))
        if not plan:
            con.print("Nothing restricted here, so no strategy was tried (--force tries anyway)")
        else:
            con.print(
                "[bold]Works on every target:[/] "
                + (", ".join(works) if works else "nothing tried worked")
            )
    return 0


async def confirm(
    urls: list[str], probe: Probe, control: Probe | None, vantage: Vantage, at: datetime
) -> list[Baseline]:
    """The ordinary measurement of each URL, against the control where there is one."""

    async def one(url: str) -> Baseline:
        target = Target(url)
        m, c = await asyncio.gather(
            probe.measure(target, vantage, at),
            control.measure(target, Vantage("control", 0, "ZZ"), at, throughput=False)
            if control
            else _none(),
        )
        v = decide(m, c)
        return Baseline(url, v.verdict, v.method, v.rule, v.rate_kbps)

    return list(await asyncio.gather(*(one(u) for u in urls)))


async def _none() -> None:
    return None


def _write_json(baselines: list[Baseline], results: list[Outcome], works: list[str]) -> None:
    base = {b.url: b for b in baselines}
    for o in results:
        b = base[o.target]
        row = o.to_dict() | {"baseline": {"verdict": b.verdict, "method": b.method, "rule": b.rule}}
        sys.stdout.write(json.dumps(row) + "\n")
    sys.stdout.write(json.dumps({"summary": {"works_everywhere": works}}) + "\n")


UNBLOCK = Command("unblock", "which circumvention strategies restore access", _configure, _unblock)
