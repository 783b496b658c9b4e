"""Token buckets for the middlebox's rate policer. Pure (time is passed in)."""

from __future__ import annotations


class TokenBucket:
    """`rate` bytes per second, holding at most `burst` bytes of credit; starts full."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = burst
        self.stamp: float | None = None

    def reserve(self, n: int, now: float) -> float:
        """Take `n` bytes of credit; return how long to wait before sending them."""
        if self.stamp is not None:
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        self.tokens -= n
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate
