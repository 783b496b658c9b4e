"""Benchmark: a registry-sized rule set audited against a million domains.

Rules: the 86,140 Re:filter registry domains as suffix rules, plus 100 substring rules
(labels taken from registry domains, the sloppy kind) and 20 regex rules. Population: the
Umbrella and Alexa top-100k lists, the Citizen Lab lists, and generated names (mutations
of real ones, as GFWatch probes) up to 1,000,000. Prints time, peak memory and the ratio
to a plain Python loop (every rule's matcher on every domain) measured on a sample.
Targets: under 5 s, at least 100x the plain loop, under 2 GB.
"""

from __future__ import annotations

import argparse
import random
import resource
import time
from pathlib import Path

from censorscope.inputs.populations import load_population
from censorscope.inputs.rulesets import load_rules
from censorscope.records import Rule
from censorscope.rules.audit import Domain, audit
from censorscope.rules.match import rule_matcher

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def rules_and_population(size: int) -> tuple[list[Rule], list[Domain]]:
    registry = load_rules(SHARED / "roskomnadzor/re-filter-lists/domains_all.lst").rules
    rng = random.Random(1)
    labels = sorted(
        {r.pattern.split(".")[0] for r in registry if len(r.pattern.split(".")[0]) >= 4}
    )
    subs = [
        Rule(f"sub{i}", "sni", "substring", w, "tls-reset", ("*",))
        for i, w in enumerate(rng.sample(labels, 100))
    ]
    rxs = [
        Rule(f"rx{i}", "sni", "regex", rf"^(www\.)?{w}[0-9]*\.(com|net|ru)$", "tls-reset", ("*",))
        for i, w in enumerate(rng.sample(labels, 20))
    ]
    pop = load_population(
        [
            SHARED / "top-sites/cisco-umbrella-top100k-2026-07-24/umbrella-top-100k.txt",
            SHARED / "top-sites/alexa-top100k-2016-zer0h/top-100000-domains.txt",
            *sorted((SHARED / "citizenlab-test-lists/current").glob("*.csv")),
        ]
    )
    domains = list(pop.domains.values())
    names = [d.name for d in domains] + [r.pattern for r in registry]
    seen = set(pop.domains)
    rank = len(domains)
    while len(domains) < size:  # GFWatch-style mutations of real names
        base = rng.choice(names)
        name = rng.choice(
            [
                f"{rng.choice(labels)}{base}",
                f"{base.split('.')[0]}-{rng.randrange(999)}.com",
                f"cdn{rng.randrange(99)}.{base}",
                f"{base}.{rng.choice(labels)}.net",
            ]
        )
        if name not in seen:
            seen.add(name)
            rank += 1
            domains.append(Domain(name, rank))
    return [*registry, *subs, *rxs], domains


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=1_000_000)
    ap.add_argument("--sample", type=int, default=100, help="domains for the plain loop")
    args = ap.parse_args()
    rules, domains = rules_and_population(args.size)
    print(
        f"{len(rules):,} rules ({sum(r.match == 'suffix' for r in rules):,} suffix, "
        f"{sum(r.match == 'substring' for r in rules)} substring, "
        f"{sum(r.match == 'regex' for r in rules)} regex) x {len(domains):,} domains"
    )
    start = time.perf_counter()
    results = audit(rules, domains)
    elapsed = time.perf_counter() - start
    collateral = len({d.name for r in results for d in r.collateral})
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"censorscope: {elapsed:.2f} s; {len(results):,} rules match; "
        f"{collateral:,} collateral domains; peak memory of the process {peak_mb:.0f} MB"
    )

    matchers = [rule_matcher(r) for r in rules]
    sample = random.Random(2).sample(domains, args.sample)
    start = time.perf_counter()
    hits = sum(1 for d in sample for m in matchers if m(d.name))
    plain = time.perf_counter() - start
    scaled = plain * len(domains) / len(sample)
    print(
        f"plain loop: {plain:.2f} s for {len(sample)} domains ({hits} hits), "
        f"{scaled:,.0f} s scaled to {len(domains):,}"
    )
    print(f"ratio plain/censorscope: {scaled / elapsed:,.0f}x")


if __name__ == "__main__":
    main()
