"""An ISP's in-path middlebox. Vantages reach the lab's internet through it (SOCKS5);
it applies the ISP's IP, SNI and HTTP rules as a DPI would: reset, drop, refuse,
blockpage, man-in-the-middle, throttle. UDP (QUIC) goes through `lab.udp`."""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import random
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from censorscope.lab import pages
from censorscope.lab.clock import Clock, FlowClocks
from censorscope.lab.dpi import STOP, FlowInspector, Found
from censorscope.lab.origin import hold
from censorscope.lab.relay import Lane, pump
from censorscope.lab.shaping import TokenBucket
from censorscope.lab.udp import associate
from censorscope.lab.world import BLOCKPAGE_IP, FARM, PAGES, TARPIT, World, vantage_ip
from censorscope.records import Rule
from censorscope.rules.policy import Policy
from censorscope.scenario import Dpi, Isp
from censorscope.wire.clienthello import INJECT_MAGIC
from censorscope.wire.segments import SegmentLog
from censorscope.wire.socks import CONNECT, UDP_ASSOCIATE

FLOW_LIMIT = 300.0  # no relayed flow outlives this
POLICER_BURST = 16 * 1024  # the 2021 throttler let ~16 KB through before dropping
# after a drop, nothing passes until the bucket holds this much again: bursts and stalls
# (CP-T saw ~900 ms stalls after the first 16 KB; half the bucket keeps a lab transfer short)
POLICER_STALL_TO = POLICER_BURST // 2
# a packet sent with a TTL below DPI_HOP dies before the DPI; below SERVER_HOP, after it
# and before the server (CP-T: the throttler within 5 hops of the user)
DPI_HOP, SERVER_HOP = 2, 6
SHAPER_BURST = 4 * 1024
_FLOW_ACTIONS = ("tls-reset", "tls-drop", "throttle")


@dataclass(frozen=True, slots=True)
class Ports:
    """Where the far-end servers actually listen (the OS chose the ports)."""

    farm_tls: int
    farm_http: int
    tarpit: int
    pages_tls: int
    pages_http: int
    farm_quic: int = 0  # UDP (HTTP/3); 0: the farm does not speak QUIC


@dataclass(slots=True)
class FlowState:
    """What the DPI decided about one flow, kept while packets come (and, for a throttled
    4-tuple on a TSPU, across its RST or FIN until it has been idle for `flow_idle`)."""

    inspector: FlowInspector
    rule: Rule | None = None
    inspecting: bool = True
    found: str = ""  # the name the DPI read (SNI or Host), for the blockpage
    fakes: list[bytes] = field(default_factory=list)  # injected packets the server gets

    def decide(self, decision: object, policy: Policy, dpi: Dpi, now: datetime) -> None:
        if isinstance(decision, Found):
            value = self.found = decision.value
            if decision.trigger == "sni" and not dpi.case_sensitive:
                value = value.lower()
            self.rule = policy.lookup(decision.trigger, value, now) or self.rule
            self.inspecting = False
        elif decision == STOP:
            self.inspecting = False


