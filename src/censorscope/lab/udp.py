"""The middlebox's UDP path: a SOCKS5 UDP relay (RFC 1928 7) for one client, applying the
ISP's rules to QUIC as its DPI would.

- An IP rule that blocks TCP (reset, blackhole, refuse) drops every datagram to the address.
- A `quic` rule is the TSPU's: datagrams that `quic.tspu_drops` flags are dropped, each on
  its own (nothing is remembered, so the Initial never arrives and the handshake times out).
- Where the DPI decrypts Initials (`dpi.quic_sni`), the ClientHello's SNI meets the SNI
  rules: a throttle polices the flow's datagrams (credit, then loss); any other action
  drops the flow both ways from that datagram on.

Only UDP 443 to the lab's sites is routed (the farm's HTTP/3 listener); the rest is lost.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Protocol

from censorscope.lab.shaping import TokenBucket
from censorscope.records import Rule
from censorscope.wire.clienthello import NotTls, Truncated
from censorscope.wire.quic import InitialReader, tspu_drops
from censorscope.wire.socks import encode_address, parse_udp_datagram, udp_datagram


class Censor(Protocol):
    """What the UDP relay asks of the middlebox it belongs to, and nothing more."""

    def rule(self, on: str, key: str, quic: bool = False) -> Rule | None:
        """The rule in force now for `key` (an address or a name) on trigger `on`."""
        ...

    @property
    def quic_sni(self) -> bool:
        """Does the DPI decrypt QUIC Initials to read the SNI?"""
        ...

    @property
    def case_sensitive(self) -> bool: ...

    def quic_route(self, ip: str, port: int) -> tuple[tuple[str, int], str] | None:
        """Where the datagrams to (ip, port) go (address, and the source to send from);
        None where nothing answers."""
        ...


_IP_BLOCKS = ("tcp-reset", "tcp-blackhole", "tcp-refuse")
MAX_FLOWS = 64  # far addresses one association may talk to
QUIC_BURST = 16 * 1024  # the policer's credit, as on TCP


@dataclass(slots=True)
class UdpFlow:
    """One far address of an association, and what the DPI decided about it."""

    ip: str
    port: int
    reader: InitialReader | None  # None: not (or no longer) inspecting
    tspu: bool = False  # the TSPU's QUIC rule covers this address
    blocked: bool = False
    up: TokenBucket | None = None
    down: TokenBucket | None = None
    upstream: asyncio.DatagramTransport | None = None
    pending: list[bytes] = field(default_factory=list)


class Association(asyncio.DatagramProtocol):
    """The relay socket of one UDP ASSOCIATE; only `client_ip` may use it."""

    def __init__(self, censor: Censor, client_ip: str) -> None:
        self.censor, self.client_ip = censor, client_ip
        self.client: tuple[str, int] | None = None
        self.transport: asyncio.DatagramTransport | None = None
        self.flows: dict[tuple[str, int], UdpFlow] = {}
        self._tasks: set[asyncio.Task] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if addr[0] != self.client_ip or (self.client is not None and addr != self.client):
            return
        self.client = addr
        parsed = parse_udp_datagram(data)
        if parsed is None:
            return
        ip, port, payload = parsed
        flow = self.flows.get((ip, port))
        if flow is None:
            if len(self.flows) >= MAX_FLOWS:
                return
            flow = self.flows[(ip, port)] = self._new_flow(ip, port)
        if self._drops(flow, payload, addr[1]):
            return
        if flow.upstream is not None:
            flow.upstream.sendto(payload)
        elif flow.pending or self._open(flow):
            flow.pending.append(payload)

    def _new_flow(self, ip: str, port: int) -> UdpFlow:
        """A flow and its address rules, decided once as the TCP path decides per flow."""
        censor = self.censor
        ip_rule = censor.rule("ip", ip)
        return UdpFlow(
            ip,
            port,
            InitialReader() if censor.quic_sni else None,
            tspu=censor.rule("quic", ip, quic=True) is not None,
            blocked=ip_rule is not None and ip_rule.action in _IP_BLOCKS,
        )

    def _drops(self, flow: UdpFlow, payload: bytes, src_port: int) -> bool:
        if flow.blocked or (flow.tspu and tspu_drops(payload, src_port, flow.port)):
            return True
        if flow.reader is not None:
            self._inspect(flow, payload)
        if flow.blocked:
            return True
        return flow.up is not None and not flow.up.take(len(payload), time.monotonic())

    def _inspect(self, flow: UdpFlow, payload: bytes) -> None:
        assert flow.reader is not None
        result = flow.reader.feed(payload)
        if isinstance(result, Truncated):
            return  # the ClientHello goes on in the next Initial
        flow.reader = None
        if isinstance(result, NotTls) or result.sni is None:
            return
        sni = result.sni if self.censor.case_sensitive else result.sni.lower()
        rule = self.censor.rule("sni", sni, quic=True)
        if rule is None:
            return
        if rule.action == "throttle" and rule.rate_kbps:
            rate = rule.rate_kbps * 125
            flow.up, flow.down = TokenBucket(rate, QUIC_BURST), TokenBucket(rate, QUIC_BURST)
        else:
            flow.blocked = True

    def _open(self, flow: UdpFlow) -> bool:
        """Start the upstream socket of a flow; False if the flow goes nowhere."""
        route = self.censor.quic_route(flow.ip, flow.port)
        if route is None:
            return False
        where, source = route
        loop = asyncio.get_running_loop()

        async def start() -> None:
            try:
                transport, _ = await loop.create_datagram_endpoint(
                    lambda: _Upstream(self, flow), local_addr=(source, 0), remote_addr=where
                )
            except OSError:
                flow.pending.clear()
                return
            flow.upstream = transport  # type: ignore[assignment]
            for payload in flow.pending:
                transport.sendto(payload)
            flow.pending.clear()

        task = loop.create_task(start())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    def answer(self, flow: UdpFlow, payload: bytes) -> None:
        """A datagram from the far end, back to the client unless the DPI stops it."""
        if flow.blocked or self.transport is None or self.client is None:
            return
        if flow.down is not None and not flow.down.take(len(payload), time.monotonic()):
            return
        self.transport.sendto(udp_datagram(flow.ip, flow.port, payload), self.client)

    def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for flow in self.flows.values():
            if flow.upstream is not None:
                flow.upstream.close()
        if self.transport is not None:
            self.transport.close()


class _Upstream(asyncio.DatagramProtocol):
    def __init__(self, association: Association, flow: UdpFlow) -> None:
        self.association, self.flow = association, flow

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.association.answer(self.flow, data)


async def associate(
    censor: Censor, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Answer a UDP ASSOCIATE and relay until the client closes the TCP connection."""
    client_ip = writer.get_extra_info("peername")[0]
    loop = asyncio.get_running_loop()
    transport, association = await loop.create_datagram_endpoint(
        lambda: Association(censor, client_ip), local_addr=(writer.get_extra_info("sockname")[0], 0)
    )
    try:
        host, port = transport.get_extra_info("sockname")[:2]
        writer.write(b"\x05\x00\x00" + encode_address(host, port))
        await writer.drain()
        while await reader.read(4096):
            pass
    finally:
        association.close()
