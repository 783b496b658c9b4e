"""Other targets' TLS handshakes from the same network in the same hour.

OONI's throttling metric (a handshake read at under 20 kbit/s for over a second) fires on
a congested mobile link, a busy laptop or a Raspberry Pi as readily as on a throttler. A
slow trace says "throttled" only when other targets' handshakes from the same network
(ASN) in the same hour were fast; when most were slow, the network was. Counts only: the
memory stays flat however many measurements are read.
"""

from __future__ import annotations

from censorscope.analysis.rate import HANDSHAKE_SLOW_AFTER, handshake_throttled
from censorscope.records import Measurement

PEERS_MIN = 3  # fewer other measurements than this: no comparison
FAST_SHARE = 2 / 3  # at least this share of them fast: the network was fine


def handshake_class(m: Measurement) -> str | None:
    """ "slow" (a trace OONI's metric calls throttled), "fast" (a handshake done within a
    second), or None (no handshake, or one that says neither)."""
    if any(handshake_throttled(h.reads, h.t) for h in m.tls_handshakes):
        return "slow"
    if any(h.failure is None and 0 < h.t < HANDSHAKE_SLOW_AFTER for h in m.tls_handshakes):
        return "fast"
    return None


class HandshakePeers:
    """Counts of fast and slow handshakes per (ASN, hour)."""

    def __init__(self) -> None:
        self._counts: dict[tuple[int, int], list[int]] = {}

    @staticmethod
    def key(m: Measurement) -> tuple[int, int]:
        return m.probe_asn, int(m.time.timestamp()) // 3600

    def add(self, m: Measurement) -> str | None:
        """Count one measurement; returns its class."""
        cls = handshake_class(m)
        self.count(self.key(m), cls)
        return cls

    def count(self, key: tuple[int, int], cls: str | None) -> None:
        """Count a measurement of this (ASN, hour) and class (its class found elsewhere)."""
        if cls is not None and key[0]:
            counts = self._counts.setdefault(key, [0, 0])
            counts[0 if cls == "fast" else 1] += 1

    def set(self, key: tuple[int, int], fast: int, slow: int) -> None:
        """The counts of an (ASN, hour), counted elsewhere (by Spark, say)."""
        self._counts[key] = [fast, slow]

    def judge(self, m: Measurement) -> str | None:
        """ "fast" or "slow": how the others went (this measurement, counted, left out);
        None when fewer than PEERS_MIN others were measured."""
        fast, slow = self._counts.get(self.key(m), [0, 0])
        cls = handshake_class(m)
        fast -= cls == "fast"
        slow -= cls == "slow"
        if fast + slow < PEERS_MIN:
            return None
        return "fast" if fast >= FAST_SHARE * (fast + slow) else "slow"
