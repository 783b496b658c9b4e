"""The lab's packet tier: its DPIs see the client's real TCP segments.

A middlebox reads a byte stream, and two segments that arrive close together come out of
one read, so a DPI fed reads could see a split ClientHello whole. With `--packets` the
whole run moves into a network namespace of its own (`unshare -rn`: no privilege needed,
only loopback inside), where an iptables NFQUEUE rule hands each packet a client sends to
a middlebox to this tap before the middlebox can read it; the tap logs where segments end
(censorscope.wire.segments) and accepts the packet. The middlebox then cuts its reads there.

Only inside a namespace this module made: it never touches the host's firewall.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import shutil
import socket
import struct
import subprocess
import sys
from collections.abc import Sequence

from censorscope.errors import LabError
from censorscope.wire import netlink as nfqueue
from censorscope.wire.segments import SegmentLog, parse_segment

NETNS_ENV = "CENSORSCOPE_NETNS"  # set in the namespace run_in_namespace made
QUEUE = 0
_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1
_RCVBUF = 8 * 1024 * 1024
_CHECK_TIMEOUT = 20.0


def in_own_namespace() -> bool:
    return os.environ.get(NETNS_ENV) == "1"


def run_in_namespace(argv: Sequence[str]) -> int:
    """Run `censorscope ARGV` again inside a new user and network namespace; its exit
    code. Raises LabError, saying why, where namespaces or iptables are missing."""
    why = unavailable()
    if why:
        raise LabError(f"--packets: {why}")
    cmd, env = _namespaced("censorscope", *argv)
    return subprocess.call(cmd, env=env)


def _namespaced(module: str, *argv: str) -> tuple[list[str], dict[str, str]]:
    """The command and environment that run `python -m MODULE ARGV` in a new user and
    network namespace, marked as ours."""
    cmd = ["unshare", "-rn", "--", sys.executable, "-m", module, *argv]
    return cmd, {**os.environ, NETNS_ENV: "1"}


def unavailable() -> str | None:
    """Why the packet tier cannot run on this machine (None: it can). Runs the tier's
    self-check in a throwaway namespace: a real connection whose segments the tap sees."""
    for tool, package in (("unshare", "util-linux"), ("iptables", "iptables")):
        if shutil.which(tool) is None:
            return f"needs {tool} (apt-get install {package})"
    cmd, env = _namespaced("censorscope.lab.packets")
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=_CHECK_TIMEOUT)
    except subprocess.TimeoutExpired:
        return f"the packet tier's self-check did not finish in {_CHECK_TIMEOUT:.0f} s"
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
        return f"the kernel or sandbox does not allow it here: {lines[-1]}"
    return None


def loopback_up() -> None:
    """A new network namespace starts with its loopback down."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifr = fcntl.ioctl(s, _SIOCGIFFLAGS, struct.pack("16sh", b"lo", 0))
        flags = struct.unpack("16sh", ifr[:18])[1]
        fcntl.ioctl(s, _SIOCSIFFLAGS, struct.pack("16sh", b"lo", flags | _IFF_UP))


class PacketTap:
    """Reads the queue on the running event loop and logs every client segment."""

    def __init__(self, queue: int = QUEUE) -> None:
        self.queue = queue
        self.log = SegmentLog()
        self.packets = 0
        self._sock: socket.socket | None = None

    def start(self, targets: Sequence[tuple[str, int]]) -> None:
        """Bind the queue, then send it the TCP packets to each (address, port)."""
        if not in_own_namespace():
            raise LabError("the packet tier runs only in its own namespace (run_in_namespace)")
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, nfqueue.NETLINK_NETFILTER)
        try:
            sock.bind((0, 0))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RCVBUF)
            for request in nfqueue.bind(self.queue):
                sock.send(request)
                nfqueue.parse(sock.recv(65536))  # the ack, or the kernel's refusal
            for ip, port in targets:
                _iptables(
                    "-A", "OUTPUT", "-p", "tcp", "-d", ip, "--dport", str(port),
                    "-j", "NFQUEUE", "--queue-num", str(self.queue),
                )  # fmt: skip
        except (OSError, nfqueue.NetlinkError) as exc:
            sock.close()
            raise LabError(f"the packet tier could not start: {exc}") from exc
        sock.setblocking(False)
        self._sock = sock
        asyncio.get_running_loop().add_reader(sock.fileno(), self._readable)

    def _readable(self) -> None:
        assert self._sock is not None
        for _ in range(64):  # bounded: let the middleboxes run between batches
            try:
                data = self._sock.recv(1 << 18)
            except BlockingIOError:
                return
            except OSError as exc:  # ENOBUFS: the kernel dropped notifications
                print(f"packet tier: {exc}", file=sys.stderr)
                continue
            try:
                queued = nfqueue.parse(data)
            except nfqueue.NetlinkError as exc:  # the ids are unreadable: those packets wait
                print(f"packet tier: {exc}", file=sys.stderr)
                continue
            verdicts = []
            for q in queued:
                seg = parse_segment(q.packet)
                if seg is not None:
                    self.log.observe(seg)
                verdicts.append(nfqueue.verdict(self.queue, q.packet_id))
                self.packets += 1
            if verdicts:
                self._sock.send(b"".join(verdicts))

    def close(self) -> None:
        if self._sock is not None:
            asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None


def _iptables(*args: str) -> None:
    done = subprocess.run(["iptables", "-w", *args], capture_output=True, text=True, timeout=20)
    if done.returncode != 0:
        raise OSError(f"iptables {' '.join(args)}: {done.stderr.strip()}")


async def _self_check() -> None:
    """Two back-to-back writes on loopback: the tap must see where the first one ended,
    even when the server reads both at once."""
    if not in_own_namespace():
        raise LabError("the packet tier runs only in its own namespace (run_in_namespace)")
    loopback_up()
    got = asyncio.get_running_loop().create_future()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        got.set_result(await reader.readexactly(8))
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    tap = PacketTap()
    tap.start([("127.0.0.1", port)])
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    local = writer.get_extra_info("sockname")[:2]
    writer.write(b"abc")
    await writer.drain()
    writer.write(b"defgh")
    data = await asyncio.wait_for(got, 10)
    parts = tap.log.split(local, 0, data)
    writer.close()
    tap.close()
    server.close()
    if parts != [b"abc", b"defgh"]:
        raise SystemExit(f"the tap saw {parts!r} where two segments were sent")


if __name__ == "__main__":
    asyncio.run(asyncio.wait_for(_self_check(), _CHECK_TIMEOUT))
