"""Running the lab in its own process, and talking to it from the probe's side.

The parent validates the scenario, spawns the lab, and gets back a LabInfo saying where
each vantage's resolver and middlebox listen and which CA file the probe should trust.
It then moves the lab's virtual clock between measurement rounds.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import os
import select
import subprocess
import sys
import tempfile
import traceback
from datetime import datetime
from pathlib import Path
from typing import Protocol

from censorscope.errors import LabError
from censorscope.inputs.scenario import load_scenario
from censorscope.lab.abroad import PROXY_IP, RESOLVER_IP, ConnectProxy, OpenResolver
from censorscope.lab.ca import Authority
from censorscope.lab.clock import Clock, FlowClocks
from censorscope.lab.h3 import serve_h3
from censorscope.lab.middlebox import Injector, Middlebox, Ports
from censorscope.lab.origin import Farm, PageServer, hold
from censorscope.lab.packets import PacketTap
from censorscope.lab.resolver import Resolver
from censorscope.lab.world import FARM, PAGES, TARPIT, World, vantage_ip
from censorscope.records import Vantage
from censorscope.rules.policy import Policy
from censorscope.scenario import LAB_RESOLVER_NAME, Endpoint, LabInfo, LabOptions, Scenario, Slot
from censorscope.timeparse import parse_time

START_TIMEOUT = 60.0


class Closable(Protocol):
    """A server, transport or packet tap the lab stops at shutdown."""

    def close(self) -> None: ...


async def _serve(
    scenario: Scenario,
    clocks: list[Clock],
    workdir: Path,
    options: LabOptions,
) -> tuple[LabInfo, list[Closable]]:
    world = World.build(scenario, options.any_name)
    sites_ca = Authority("censorscope lab sites CA", workdir)
    intercept_ca = Authority("censorscope lab ISP interception CA", workdir / "isp")
    flows = FlowClocks(clocks[0])
    farm, page_server = Farm(world, sites_ca, flows), PageServer(world, intercept_ca)
    servers: list[Closable] = []

    async def listen(handler, host: str, ssl=None) -> int:  # noqa: ANN001
        srv = await asyncio.start_server(
            _until_shutdown(handler),
            host,
            0,
            ssl=ssl,
            backlog=2048,
            ssl_handshake_timeout=10 if ssl else None,
        )
        servers.append(srv)
        return srv.sockets[0].getsockname()[1]

    every_site = tuple(n for site in scenario.sites for n in site.hostnames)
    h3 = await serve_h3(
        FARM,
        farm.respond,
        str(sites_ca.issue(every_site or ("lab.invalid",))),
        str(sites_ca.key_file),
    )
    servers.append(h3)
    ports = Ports(
        farm_quic=h3.get_extra_info("sockname")[1],
        farm_tls=await listen(farm.handle, FARM, farm.tls),
        farm_http=await listen(farm.handle, FARM),
        tarpit=await listen(hold, TARPIT),
        pages_tls=await listen(page_server.handle, PAGES, page_server.tls),
        pages_http=await listen(page_server.handle, PAGES),
    )
    loop = asyncio.get_running_loop()
    open_resolver = OpenResolver(Resolver(world, Policy([]), Clock()))
    abroad_tls = sites_ca.server_context((LAB_RESOLVER_NAME,))
    uncensored = Middlebox(0, None, Policy([]), world, Clock(), ports)
    proxy = ConnectProxy(lambda name: next(iter(world.resolve(name) or []), None), uncensored.route)
    abroad = {
        "dot": (RESOLVER_IP, await listen(open_resolver.dot, RESOLVER_IP, abroad_tls)),
        "doh": (RESOLVER_IP, await listen(open_resolver.handle_doh, RESOLVER_IP, abroad_tls)),
        "proxy": (PROXY_IP, await listen(proxy.handle, PROXY_IP)),
    }
    vantages = [(scenario.control, None)] + [(i.vantage, i) for i in scenario.isps]
    policies = [
        Policy(
            [r for r in scenario.rules if isp.name in r.isps] if isp else [],
            case_sensitive=isp.dpi.case_sensitive if isp else False,
        )
        for _, isp in vantages
    ]
    slots = []
    boxes = []
    for clock in clocks:
        endpoints = []
        for k, ((vantage, isp), policy) in enumerate(zip(vantages, policies, strict=True)):
            noise = options.noise
            share = 0.0 if isp is None else (isp.noise if noise is None else noise)
            box = Middlebox(
                k, isp, policy, world, clock, ports, noise=share, seed=options.seed, flows=flows
            )
            boxes.append(box)
            proxy_port = await listen(box.handle, vantage_ip(k, 2))
            transport, _ = await loop.create_datagram_endpoint(
                functools.partial(Resolver, world, policy, clock),
                local_addr=(vantage_ip(k, 53), 0),
            )
            servers.append(transport)
            dns_port = transport.get_extra_info("sockname")[1]
            inject, _ = await loop.create_datagram_endpoint(
                functools.partial(Injector, box), local_addr=(vantage_ip(k, 2), 0)
            )
            servers.append(inject)
            endpoints.append(
                Endpoint(
                    vantage,
                    (vantage_ip(k, 53), dns_port),
                    (vantage_ip(k, 2), proxy_port),
                    (vantage_ip(k, 2), inject.get_extra_info("sockname")[1]),
                )
            )
        slots.append(Slot(endpoints[0], tuple(endpoints[1:])))
    if options.packets:
        tap = PacketTap()
        tap.start([e.proxy for s in slots for e in (s.control, *s.isps)])
        servers.append(tap)
        for box in boxes:
            box.segments = tap.log
    info = LabInfo(
        scenario=scenario.name,
        slots=tuple(slots),
        ca_file=str(sites_ca.ca_file),
        workdir=str(workdir),
        site_addresses=dict(world.addresses),
        abroad=abroad,
    )
    return info, servers


def _until_shutdown(handler):  # noqa: ANN001
    """Connection handlers end quietly when the lab shuts down mid-flow."""

    async def run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handler(reader, writer)
        except asyncio.CancelledError:
            writer.transport.abort()

    return run


def _info_to_json(info: LabInfo) -> dict:
    def ep(e: Endpoint) -> dict:
        return {
            "vantage": [e.vantage.name, e.vantage.asn, e.vantage.country],
            "resolver": list(e.resolver),
            "proxy": list(e.proxy),
            "inject": list(e.inject) if e.inject else None,
        }

    return {
        "scenario": info.scenario,
        "slots": [{"control": ep(s.control), "isps": [ep(e) for e in s.isps]} for s in info.slots],
        "ca_file": info.ca_file,
        "workdir": info.workdir,
        "site_addresses": info.site_addresses,
        "abroad": {k: list(v) for k, v in info.abroad.items()},
    }


def describe(info: LabInfo) -> str:
    """Where to point a probe, for a person running `censorscope lab serve`."""
    lines = [f"lab {info.scenario!r} running; trust {info.ca_file}"]
    for e in (info.control, *info.isps):
        lines.append(
            f"  {e.vantage.name:12} --resolver {e.resolver[0]}:{e.resolver[1]}"
            f" --proxy {e.proxy[0]}:{e.proxy[1]}"
        )
    lines.append(
        "measure with: censorscope measure URL --resolver ... --proxy ... "
        f"--ca-file {info.ca_file} --not-bogon 127.0.0.0/8   (Ctrl-C stops the lab)"
    )
    return "\n".join(lines)


def _info_from_json(d: dict) -> LabInfo:
    def ep(x: dict) -> Endpoint:
        inject = tuple(x["inject"]) if x.get("inject") else None
        return Endpoint(Vantage(*x["vantage"]), tuple(x["resolver"]), tuple(x["proxy"]), inject)  # type: ignore[arg-type]

    slots = tuple(Slot(ep(s["control"]), tuple(ep(e) for e in s["isps"])) for s in d["slots"])
    abroad = {k: (v[0], v[1]) for k, v in d.get("abroad", {}).items()}
    return LabInfo(d["scenario"], slots, d["ca_file"], d["workdir"], d["site_addresses"], abroad)


async def serve_forever(
    path: str,
    at: datetime | None,
    workdir: Path,
    commands: bool = True,
    options: LabOptions = LabOptions(),
) -> None:
    """Run the lab. With `commands`, speak JSON lines: the first line on stdout is the
    LabInfo; each stdin line {"time": ISO, "slot": N} moves that slot's clock; EOF on stdin
    stops the lab."""
    scenario = load_scenario(path)
    clocks = [Clock(at) for _ in range(options.slots)]
    info, servers = await _serve(scenario, clocks, workdir, options)
    loop = asyncio.get_running_loop()
    stopped = loop.create_future()
    if not commands:
        print(describe(info), flush=True)
    else:
        print(json.dumps({"ready": _info_to_json(info)}), flush=True)

        def on_line() -> None:
            line = sys.stdin.readline()
            if not line:
                if not stopped.done():
                    stopped.set_result(None)
                return
            try:
                cmd = json.loads(line)
                clocks[int(cmd.get("slot", 0))].set(parse_time(cmd["time"]))
                print(json.dumps({"ok": True}), flush=True)
            except (ValueError, KeyError, TypeError, IndexError) as exc:
                print(json.dumps({"error": str(exc)}), flush=True)

        loop.add_reader(sys.stdin.fileno(), on_line)
    await stopped
    for srv in servers:
        srv.close()


def run_event_loop(coro) -> None:  # noqa: ANN001
    try:
        import uvloop

        uvloop.run(coro)
    except ImportError:
        asyncio.run(coro)


def _main() -> None:
    opts = json.loads(sys.argv[1])
    at = parse_time(opts["at"]) if opts.get("at") else None
    try:
        run_event_loop(
            serve_forever(
                opts["path"],
                at,
                Path(opts["workdir"]),
                options=LabOptions(**opts["options"]),
            )
        )
    except Exception:  # noqa: BLE001 - the parent turns this into LabError
        print(json.dumps({"error": traceback.format_exc()}), flush=True)
        sys.exit(1)


class LabProcess:
    """The lab in a child process (`python -m censorscope.lab.runtime`). Use as a context
    manager; the scenario is validated here, before anything starts.

    `slots` clocks can be set independently (rounds at several virtual times at once);
    `noise`, if given, overrides every ISP's share of randomly failed flows, which `seed`
    makes reproducible. With `any_name` the lab resolves and serves every name (rule
    inference probes names no scenario lists). With `packets` its DPIs see the clients'
    real TCP segments (`lab.packets`; only inside `run_in_namespace`)."""

    def __init__(
        self,
        scenario_path: str | Path,
        at: datetime | None = None,
        *,
        slots: int = 1,
        noise: float | None = None,
        seed: int = 0,
        any_name: bool = False,
        packets: bool = False,
    ) -> None:
        self.path = str(scenario_path)
        load_scenario(self.path)
        if noise is not None and not 0 <= noise < 1:
            raise LabError(f"noise must be a share between 0 and 1, not {noise}")
        self.at = at
        self.options = LabOptions(max(1, slots), noise, seed, any_name, packets)
        self._tmp = tempfile.TemporaryDirectory(prefix="censorscope-lab-")
        self._proc: subprocess.Popen[str] | None = None
        self.info: LabInfo | None = None

    def start(self) -> LabInfo:
        opts = {
            "path": self.path,
            "at": self.at.isoformat() if self.at else None,
            "workdir": self._tmp.name,
            "options": dataclasses.asdict(self.options),
        }
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "censorscope.lab.runtime", json.dumps(opts)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        msg = self._recv(START_TIMEOUT)
        if "ready" not in msg:
            self.close()
            raise LabError(f"the lab failed to start:\n{msg.get('error', msg)}")
        self.info = _info_from_json(msg["ready"])
        return self.info

    def set_time(self, at: datetime, slot: int = 0) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write(json.dumps({"time": at.isoformat(), "slot": slot}) + "\n")
        self._proc.stdin.flush()
        msg = self._recv(10)
        if not msg.get("ok"):
            raise LabError(f"the lab did not accept the time: {msg}")

    def cpu_seconds(self) -> float:
        """CPU time the lab process has used (user + system), for benchmarks."""
        assert self._proc is not None
        fields = Path(f"/proc/{self._proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def _recv(self, timeout: float) -> dict:
        assert self._proc is not None and self._proc.stdout is not None
        ready, _, _ = select.select([self._proc.stdout], [], [], timeout)
        line = self._proc.stdout.readline() if ready else ""
        if not line:
            alive = self._proc.poll() is None
            self.close()
            raise LabError("the lab " + ("stopped answering" if alive else "exited"))
        return json.loads(line)

    def close(self) -> None:
        if self._proc is not None:
            try:
                if self._proc.stdin:
                    self._proc.stdin.close()
                self._proc.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                self._proc.kill()
                self._proc.wait(5)
            if self._proc.stdout:
                self._proc.stdout.close()
            self._proc = None
        self._tmp.cleanup()

    def __enter__(self) -> LabInfo:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


if __name__ == "__main__":
    _main()