class Middlebox:
    def __init__(
        self,
        k: int,
        isp: Isp | None,
        policy: Policy,
        world: World,
        clock: Clock,
        ports: Ports,
        noise: float = 0.0,
        seed: int = 0,
        flows: FlowClocks | None = None,
    ) -> None:
        self.k, self.isp, self.policy = k, isp, policy
        self.flows = flows  # tells the farm which clock each upstream connection runs on
        self.world, self.clock, self.ports = world, clock, ports
        self.noise, self.seed = noise, seed
        self._jitter_rng = random.Random(f"{seed}|{k}")  # the same draws for the same seed
        self._flows: dict[tuple[str, int], int] = {}
        self._flows_at: object = None
        self.source = vantage_ip(k, 1)
        self.dpi = isp.dpi if isp else Dpi()
        self.live: dict[tuple[str, int], FlowState] = {}  # by the client's address
        self.throttled: dict[tuple[str, int, str, int], tuple[Rule, datetime]] = {}
        # the packet tier's log of the clients' segments (lab.packets); None: reads are packets
        self.segments: SegmentLog | None = None

    # the UDP relay's view of this middlebox (lab.udp.Censor)
    def rule(self, on: str, key: str, quic: bool = False) -> Rule | None:
        return self.policy.lookup(on, key, self.clock.now, quic=quic)

    @property
    def quic_sni(self) -> bool:
        return self.dpi.quic_sni

    @property
    def case_sensitive(self) -> bool:
        return self.dpi.case_sensitive

    def quic_route(self, ip: str, port: int) -> tuple[tuple[str, int], str] | None:
        site = self.world.site_of_ip.get(ip)
        if site is None or site.down or port != 443 or not self.ports.farm_quic:
            return None
        return (FARM, self.ports.farm_quic), self.source

    def inject(self, packet: bytes, client: tuple[str, int], ttl: int) -> bool:
        """A packet the client sent outside its TCP stream (a raw socket, as zapret's
        fakes are) on the flow from `client`. With a low TTL the DPI sees it and the
        server never does. False if there is no such flow."""
        state = self.live.get(client)
        if state is None:
            return False
        if ttl >= DPI_HOP and state.inspecting:
            state.decide(state.inspector.feed(packet), self.policy, self.dpi, self.clock.now)
        if ttl >= SERVER_HOP:
            state.fakes.append(packet)
        return True

    def _remembered(self, key: tuple[str, int, str, int]) -> Rule | None:
        """The throttling rule still attached to this 4-tuple, if it has not idled out."""
        if not self.dpi.flow_idle or key not in self.throttled:
            return None
        rule, last = self.throttled[key]
        if (self.clock.now - last).total_seconds() > self.dpi.flow_idle:
            del self.throttled[key]
            return None
        return rule

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(FLOW_LIMIT):
                await self._flow(reader, writer)
        except (TimeoutError, ConnectionError, OSError, RuntimeError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.transport.abort()

    def _unlucky(self, ip: str, port: int) -> bool:
        """Does this flow fail at random? Decided by a hash of (seed, ISP, virtual time,
        destination, how many flows went there at this time), not by a shared random
        stream: the same scenario, seed and times give the same failures, however the
        flows interleave."""
        if self._flows_at != self.clock.now:
            self._flows_at, self._flows = self.clock.now, {}
        n = self._flows.get((ip, port), 0)
        self._flows[(ip, port)] = n + 1
        text = f"{self.seed}|{self.k}|{self.clock.now.isoformat()}|{ip}|{port}|{n}"
        draw = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")
        return draw / 2**64 < self.noise

    def route(self, ip: str, port: int) -> tuple[str, int] | None:
        """Logical destination -> where to connect. None: not part of this internet."""
        if ip == BLOCKPAGE_IP:
            return PAGES, self.ports.pages_tls if port == 443 else self.ports.pages_http
        site = self.world.site_of_ip.get(ip)
        if site is not None:
            if site.down == "timeout":
                return TARPIT, self.ports.tarpit
            if site.down == "refuse" or port not in (80, 443):
                return ip, self.ports.farm_tls  # nothing listens there: a real refusal
            return FARM, self.ports.farm_tls if port == 443 else self.ports.farm_http
        address = ipaddress.ip_address(ip)
        if address.is_loopback:
            return ip, port  # other loopback services (a helper, say) are reachable
        if self.world.any_name and address.is_global:
            # an app's server by address (Telegram's data centres): the lab's open
            # internet answers it on the farm, so only an `ip` rule stops it
            return FARM, self.ports.farm_http if port == 80 else self.ports.farm_tls
        return None  # never leave the machine

    async def _flow(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        dst = await self._socks_request(reader, writer)
        if dst is None:
            return
        cmd, ip, port, consumed = dst
        if cmd == UDP_ASSOCIATE:
            return await associate(self, reader, writer)
        if self.noise and port in (80, 443) and self._unlucky(ip, port):
            return reset(writer)  # the background failures of a real network
        now = self.clock.now
        ip_rule = self.policy.lookup("ip", ip, now)
        if ip_rule is not None:
            if ip_rule.action == "tcp-reset":
                return reset(writer)
            if ip_rule.action == "tcp-refuse":
                return _reply(writer, 5)
            if ip_rule.action == "tcp-blackhole":
                return await hold(reader, writer)
        where = self.route(ip, port)
        if where is None:
            return _reply(writer, 2)
        try:
            up_r, up_w = await asyncio.wait_for(
                asyncio.open_connection(*where, local_addr=(self.source, 0)), 10
            )
        except ConnectionRefusedError:
            return _reply(writer, 5)
        except (OSError, TimeoutError):
            return _reply(writer, 4)
        _reply(writer, 0)
        peer = writer.get_extra_info("peername")[:2]
        key = (peer[0], peer[1], ip, port)
        state = FlowState(FlowInspector(self.dpi), rule=self._remembered(key))
        if state.rule is not None:
            state.inspecting = False
        elif ip_rule is not None and ip_rule.action in _FLOW_ACTIONS:
            state.rule = ip_rule
        self.live[peer] = state
        upstream = tuple(up_w.get_extra_info("sockname") or ("", 0))[:2]
        if self.flows is not None:  # forgotten in the finally below, whatever happens
            self.flows.register(upstream, self.clock)
        try:
            await self._inspect_and_relay(
                reader, writer, up_r, up_w, state, self._packets(peer, consumed)
            )
        finally:
            up_w.transport.abort()
            if self.flows is not None:
                self.flows.forget(upstream)
            self.live.pop(peer, None)
            if self.segments is not None:
                self.segments.forget(peer)
            if self.dpi.flow_idle and state.rule is not None and state.rule.action == "throttle":
                self.throttled[key] = (state.rule, self.clock.now)

    def _packets(self, flow: tuple[str, int], start: int) -> Callable[[bytes], list[bytes]]:
        """What the DPI sees of each read from the client: the segments the packet tier
        logged, else the read itself. `start`: the stream offset of the first read."""
        log, at = self.segments, start

        def cut(data: bytes) -> list[bytes]:
            nonlocal at
            parts = log.split(flow, at, data) if log is not None else [data]
            at += len(data)
            return parts

        return cut

    async def _inspect_and_relay(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        up_r: asyncio.StreamReader,
        up_w: asyncio.StreamWriter,
        state: FlowState,
        packets: Callable[[bytes], list[bytes]],
    ) -> None:
        first: list[bytes] = []
        unread: list[bytes] = []  # packets of the last read the DPI has not looked at yet
        up, down = Lane(), Lane()
        if self.isp is not None and self.isp.jitter_ms:
            for lane in (up, down):
                lane.jitter, lane.rng = self.isp.jitter_ms / 1000, self._jitter_rng
        # the server's answers flow while the DPI is still looking at later packets
        downstream: asyncio.Task | None = None
        try:
            while True:
                chunk = b""
                if state.inspecting:
                    if not unread:
                        data = await reader.read(65536)
                        if not data:
                            break
                        unread = packets(data)
                    chunk = unread.pop(0)
                if state.fakes:
                    up_w.write(b"".join(state.fakes))
                    state.fakes.clear()
                if state.inspecting:  # (an injected packet may have ended the inspection)
                    decision = state.inspector.feed(chunk)
                    state.decide(decision, self.policy, self.dpi, self.clock.now)
                action = state.rule.action if state.rule else None
                if action in ("tls-reset", "http-reset"):
                    return reset(writer)
                if action == "tls-drop":
                    return await hold(reader, writer)
                if action == "http-blockpage":
                    writer.write(pages.blockpage(self.isp, state.found))  # type: ignore[arg-type]
                    await writer.drain()
                    return
                if action == "tls-mitm":
                    up_w.transport.abort()
                    if downstream is not None:
                        downstream.cancel()
                        downstream = None
                    up_r, up_w = await asyncio.open_connection(
                        PAGES, self.ports.pages_tls, local_addr=(self.source, 0)
                    )
                    state.rule = None
                if chunk:
                    first.append(chunk)
                if not state.inspecting or action == "throttle":
                    first.extend(unread)
                    break
                up_w.write(b"".join(first))
                first.clear()
                if downstream is None:
                    downstream = asyncio.create_task(pump(up_r, writer, down, []))
            self._limit(state.rule, up, down)
            if downstream is None:
                downstream = asyncio.create_task(pump(up_r, writer, down, []))
            await asyncio.gather(pump(reader, up_w, up, first), downstream)
        finally:
            if downstream is not None:
                downstream.cancel()
            up_w.transport.abort()

    def _limit(self, rule: Rule | None, up: Lane, down: Lane) -> None:
        """An SNI policer (burst, then stalls), else the ISP's path-wide shaper (every
        flow, a small burst, smooth pacing), else nothing."""
        if rule is not None and rule.action == "throttle" and rule.rate_kbps:
            kbps, burst, stall_to, free = (
                rule.rate_kbps,
                POLICER_BURST,
                POLICER_STALL_TO,
                rule.after_bytes,
            )
        elif self.isp is not None and self.isp.shape_kbps:
            kbps, burst, stall_to, free = self.isp.shape_kbps, SHAPER_BURST, 0, 0
        else:
            return
        for lane in (up, down):
            lane.bucket, lane.free = TokenBucket(kbps * 125, burst, stall_to), free

    async def _socks_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> tuple[int, str, int, int] | None:
        """(command, address, port, bytes of the stream the request took), or None
        after an error reply."""
        ver, nmethods = await reader.readexactly(2)
        await reader.readexactly(nmethods)
        if ver != 5:
            return None
        writer.write(b"\x05\x00")
        ver, cmd, _, atyp = await reader.readexactly(4)
        host: str | None
        if atyp == 1:
            host, size = socket.inet_ntoa(await reader.readexactly(4)), 4
        elif atyp == 3:
            raw = await reader.readexactly((await reader.readexactly(1))[0])
            host, size = self._resolve(raw.decode("idna")), 1 + len(raw)
        else:
            await reader.readexactly(16 if atyp == 4 else 0)
            _reply(writer, 8)
            return None
        port = int.from_bytes(await reader.readexactly(2), "big")
        if cmd not in (CONNECT, UDP_ASSOCIATE):
            _reply(writer, 7)
            return None
        if host is None:
            _reply(writer, 4)
            return None
        return cmd, host, port, 2 + nmethods + 4 + size + 2

    def _resolve(self, name: str) -> str | None:
        """For clients that let the proxy resolve (socks5h): the ISP's DNS rules apply."""
        rule = self.policy.lookup("dns", name.lower(), self.clock.now)
        if rule is not None:
            if rule.action == "dns-spoof":
                return BLOCKPAGE_IP if rule.spoof == "blockpage" else None
            return None
        addrs = self.world.resolve(name)
        return addrs[0] if addrs else None


class Injector(asyncio.DatagramProtocol):
    """The lab's stand-in for a raw socket (wire format: wire.clienthello.INJECT_MAGIC)."""

    def __init__(self, box: Middlebox) -> None:
        self.box = box
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        n = len(INJECT_MAGIC)
        ok = False
        if data.startswith(INJECT_MAGIC) and len(data) > n + 3:
            port, ttl = int.from_bytes(data[n : n + 2], "big"), data[n + 2]
            ok = self.box.inject(data[n + 3 :], (addr[0], port), ttl)
        if self.transport is not None:
            self.transport.sendto(b"ok" if ok else b"no", addr)


def _reply(writer: asyncio.StreamWriter, code: int) -> None:
    writer.write(b"\x05" + bytes([code]) + b"\x00\x01\x00\x00\x00\x00\x00\x00")


def reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST, as a censor's injected reset looks to the client."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
