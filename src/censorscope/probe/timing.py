"""Paired transfers timed in a process of their own.

The probe's loop runs dozens of measurements at once; on a busy machine one turn of it
takes a few hundred milliseconds, and a read timed there is late by as much. Behind a
130 kbit/s policer whose clumps the lab's relay sent every 0.5 s (its own trace said so),
the probe read them 0.6-0.7 s apart and called the rate 90-105 kbit/s. A thread of its
own would still share the interpreter's lock with that work. A process that only times
transfers sleeps most of the time, so the scheduler wakes it first when data arrive.

One worker process per probe process, started on first use, serving pairs on its own
event loop; it ends when the caller's end of the pipe closes. Where it cannot run, the
pairs are timed on the caller's loop.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import itertools
import os
import socket
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from censorscope.probe.measure import ProbeConfig
    from censorscope.records import Throughput

# Pairs of a target whose first transfer was only somewhat slow (LIGHT_KBPS or more: on a
# loaded machine, hundreds of accessible sites) are timed AT_ONCE at a time: all at once,
# each with two full-speed downloads, they swamped the lab and their handshakes timed
# out. A target held to a throttler's rate is not queued (a campaign has hundreds).
AT_ONCE = 16
LIGHT_KBPS = 500.0
# id, config, sni, control sni, address, size, queued (behind AT_ONCE)
Job = tuple[int, "ProbeConfig", str, str, str, int, bool]


class _Worker:
    def __init__(self) -> None:
        # a fresh interpreter (not multiprocessing, which runs the caller's main module
        # again in it), speaking pickles over a socket pair
        mine, theirs = socket.socketpair()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "censorscope.probe.timing", str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
        )
        theirs.close()
        self.conn = Connection(mine.detach())
        atexit.register(self.close)
        self.ids = itertools.count()
        self.waiting: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Future[Any]]] = {}
        self.lock = threading.Lock()
        threading.Thread(target=self._answers, name="censorscope-timing-answers",
                         daemon=True).start()  # fmt: skip

    def _answers(self) -> None:
        """Hands each answer to the loop that asked (a thread: any loop may ask)."""
        while True:
            try:
                jid, result = self.conn.recv()
            except (EOFError, OSError):
                break
            with self.lock:
                loop, fut = self.waiting.pop(jid, (None, None))
            if loop is not None and fut is not None:
                _hand(loop, fut, result)
        with self.lock:
            gone, self.waiting = list(self.waiting.values()), {}
        for loop, fut in gone:
            _hand(loop, fut, RuntimeError("the timing process ended"))

    def close(self) -> None:
        """Its end of the pipe closed, the process ends (waited for, briefly)."""
        self.conn.close()
        try:
            self.proc.wait(2)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    async def pair(
        self, cfg: ProbeConfig, sni: str, control_sni: str, address: str, size: int, queued: bool
    ) -> list[Throughput]:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        with self.lock:
            jid = next(self.ids)
            self.waiting[jid] = (loop, fut)
            self.conn.send((jid, cfg, sni, control_sni, address, size, queued))
        try:
            result = await fut
        finally:
            with self.lock:
                self.waiting.pop(jid, None)
        if isinstance(result, BaseException):
            raise result
        return list(result)


def _hand(loop: asyncio.AbstractEventLoop, fut: asyncio.Future[Any], result: Any) -> None:
    # a loop that closed meanwhile (its caller gone) raises: that must not end the thread
    # that answers every other caller, whose pairs would then wait forever
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(_settle, fut, result)


def _settle(fut: asyncio.Future[Any], result: Any) -> None:
    if not fut.done():
        fut.set_result(result)


_lock = threading.Lock()
_worker: _Worker | None = None
_broken = False


def _get() -> _Worker | None:
    global _worker, _broken
    with _lock:
        if _worker is not None and _worker.proc.poll() is not None:
            _worker = None
        if _worker is None and not _broken:
            try:
                _worker = _Worker()
            except (OSError, RuntimeError):
                _broken = True  # no processes here: time on the caller's loop
        return _worker


async def timed_pair(
    cfg: ProbeConfig, sni: str, control_sni: str, address: str, size: int, first_kbps: float
) -> list[Throughput] | None:
    """The pair's two transfers timed in the timing process; None where it cannot run
    (the caller then times them itself). `first_kbps`: the target's first transfer (at
    LIGHT_KBPS or more, the pair waits its turn behind AT_ONCE others)."""
    worker = _get()
    if worker is None:
        return None
    try:
        return await worker.pair(cfg, sni, control_sni, address, size, first_kbps >= LIGHT_KBPS)
    except (RuntimeError, OSError, EOFError):
        return None


def _serve(fd: int) -> None:
    """The timing process: every job a task on one loop, answered when done."""
    asyncio.run(_loop(Connection(fd), os.getppid()))


async def _loop(conn: Connection, parent: int) -> None:
    from censorscope.probe.measure import Probe

    loop = asyncio.get_running_loop()
    jobs: asyncio.Queue[Job | None] = asyncio.Queue()
    probes: dict[Any, Probe] = {}
    tasks: set[asyncio.Task[None]] = set()

    def readable() -> None:
        try:
            jobs.put_nowait(conn.recv())
        except (EOFError, OSError):
            loop.remove_reader(conn.fileno())
            jobs.put_nowait(None)

    at_once = asyncio.Semaphore(AT_ONCE)

    async def run(job: Job) -> None:
        jid, cfg, sni, control_sni, address, size, queued = job
        probe = probes.get(cfg)
        if probe is None:
            probe = probes[cfg] = Probe(cfg)
        try:
            async with at_once if queued else contextlib.nullcontext():
                result: Any = await probe.pair(sni, control_sni, address, size)
        except Exception as exc:  # noqa: BLE001 - sent back, raised there
            result = RuntimeError(f"timing process: {exc!r}")
        with contextlib.suppress(OSError):  # the caller gone: nobody to tell
            conn.send((jid, result))

    loop.add_reader(conn.fileno(), readable)
    while (job := await jobs.get()) is not None and os.getppid() == parent:
        task = loop.create_task(run(job))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    for task in tasks:
        task.cancel()


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
