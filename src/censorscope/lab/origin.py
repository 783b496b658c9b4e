"""The far end of the lab's internet: the origin farm (every site, virtual-hosted by SNI
and Host, like a CDN), the tarpit (sites that time out) and the ISPs' page server
(blockpages, and the untrusted certificates of man-in-the-middle interception)."""

from __future__ import annotations

import asyncio
import re
import ssl

from censorscope.lab import pages
from censorscope.lab.ca import Authority
from censorscope.lab.clock import FlowClocks
from censorscope.lab.world import ANY_SITE, World
from censorscope.net.httpserve import serve_requests
from censorscope.records import ServedRequest

_DNS_NAME = re.compile(r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$")
HOLD_LIMIT = 120.0  # a held connection is dropped after this, so nothing lingers


class Farm:
    """Serves every site of the world on one HTTPS and one HTTP listener."""

    def __init__(self, world: World, authority: Authority, flows: FlowClocks) -> None:
        self.world, self.authority, self.flows = world, authority, flows
        self.tls = authority.server_context(("lab.invalid",))
        self.tls.sni_callback = self._sni
        # issue every certificate now, not inside a handshake
        for site in world.scenario.sites:
            authority.server_context(site.hostnames)

    def _sni(self, sslobj: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        name = (name or "").lower().rstrip(".")  # as real servers do: 'X.com.' is x.com
        site = self.world.site_of_host.get(name)
        if site is not None:
            sslobj.context = self.authority.server_context(site.hostnames)
        elif self.world.any_name and name and _DNS_NAME.match(name):
            sslobj.context = self.authority.server_context((name,))

    def respond(self, req: ServedRequest) -> bytes:
        host = req.host.rstrip(".")
        site = self.world.site_of_host.get(host)
        if site is None:
            if not self.world.any_name or not _DNS_NAME.match(host):
                return pages.not_found()
            return pages.site_page(ANY_SITE, host)
        country = self.world.country_of_source.get(req.peer, "ZZ")
        if country in site.geo_block:
            return pages.geo_page(site, country)
        for geo in site.geo_paths:
            if country in geo.countries and req.target.startswith(geo.path):
                at = self.flows.now((req.peer, req.peer_port))
                if geo.since is None or at >= geo.since:
                    return pages.geo_page(site, country)
        if site.redirect and req.target == "/":
            return pages.redirect(site.redirect)
        return pages.site_page(site, host)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await serve_requests(reader, writer, self.respond)


class PageServer:
    """Where ISPs send blocked users: their blockpage over HTTP, and over HTTPS with a
    certificate from the ISPs' interception CA (which the probe does not trust)."""

    def __init__(self, world: World, interception: Authority) -> None:
        self.world, self.interception = world, interception
        self.isp_of_source = {
            f"127.20.{world.index[isp.name]}.1": isp for isp in world.scenario.isps
        }
        self.tls = interception.server_context(("blocked.invalid",))
        self.tls.sni_callback = self._sni

    def _sni(self, sslobj: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        if name:
            sslobj.context = self.interception.server_context((name,))

    def respond(self, req: ServedRequest) -> bytes:
        isp = self.isp_of_source.get(req.peer)
        if isp is None:
            return pages.not_found()
        return pages.blockpage(isp, req.host)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await serve_requests(reader, writer, self.respond)


async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accept and never answer (a tarpit; also a middlebox that drops a flow)."""
    try:
        async with asyncio.timeout(HOLD_LIMIT):
            while await reader.read(65536):
                pass
    except (TimeoutError, ConnectionError, OSError):
        pass
    finally:
        writer.transport.abort()
