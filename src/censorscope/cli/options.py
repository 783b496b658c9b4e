"""What the commands share: the command record, option types, option groups defined once,
and the few steps every command takes the same way (running a coroutine, opening the
store, building a probe's configuration)."""

from __future__ import annotations

import argparse
import ipaddress
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console

from censorscope.errors import InputError
from censorscope.inputs.events import REGISTRY
from censorscope.inputs.scenario import locate
from censorscope.lab.runtime import run_event_loop
from censorscope.probe.measure import ProbeConfig
from censorscope.scenario import Scenario
from censorscope.store import Store
from censorscope.timeparse import parse_duration, parse_time

DEFAULT_DB = "censorscope.duckdb"
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Command:
    """One command of the table in cli/main.py: `name` is one word, or two for a command
    of a group ("lab run")."""

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, Console], int]


def time_arg(text: str) -> datetime:
    try:
        return parse_time(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def scenario_arg(text: str) -> str:
    """A scenario's path, or the name of one that ships with censorscope."""
    return locate(text)


def positive_int(text: str) -> int:
    """A count of at least one (0 concurrent targets would wait forever)."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"{n} must be at least 1")
    return n


def positive_seconds(text: str) -> float:
    """A duration in seconds above zero (a timeout of 0 or less fails every step)."""
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not x > 0 or x == float("inf"):
        raise argparse.ArgumentTypeError(f"{text} must be a number of seconds above 0")
    return x


def duration_arg(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def hostport_arg(default_port: int) -> Callable[[str], tuple[str, int]]:
    def parse(text: str) -> tuple[str, int]:
        host, _, port = text.rpartition(":") if text.count(":") == 1 else (text, "", "")
        try:
            return (host or text, int(port) if port else default_port)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: write HOST or HOST:PORT") from None

    return parse


def add_db(
    p: argparse.ArgumentParser | argparse._ArgumentGroup, lake: bool = False, **kw: Any
) -> None:
    """--db; with `lake`, also --lake (a command that only reads can read a lake)."""
    kw.setdefault("default", DEFAULT_DB)
    kw.setdefault("help", f"DuckDB file (default {DEFAULT_DB})")
    p.add_argument("--db", **kw)
    if lake:
        p.add_argument("--lake", metavar="DIR", help="read a Parquet lake (written by `lake "
                       "export` or `import --lake`) instead of --db")  # fmt: skip


def add_engine(p: argparse.ArgumentParser) -> None:
    """--engine and --master: the embedded engine (this machine) or Apache Spark."""
    p.add_argument("--engine", choices=["embedded", "spark"], default="embedded",
                   help="embedded (default: this machine, no Java) or spark (docs/scaling.md;"
                   " pip install 'censorscope[spark]')")  # fmt: skip
    p.add_argument("--master", metavar="URL", help="with --engine spark: local[2], "
                   "spark://host:7077, yarn, k8s://... (default: spark-submit's, else "
                   "local[*])")  # fmt: skip


def add_events(p: argparse.ArgumentParser) -> None:
    p.add_argument("--events", default=str(REGISTRY), help="events registry (TOML)")


def add_sinks(p: argparse.ArgumentParser, flag: str, help: str) -> None:
    """Where alerts go: - (stdout), a JSON-lines file or a webhook URL; repeatable."""
    p.add_argument(flag, action="append", default=[], metavar="SINK", help=help)


def add_output(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="one JSON object per line on stdout")
    add_db(p)
    p.add_argument("--no-store", action="store_true", help="do not store measurements")


def add_network(p: argparse.ArgumentParser, resolver_help: str) -> None:
    """How the probe reaches the network: resolver, proxy, trusted CAs."""
    p.add_argument("--resolver", type=hostport_arg(53), help=resolver_help)
    p.add_argument("--proxy", type=hostport_arg(1080), help="reach the network via SOCKS5")
    p.add_argument("--ca-file", help="CA bundle to trust (default: system CAs)")


def add_probe(p: argparse.ArgumentParser) -> None:
    add_network(p, "UDP resolver (default: system)")
    p.add_argument("--timeout", type=positive_seconds, default=10.0, help="per step, seconds")
    p.add_argument(
        "--not-bogon",
        action="append",
        default=[],
        metavar="CIDR",
        help="answers in this network are not bogus (e.g. 127.0.0.0/8 for a lab)",
    )


def probe_config(args: argparse.Namespace) -> ProbeConfig:
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


def existing_store(db: str, fix: str = "measure something first", lake: str | None = None) -> Store:
    """The store at `db`, or the lake at `lake` read as one (store/lake.py)."""
    if lake:
        from censorscope.store.lake import open_lake

        if not Path(lake).is_dir():
            fix = "give the folder `lake export` wrote"
            raise InputError(lake, "--lake", "no such folder", fix)
        return open_lake(lake)
    if not Path(db).exists():
        raise InputError(db, "--db", "no such store", fix)
    return Store(db)


def open_store(args: argparse.Namespace) -> Store | None:
    return None if args.no_store else Store(args.db)


def chosen_isps(scenario: Scenario, names: list[str]) -> list[str]:
    known = {i.name.lower(): i.name for i in scenario.isps}
    for name in names:
        if name.lower() not in known:
            raise InputError(
                "--isp", name, "no such ISP in the scenario", "known: " + ", ".join(known.values())
            )
    return [known[n.lower()] for n in names]


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on the lab's event loop (uvloop where there is one)."""
    out: list[T] = []

    async def wrapper() -> None:
        out.append(await coro)

    run_event_loop(wrapper())
    return out[0]
