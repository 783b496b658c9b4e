"""The probe's side of the control helper: asks it for control measurements."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlsplit

import h11

from censorscope.errors import HelperError
from censorscope.records import Measurement, Target


class HelperClient:
    """Asks a helper for control measurements. Failures become None (no control)."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname:
            raise HelperError(f"{base_url!r}: give the helper as http://HOST:PORT")
        self.host, self.port = parts.hostname, parts.port or 80
        self.timeout = timeout
        self.errors: list[str] = []

    async def health(self) -> dict:
        return await self._call("GET", "/health", None)

    async def __call__(self, target: Target) -> Measurement | None:
        try:
            return Measurement.from_dict(await self._call("POST", "/measure", {"url": target.url}))
        except (HelperError, KeyError, TypeError, ValueError) as exc:
            self.errors.append(f"{target.url}: {exc}")
            return None

    async def _call(self, method: str, path: str, obj: object) -> dict:
        body = json.dumps(obj).encode() if obj is not None else b""
        conn = h11.Connection(h11.CLIENT)
        headers = [
            ("Host", self.host),
            ("Content-Length", str(len(body))),
            ("Content-Type", "application/json"),
        ]
        try:
            async with asyncio.timeout(self.timeout):
                reader, writer = await asyncio.open_connection(self.host, self.port)
                try:
                    writer.write(
                        conn.send(h11.Request(method=method, target=path, headers=headers))
                    )
                    writer.write(conn.send(h11.Data(data=body)) + conn.send(h11.EndOfMessage()))
                    status, data = 0, b""
                    while True:
                        event = conn.next_event()
                        if event is h11.NEED_DATA:
                            conn.receive_data(await reader.read(65536))
                        elif isinstance(event, h11.Response):
                            status = event.status_code
                        elif isinstance(event, h11.Data):
                            data += event.data
                        elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                            break
                finally:
                    writer.transport.abort()
        except (OSError, TimeoutError, h11.ProtocolError) as exc:
            raise HelperError(f"helper {self.host}:{self.port} unreachable: {exc!r}") from exc
        if status != 200:
            raise HelperError(f"helper answered {status}: {data[:200]!r}")
        try:
            return json.loads(data)
        except ValueError as exc:
            raise HelperError(f"helper answered non-JSON: {data[:200]!r}") from exc
