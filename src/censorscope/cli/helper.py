"""`censorscope helper serve`: the control helper, for an uncensored host."""

from __future__ import annotations

import argparse

from rich.console import Console

from censorscope.cli.options import Command, add_probe, hostport_arg, probe_config
from censorscope.lab.runtime import run_event_loop


def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--listen", type=hostport_arg(8080), default=("127.0.0.1", 8080))
    p.add_argument("--throughput-port", type=int, default=0)
    add_probe(p)


def _serve(args: argparse.Namespace, err: Console) -> int:
    from censorscope.helper.server import serve

    host, port = args.listen
    run_event_loop(serve(host, port, probe_config(args), args.throughput_port))
    return 0


SERVE = Command(
    "helper serve", "serve control measurements and the throughput test", _configure, _serve
)
