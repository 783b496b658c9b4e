"""What an ISP's DPI sees of a flow: the SNI or Host in the first client packets. Pure.

Feed it each chunk the client sends; it answers with what it found, that it needs the
next chunk, or that it has stopped looking. A DPI that does not reassemble reads every
chunk on its own, so a ClientHello split across segments hides its SNI. It reads only the
first TLS record of a chunk, so a ClientHello behind another record goes unseen.

The TSPU traits of the 2021 throttler (CP-T): a first packet of `random_cutoff` or more
bytes that are neither TLS nor a known protocol ends inspection of the flow; another TLS
record or proxy traffic first keeps it inspecting for `keep_packets` more packets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from censorscope.scenario import Dpi
from censorscope.wire.clienthello import Hello, NotTls, Truncated, parse_sni

_METHOD = re.compile(rb"^(GET|POST|HEAD|PUT|DELETE|OPTIONS|CONNECT|PATCH) ")
_HOST = re.compile(rb"\r\nHost:[ \t]*([^\r\n:]*)", re.IGNORECASE)
_HOST_CASED = re.compile(rb"\r\nHost:[ \t]*([^\r\n:]*)")
_MAX_BUFFER = 16384
_RECORD_TYPES = (20, 21, 22, 23)  # change_cipher_spec, alert, handshake, application_data


@dataclass(frozen=True, slots=True)
class Found:
    trigger: str  # "sni" | "http_host"
    value: str


MORE = "more"
STOP = "stop"
Decision = Found | str


def is_tls_record(data: bytes) -> bool:
    return len(data) >= 5 and data[0] in _RECORD_TYPES and data[1] == 3


def is_proxy_traffic(data: bytes) -> bool:
    """An HTTP CONNECT or a SOCKS greeting: a proxy's tunnel is about to start."""
    return data.startswith(b"CONNECT ") or (
        len(data) >= 3 and data[0] in (4, 5) and len(data) == 2 + data[1]
    )


class FlowInspector:
    def __init__(self, dpi: Dpi) -> None:
        self.dpi = dpi
        self.packets = 0
        self.budget = dpi.inspect_packets
        self.buffer = b""

    def feed(self, chunk: bytes) -> Decision:
        self.packets += 1
        data = self.buffer + chunk if self.dpi.reassembles else chunk
        if self.dpi.keep_packets and self.packets == 1 and is_proxy_traffic(data):
            self.budget = 1 + self.dpi.keep_packets
            return MORE
        if _METHOD.match(data):
            rx = _HOST_CASED if self.dpi.case_sensitive else _HOST
            m = rx.search(data)
            if m:
                return Found("http_host", m.group(1).decode("latin-1").strip())
            return self._more(data)
        result = parse_sni(data)
        if isinstance(result, Hello):
            return Found("sni", result.sni) if result.sni is not None else STOP
        if self.packets == 1 and self.dpi.keep_packets and _another_record(data, result):
            self.budget = 1 + self.dpi.keep_packets
            return MORE
        if isinstance(result, Truncated) or (isinstance(result, NotTls) and not data):
            return self._more(data)
        if self.packets == 1 and self.dpi.random_cutoff:
            if len(data) >= self.dpi.random_cutoff:
                return STOP  # random data: not a protocol it knows, it stops looking
            self.budget = 1 + self.dpi.keep_packets  # too short to give up on
        return self._more(data) if self.packets < self.budget else STOP

    def _more(self, data: bytes) -> Decision:
        if self.dpi.reassembles and len(data) < _MAX_BUFFER:
            self.buffer = data
            return MORE
        return MORE if self.packets < self.budget else STOP


def _another_record(data: bytes, result: object) -> bool:
    """A whole TLS record that is not a ClientHello: a ChangeCipherSpec, or a handshake
    record holding a fragment of one. (A ClientHello cut across segments is not one.)"""
    if not is_tls_record(data):
        return False
    whole = len(data) >= 5 + int.from_bytes(data[3:5], "big")
    return whole and (data[0] != 22 or isinstance(result, Truncated))
