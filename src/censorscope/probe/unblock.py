"""Trying circumvention strategies against a blocked URL: the I/O side of
`censorscope unblock`. Each trial resolves, connects, shakes hands and fetches the way its
strategy says, and ends in a Trial (the pure records and verdicts are in
censorscope.analysis.circumvention)."""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import h11

from censorscope.analysis.circumvention import (
    NOT_APPLICABLE,
    NOT_AVAILABLE,
    Strategy,
    Trial,
    judge_fetch,
)
from censorscope.errors import InputError
from censorscope.probe import dns as probe_dns
from censorscope.probe.dial import Streams, open_tcp, open_udp, socks5_connect
from censorscope.probe.evasion import SEGMENT_GAP, matches, shaped
from censorscope.probe.failure import failure_string
from censorscope.probe.h3 import QuicFailure, fetch_h3
from censorscope.probe.http import fetch
from censorscope.probe.stream import ByteStream, PlainStream, TlsStream
from censorscope.records import Response
from censorscope.wire.clienthello import INJECT_MAGIC

UNBLOCK_KEEP = 4096  # of a trial's body: enough for a blockpage fingerprint


@dataclass(frozen=True, slots=True)
class Via:
    """A user's proxy: plain HTTP CONNECT or SOCKS5."""

    scheme: str  # http | socks5
    host: str
    port: int

    @classmethod
    def parse(cls, url: str) -> Via:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "socks5") or not parts.hostname:
            raise InputError(
                "--via", url, "not a proxy URL", "write http://HOST:PORT or socks5://HOST:PORT"
            )
        try:
            port = parts.port or (8080 if parts.scheme == "http" else 1080)
        except ValueError:
            raise InputError("--via", url, "bad port", "a port is 1-65535") from None
        return cls(parts.scheme, parts.hostname, port)


@dataclass(slots=True)
class UnblockConfig:
    proxy: tuple[str, int] | None = None  # how this vantage reaches the network (the lab ISP)
    resolver: tuple[str, int] | None = None  # the ISP's resolver; None: the system's
    ca_file: str | None = None
    timeout: float = 5.0  # per step
    trial_timeout: float = 15.0  # a whole trial is cut after this
    plain_resolver: tuple[str, int] | None = None
    dot: tuple[str, int, str] | None = None  # address, port, name on its certificate
    doh: tuple[str, int, str] | None = None
    via: Via | None = None
    front: str | None = None
    inject: tuple[str, int] | None = None  # the lab's raw-socket stand-in
    transfer_path: str | None = None  # what to download; None: the URL's own path
    transfer_seconds: float = 2.0
    segment_gap: float = SEGMENT_GAP  # between the segments of a split ClientHello


def check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(url, "URL", "not an http(s) URL", "write e.g. https://twitter.com/")
    return url


