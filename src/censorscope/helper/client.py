"""The probe's side of the control helper: asks it for control measurements."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlsplit

import h11

from censorscope.errors import HelperError
from censorscope.probe.http import fetch
from censorscope.probe.stream import PlainStream
from censorscope.records import Measurement, Target

MAX_ANSWER = 8 * 1024 * 1024  # a measurement as JSON is a few KB; more is not a helper


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
        headers = [
            ("Host", self.host),
            ("Content-Length", str(len(body))),
            ("Content-Type", "application/json"),
        ]
        try:
            async with asyncio.timeout(self.timeout):
                reader, writer = await asyncio.open_connection(self.host, self.port)
                conn = PlainStream(reader, writer)
                try:
                    got = await fetch(conn, method, path, headers, body, keep=MAX_ANSWER)
                finally:
                    conn.abort()
        except (OSError, TimeoutError, h11.ProtocolError) as exc:
            raise HelperError(f"helper {self.host}:{self.port} unreachable: {exc!r}") from exc
        if got.status != 200:
            raise HelperError(f"helper answered {got.status}: {got.body[:200]!r}")
        if not got.complete:
            raise HelperError(f"helper's answer is over {MAX_ANSWER} bytes or cut short")
        try:
            return json.loads(got.body)
        except ValueError as exc:
            raise HelperError(f"helper answered non-JSON: {got.body[:200]!r}") from exc
