"""An ISP's DNS resolver (UDP) applying the ISP's DNS rules to the lab's names."""

from __future__ import annotations

import asyncio

from censorscope.lab.clock import Clock
from censorscope.lab.world import BLOCKPAGE_IP, BOGON, World
from censorscope.rules.policy import Policy
from censorscope.wire import dns as dnswire

_SPOOF = {"bogon": BOGON, "blockpage": BLOCKPAGE_IP}


class Resolver(asyncio.DatagramProtocol):
    def __init__(self, world: World, policy: Policy, clock: Clock) -> None:
        self.world, self.policy, self.clock = world, policy, clock
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        wire = self.answer(data)
        if wire is not None and self.transport is not None:
            self.transport.sendto(wire, addr)

    def answer(self, data: bytes) -> bytes | None:
        """The response to a query, or None to stay silent. Malformed queries are dropped."""
        q = dnswire.parse_query(data)
        if q is None:
            return None
        is_a = q.qtype == dnswire.TYPE_A
        rule = self.policy.lookup("dns", q.name, self.clock.now)
        if rule is not None:
            if rule.action == "dns-timeout":
                return None
            if rule.action == "dns-nxdomain":
                return dnswire.response(q, dnswire.NXDOMAIN)
            if rule.action == "dns-servfail":
                return dnswire.response(q, dnswire.SERVFAIL)
            if rule.action == "dns-spoof" and is_a:
                spoofed = _SPOOF.get(rule.spoof or "", rule.spoof or BOGON)
                return dnswire.response(q, addresses=[spoofed])
            return dnswire.response(q)  # dns-noanswer, or not an A query
        addrs = self.world.resolve(q.name)
        if addrs is None:
            return dnswire.response(q, dnswire.NXDOMAIN)
        return dnswire.response(q, addresses=addrs if is_a else [])
