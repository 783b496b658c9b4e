"""Traffic per ISP for a scenario: a daily cycle, a weekly one (weekends and public
holidays lower, by local time), noise, and the share of traffic that restricted sites
carry going missing while a rule restricts them. Pure.

Each site may declare `traffic`, the share of an ISP's traffic it carries. While a rule in
force blocks or throttles it on an ISP, that share is lost (a throttle at a few hundred
kbit/s stops bulk traffic as surely as a block).
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime

import numpy as np

from censorscope.analysis.traffic import Series
from censorscope.lab.world import World
from censorscope.rules.policy import Policy
from censorscope.scenario import Isp, Scenario, Site

CYCLE = 0.35  # daily swing around the mean
PEAK_HOUR = 20.0  # local evening peak
WEEKEND = 0.10  # weekends and holidays this much lower (Kentik, Cloudflare Radar)
# public holidays by country, month-day (Russia: the Labour Code, art. 112)
HOLIDAYS = {
    "RU": {"01-01", "01-02", "01-03", "01-04", "01-05", "01-06", "01-07", "01-08", "02-23",
           "03-08", "05-01", "05-09", "06-12", "11-04"},
}  # fmt: skip


def restricted(policy: Policy, world: World, site: Site, at: datetime) -> bool:
    """Does any rule in force at `at` touch this site (by name or address)?"""
    for host in site.hostnames:
        for trigger in ("sni", "dns", "http_host"):
            if policy.lookup(trigger, host, at) is not None:
                return True
    return any(policy.lookup("ip", ip, at) is not None for ip in world.addresses[site.name])


def isp_traffic(
    scenario: Scenario, isp: Isp, times: np.ndarray, noise: float = 0.02, seed: int = 0
) -> Series:
    world = World.build(scenario)
    policy = Policy([r for r in scenario.rules if isp.name in r.isps], isp.dpi.case_sensitive)
    rng = random.Random(f"{seed}:{isp.name}")
    carrying = [s for s in scenario.sites if s.traffic > 0]
    values = []
    holidays = HOLIDAYS.get(isp.vantage.country, set())
    for t in times.tolist():
        at = datetime.fromtimestamp(t, UTC)
        hour = (at.hour + at.minute / 60 + isp.utc_offset) % 24
        base = 1 + CYCLE * math.cos(2 * math.pi * (hour - PEAK_HOUR) / 24)
        local = datetime.fromtimestamp(t + isp.utc_offset * 3600, UTC)
        if local.weekday() >= 5 or f"{local:%m-%d}" in holidays:
            base *= 1 - WEEKEND
        lost = sum(s.traffic for s in carrying if restricted(policy, world, s, at))
        values.append(base * (1 - lost) * math.exp(rng.gauss(0, noise)))
    return Series(isp.name, times, np.array(values))
