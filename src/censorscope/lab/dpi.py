"""What an ISP's DPI sees of a flow: the SNI or Host in the first client packets. Pure.

Feed it each chunk the client sends; it answers with what it found, that it needs the
next chunk, or that it has stopped looking. A DPI that does not reassemble reads every
chunk on its own, so a ClientHello split across segments hides its SNI.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from censorscope.clienthello import Hello, NotTls, Truncated, parse_sni
from censorscope.scenario import Dpi

_METHOD = re.compile(rb"^(GET|POST|HEAD|PUT|DELETE|OPTIONS|CONNECT|PATCH) ")
_HOST = re.compile(rb"\r\nHost:[ \t]*([^\r\n:]*)", re.IGNORECASE)
_HOST_CASED = re.compile(rb"\r\nHost:[ \t]*([^\r\n:]*)")
_MAX_BUFFER = 16384


@dataclass(frozen=True, slots=True)
class Found:
    trigger: str  # "sni" | "http_host"
    value: str


MORE = "more"
STOP = "stop"
Decision = Found | str


class FlowInspector:
    def __init__(self, dpi: Dpi) -> None:
        self.dpi = dpi
        self.packets = 0
        self.buffer = b""

    def feed(self, chunk: bytes) -> Decision:
        self.packets += 1
        data = self.buffer + chunk if self.dpi.reassembles else chunk
        if _METHOD.match(data):
            rx = _HOST_CASED if self.dpi.case_sensitive else _HOST
            m = rx.search(data)
            if m:
                return Found("http_host", m.group(1).decode("latin-1").strip())
            return self._more(data)
        result = parse_sni(data)
        if isinstance(result, Hello):
            return Found("sni", result.sni) if result.sni is not None else STOP
        if isinstance(result, Truncated) or (isinstance(result, NotTls) and not data):
            return self._more(data)
        assert isinstance(result, NotTls)
        return self._more(data) if self.packets < self.dpi.inspect_packets else STOP

    def _more(self, data: bytes) -> Decision:
        if self.dpi.reassembles and len(data) < _MAX_BUFFER:
            self.buffer = data
            return MORE
        return MORE if self.packets < self.dpi.inspect_packets else STOP
