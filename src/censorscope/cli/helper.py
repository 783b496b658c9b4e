"""`censorscope helper serve`: the control helper, for an uncensored host."""

from __future__ import annotations

import argparse
import os
import secrets
from pathlib import Path

from rich.console import Console

from censorscope.cli.options import (
    Command,
    add_network,
    hostport_arg,
    positive_int,
    positive_seconds,
    probe_config,
)
from censorscope.errors import InputError
from censorscope.helper.client import TOKEN_ENV
from censorscope.lab.runtime import run_event_loop


def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--listen", type=hostport_arg(8080), default=("127.0.0.1", 8080))
    p.add_argument("--throughput-port", type=int, default=0)
    p.add_argument("--cert", help="certificate (PEM); default: a self-signed one the probe pins")
    p.add_argument("--key", help="the certificate's private key (PEM)")
    p.add_argument(
        "--token",
        help=f"the token clients must send (default: ${TOKEN_ENV}, else a random one, printed)",
    )
    p.add_argument(
        "--allow-private",
        dest="not_bogon",
        action="append",
        default=[],
        metavar="CIDR",
        help="a private or reserved network the helper may fetch from (a lab: 127.0.0.0/8);"
        " never by default",
    )
    p.add_argument("--max-concurrent", type=positive_int, default=32,
                   help="measurements at once, all clients together (503 beyond)")  # fmt: skip
    p.add_argument("--rate", type=float, default=2.0, help="requests a second per client")
    p.add_argument("--client-concurrent", type=positive_int, default=4,
                   help="requests at once per client (429 beyond)")  # fmt: skip
    add_network(p, "UDP resolver (default: system)")
    p.add_argument("--timeout", type=positive_seconds, default=10.0, help="per step, seconds")


def _serve(args: argparse.Namespace, err: Console) -> int:
    from censorscope.helper.app import Settings
    from censorscope.helper.limits import ClientLimits
    from censorscope.helper.server import serve

    if bool(args.cert) != bool(args.key):
        raise InputError("--cert/--key", "command line", "give both or neither")
    for f in (args.cert, args.key):
        if f and not Path(f).is_file():
            raise InputError(f, "--cert/--key", "no such file", "give a PEM file")
    if args.rate <= 0:
        raise InputError("--rate", str(args.rate), "not positive", "e.g. --rate 2")
    token = args.token or os.environ.get(TOKEN_ENV, "")
    if not token:
        token = secrets.token_urlsafe(24)
        err.print(f"helper: no --token or ${TOKEN_ENV}; clients must send this one: {token}")
    settings = Settings(
        token=token,
        throughput_port=args.throughput_port,
        max_concurrent=args.max_concurrent,
        limits=ClientLimits(
            rate=args.rate, burst=max(1.0, 10 * args.rate), concurrent=args.client_concurrent
        ),
    )
    host, port = args.listen
    cert = (args.cert, args.key) if args.cert else None
    run_event_loop(serve(host, port, probe_config(args), settings, cert))
    return 0


SERVE = Command(
    "helper serve", "serve control measurements and the throughput test", _configure, _serve
)
