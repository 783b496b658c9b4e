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

from censorscope.blockpage import is_bogon
from censorscope.failure import failure_string
from censorscope.probe import http
from censorscope.probe.dial import Streams, open_tcp
from censorscope.probe.dns import resolve
from censorscope.rate import estimate_kbps
from censorscope.records import (
    Measurement,
    Target,
    TcpConnect,
    Throughput,
    TlsHandshake,
    Vantage,
)
from censorscope.verdict import SLOW_KBPS

REDIRECTS = (301, 302, 303, 307, 308)
THROUGHPUT_PATH = "/__bytes/{n}"


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
        want_tp = throughput and self.cfg.throughput and target.scheme == "https"
        served = await self._fetch(m, target.url, self.cfg.max_redirects, keep=want_tp)
        if served is not None:
            address, streams = served
            try:
                if want_tp:
                    await self._throughput(m, target.hostname, address, streams)
            finally:
                if streams is not None:
                    streams[1].transport.abort()
        m.runtime = time.monotonic() - start
        return m

    async def _fetch(
        self, m: Measurement, url: str, redirects: int, keep: bool = False
    ) -> tuple[str, Streams | None] | None:
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
        chosen: tuple[str, Streams] | None = None
        for ip, streams in attempts:
            if streams is None:
                continue
            if chosen is None:
                chosen = (ip, streams)
            else:
                streams[1].transport.abort()
        if chosen is None:
            return None
        ip, streams = chosen
        req = await http.get(streams, url, host, path, f"{ip}:{port}", self.cfg.timeout)
        m.requests.append(req)
        location = req.headers.get("location") or req.headers.get("Location")
        if req.status_code in REDIRECTS and location and redirects > 0:
            streams[1].transport.abort()
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
            streams[1].transport.abort()
        return (ip, streams if reusable else None) if req.failure is None else None

    async def _connect(
        self, m: Measurement, ip: str, port: int, sni: str | None
    ) -> tuple[str, Streams | None]:
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
            return ip, streams
        hs = TlsHandshake(address=f"{ip}:{port}", server_name=sni)
        m.tls_handshakes.append(hs)
        ok = await self._tls(streams, sni, self.verify, hs)
        return ip, streams if ok else None

    async def _tls(self, streams: Streams, sni: str, ctx: ssl.SSLContext, hs: TlsHandshake) -> bool:
        start = time.monotonic()
        writer = streams[1]
        try:
            await asyncio.wait_for(writer.start_tls(ctx, server_hostname=sni), self.cfg.timeout)
        except Exception as exc:  # noqa: BLE001
            writer.transport.abort()
            hs.failure = failure_string(exc)
            hs.t = time.monotonic() - start
            return False
        hs.t = time.monotonic() - start
        sslobj = writer.get_extra_info("ssl_object")
        if sslobj is not None:
            hs.tls_version = sslobj.version() or ""
            hs.cipher_suite = (sslobj.cipher() or ("",))[0]
            cert = sslobj.getpeercert(binary_form=True)
            hs.peer_certificate_sha256 = hashlib.sha256(cert).hexdigest() if cert else ""
        return True

    async def _throughput(
        self, m: Measurement, host: str, address: str, streams: Streams | None
    ) -> None:
        """Timed download with the target's SNI (on the page's own connection when it can
        be reused). If slow, the target SNI again and a control SNI at the same time over
        the same path: load on the path slows both alike, a rule on the name slows only
        one (the method of the 2021 Twitter study)."""
        first = await self._transfer(host, address, streams)
        m.throughput.append(first)
        if first.failure is None and first.rate_kbps < SLOW_KBPS:
            for _ in range(2):  # a pair broken by chance is tried once more
                # a random name no substring rule is likely to hit (hex has no 't'; no '.com')
                control_sni = secrets.token_hex(6) + ".org"
                pair = await asyncio.gather(
                    self._transfer(host, address), self._transfer(control_sni, address)
                )
                m.throughput += pair
                if all(tp.failure is None and tp.bytes for tp in pair):
                    break

    async def _transfer(self, sni: str, address: str, streams: Streams | None = None) -> Throughput:
        ip, port = self.cfg.throughput_server or (address, 443)
        tp = Throughput(sni=sni, address=f"{ip}:{port}")
        if streams is None:
            try:
                streams = await open_tcp(ip, port, self.cfg.proxy, self.cfg.timeout)
            except Exception as exc:  # noqa: BLE001
                tp.failure = failure_string(exc)
                return tp
            hs = TlsHandshake(address=tp.address, server_name=sni)
            if not await self._tls(streams, sni, self.noverify, hs):
                tp.failure = hs.failure
                return tp
        try:
            path = THROUGHPUT_PATH.format(n=self.cfg.transfer_bytes)
            samples, failure = await http.timed_download(
                streams, sni, path, self.cfg.transfer_seconds
            )
        finally:
            streams[1].transport.abort()
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
