"""Lab scenarios: a TOML file describing sites, ISPs, a control and censor rules.

Loading validates everything before anything starts; each problem raises ScenarioError
naming the file, the key (e.g. `rule[3].action`) and what is allowed.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any

from censorscope.errors import ScenarioError
from censorscope.records import ACTIONS, MATCHES_FOR_TRIGGER, Rule, Vantage
from censorscope.rules.match import compile_match
from censorscope.scenario import Dpi, GeoPath, Isp, Scenario, Site
from censorscope.timeparse import parse_duration, parse_time

DOWN_MODES = ("refuse", "timeout")
SPOOF_KINDS = ("bogon", "blockpage")


_TOP = {"scenario", "control", "isp", "site", "rule"}
_SCENARIO_KEYS = {"name", "description", "include"}
_VANTAGE_KEYS = {"name", "asn", "country"}
_ISP_KEYS = _VANTAGE_KEYS | {
    "dpi",
    "blockpage_title",
    "blockpage_redirect",
    "noise",
    "utc_offset",
    "shape_kbps",
    "jitter_ms",
}
_DPI_KEYS = {
    "reassembles",
    "case_sensitive",
    "inspect_packets",
    "random_cutoff",
    "keep_packets",
    "flow_idle",
    "quic_sni",
}
_SITE_KEYS = {
    "name",
    "title",
    "aliases",
    "addresses",
    "urls",
    "down",
    "geo_block",
    "geo_status",
    "geo_paths",
    "category",
    "redirect",
    "traffic",
}
_GEO_PATH_KEYS = {"path", "countries", "since", "source"}
_RULE_KEYS = {
    "id",
    "isps",
    "countries",
    "on",
    "match",
    "pattern",
    "action",
    "rate_kbps",
    "after_bytes",
    "spoof",
    "case_sensitive",
    "announced",
    "effective",
    "until",
    "source",
}
_SITE_NET = ipaddress.ip_network("127.10.0.0/16")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9-]+\.?$")


SHIPPED = Path(__file__).resolve().parents[1] / "data" / "scenarios"


def shipped() -> list[str]:
    """The names of the scenarios that come with censorscope."""
    return sorted(p.stem for p in SHIPPED.glob("*.toml"))


def locate(name: str) -> str:
    """A scenario file given by path, or a shipped one by its name (`russia-2022`)."""
    if Path(name).exists():
        return name
    for candidate in (SHIPPED / name, SHIPPED / f"{name}.toml"):
        if candidate.is_file() and candidate.parent == SHIPPED:
            return str(candidate)
    return name  # loading it says what is wrong


MAX_DEPTH = 16  # includes within includes
MAX_FILES = 256  # files read for one scenario, includes counted
MAX_BYTES = 32 * 2**20  # a scenario file (a registry-sized one is a few MB)


def load_scenario(path: str | Path) -> Scenario:
    path = Path(path)
    return _load(path, seen=(), budget=[MAX_FILES])


def _load(path: Path, seen: tuple[Path, ...], budget: list[int]) -> Scenario:
    file = str(path)
    if path.resolve() in seen:
        raise ScenarioError(file, "scenario.include", "includes itself", "remove the cycle")
    if len(seen) > MAX_DEPTH:
        raise ScenarioError(
            file, "scenario.include", f"includes nested over {MAX_DEPTH} deep", "flatten them"
        )
    budget[0] -= 1
    if budget[0] < 0:
        raise ScenarioError(
            file, "scenario.include", f"over {MAX_FILES} files included", "include each once"
        )
    if path.exists() and not path.is_file():
        raise ScenarioError(file, "-", "not a regular file", "give a .toml file")
    try:
        if path.stat().st_size > MAX_BYTES:
            raise ScenarioError(
                file, "-", f"over {MAX_BYTES // 2**20} MiB", "split it, or give a rule list"
            )
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except RecursionError:
        raise ScenarioError(file, "TOML", "nested too deep", "flatten the tables") from None
    except FileNotFoundError:
        raise ScenarioError(
            file,
            "-",
            "no such file",
            "give the path of a .toml scenario, or a shipped one: " + ", ".join(shipped()),
        ) from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(file, f"byte {exc.start}", "not UTF-8", "save it as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(file, "TOML syntax", str(exc), "fix the TOML at that line") from None
    v = _Validator(file)
    v.keys(data, _TOP, "top level")
    head = v.table(data.get("scenario", {}), "scenario")
    v.keys(head, _SCENARIO_KEYS, "scenario")

    base: Scenario | None = None
    for i, inc in enumerate(v.str_list(head.get("include", []), "scenario.include")):
        sub = _load((path.parent / inc), (*seen, path.resolve()), budget)
        base = sub if base is None else _merge(base, sub, file, f"scenario.include[{i}]")

    control_tbl = v.table(data.get("control", {}), "control")
    v.keys(control_tbl, _VANTAGE_KEYS, "control")
    if "control" in data or base is None:
        control = v.vantage(control_tbl, "control", default_name="control", default_cc="DE")
    else:
        control = base.control
    scen = Scenario(
        name=v.string(head.get("name", path.stem), "scenario.name"),
        path=file,
        control=control,
        description=v.string(head.get("description", ""), "scenario.description"),
    )
    if base is not None:
        scen.isps, scen.sites, scen.rules = list(base.isps), list(base.sites), list(base.rules)

    for i, tbl in enumerate(v.array(data.get("isp", []), "isp")):
        where = f"isp[{i}]"
        v.keys(tbl, _ISP_KEYS, where)
        dpi_tbl = v.table(tbl.get("dpi", {}), f"{where}.dpi")
        v.keys(dpi_tbl, _DPI_KEYS, f"{where}.dpi")
        isp = Isp(
            vantage=v.vantage(tbl, where),
            dpi=Dpi(
                reassembles=v.boolean(
                    dpi_tbl.get("reassembles", False), f"{where}.dpi.reassembles"
                ),
                case_sensitive=v.boolean(
                    dpi_tbl.get("case_sensitive", False), f"{where}.dpi.case_sensitive"
                ),
                inspect_packets=v.integer(
                    dpi_tbl.get("inspect_packets", 1), f"{where}.dpi.inspect_packets", lo=1
                ),
                random_cutoff=v.integer(
                    dpi_tbl.get("random_cutoff", 0), f"{where}.dpi.random_cutoff", lo=0
                ),
                keep_packets=v.integer(
                    dpi_tbl.get("keep_packets", 0), f"{where}.dpi.keep_packets", lo=0
                ),
                flow_idle=v.duration(dpi_tbl["flow_idle"], f"{where}.dpi.flow_idle")
                if "flow_idle" in dpi_tbl
                else 0.0,
                quic_sni=v.boolean(dpi_tbl.get("quic_sni", False), f"{where}.dpi.quic_sni"),
            ),
            blockpage_title=v.string(tbl.get("blockpage_title", ""), f"{where}.blockpage_title"),
            blockpage_redirect=v.string(
                tbl.get("blockpage_redirect", ""), f"{where}.blockpage_redirect"
            ),
            noise=v.share(tbl.get("noise", 0.0), f"{where}.noise"),
            utc_offset=v.offset(tbl.get("utc_offset", 0), f"{where}.utc_offset"),
            shape_kbps=v.number(tbl["shape_kbps"], f"{where}.shape_kbps")
            if "shape_kbps" in tbl
            else 0.0,
            jitter_ms=v.number(tbl["jitter_ms"], f"{where}.jitter_ms")
            if "jitter_ms" in tbl
            else 0.0,
        )
        if any(x.name.lower() == isp.name.lower() for x in scen.isps):
            raise ScenarioError(
                file,
                f"{where}.name",
                f"ISP {isp.name!r} is defined twice",
                "give each ISP a unique name",
            )
        if isp.name.lower() == control.name.lower():
            raise ScenarioError(
                file,
                f"{where}.name",
                f"{isp.name!r} is the control's name",
                "rename the ISP or the control",
            )
        scen.isps.append(isp)

    # kept as sites come (the included ones first): checking against a list was quadratic
    taken = {ip for s in scen.sites for ip in s.pinned}
    known = {h for s in scen.sites for h in s.hostnames}
    for i, tbl in enumerate(v.array(data.get("site", []), "site")):
        site = v.site(tbl, f"site[{i}]")
        for j, ip in enumerate(site.pinned):
            if ip in taken:
                raise ScenarioError(
                    file,
                    f"site[{i}].addresses[{j}]",
                    f"{ip} belongs to another site",
                    "give each site its own",
                )
        for h in site.hostnames:
            if h in known:
                raise ScenarioError(
                    file,
                    f"site[{i}].name",
                    f"site {h!r} is defined twice",
                    "define each hostname once (use aliases for extra names)",
                )
        scen.sites.append(site)
        taken.update(site.pinned)
        known.update(site.hostnames)

    isp_countries = {x.name: x.vantage.country for x in scen.isps}
    ids = {r.id for r in scen.rules}
    for i, tbl in enumerate(v.array(data.get("rule", []), "rule")):
        rule = v.rule(tbl, f"rule[{i}]", isp_countries, default_id=f"{path.stem}:{i}")
        if rule.id in ids:
            raise ScenarioError(
                file,
                f"rule[{i}].id",
                f"rule id {rule.id!r} is used twice",
                "give each rule a unique id",
            )
        ids.add(rule.id)
        scen.rules.append(rule)
    return scen


def _merge(a: Scenario, b: Scenario, file: str, where: str) -> Scenario:
    names = {i.name for i in a.isps} | {h for s in a.sites for h in s.hostnames}
    names |= {r.id for r in a.rules}
    for item in [
        *(i.name for i in b.isps),
        *(h for s in b.sites for h in s.hostnames),
        *(r.id for r in b.rules),
    ]:
        if item in names:
            raise ScenarioError(
                file,
                where,
                f"{item!r} is defined by two included files",
                "define it in one of them",
            )
    return Scenario(
        a.name,
        a.path,
        a.control,
        [*a.isps, *b.isps],
        [*a.sites, *b.sites],
        [*a.rules, *b.rules],
        a.description,
    )


class _Validator:
    """Type checks that turn into ScenarioError with the file and key."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, where: str, problem: str, fix: str = "") -> ScenarioError:
        return ScenarioError(self.file, where, problem, fix)

    def keys(self, tbl: dict[str, Any], allowed: set[str], where: str) -> None:
        for key in tbl:
            if key not in allowed:
                raise self.fail(
                    f"{where}.{key}" if where != "top level" else key,
                    "unknown key",
                    "allowed: " + ", ".join(sorted(allowed)),
                )

    def table(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, "must be a table", f"write [{where}]")
        return value

    def array(self, value: Any, where: str) -> list[dict[str, Any]]:
        if not isinstance(value, list) or not all(isinstance(x, dict) for x in value):
            raise self.fail(where, "must be an array of tables", f"write [[{where}]]")
        return value

    def string(self, value: Any, where: str) -> str:
        if not isinstance(value, str):
            raise self.fail(where, f"must be a string, not {value!r}")
        return value

    def str_list(self, value: Any, where: str) -> list[str]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            raise self.fail(where, f"must be a list of strings, not {value!r}")
        return value

    def boolean(self, value: Any, where: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(where, f"must be true or false, not {value!r}")
        return value

    def integer(self, value: Any, where: str, lo: int = 0) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < lo:
            raise self.fail(where, f"must be a whole number >= {lo}, not {value!r}")
        return value

    def number(self, value: Any, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise self.fail(where, f"must be a positive number, not {value!r}")
        return float(value)

    def share(self, value: Any, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
            raise self.fail(
                where, f"must be a share from 0 to below 1, not {value!r}", "e.g. 0.05 for 5%"
            )
        return float(value)

    def offset(self, value: Any, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or abs(value) > 14:
            raise self.fail(where, f"must be hours from UTC, -14 to 14, not {value!r}")
        return float(value)

    def duration(self, value: Any, where: str) -> float:
        """Seconds, from a string like '10m'."""
        try:
            return parse_duration(self.string(value, where)).total_seconds()
        except ValueError as exc:
            raise self.fail(where, str(exc)) from None

    def hostname(self, value: Any, where: str) -> str:
        name = self.string(value, where).lower()
        if not _HOSTNAME.match(name):
            raise self.fail(where, f"{value!r} is not a hostname", "write e.g. www.example.com")
        return name

    def time(self, value: Any, where: str) -> datetime | None:
        if value is None:
            return None
        try:
            return parse_time(value)
        except ValueError as exc:
            raise self.fail(where, str(exc)) from None

    def choice(self, value: Any, where: str, allowed: tuple[str, ...] | list[str]) -> str:
        if value not in allowed:
            raise self.fail(where, f"{value!r} is not allowed", "allowed: " + ", ".join(allowed))
        return value

    def vantage(
        self,
        tbl: dict[str, Any],
        where: str,
        default_name: str | None = None,
        default_cc: str = "ZZ",
    ) -> Vantage:
        if "name" not in tbl and default_name is None:
            raise self.fail(f"{where}.name", "missing", "every ISP needs a name")
        cc = self.string(tbl.get("country", default_cc), f"{where}.country")
        if not re.fullmatch(r"[A-Z]{2}", cc):
            raise self.fail(f"{where}.country", f"{cc!r} is not a country code", "write e.g. RU")
        return Vantage(
            name=self.string(tbl.get("name", default_name), f"{where}.name"),
            asn=self.integer(tbl.get("asn", 0), f"{where}.asn"),
            country=cc,
        )

    def site(self, tbl: dict[str, Any], where: str) -> Site:
        self.keys(tbl, _SITE_KEYS, where)
        if "name" not in tbl:
            raise self.fail(f"{where}.name", "missing", "every site needs a hostname")
        name = self.hostname(tbl["name"], f"{where}.name")
        aliases = tuple(
            self.hostname(a, f"{where}.aliases[{j}]")
            for j, a in enumerate(self.str_list(tbl.get("aliases", []), f"{where}.aliases"))
        )
        urls = tuple(self.str_list(tbl.get("urls", [f"https://{name}/"]), f"{where}.urls"))
        for j, url in enumerate(urls):
            if not re.match(r"^https?://[^/]+", url):
                raise self.fail(f"{where}.urls[{j}]", f"{url!r} is not an http(s) URL")
        down = tbl.get("down")
        if down is not None:
            down = self.choice(down, f"{where}.down", DOWN_MODES)
        geo = tuple(self.countries(tbl.get("geo_block", []), f"{where}.geo_block"))
        status = self.integer(tbl.get("geo_status", 451), f"{where}.geo_status")
        if status not in (403, 451):
            raise self.fail(f"{where}.geo_status", f"{status} is not allowed", "use 451 or 403")
        geo_paths = tuple(
            self.geo_path(g, f"{where}.geo_paths[{j}]")
            for j, g in enumerate(self.array(tbl.get("geo_paths", []), f"{where}.geo_paths"))
        )
        raw = tbl.get("addresses", 1)
        pinned: tuple[str, ...] = ()
        if isinstance(raw, list):
            pinned = tuple(self.str_list(raw, f"{where}.addresses"))
            for j, ip in enumerate(pinned):
                try:
                    ok = ipaddress.ip_address(ip) in _SITE_NET and not ip.startswith("127.10.255.")
                except ValueError:
                    ok = False
                if not ok:
                    raise self.fail(
                        f"{where}.addresses[{j}]",
                        f"{ip!r} is not a lab site address",
                        "use 127.10.0.1 to 127.10.254.254",
                    )
            count = len(pinned)
        else:
            count = self.integer(raw, f"{where}.addresses", lo=1)
        return Site(
            name=name,
            title=self.string(tbl.get("title", name), f"{where}.title"),
            aliases=aliases,
            addresses=count,
            pinned=pinned,
            urls=urls,
            down=down,
            geo_block=geo,
            geo_status=status,
            geo_paths=geo_paths,
            category=self.string(tbl.get("category", ""), f"{where}.category"),
            traffic=self.share(tbl.get("traffic", 0.0), f"{where}.traffic"),
            redirect=tbl.get("redirect") and self.string(tbl["redirect"], f"{where}.redirect"),
        )

    def countries(self, x: Any, where: str) -> list[str]:
        codes = self.str_list(x, where)
        for j, cc in enumerate(codes):
            if not re.fullmatch(r"[A-Z]{2}", cc):
                raise self.fail(f"{where}[{j}]", f"{cc!r} is not a country code",
                                'two capital letters, e.g. "DE"')  # fmt: skip
        return codes

    def geo_path(self, tbl: dict[str, Any], where: str) -> GeoPath:
        self.keys(tbl, _GEO_PATH_KEYS, where)
        path = self.string(tbl.get("path", ""), f"{where}.path")
        if not path.startswith("/"):
            raise self.fail(f"{where}.path", f"{path!r} is not a path", 'e.g. "/@RT"')
        countries = self.countries(tbl.get("countries", []), f"{where}.countries")
        if not countries:
            raise self.fail(f"{where}.countries", "missing", "the countries refused the content")
        return GeoPath(
            path=path,
            countries=tuple(countries),
            since=self.time(tbl.get("since"), f"{where}.since"),
            source=self.string(tbl.get("source", ""), f"{where}.source"),
        )

    def rule(self, tbl: dict[str, Any], where: str, isps: dict[str, str], default_id: str) -> Rule:
        """`isps` maps the ISPs defined so far (in this file and those it includes) to their
        countries: "*" means those, narrowed by the rule's `countries` if it has any."""
        self.keys(tbl, _RULE_KEYS, where)
        for key in ("on", "match", "pattern", "action", "isps"):
            if key not in tbl:
                raise self.fail(
                    f"{where}.{key}",
                    "missing",
                    "every rule needs isps, on, match, pattern and action",
                )
        action = self.choice(tbl["action"], f"{where}.action", list(ACTIONS))
        on = self.choice(tbl["on"], f"{where}.on", ACTIONS[action])
        match = self.choice(tbl["match"], f"{where}.match", MATCHES_FOR_TRIGGER[on])
        pattern = self.string(tbl["pattern"], f"{where}.pattern")
        try:
            compile_match(match, pattern)
        except (ValueError, TypeError, re.error) as exc:
            raise self.fail(f"{where}.pattern", f"bad {match} pattern {pattern!r}: {exc}") from None
        named = self.str_list(tbl["isps"], f"{where}.isps")
        countries = self.countries(tbl.get("countries", []), f"{where}.countries")
        if countries and named != ["*"]:
            raise self.fail(f"{where}.countries", 'narrows isps = ["*"] only',
                            'name the ISPs, or use isps = ["*"] with countries')  # fmt: skip
        if named == ["*"]:
            named = [n for n, cc in isps.items() if not countries or cc in countries]
            if not named:
                raise self.fail(
                    f"{where}.countries",
                    f"no ISP defined so far is in {countries}",
                    "define the country's ISPs before the rule, or fix the code",
                )
        lower = {n.lower(): n for n in isps}
        resolved = []
        for j, n in enumerate(named):
            if n.lower() not in lower:
                raise self.fail(
                    f"{where}.isps[{j}]",
                    f"unknown ISP {n!r}",
                    "known: " + (", ".join(isps) or "none defined") + ', or "*"',
                )
            resolved.append(lower[n.lower()])
        rate = tbl.get("rate_kbps")
        if action == "throttle":
            if rate is None:
                raise self.fail(f"{where}.rate_kbps", "missing", "a throttle needs a rate")
            rate = self.number(rate, f"{where}.rate_kbps")
        elif rate is not None:
            raise self.fail(f"{where}.rate_kbps", f"only a throttle has a rate, not {action}")
        spoof = tbl.get("spoof")
        if action == "dns-spoof":
            spoof = self.string(spoof or "bogon", f"{where}.spoof")
            if spoof not in SPOOF_KINDS:
                try:
                    ipaddress.ip_address(spoof)
                except ValueError:
                    raise self.fail(
                        f"{where}.spoof",
                        f"{spoof!r} is not allowed",
                        "bogon, blockpage or an IP address",
                    ) from None
        elif spoof is not None:
            raise self.fail(f"{where}.spoof", f"only dns-spoof takes spoof, not {action}")
        effective = self.time(tbl.get("effective"), f"{where}.effective")
        until = self.time(tbl.get("until"), f"{where}.until")
        if effective and until and until <= effective:
            raise self.fail(f"{where}.until", "is not after effective", "swap or fix the times")
        return Rule(
            id=self.string(tbl.get("id", default_id), f"{where}.id"),
            on=on,  # type: ignore[arg-type]
            match=match,  # type: ignore[arg-type]
            pattern=pattern,
            action=action,
            isps=tuple(resolved),
            rate_kbps=rate,
            after_bytes=self.integer(tbl.get("after_bytes", 0), f"{where}.after_bytes"),
            spoof=spoof,
            case_sensitive=self.boolean(
                tbl.get("case_sensitive", False), f"{where}.case_sensitive"
            ),
            announced=self.time(tbl.get("announced"), f"{where}.announced"),
            effective=effective,
            until=until,
            source=self.string(tbl.get("source", ""), f"{where}.source"),
        )
