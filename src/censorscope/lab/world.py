"""The lab's address plan, derived from a scenario. Pure.

Everything lives in 127.0.0.0/8 so no packet leaves the machine and no root is needed:

    127.10.0.0/16     site addresses (logical; the middlebox routes them to the origin farm)
    127.10.255.254    the origin farm (HTTPS and HTTP listeners, virtual hosting by SNI/Host)
    127.10.255.253    the tarpit (accepts and never answers: sites that time out)
    127.20.K.1        source address of vantage K's traffic (the origin geolocates it)
    127.20.K.2        vantage K's middlebox (SOCKS5)
    127.20.K.53       vantage K's resolver (UDP)
    127.30.0.1        where an ISP's DNS sends users to its blockpage (logical)
    127.30.0.2        the ISP page server (blockpages over HTTP, untrusted TLS for MITM)

K = 0 is the uncensored control; ISPs are numbered from 1. Ports are chosen by the OS.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from censorscope.scenario import Scenario, Site

FARM = "127.10.255.254"
TARPIT = "127.10.255.253"
BLOCKPAGE_IP = "127.30.0.1"
PAGES = "127.30.0.2"
BOGON = "10.10.34.35"  # the lab's stand-in for a bogus private answer; never dialled
ANY_NAME = "127.10.255.252"  # with `any_name`, every unknown name lives here
ANY_SITE = Site(name="any.invalid", title="A site of the lab's open internet")


def vantage_ip(k: int, host: int) -> str:
    return f"127.20.{k}.{host}"


@dataclass(slots=True)
class World:
    scenario: Scenario
    site_of_host: dict[str, Site] = field(default_factory=dict)
    addresses: dict[str, list[str]] = field(default_factory=dict)  # site name -> addresses
    site_of_ip: dict[str, Site] = field(default_factory=dict)
    country_of_source: dict[str, str] = field(default_factory=dict)
    index: dict[str, int] = field(default_factory=dict)  # vantage name -> K
    any_name: bool = False  # resolve and serve every name, not just the scenario's sites

    @classmethod
    def build(cls, scenario: Scenario, any_name: bool = False) -> World:
        w = cls(scenario, any_name=any_name)
        if any_name:
            w.site_of_ip[ANY_NAME] = ANY_SITE
        pinned = {ip for site in scenario.sites for ip in site.pinned}
        n = 0
        for site in scenario.sites:
            addrs = list(site.pinned)
            while len(addrs) < site.addresses:
                n += 1
                ip = f"127.10.{n // 250}.{n % 250 + 1}"
                if ip not in pinned:
                    addrs.append(ip)
            w.addresses[site.name] = addrs
            for ip in addrs:
                w.site_of_ip[ip] = site
            for h in site.hostnames:
                w.site_of_host[h] = site
        names = [scenario.control.name] + [isp.name for isp in scenario.isps]
        countries = [scenario.control.country] + [isp.vantage.country for isp in scenario.isps]
        for k, (name, cc) in enumerate(zip(names, countries, strict=True)):
            w.index[name] = k
            w.country_of_source[vantage_ip(k, 1)] = cc
        return w

    def resolve(self, hostname: str) -> list[str] | None:
        """The true A records of a name, or None if it does not exist."""
        site = self.site_of_host.get(hostname.lower().rstrip("."))
        if site is None:
            return [ANY_NAME] if self.any_name else None
        return self.addresses[site.name]
