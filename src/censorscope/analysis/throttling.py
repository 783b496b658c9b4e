"""Throttling by name, from paired transfers. Pure.

A pair is two downloads made at the same time over the same path to the same address:
one with the target's SNI, one with a random control SNI. Load on the path or on the
machine slows both alike; a rule on the name slows only the target's. One pair is not
enough: on a busy machine one transfer of a pair often gets a third of the other's rate
by chance (1,082 vs 3,602 kbit/s was measured with no censor at all). So pairs are
repeated, and the name is called throttled only when the pairs agree:

- each pair says "slow" when the target got at most THROTTLE_RATIO of the control's
  rate and under SLOW_KBPS, "fast" when it got at least FAST_RATIO or SLOW_KBPS,
  otherwise nothing (the target was still the slower);
- "sni" once MIN_PAIRS pairs were slow and none fast; the confidence is that of a sign
  test: if the name made no difference, the target would be the slower of a pair half
  the time, and all n pairs would go its way with probability 0.5**n. A pair in between
  (a control starved on a loaded, jittery path got 316 kbit/s beside the target's 158)
  does not undo the others, as a fast one does;
- "path" once more pairs were fast than slow (the path is slow, not the name: a pair
  slowed by chance is outvoted by the next two);
- "unconfirmed" when neither after MAX_PAIRS pairs (they disagree, or failed).
The probe asks `assess` after each pair and stops as soon as it is not "more".
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Literal

from censorscope.analysis.rate import pooled_kbps
from censorscope.records import Throughput

# A target-SNI transfer below this is checked against a control SNI. Throttlers police
# to hundreds of kbit/s; loopback under load stays above this.
SLOW_KBPS = 2_000.0
THROTTLE_RATIO = 0.5  # a pair is slow: the target got at most this share of the control's
FAST_RATIO = 0.8  # a pair is fast: the target got at least this share
MIN_PAIRS = 3  # all slow: 1 - 0.5**3 = 0.875 confidence
MAX_PAIRS = 5  # a pair broken by chance (a failed transfer) is tried again, up to this

State = Literal["sni", "path", "unconfirmed", "more"]


@dataclass(frozen=True, slots=True)
class Assessment:
    state: State
    pairs: int  # complete pairs
    slow: int
    fast: int
    confidence: float | None  # of "sni": 1 - 0.5**pairs
    target_kbps: float | None  # over the complete pairs: pooled when policed, else median
    control_kbps: float | None

    @property
    def done(self) -> bool:
        return self.state != "more"


def pairs_of(transfers: list[Throughput], sni: str) -> list[tuple[Throughput, Throughput]]:
    """(target, control) pairs from a measurement's transfers after the first: they come
    two by two, in either order."""
    out = []
    for i in range(1, len(transfers) - 1, 2):
        a, b = transfers[i], transfers[i + 1]
        out.append((a, b) if a.sni == sni or b.sni != sni else (b, a))
    return out


def assess(pairs: list[tuple[Throughput, Throughput]]) -> Assessment:
    made = len(pairs)
    done = [(t, c) for t, c in pairs if _complete(t) and _complete(c)]
    # the ratio, and whether the target got a throttler's rate at all: a name that ran
    # at 26 Mbit/s beside a control's 52 (one core shared by hundreds of transfers) is
    # not held to hundreds of kbit/s, whatever the ratio
    got = [(t.rate_kbps / c.rate_kbps if c.rate_kbps > 0 else 1.0, t.rate_kbps) for t, c in done]
    slow = sum(r <= THROTTLE_RATIO and kbps < SLOW_KBPS for r, kbps in got)
    fast = sum(r >= FAST_RATIO or kbps >= SLOW_KBPS for r, kbps in got)
    n = len(done)
    state: State
    if slow >= MIN_PAIRS and fast == 0:
        state = "sni"
    elif fast > slow:
        state = "path"
    elif made >= MAX_PAIRS:
        state = "unconfirmed"
    else:
        state = "more"
    return Assessment(
        state=state,
        pairs=n,
        slow=slow,
        fast=fast,
        confidence=round(1 - 0.5**n, 3) if state == "sni" else None,
        target_kbps=_target_kbps([t for t, _ in done]),
        control_kbps=statistics.median(c.rate_kbps for _, c in done) if done else None,
    )


def _target_kbps(transfers: list[Throughput]) -> float | None:
    """A policed target's transfers pooled into one rate (analysis.rate.pooled_kbps), else
    the median of their rates. The first transfer (smaller, before the pairs) is left
    out: pooling it too put more loaded-run rates outside 15% (18 of 95, not 14)."""
    if not transfers:
        return None
    pooled = pooled_kbps([t.samples for t in transfers])
    return pooled if pooled is not None else statistics.median(t.rate_kbps for t in transfers)


def _complete(t: Throughput) -> bool:
    return t.failure is None and t.bytes > 0
