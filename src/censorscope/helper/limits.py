"""What one client of the helper may ask for: requests per second, requests at once, and
bytes of throughput tests per window. Clients are told apart by address, which is kept in
memory only as long as its bucket is not full again (never logged, never stored).

A client over a limit is answered 429 (slow down) and the helper over its own limit 503
(come back later): never a measurement made under pressure, which would skew a verdict.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float
    busy: int = 0


@dataclass(slots=True)
class ClientLimits:
    """Per client: a token bucket of `rate` requests a second up to `burst`, and at most
    `concurrent` requests at once. `clock` is for tests."""

    rate: float = 2.0
    burst: float = 20.0
    concurrent: int = 4
    clock: Callable[[], float] = time.monotonic
    _clients: dict[str, _Bucket] = field(default_factory=dict)

    def admit(self, client: str) -> str | None:
        """None if the request may go ahead (call `done` after it), else why not."""
        now = self.clock()
        b = self._clients.get(client)
        if b is None:
            b = self._clients[client] = _Bucket(self.burst, now)
            self._forget(now)
        b.tokens = min(self.burst, b.tokens + (now - b.at) * self.rate)
        b.at = now
        if b.busy >= self.concurrent:
            return f"at most {self.concurrent} requests at once"
        if b.tokens < 1:
            return f"at most {self.rate:g} requests a second"
        b.tokens -= 1
        b.busy += 1
        return None

    def retry_after(self, client: str) -> int:
        """Whole seconds until `client` may ask again (for Retry-After): until its next
        token when it asked too often, 1 when it asked too much at once."""
        b = self._clients.get(client)
        if b is None or b.busy >= self.concurrent or not self.rate or b.tokens >= 1:
            return 1
        return max(1, math.ceil((1 - b.tokens) / self.rate))

    def done(self, client: str) -> None:
        b = self._clients.get(client)
        if b is not None and b.busy:
            b.busy -= 1

    def _forget(self, now: float) -> None:
        """Clients idle long enough to have a full bucket again are the same as new ones:
        dropped, so that many addresses cannot grow the table without end."""
        if len(self._clients) < 1024:
            return
        full = self.burst / self.rate if self.rate else 0.0
        for c, b in list(self._clients.items()):
            if not b.busy and now - b.at >= full:
                del self._clients[c]


@dataclass(slots=True)
class ByteBudget:
    """Per client: at most `limit` bytes of throughput tests per `window` seconds."""

    limit: int = 256 * 1024 * 1024
    window: float = 600.0
    clock: Callable[[], float] = time.monotonic
    _used: dict[str, tuple[float, int]] = field(default_factory=dict)

    def take(self, client: str, n: int) -> bool:
        now = self.clock()
        start, used = self._used.get(client, (now, 0))
        if now - start >= self.window:
            start, used = now, 0
        if used + n > self.limit:
            return False
        self._used[client] = (start, used + n)
        if len(self._used) > 4096:  # forget windows that are over
            self._used = {c: v for c, v in self._used.items() if now - v[0] < self.window}
        return True
