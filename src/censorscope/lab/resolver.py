"""An ISP's DNS resolver (UDP) applying the ISP's DNS rules to the lab's names."""

from __future__ import annotations

import asyncio

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset

from censorscope.lab.clock import Clock
from censorscope.lab.world import BLOCKPAGE_IP, BOGON, World
from censorscope.policy import Policy


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
        try:
            query = dns.message.from_wire(data)
            question = query.question[0]
        except Exception:  # noqa: BLE001 - a resolver ignores garbage
            return None
        name = question.name.to_text(omit_final_dot=True).lower()
        resp = dns.message.make_response(query)
        resp.flags |= dns.flags.RA
        rule = self.policy.lookup("dns", name, self.clock.now)
        if rule is not None:
            if rule.action == "dns-timeout":
                return None
            if rule.action == "dns-nxdomain":
                resp.set_rcode(dns.rcode.NXDOMAIN)
            elif rule.action == "dns-servfail":
                resp.set_rcode(dns.rcode.SERVFAIL)
            elif rule.action == "dns-spoof" and question.rdtype == dns.rdatatype.A:
                target = {"bogon": BOGON, "blockpage": BLOCKPAGE_IP}.get(rule.spoof or "")
                self._add_a(resp, question.name, [target or rule.spoof or BOGON])
            return resp.to_wire()
        addrs = self.world.resolve(name)
        if addrs is None:
            resp.set_rcode(dns.rcode.NXDOMAIN)
        elif question.rdtype == dns.rdatatype.A:
            self._add_a(resp, question.name, addrs)
        return resp.to_wire()

    @staticmethod
    def _add_a(resp: dns.message.Message, name: dns.name.Name, addrs: list[str]) -> None:
        resp.answer.append(dns.rrset.from_text_list(name, 300, "IN", "A", addrs))
