"""`censorscope serve`: the dashboard on a store, for a browser (dashboard/app.py)."""

from __future__ import annotations

import argparse

from rich.console import Console

from censorscope.cli.options import Command, add_db, add_events, existing_store, hostport_arg
from censorscope.errors import InputError
from censorscope.net.httpserve import listening


def _configure(p: argparse.ArgumentParser) -> None:
    add_db(p)
    add_events(p)
    p.add_argument(
        "--listen",
        type=hostport_arg(8000),
        default=("127.0.0.1", 8000),
        help="address to serve on (default 127.0.0.1:8000: this machine only)",
    )


def _serve(args: argparse.Namespace, err: Console) -> int:
    from censorscope.dashboard.app import server

    existing_store(args.db, "run lab run/campaign, measure or import first").close()
    host, port = args.listen
    try:
        sock = listening(host, port, backlog=256)
    except OSError as exc:
        raise InputError("--listen", f"{host}:{port}", str(exc), "pick another port") from None
    err.print(f"dashboard on http://{host}:{sock.getsockname()[1]}/ (store {args.db});"
              " Ctrl-C stops it")  # fmt: skip
    server(args.db, args.events).run(sockets=[sock])
    return 0


SERVE = Command("serve", "a live dashboard on a store, in the browser", _configure, _serve)
