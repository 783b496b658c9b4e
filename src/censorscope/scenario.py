"""The vocabulary of the lab: a scenario (its ISPs with their DPIs, its sites, its rules)
and how a running lab describes itself to the probe. Plain data, defined once:
`inputs.scenario` loads a scenario from TOML, `lab/` builds the emulated internet from
it, `probe/` measures the lab through the endpoints of a `LabInfo`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from censorscope.errors import LabError
from censorscope.records import Rule, Vantage


@dataclass(frozen=True, slots=True)
class Dpi:
    """How an ISP's middlebox inspects traffic."""

    reassembles: bool = False  # does it join a ClientHello split across segments?
    case_sensitive: bool = False
    inspect_packets: int = 1  # how many client packets it looks at before giving up
    # the 2021 TSPU's traits (CP-T); 0 turns each off
    random_cutoff: int = 0  # a first packet this long that is no protocol ends inspection
    keep_packets: int = 0  # packets still inspected after another TLS record or a proxy
    flow_idle: float = 0.0  # seconds a throttled 4-tuple stays throttled, across RST/FIN
    quic_sni: bool = False  # does it decrypt QUIC Initials and apply its SNI rules to them?


@dataclass(frozen=True, slots=True)
class Isp:
    vantage: Vantage
    dpi: Dpi = Dpi()
    blockpage_title: str = ""
    blockpage_redirect: str = ""
    noise: float = 0.0  # share of flows that fail at random (resets), as on a real network
    utc_offset: float = 0.0  # hours; where the daily traffic cycle peaks in the evening
    shape_kbps: float = 0.0  # a smooth path-wide shaper on every flow (0: none), not by SNI
    jitter_ms: float = 0.0  # each chunk of every flow waits a random 0..jitter_ms: a bad path

    @property
    def name(self) -> str:
        return self.vantage.name


@dataclass(frozen=True, slots=True)
class GeoPath:
    """Content the service itself withholds from some countries (a channel, an account):
    requests under `path` from a vantage in `countries` get the service's own "not
    available in your country" page, from `since` on (always, if None)."""

    path: str
    countries: tuple[str, ...]
    since: datetime | None = None
    source: str = ""


@dataclass(frozen=True, slots=True)
class Site:
    name: str
    title: str
    aliases: tuple[str, ...] = ()
    addresses: int = 1
    pinned: tuple[str, ...] = ()  # addresses given in the scenario (in 127.10.0.0/16)
    urls: tuple[str, ...] = ()
    down: str | None = None
    geo_block: tuple[str, ...] = ()
    geo_status: int = 451
    geo_paths: tuple[GeoPath, ...] = ()
    category: str = ""
    redirect: str | None = None  # "/" answers with a redirect to this path
    traffic: float = 0.0  # share of each ISP's traffic this site carries (traffic model)

    @property
    def hostnames(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass(slots=True)
class Scenario:
    name: str
    path: str
    control: Vantage
    isps: list[Isp] = field(default_factory=list)
    sites: list[Site] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    description: str = ""

    def isp(self, name: str) -> Isp:
        for isp in self.isps:
            if isp.name.lower() == name.lower():
                return isp
        raise KeyError(name)


# The lab as its process describes itself to the probe: plain data, sent as JSON.
LAB_NETWORKS = ("127.0.0.0/8",)  # the probe must not treat the lab's addresses as bogons
LAB_RESOLVER_NAME = "resolver.abroad.invalid"  # the name on the lab's DoT/DoH certificate


@dataclass(frozen=True, slots=True)
class Endpoint:
    """How a probe measures as one vantage of the lab."""

    vantage: Vantage
    resolver: tuple[str, int]
    proxy: tuple[str, int]
    inject: tuple[str, int] | None = None  # where packets "sent with a raw socket" go


@dataclass(frozen=True, slots=True)
class Slot:
    """One clock of the lab and the endpoints that obey it. Several slots let rounds at
    different virtual times run at once against one lab."""

    control: Endpoint
    isps: tuple[Endpoint, ...]


@dataclass(frozen=True, slots=True)
class LabInfo:
    scenario: str
    slots: tuple[Slot, ...]
    ca_file: str
    workdir: str
    site_addresses: dict[str, list[str]] = field(default_factory=dict)
    abroad: dict[str, tuple[str, int]] = field(default_factory=dict)  # dot, doh, proxy

    @property
    def control(self) -> Endpoint:
        return self.slots[0].control

    @property
    def isps(self) -> tuple[Endpoint, ...]:
        return self.slots[0].isps

    def endpoint(self, name: str, slot: int = 0) -> Endpoint:
        s = self.slots[slot]
        for e in (s.control, *s.isps):
            if e.vantage.name.lower() == name.lower():
                return e
        known = ", ".join(e.vantage.name for e in s.isps)
        raise LabError(f"no vantage {name!r} in the lab (known: {known})")


@dataclass(frozen=True, slots=True)
class LabOptions:
    """How a lab runs, beyond its scenario (see LabProcess)."""

    slots: int = 1
    noise: float | None = None
    seed: int = 0
    any_name: bool = False
    packets: bool = False
