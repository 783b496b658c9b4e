"""DNS lookups for the probe: a UDP resolver we choose, the system's, or an encrypted
resolver (DoT, DoH) reached over the same path as everything else."""

from __future__ import annotations

import asyncio
import base64
import socket
import ssl
import time

import dns.exception
import dns.message
import dns.rcode
import dns.rdatatype

from censorscope.probe.dial import open_tcp
from censorscope.probe.failure import failure_string
from censorscope.probe.http import fetch
from censorscope.probe.stream import PlainStream
from censorscope.records import DnsQuery


class _Once(asyncio.DatagramProtocol):
    def __init__(self, qid: int) -> None:
        self.qid = qid
        self.answer: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: object) -> None:
        # ignore stray datagrams; a spoofed answer with the right id is what it is
        if (
            len(data) >= 2
            and int.from_bytes(data[:2], "big") == self.qid
            and not self.answer.done()
        ):
            self.answer.set_result(data)

    def error_received(self, exc: Exception) -> None:
        if not self.answer.done():
            self.answer.set_exception(exc)


async def resolve_udp(hostname: str, resolver: tuple[str, int], timeout: float) -> DnsQuery:
    q = DnsQuery(hostname=hostname, resolver=f"{resolver[0]}:{resolver[1]}", engine="udp")
    start = time.monotonic()
    loop = asyncio.get_running_loop()
    query = dns.message.make_query(hostname, dns.rdatatype.A)
    transport = None
    try:
        transport, proto = await loop.create_datagram_endpoint(
            lambda: _Once(query.id), remote_addr=resolver
        )
        transport.sendto(query.to_wire())
        wire = await asyncio.wait_for(proto.answer, timeout)
        q.answers, q.failure = parse_answer(wire, query)
    except Exception as exc:  # noqa: BLE001 - every failure becomes data
        q.failure = failure_string(exc)
    finally:
        if transport is not None:
            transport.close()
    q.t = time.monotonic() - start
    return q


def parse_answer(wire: bytes, query: dns.message.Message) -> tuple[list[str], str | None]:
    """Addresses in a DNS response, or OONI's failure string. Pure."""
    try:
        msg = dns.message.from_wire(wire)
    except (dns.exception.DNSException, ValueError) as exc:
        return [], f"dns_invalid_answer: {type(exc).__name__}"
    if not query.is_response(msg):
        return [], "dns_invalid_answer: not a response to our query"
    rcode = msg.rcode()
    if rcode == dns.rcode.NXDOMAIN:
        return [], "dns_nxdomain_error"
    if rcode == dns.rcode.SERVFAIL:
        return [], "dns_server_failure"
    if rcode == dns.rcode.REFUSED:
        return [], "dns_refused_error"
    if rcode != dns.rcode.NOERROR:
        return [], f"dns_non_recoverable_failure: {dns.rcode.to_text(rcode)}"
    addrs = [rd.address for rr in msg.answer if rr.rdtype == dns.rdatatype.A for rd in rr]
    return (addrs, None) if addrs else ([], "dns_no_answer")


async def resolve_system(hostname: str, timeout: float) -> DnsQuery:
    q = DnsQuery(hostname=hostname, resolver="system", engine="getaddrinfo")
    start = time.monotonic()
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(hostname, None, family=socket.AF_INET, type=socket.SOCK_STREAM),
            timeout,
        )
        q.answers = list(dict.fromkeys(str(i[4][0]) for i in infos))
        if not q.answers:
            q.failure = "dns_no_answer"
    except Exception as exc:  # noqa: BLE001
        q.failure = failure_string(exc)
    q.t = time.monotonic() - start
    return q


async def resolve(hostname: str, resolver: tuple[str, int] | None, timeout: float) -> DnsQuery:
    if resolver is None:
        return await resolve_system(hostname, timeout)
    return await resolve_udp(hostname, resolver, timeout)


async def resolve_encrypted(
    kind: str,
    hostname: str,
    server: tuple[str, int],
    name: str,
    ctx: ssl.SSLContext,
    proxy: tuple[str, int] | None,
    timeout: float,
) -> DnsQuery:
    """DNS over TLS (`kind` "dot", RFC 7858) or over HTTPS ("doh", RFC 8484 GET) to the
    resolver at `server` whose certificate names `name`, reached through `proxy`."""
    label = f"dot://{name}" if kind == "dot" else f"https://{name}/dns-query"
    q = DnsQuery(hostname=hostname, resolver=label, engine=kind)
    start = time.monotonic()
    query = dns.message.make_query(hostname, dns.rdatatype.A)
    writer = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await open_tcp(*server, proxy, timeout)
            await writer.start_tls(ctx, server_hostname=name)
            exchange = _dot_exchange if kind == "dot" else _doh_exchange
            wire, q.failure = await exchange(reader, writer, query, name)
            if wire is not None:
                q.answers, q.failure = parse_answer(wire, query)
    except Exception as exc:  # noqa: BLE001
        q.failure = failure_string(exc)
    finally:
        if writer is not None:
            writer.transport.abort()
    q.t = time.monotonic() - start
    return q


async def _dot_exchange(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    query: dns.message.Message,
    _name: str,
) -> tuple[bytes | None, str | None]:
    """A 2-byte length, then the message, each way."""
    wire = query.to_wire()
    writer.write(len(wire).to_bytes(2, "big") + wire)
    size = int.from_bytes(await reader.readexactly(2), "big")
    return await reader.readexactly(size), None


async def _doh_exchange(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    query: dns.message.Message,
    name: str,
) -> tuple[bytes | None, str | None]:
    """The message base64url-encoded in ?dns=; the answer is the body."""
    query.id = 0  # RFC 8484 asks for id 0 in GET requests, for caching
    param = base64.urlsafe_b64encode(query.to_wire()).rstrip(b"=").decode()
    headers = [("Host", name), ("Accept", "application/dns-message"), ("Connection", "close")]
    got = await fetch(PlainStream(reader, writer), "GET", f"/dns-query?dns={param}", headers)
    if got.status != 200:
        return None, f"http_status_{got.status}"
    return got.body, None
