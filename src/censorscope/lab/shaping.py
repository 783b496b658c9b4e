"""Token buckets for the middlebox's policer and shaper. Pure (time is passed in)."""

from __future__ import annotations


class TokenBucket:
    """`rate` bytes per second, holding at most `burst` bytes of credit; starts full.

    With `stall_to`, it polices: a segment that finds too little credit is dropped, and so
    is everything after it until the bucket has refilled to `stall_to` bytes, so the flow
    arrives in bursts with stalls between them, as TCP behind the 2021 throttler did.
    Without it, it shapes: each segment waits just as long as its own credit needs.
    """

    def __init__(self, rate: float, burst: float, stall_to: float = 0.0) -> None:
        self.rate, self.burst, self.stall_to = rate, burst, stall_to
        self.tokens = burst
        self.stamp: float | None = None

    def _refill(self, now: float) -> None:
        if self.stamp is not None:
            elapsed = max(0.0, now - self.stamp)
            if self.tokens < self.burst:  # credit `woke` gave past the burst is kept
                self.tokens = min(self.burst, self.tokens + elapsed * self.rate)
        self.stamp = now

    def reserve(self, n: int, now: float) -> float:
        """Take `n` bytes of credit; return how long to wait before sending them."""
        self._refill(now)
        if self.stall_to and self.tokens < n:
            wait = (max(self.stall_to, n) - self.tokens) / self.rate
            self.tokens = max(self.stall_to, n) - n
            self.stamp = now + wait
            return wait
        self.tokens -= n
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate

    def woke(self, now: float) -> None:
        """Called on waking from a wait `reserve` asked for. A busy lab wakes late; the
        censor it plays does not stop its clock meanwhile, so the lateness is credited in
        full, past `burst`: else a lab starved for a second would deliver less than the
        rule's rate, and the probe would be blamed for the lab's lag."""
        if self.stamp is not None and now > self.stamp:
            self.tokens += (now - self.stamp) * self.rate
        self.stamp = now

    def take(self, n: int, now: float) -> bool:
        """Police a datagram: take `n` bytes of credit if the bucket holds them, else the
        datagram is dropped (False). UDP has no stream to stall, only packets to lose."""
        self._refill(now)
        if self.tokens < n:
            return False
        self.tokens -= n
        return True
