"""The command line: a table of commands (as pip's commands/__init__.py), one module per
group of commands. Errors print one clear line, never a traceback."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

from rich.console import Console

import censorscope
from censorscope.cli import (
    changes,
    compare,
    data,
    export,
    helper,
    imports,
    lab,
    lake,
    measure,
    rules,
    serve,
    unblock,
)
from censorscope.cli.options import Command
from censorscope.errors import CensorscopeError
from censorscope.lab import packets

COMMANDS: tuple[Command, ...] = (
    lab.RUN,
    lab.CAMPAIGN,
    lab.TRAFFIC,
    lab.SERVE,
    measure.MEASURE,
    changes.TIMELINE,
    changes.WATCH,
    changes.REPORT,
    serve.SERVE,
    rules.AUDIT,
    rules.INFER,
    imports.IMPORT,
    export.EXPORT,
    lake.EXPORT,
    compare.COMPARE,
    data.ANOMALIES,
    data.EVENTS,
    data.EXAMPLES_COMMAND,
    unblock.UNBLOCK,
    helper.SERVE,
)
GROUPS = {
    "lab": "the emulated internet with censors",
    "helper": "the control helper",
    "lake": "a Parquet lake for DuckDB, Spark and the like",
}


class _Version(argparse.Action):
    """--version, read from the installed metadata only when asked for."""

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        sys.stdout.write(f"censorscope {censorscope.__version__}\n")  # as argparse's own
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="censorscope",
        description="Find out whether, since when and how an internet platform is "
        "restricted on a network.",
    )
    p.add_argument("--version", action=_Version, nargs=0, help="print the version and exit")
    sub = p.add_subparsers(dest="command", required=True)
    groups: dict[str, argparse._SubParsersAction] = {}
    for cmd in COMMANDS:
        group, _, name = cmd.name.rpartition(" ")
        where = sub
        if group:
            if group not in groups:
                g = sub.add_parser(group, help=GROUPS[group])
                groups[group] = g.add_subparsers(dest=f"{group}_command", required=True)
            where = groups[group]
        parser = where.add_parser(name, help=cmd.help)
        cmd.configure(parser)
        parser.set_defaults(run=cmd.run)
    return p


class _Terminated(SystemExit):
    """SIGTERM, raised where the program is, so that cleanups run as for Ctrl-C (the lab's
    folder holds its CA's private key: never left on disk). A SystemExit, because event
    loops let only that and KeyboardInterrupt out of their callbacks."""


def _terminate(signum: int, frame: object) -> None:
    raise _Terminated(143)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    err = Console(stderr=True)
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        if getattr(args, "packets", False) and args.lab:
            if not packets.in_own_namespace():
                return packets.run_in_namespace(sys.argv[1:] if argv is None else list(argv))
            packets.loopback_up()
        return int(args.run(args, err))
    except CensorscopeError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        return 2
    except KeyboardInterrupt:
        return 130
    except _Terminated:
        err.print("terminated", highlight=False)
        return 143
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