class Attempts:
    def __init__(self, cfg: UnblockConfig) -> None:
        self.cfg = cfg
        # the SNI may differ from the name checked, so the name is checked by hand
        self.ctx = ssl.create_default_context(cafile=cfg.ca_file)
        self.ctx.check_hostname = False
        self.ctx.set_alpn_protocols(["http/1.1"])
        self.resolver_ctx = ssl.create_default_context(cafile=cfg.ca_file)  # DoT, DoH

    def unavailable(self, url: str, s: Strategy) -> Trial | None:
        """A trial that cannot run, and why; None if it can."""
        scheme = urlsplit(url).scheme
        cfg = self.cfg
        why: tuple[str, str] | None = None
        if s.needs == "tls" and scheme != "https":
            why = NOT_APPLICABLE, "a TLS strategy; the URL is plain HTTP"
        elif s.needs == "http" and scheme != "http":
            why = NOT_APPLICABLE, "changes the Host header, which TLS hides; use an http:// URL"
        elif s.needs == "quic" and scheme != "https":
            why = NOT_APPLICABLE, "HTTP/3 is HTTPS only; the URL is plain HTTP"
        elif s.sni == "front" and not cfg.front:
            why = NOT_AVAILABLE, "give --front NAME, a name the same service serves"
        elif s.route == "proxy" and cfg.via is None:
            why = NOT_AVAILABLE, "give --via URL, a proxy to try"
        elif s.shaping.fake_random and cfg.inject is None:
            why = NOT_AVAILABLE, "needs a raw socket to send a low-TTL packet (only in the lab)"
        elif s.resolver != "isp" and _resolver_of(cfg, s.resolver) is None:
            why = NOT_AVAILABLE, f"no {s.resolver} resolver given (--{s.resolver})"
        if why is None:
            return None
        return Trial(url, s.name, status=why[0], failure=why[1])

    async def trial(self, url: str, s: Strategy, min_kbps: float = 0.0) -> Trial:
        """One attempt; `min_kbps`: a throttled target counts as restored only above it."""
        skip = self.unavailable(url, s)
        if skip is not None:
            return skip
        t = Trial(url, s.name)
        cut = asyncio.timeout(self.cfg.trial_timeout)
        try:
            async with cut:
                await self._run(url, s, t, min_kbps)
        except TimeoutError:
            # a step's own timeout (no answer to a handshake) is not the whole trial's cut
            t.failure = "generic_timeout_error"
            if cut.expired():
                t.failure += f" (cut after {self.cfg.trial_timeout:g} s)"
        except _Failed as exc:
            t.failure = str(exc)
        except Exception as exc:  # noqa: BLE001 - every failure becomes data
            t.failure = failure_string(exc)
        return t

    async def _run(self, url: str, s: Strategy, t: Trial, min_kbps: float) -> None:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        start = time.monotonic()
        ip = await self._address(host, s)
        path = self.cfg.transfer_path or (parts.path or "/")
        if s.needs == "quic":
            udp = await open_udp(ip, port, self.cfg.proxy, self.cfg.timeout)
            try:
                got = await fetch_h3(
                    udp,
                    host,
                    path,
                    self.cfg.ca_file,
                    self.cfg.timeout,
                    self.cfg.transfer_seconds,
                    start,
                )
            except QuicFailure as exc:
                raise _Failed(str(exc)) from None
            finally:
                udp.close()
            return _judge(t, got, min_kbps)
        streams = await self._connect(ip, host, port, s)
        try:
            conn: ByteStream = PlainStream(*streams)
            if parts.scheme == "https":
                tls = TlsStream(*streams)
                sent = _sni(host, s.sni, self.cfg.front)
                send = shaped(
                    streams[1], sent, s.shaping, self._injector(streams[1]), self.cfg.segment_gap
                )
                await asyncio.wait_for(tls.handshake(self.ctx, sent, send), self.cfg.timeout)
                assert tls.obj is not None
                if not matches(tls.obj.getpeercert() or {}, sent if s.sni == "front" else host):
                    raise ssl.SSLCertVerificationError("certificate does not match the name")
                conn = tls
            got = await _fetch(
                conn, _host_line(host, s.host), path, start, self.cfg.transfer_seconds
            )
        finally:
            streams[1].transport.abort()
        _judge(t, got, min_kbps)

    async def _address(self, host: str, s: Strategy) -> str:
        try:
            ipaddress.IPv4Address(host)
            return host
        except ValueError:
            pass
        cfg = self.cfg
        encrypted = {"dot": cfg.dot, "doh": cfg.doh}.get(s.resolver)
        if encrypted is not None:
            ip, port, name = encrypted
            q = await probe_dns.resolve_encrypted(
                s.resolver, host, (ip, port), name, self.resolver_ctx, cfg.proxy, cfg.timeout
            )
        elif s.resolver == "plain":
            q = await probe_dns.resolve(host, cfg.plain_resolver, cfg.timeout)
        else:
            q = await probe_dns.resolve(host, cfg.resolver, cfg.timeout)
        if q.failure or not q.answers:
            raise _Failed(q.failure or "dns_no_answer")
        return q.answers[0]

    async def _connect(self, ip: str, host: str, port: int, s: Strategy) -> Streams:
        cfg = self.cfg
        if s.route != "proxy" or cfg.via is None:
            return await open_tcp(ip, port, cfg.proxy, cfg.timeout)
        v = cfg.via
        if v.scheme == "socks5":
            # a SOCKS5 proxy reached through this vantage's own path
            reader, writer = await open_tcp(v.host, v.port, cfg.proxy, cfg.timeout)
            await asyncio.wait_for(socks5_connect(reader, writer, host, port), cfg.timeout)
            return reader, writer
        reader, writer = await open_tcp(v.host, v.port, cfg.proxy, cfg.timeout)
        writer.write(f"CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), cfg.timeout)
        if b" 200 " not in head.split(b"\r\n", 1)[0]:
            writer.transport.abort()
            raise _Failed("proxy_refused: " + head.split(b"\r\n", 1)[0].decode("latin-1"))
        return reader, writer

    def _injector(self, writer: asyncio.StreamWriter) -> Callable | None:
        if self.cfg.inject is None:
            return None
        target = self.cfg.inject
        local_port = writer.get_extra_info("sockname")[1]

        async def inject(packet: bytes, ttl: int) -> bool:
            return await _inject(target, local_port, packet, ttl)

        return inject


def _judge(t: Trial, got: Response, min_kbps: float) -> None:
    rule, t.kbps, t.failure = judge_fetch(got.status, got.headers, got.text, got.samples, min_kbps)
    t.ttfb, t.ok, t.rule = got.ttfb, rule.ok, rule.id


def _resolver_of(cfg: UnblockConfig, kind: str) -> object:
    return {"plain": cfg.plain_resolver, "dot": cfg.dot, "doh": cfg.doh}.get(kind)


class _Failed(Exception):
    """A step failed; the message is already an OONI failure string."""


def _mixed_case(name: str) -> str:
    return "".join(c.upper() if i % 2 else c for i, c in enumerate(name))


def _sni(host: str, how: str, front: str | None) -> str:
    if how == "dot":
        return host + "."
    if how == "case":
        return _mixed_case(host)
    if how == "front" and front:
        return front
    return host


def _host_line(host: str, how: str) -> bytes:
    if how == "case":
        return b"hOsT: " + _mixed_case(host).encode()
    if how == "dot":
        return b"Host: " + host.encode() + b"."
    if how == "space":
        return b"Host:\t " + host.encode()
    return b"Host: " + host.encode()


async def _fetch(
    conn: ByteStream, host_line: bytes, path: str, start: float, seconds: float
) -> Response:
    """GET with our own Host line, reading `seconds` of the body after the response head."""
    raw = (
        b"GET " + path.encode() + b" HTTP/1.1\r\n" + host_line + b"\r\n"
        b"User-Agent: Mozilla/5.0 (censorscope unblock)\r\nAccept: */*\r\n"
        b"Connection: close\r\n\r\n"
    )
    got = Response()
    try:
        # h11 keeps the state; the bytes on the wire are ours, Host line and all
        await fetch(
            conn,
            "GET",
            path,
            [("Host", "x")],
            raw=raw,
            into=got,
            keep=UNBLOCK_KEEP,
            window=seconds,
            from_response=True,
            started=start,
        )
    except h11.RemoteProtocolError:
        if got.status == 0:  # closed before any response: the censor's doing
            raise ConnectionResetError(
                errno.ECONNRESET, "connection closed before a response"
            ) from None
        raise
    return got


async def _inject(target: tuple[str, int], local_port: int, packet: bytes, ttl: int) -> bool:
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[bytes] = loop.create_future()

    class _Reply(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: object) -> None:
            if not answer.done():
                answer.set_result(data)

    transport, _ = await loop.create_datagram_endpoint(_Reply, remote_addr=target)
    try:
        transport.sendto(INJECT_MAGIC + local_port.to_bytes(2, "big") + bytes([ttl]) + packet)
        return await asyncio.wait_for(answer, 2.0) == b"ok"
    finally:
        transport.close()


def trials_planned(
    plan: list[tuple[str, float]], strategies: list[Strategy], tries: int, attempts: Attempts
) -> list[tuple[str, float, Strategy]]:
    """(url, min_kbps, strategy) of every trial: `tries` each, one for those that cannot run."""
    return [
        (url, min_kbps, s)
        for url, min_kbps in plan
        for s in strategies
        for _ in range(1 if attempts.unavailable(url, s) else tries)
    ]


async def sweep(
    plan: list[tuple[str, float]],
    strategies: list[Strategy],
    tries: int,
    attempts: Attempts,
    concurrency: int = 32,
    on_trial: Callable[[Trial], None] | None = None,
) -> list[Trial]:
    """Every strategy `tries` times on every (url, min_kbps), `concurrency` at once."""
    gate = asyncio.Semaphore(concurrency)

    async def one(url: str, min_kbps: float, s: Strategy) -> Trial:
        async with gate:
            t = await attempts.trial(url, s, min_kbps)
        if on_trial is not None:
            on_trial(t)
        return t

    jobs = [
        one(url, min_kbps, s)
        for url, min_kbps, s in trials_planned(plan, strategies, tries, attempts)
    ]
    return list(await asyncio.gather(*jobs))


async def check_via(cfg: UnblockConfig) -> None:
    """An unreachable --via proxy is a usage error, not N failed trials."""
    if cfg.via is None:
        return
    try:
        _, writer = await open_tcp(cfg.via.host, cfg.via.port, cfg.proxy, cfg.timeout)
        writer.transport.abort()
    except Exception as exc:  # noqa: BLE001
        raise InputError(
            "--via",
            f"{cfg.via.scheme}://{cfg.via.host}:{cfg.via.port}",
            f"cannot reach the proxy ({failure_string(exc)})",
            "check its address and that it is running",
        ) from None
