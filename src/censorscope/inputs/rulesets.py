"""Where blocking rules come from: the lab's scenario TOML (the project's own syntax),
plain domain lists (Re:filter's `domains_all.lst`, a blocking order), and the Russian
registry dump (`ip;domain;url;authority;decision;date`, CP1251 or UTF-8, several addresses
joined by " | "). All become `Rule` records, the one definition the lab enforces too.

A dump with broken lines, a wrong encoding or empty fields is read anyway: each bad line
is reported with its number and the reason, and the rest is used.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path

from censorscope.errors import InputError
from censorscope.inputs.scenario import load_scenario
from censorscope.records import Rule

_HOST = re.compile(r"^(\*\.)?([a-z0-9_]([a-z0-9_-]{0,62})?\.)*[a-z0-9_-]{1,63}\.?$")
AUDIT_ISP = "*"  # rules read from lists apply wherever the audit says


@dataclass(slots=True)
class RuleSet:
    source: str
    rules: list[Rule] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)
    encoding: str = "utf-8"


def load_rules(path: str | Path, kind: str = "auto", domains_as: str = "suffix") -> RuleSet:
    """`kind`: scenario | list | registry | auto (by extension and first line)."""
    path = Path(path)
    if kind == "auto":
        kind = _guess(path)
    if kind == "scenario":
        return RuleSet(str(path), list(load_scenario(path).rules))
    raw = _read_bytes(path)
    text, encoding = _decode(raw)
    if kind == "registry":
        rs = _registry(str(path), text, domains_as)
    elif kind == "list":
        rs = _domain_list(str(path), text, domains_as)
    else:
        raise InputError(str(path), "-", f"unknown rule file kind {kind!r}",
                         "use scenario, list or registry")  # fmt: skip
    rs.encoding = encoding
    if encoding != "utf-8":
        rs.problems.insert(0, (0, f"not UTF-8; read as {encoding}"))
    return rs


def _guess(path: Path) -> str:
    if path.suffix == ".toml":
        return "scenario"
    head = _read_bytes(path)[:4096]
    first = next((ln for ln in head.splitlines() if ln.strip() and not ln.startswith(b"Updated")),
                 b"")  # fmt: skip
    return "registry" if first.count(b";") >= 4 else "list"


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(str(path), "-", "no such file", "give a rule file") from None


def _decode(raw: bytes) -> tuple[str, str]:
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("cp1251", errors="replace"), "cp1251"


def ascii_name(name: str) -> str | None:
    """The name as a DPI sees it in an SNI: lower case, internationalised names in
    punycode. None if it cannot be a domain name."""
    name = name.strip().lower()
    if not name.isascii():
        star = name.startswith("*.")
        try:
            name = ("*." if star else "") + name.removeprefix("*.").encode("idna").decode()
        except UnicodeError:
            return None
    return name if _HOST.match(name) else None


def _name_rule(rid: str, name: str, domains_as: str, source: str) -> Rule:
    name = name.lower()
    if name.startswith("*."):
        return Rule(rid, "sni", "suffix", name[2:], "tls-reset", (AUDIT_ISP,), source=source)
    match = "suffix" if domains_as == "suffix" else "exact"
    return Rule(rid, "sni", match, name.rstrip("."), "tls-reset", (AUDIT_ISP,), source=source)  # type: ignore[arg-type]


def _domain_list(source: str, text: str, domains_as: str) -> RuleSet:
    rs = RuleSet(source)
    stem = Path(source).stem
    for n, line in enumerate(text.split("\n"), start=1):
        raw = line.strip().split("#", 1)[0].strip()
        if not raw:
            continue
        name = ascii_name(raw)
        if name is None:
            rs.problems.append((n, f"{raw[:60]!r} is not a domain name"))
            continue
        rs.rules.append(_name_rule(f"{stem}:{n}", name, domains_as, source))
    return rs


def _registry(source: str, text: str, domains_as: str) -> RuleSet:
    rs = RuleSet(source)
    stem = Path(source).stem
    seen: set[tuple[str, str]] = set()
    for n, line in enumerate(text.split("\n"), start=1):
        if not line.strip() or (n == 1 and line.startswith("Updated")):
            continue
        if "\ufffd" in line:
            rs.problems.append((n, "bytes that are neither UTF-8 nor CP1251"))
            continue
        fields = line.split(";")
        if len(fields) < 6:
            rs.problems.append((n, f"{len(fields)} fields, expected 6 "
                                   "(ip;domain;url;authority;decision;date)"))  # fmt: skip
            continue
        ips, domain, date = fields[0].strip(), fields[1].strip().lower(), fields[-1].strip()
        if not ips and not domain:
            rs.problems.append((n, "empty ip and domain fields: nothing to block"))
            continue
        where = f"registry decision {fields[-2].strip() or '?'} of {date or '?'}"
        if domain:
            name = ascii_name(domain)
            if name is None:
                rs.problems.append((n, f"domain {domain[:60]!r} is not a domain name"))
            elif ("sni", name) not in seen:
                seen.add(("sni", name))
                rs.rules.append(_name_rule(f"{stem}:{n}", name, domains_as, where))
        for ip in (x.strip() for x in ips.split("|")):
            if not ip or ("ip", ip) in seen:
                continue
            try:
                net = ipaddress.ip_network(ip, strict=False)
            except ValueError:
                rs.problems.append((n, f"address {ip[:40]!r} is not an IP address or network"))
                continue
            seen.add(("ip", ip))
            match = "exact" if net.num_addresses == 1 else "cidr"
            rs.rules.append(Rule(f"{stem}:{n}:{ip}", "ip", match, ip, "tcp-reset",  # type: ignore[arg-type]
                                 (AUDIT_ISP,), source=where))  # fmt: skip
    return rs
