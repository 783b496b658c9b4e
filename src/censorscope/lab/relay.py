"""Relaying a TCP flow one direction at a time, within a lane's limit: what the lab's
middleboxes do for every flow they let through, and what its CONNECT proxy does."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass

from censorscope.lab.shaping import TokenBucket

SEGMENT = 1460  # a limited lane passes at most one TCP segment's worth at a time


@dataclass(slots=True)
class Lane:
    """One direction of a relayed flow; its limit may be set after the relay started."""

    bucket: TokenBucket | None = None
    free: int = 0  # bytes let through before the bucket applies
    sent: int = 0
    # a jittery path: each chunk waits a random 0..jitter seconds (`rng` draws them)
    jitter: float = 0.0
    rng: random.Random | None = None


async def pump(
    src: asyncio.StreamReader, dst: asyncio.StreamWriter, lane: Lane, pending: list[bytes]
) -> None:
    """Relay one direction (after the `pending` chunks) within the lane's limit."""
    try:
        for chunk in pending:
            await _send(dst, chunk, lane)
        while True:
            limited = lane.bucket is not None or lane.jitter
            chunk = await src.read(4096 if limited else 65536)
            if not chunk:
                break
            await _send(dst, chunk, lane)
        if dst.can_write_eof():
            dst.write_eof()
    except (ConnectionError, OSError, RuntimeError):  # uvloop: RuntimeError once closed
        dst.transport.abort()


async def _send(dst: asyncio.StreamWriter, chunk: bytes, lane: Lane) -> None:
    if lane.jitter and lane.rng is not None:
        await asyncio.sleep(lane.rng.uniform(0, lane.jitter))
    bucket = lane.bucket
    if bucket is None or lane.sent + len(chunk) <= lane.free:
        dst.write(chunk)
        await dst.drain()
        lane.sent += len(chunk)
        return
    for i in range(0, len(chunk), SEGMENT):
        seg = chunk[i : i + SEGMENT]
        if lane.sent >= lane.free:
            wait = bucket.reserve(len(seg), time.monotonic())
            if wait > 0:
                await asyncio.sleep(wait)
                bucket.woke(time.monotonic())
        dst.write(seg)
        await dst.drain()
        lane.sent += len(seg)
