"""A client's limits at the helper: a burst, then the rate; requests at once; and the
Retry-After that says when to come back (a clock of the test's own)."""

from __future__ import annotations

from censorscope.helper.limits import ClientLimits


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_the_rate_and_when_to_come_back() -> None:
    clock = Clock()
    lim = ClientLimits(rate=0.25, burst=3, concurrent=10, clock=clock)
    for _ in range(3):
        assert lim.admit("a") is None
        lim.done("a")
    assert lim.admit("a") == "at most 0.25 requests a second"
    assert lim.retry_after("a") == 4  # a token every 4 s
    clock.now += 3
    assert lim.admit("a") is not None and lim.retry_after("a") == 1
    clock.now += 1
    assert lim.admit("a") is None  # as it was told
    assert lim.admit("b") is None  # another address has its own bucket


def test_too_many_at_once_is_told_to_come_back_in_a_second() -> None:
    lim = ClientLimits(rate=100, burst=100, concurrent=2, clock=Clock())
    assert lim.admit("a") is None and lim.admit("a") is None
    assert lim.admit("a") == "at most 2 requests at once"
    assert lim.retry_after("a") == 1
    lim.done("a")
    assert lim.admit("a") is None
