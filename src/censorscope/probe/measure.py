"""Measuring one URL from one vantage: DNS, TCP to each address, TLS, HTTP, throughput.

Every step has a timeout and ends in a record with an OONI failure string or success.
Nothing here raises on network trouble. No local address is ever recorded.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import ssl
import time
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urljoin, urlsplit

from censorscope.analysis.bogons import is_bogon
from censorscope.analysis.rate import estimate_kbps
from censorscope.analysis.throttling import SLOW_KBPS, assess, pairs_of
from censorscope.probe import http
from censorscope.probe.dial import open_tcp
from censorscope.probe.dns import resolve
from censorscope.probe.failure import failure_string
from censorscope.probe.stream import ByteStream, PlainStream, TlsStream
from censorscope.probe.timing import timed_pair
from censorscope.records import (
    Measurement,
    Target,
    TcpConnect,
    Throughput,
    TlsHandshake,
    Vantage,
)
from censorscope.rules.match import is_address

REDIRECTS = (301, 302, 303, 307, 308)
THROUGHPUT_PATH = "/__bytes/{n}"
# a pair's transfers are this many times the first's, within the same time limit: a
# policer at 1 Mbit/s needs more than a burst and two clumps to be measured within 15%
PAIR_SCALE = 8


@dataclass(frozen=True, slots=True)
class ProbeConfig:
    resolver: tuple[str, int] | None = None  # None: the system resolver
    proxy: tuple[str, int] | None = None  # SOCKS5; the lab's ISP middlebox
    ca_file: str | None = None  # None: the system CAs
    timeout: float = 5.0
    throughput: bool = True
    transfer_bytes: int = 400_000
    transfer_seconds: float = 2.5
    throughput_server: tuple[str, int] | None = None  # None: the target's own address
    throughput_headers: tuple[tuple[str, str], ...] = ()  # e.g. the helper's token
    max_addresses: int = 4
    max_redirects: int = 5
    bogon_exempt: tuple[str, ...] = field(default_factory=tuple)
    canary: str = "example.com"


class Probe:
    def __init__(self, cfg: ProbeConfig) -> None:
        self.cfg = cfg
        self.verify = ssl.create_default_context(cafile=cfg.ca_file)
        # the throughput test times bytes; who serves them is checked by the page fetch
        self.noverify = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self.noverify.check_hostname = False
        self.noverify.verify_mode = ssl.CERT_NONE
        for ctx in (self.verify, self.noverify):
            ctx.set_alpn_protocols(["http/1.1"])

    async def resolver_alive(self) -> bool:
        """Does the resolver answer at all? Any DNS answer, even NXDOMAIN, counts."""
        q = await resolve(self.cfg.canary, self.cfg.resolver, self.cfg.timeout)
        return q.failure is None or q.failure.startswith("dns_")

    async def measure(
        self, target: Target, vantage: Vantage, at: datetime, *, throughput: bool = True
    ) -> Measurement:
        m = Measurement(
            input=target.url,
            vantage=vantage.name,
            probe_asn=vantage.asn,
            probe_cc=vantage.country,
            time=at,
        )
        start = time.monotonic()
        if target.scheme == "tcp":  # an app's server: reached or not, as OONI's app tests
            await self._reach(m, target)
            m.runtime = time.monotonic() - start
            return m
        want_tp = throughput and self.cfg.throughput and target.scheme == "https"
        served = await self._fetch(m, target.url, self.cfg.max_redirects, keep=want_tp)
        if served is not None:
            address, conn = served
            try:
                if want_tp:
                    await self._throughput(m, target.hostname, address, conn)
            finally:
                if conn is not None:
                    conn.abort()
        m.runtime = time.monotonic() - start
        return m

    async def _reach(self, m: Measurement, target: Target) -> None:
        """tcp://ADDRESS:PORT (or a name, resolved first): a TCP connect and nothing more
        (test_name "tcp_connect")."""
        m.test_name = "tcp_connect"
        host = target.hostname
        if is_address(host):
            addresses = [host]
        else:
            q = await resolve(host, self.cfg.resolver, self.cfg.timeout)
            m.queries.append(q)
            addresses = [a for a in q.answers if not is_bogon(a, self.cfg.bogon_exempt)]
        for ip in addresses[:1]:
            _, conn = await self._connect(m, ip, target.port, None)
            if conn is not None:
                conn.abort()

    async def _fetch(
        self, m: Measurement, url: str, redirects: int, keep: bool = False
    ) -> tuple[str, ByteStream | None] | None:
        """Follow `url` (and redirects). Returns the address that served the final page and,
        with `keep`, its still-open connection when it can carry the throughput test."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        https = parts.scheme == "https"
        port = parts.port or (443 if https else 80)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        q = await resolve(host, self.cfg.resolver, self.cfg.timeout)
        m.queries.append(q)
        if q.failure:
            return None
        dialable = [a for a in q.answers if not is_bogon(a, self.cfg.bogon_exempt)]
        attempts = await asyncio.gather(
            *(
                self._connect(m, ip, port, host if https else None)
                for ip in dialable[: self.cfg.max_addresses]
            )
        )
        chosen: tuple[str, ByteStream] | None = None
        for ip, conn in attempts:
            if conn is None:
                continue
            if chosen is None:
                chosen = (ip, conn)
            else:
                conn.abort()
        if chosen is None:
            return None
        ip, conn = chosen
        req = await http.get(conn, url, host, path, f"{ip}:{port}", self.cfg.timeout)
        m.requests.append(req)
        location = req.headers.get("location") or req.headers.get("Location")
        if req.status_code in REDIRECTS and location and redirects > 0:
            conn.abort()
            nxt = urljoin(url, location)
            if urlsplit(nxt).scheme in ("http", "https"):
                return await self._fetch(m, nxt, redirects - 1, keep)
            return None
        closing = {k.lower(): v for k, v in req.headers.items()}.get("connection") == "close"
        reusable = (
            keep
            and https
            and req.failure is None
            and not closing
            and self.cfg.throughput_server is None
        )
        if not reusable:
            conn.abort()
        return (ip, conn if reusable else None) if req.failure is None else None

    async def _connect(
        self, m: Measurement, ip: str, port: int, sni: str | None
    ) -> tuple[str, ByteStream | None]:
        tcp = TcpConnect(ip=ip, port=port)
        m.tcp_connect.append(tcp)
        start = time.monotonic()
        try:
            streams = await open_tcp(ip, port, self.cfg.proxy, self.cfg.timeout)
        except Exception as exc:  # noqa: BLE001
            tcp.failure = failure_string(exc)
            tcp.t = time.monotonic() - start
            return ip, None
        tcp.t = time.monotonic() - start
        if sni is None:
            return ip, PlainStream(*streams)
        hs = TlsHandshake(address=f"{ip}:{port}", server_name=sni)
        m.tls_handshakes.append(hs)
        return ip, await self._tls(TlsStream(*streams), sni, self.verify, hs)

    async def _tls(
        self, tls: TlsStream, sni: str, ctx: ssl.SSLContext, hs: TlsHandshake
    ) -> TlsStream | None:
        """The handshake, recorded in `hs` with its reads (OONI's network events)."""
        start = time.monotonic()
        try:
            await asyncio.wait_for(tls.handshake(ctx, sni), self.cfg.timeout)
        except Exception as exc:  # noqa: BLE001
            tls.abort()
            hs.failure = failure_string(exc)
            return None
        finally:
            hs.t = time.monotonic() - start
            hs.reads = tls.reads
        assert tls.obj is not None
        hs.tls_version = tls.obj.version() or ""
        hs.cipher_suite = (tls.obj.cipher() or ("",))[0]
        cert = tls.obj.getpeercert(binary_form=True)
        hs.peer_certificate_sha256 = hashlib.sha256(cert).hexdigest() if cert else ""
        return tls

    async def _throughput(
        self, m: Measurement, host: str, address: str, conn: ByteStream | None
    ) -> None:
        """Timed download with the target's SNI (on the page's own connection when it can
        be reused). If slow, pairs: the target SNI again and a control SNI at the same
        time over the same path (load on the path slows both alike, a rule on the name
        slows only one: the method of the 2021 Twitter study), repeated until the pairs
        settle it (analysis/throttling.py) or MAX_PAIRS were made."""
        first = await self._transfer(host, address, conn)
        m.throughput.append(first)
        if first.failure is not None or first.rate_kbps >= SLOW_KBPS:
            return
        size = PAIR_SCALE * self.cfg.transfer_bytes
        while not assess(pairs_of(m.throughput, host)).done:
            # a random name no substring rule is likely to hit (hex has no 't'; no '.com')
            control_sni = secrets.token_hex(6) + ".org"
            got = await timed_pair(self.cfg, host, control_sni, address, size, first.rate_kbps)
            m.throughput += (
                got if got is not None else await self.pair(host, control_sni, address, size)
            )

    async def pair(self, host: str, control_sni: str, address: str, size: int) -> list[Throughput]:
        """Both transfers of a pair at once (in the timing process: probe/timing.py)."""
        return list(
            await asyncio.gather(
                self._transfer(host, address, size=size),
                self._transfer(control_sni, address, size=size),
            )
        )

    async def _transfer(
        self, sni: str, address: str, conn: ByteStream | None = None, size: int | None = None
    ) -> Throughput:
        ip, port = self.cfg.throughput_server or (address, 443)
        tp = Throughput(sni=sni, address=f"{ip}:{port}")
        if conn is None:
            try:
                streams = await open_tcp(ip, port, self.cfg.proxy, self.cfg.timeout)
            except Exception as exc:  # noqa: BLE001
                tp.failure = failure_string(exc)
                return tp
            hs = TlsHandshake(address=tp.address, server_name=sni)
            conn = await self._tls(TlsStream(*streams), sni, self.noverify, hs)
            if conn is None:
                tp.failure = hs.failure
                return tp
        try:
            path = THROUGHPUT_PATH.format(n=size or self.cfg.transfer_bytes)
            samples, failure = await http.timed_download(
                conn, sni, path, self.cfg.transfer_seconds, self.cfg.throughput_headers
            )
        finally:
            conn.abort()
        tp.failure = failure
        tp.samples = _thin(samples)
        if samples:
            tp.seconds, tp.bytes = samples[-1]
            tp.rate_kbps = estimate_kbps(samples)
        return tp


def _thin(samples: list[tuple[float, int]], keep: int = 64) -> list[tuple[float, int]]:
    """At most about `keep` samples for storage, always with the last one."""
    step = max(1, len(samples) // keep)
    out = [(round(t, 4), b) for t, b in samples[::step]]
    if samples and out[-1][1] != samples[-1][1]:
        out.append((round(samples[-1][0], 4), samples[-1][1]))
    return out
