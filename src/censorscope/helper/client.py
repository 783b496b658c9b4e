"""The probe's side of the control helper: asks it for control measurements, over HTTPS
with the helper's token, checking the helper's certificate by its pinned SHA-256
(`https://HOST:PORT/#sha256=HEX`, as `helper serve` prints it) or, without a pin, by the
system's CAs."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import re
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import h11

from censorscope.errors import HelperError
from censorscope.probe.http import fetch
from censorscope.probe.stream import PlainStream
from censorscope.records import Measurement, Response, Target

TOKEN_ENV = "CENSORSCOPE_HELPER_TOKEN"  # where the helper and the probe find the token
MAX_ANSWER = 8 * 1024 * 1024  # a measurement as JSON is a few KB; more is not a helper
AT_ONCE = 4  # requests in flight where the helper does not say its limit (its default)
RETRIES = 3  # a 429 or 503 with Retry-After is waited out and asked again, this many times
LONGEST_WAIT = 10.0  # seconds; a longer Retry-After is not waited for
_PIN = re.compile(r"sha256=([0-9a-fA-F]{64})")


class HelperClient:
    """Asks a helper for control measurements. Failures become None (no control)."""

    def __init__(self, base_url: str, token: str = "", timeout: float = 30.0) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "https" or not parts.hostname:
            raise HelperError(
                f"{base_url!r}: give the helper as https://HOST:PORT/#sha256=PIN (as `helper"
                " serve` prints it), or https://HOST:PORT/ for a certificate a CA signed"
            )
        pin = _PIN.fullmatch(parts.fragment) if parts.fragment else None
        if parts.fragment and pin is None:
            raise HelperError(f"{base_url!r}: the part after # must be sha256=<64 hex digits>")
        self.host, self.port = parts.hostname, parts.port or 443
        self.pin = pin.group(1).lower() if pin else None
        self.token, self.timeout = token, timeout
        self.errors: list[str] = []
        # a probe measures many targets at once; the helper refuses more than its limit
        # from one client (429), so the probe keeps within it (its /health says it)
        self._gate: asyncio.Semaphore | None = None
        self._sizing = asyncio.Lock()
        self._pace = _Pace()
        if self.pin:  # the pin is the trust: a self-signed certificate for any name
            self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            self._tls.check_hostname = False
            self._tls.verify_mode = ssl.CERT_NONE
        else:
            self._tls = ssl.create_default_context()

    @property
    def auth(self) -> tuple[str, str]:
        return ("Authorization", f"Bearer {self.token}")

    async def health(self) -> dict:
        got = await self._call("GET", "/health", None)
        if self._gate is None:
            limits = got.get("limits") if isinstance(got, dict) else None
            limits = limits if isinstance(limits, dict) else {}
            at_once = _number(limits.get("concurrent"), 1, 1024) or AT_ONCE
            self._gate = asyncio.Semaphore(int(at_once))
            self._pace.know(_number(limits.get("rate"), 0.01, 1e6),
                            _number(limits.get("burst"), 1, 1e6), time.monotonic())  # fmt: skip
        return got

    async def _at_once(self) -> asyncio.Semaphore:
        """The bound on requests in flight, from the helper's /health, asked once."""
        async with self._sizing:
            if self._gate is None:
                with contextlib.suppress(HelperError):  # the measurement will say why
                    await self.health()
            if self._gate is None:
                self._gate = asyncio.Semaphore(AT_ONCE)
            return self._gate

    async def __call__(self, target: Target) -> Measurement | None:
        try:
            async with await self._at_once():
                got = await self._call("POST", "/measure", {"url": target.url})
            return Measurement.from_dict(got)
        except (HelperError, KeyError, TypeError, ValueError) as exc:
            self.errors.append(f"{target.url}: {exc}")
            return None

    async def _call(self, method: str, path: str, obj: object) -> dict:
        """The helper's JSON answer; its "slow down" (429) and "busy" (503) waited out as
        its Retry-After asks, a bounded number of times."""
        for _ in range(RETRIES):
            got = await self._ask(method, path, obj)
            wait = _retry_after(got) if got.status in (429, 503) else None
            if wait is None:
                break
            await asyncio.sleep(wait)
        else:
            got = await self._ask(method, path, obj)
        if got.status == 401:
            raise HelperError("the helper refused the token: give its token (--control-token)")
        if got.status != 200:
            raise HelperError(f"helper answered {got.status}: {got.body[:200]!r}")
        if not got.complete:
            raise HelperError(f"helper's answer is over {MAX_ANSWER} bytes or cut short")
        try:
            return json.loads(got.body)
        except ValueError as exc:
            raise HelperError(f"helper answered non-JSON: {got.body[:200]!r}") from exc

    async def _ask(self, method: str, path: str, obj: object) -> Response:
        await asyncio.sleep(self._pace.wait(time.monotonic()))
        body = json.dumps(obj).encode() if obj is not None else b""
        headers = [
            ("Host", self.host),
            ("Content-Length", str(len(body))),
            ("Content-Type", "application/json"),
            self.auth,
        ]
        try:
            async with asyncio.timeout(self.timeout):
                reader, writer = await asyncio.open_connection(
                    self.host, self.port, ssl=self._tls, server_hostname=self.host
                )
                conn = PlainStream(reader, writer)
                try:
                    self._check_pin(writer)
                    got = await fetch(conn, method, path, headers, body, keep=MAX_ANSWER)
                finally:
                    conn.abort()
        except (OSError, TimeoutError, h11.ProtocolError) as exc:
            raise HelperError(f"helper {self.host}:{self.port} unreachable: {exc!r}") from exc
        return got

    def _check_pin(self, writer: asyncio.StreamWriter) -> None:
        if self.pin is None:
            return
        obj = writer.get_extra_info("ssl_object")
        der = obj.getpeercert(binary_form=True) if obj is not None else None
        got = hashlib.sha256(der or b"").hexdigest()
        if not hmac.compare_digest(got, self.pin):
            # a censor's interception, or another helper: nothing is sent to it
            raise HelperError(
                f"helper {self.host}:{self.port} showed a certificate of SHA-256 {got}, not "
                "the pinned one: someone on the path, or the wrong helper"
            )


def _retry_after(got: Response) -> float | None:
    """Seconds the helper asked to wait (Retry-After in seconds), None if it did not or
    asked for longer than LONGEST_WAIT."""
    value = got.headers.get("retry-after", "")  # h11 gives header names in lower case
    try:
        wait = float(value)
    except ValueError:
        return None
    return wait if 0 <= wait <= LONGEST_WAIT else None


def _number(value: object, low: float, high: float) -> float | None:
    """A limit the helper said, if it is a number in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if low <= value <= high else None


@dataclass(slots=True)
class _Pace:
    """The helper's token bucket for this client (`rate` requests a second, up to `burst`),
    kept here too, so that requests go out when the helper will take them. Unknown rate:
    no pacing (the helper's 429 and Retry-After still hold)."""

    rate: float | None = None
    burst: float = 0.0
    tokens: float = 0.0
    at: float = 0.0

    def know(self, rate: float | None, burst: float | None, now: float) -> None:
        if rate is not None:
            # the request that asked (/health) took a token already
            self.rate, self.burst = rate, burst or rate
            self.tokens, self.at = self.burst - 1, now

    def wait(self, now: float) -> float:
        """Seconds until the next request may go: a token is taken for it now (the bucket
        runs below zero for requests that wait their turn)."""
        if self.rate is None:
            return 0.0
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate) - 1
        self.at = now
        return max(0.0, -self.tokens / self.rate)
