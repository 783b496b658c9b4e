"""The helper faces the public internet: each attack a hostile client would try, against a
real `helper serve` process over HTTPS on loopback."""

from __future__ import annotations

import asyncio
import http.server
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import httpx
import pytest

from censorscope.errors import HelperError
from censorscope.helper.app import spoiled
from censorscope.helper.client import HelperClient
from censorscope.records import DnsQuery, Measurement, TcpConnect
from tests.conftest import HELPER_TOKEN, helper_process

AUTH = {"Authorization": f"Bearer {HELPER_TOKEN}"}


class _Site(http.server.BaseHTTPRequestHandler):
    """A page on a private address; `redirect` sends the client elsewhere first."""

    hits: list[str]
    redirect = ""
    delay = 0.0

    def do_GET(self) -> None:
        self.hits.append(self.path)
        time.sleep(self.delay)
        if self.redirect:
            self.send_response(302)
            self.send_header("Location", self.redirect)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = b"<title>internal secret</title>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def site(address: str, redirect: str = "", delay: float = 0.0) -> tuple[str, list[str], object]:
    hits: list[str] = []
    handler = type("Handler", (_Site,), {"hits": hits, "redirect": redirect, "delay": delay})
    server = http.server.ThreadingHTTPServer((address, 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://{address}:{server.server_address[1]}", hits, server


@pytest.fixture(scope="module")
def helper() -> Iterator[str]:
    """A helper as deployed: nothing private allowed."""
    with helper_process("--timeout", "2") as url:
        yield url


def api(url: str) -> str:
    return url.split("#")[0].rstrip("/")


def client() -> httpx.Client:
    return httpx.Client(verify=False, timeout=20)


def test_no_token_or_a_wrong_one_is_401(helper: str) -> None:
    with client() as c:
        assert c.get(api(helper) + "/health").status_code == 401
        bad = {"Authorization": "Bearer guess"}
        assert c.post(api(helper) + "/measure", headers=bad, json={"url": "https://a.org/"}
                      ).status_code == 401  # fmt: skip
        ok = c.get(api(helper) + "/health", headers=AUTH)
        assert ok.status_code == 200 and ok.json()["throughput_port"] > 0


def test_loopback_and_a_name_for_it_are_never_fetched(helper: str) -> None:
    base, hits, server = site("127.0.0.1")
    port = urlsplit(base).port
    try:
        with client() as c:
            for url in (f"{base}/secret", f"http://localhost:{port}/secret"):
                r = c.post(api(helper) + "/measure", headers=AUTH, json={"url": url})
                assert r.status_code == 403 and "private or reserved" in r.text
    finally:
        server.shutdown()  # type: ignore[attr-defined]
    assert hits == []


def test_bad_requests_get_4xx_and_the_helper_lives_on(helper: str) -> None:
    with client() as c:
        m = api(helper) + "/measure"
        assert c.post(m, headers=AUTH, content=b"x" * 70_000).status_code == 413
        assert c.post(m, headers=AUTH, content=b"[" * 60_000).status_code == 400
        assert c.post(m, headers=AUTH, json={"url": 5}).status_code == 400
        assert c.post(m, headers=AUTH, json={"url": "file:///etc/passwd"}).status_code == 400
        assert c.post(m, headers=AUTH, content=b"\xff\xfe").status_code == 400
        assert c.get(m, headers=AUTH).status_code == 404
        assert c.get(api(helper) + "/health", headers=AUTH).status_code == 200


def test_the_throughput_port_streams_only_to_token_holders(helper: str) -> None:
    with client() as c:
        port = c.get(api(helper) + "/health", headers=AUTH).json()["throughput_port"]
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE

    def get(headers: str) -> bytes:
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        with ctx.wrap_socket(raw, server_hostname="twitter.com") as s:
            s.sendall(f"GET /__bytes/5000 HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode())
            out = b""
            while chunk := s.recv(65536):
                out += chunk
                if len(out) > 5000:
                    break
            return out

    assert get("").startswith(b"HTTP/1.1 401")
    answer = get(f"Authorization: Bearer {HELPER_TOKEN}\r\n")
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"x" * 100)


def test_a_wrong_pin_is_refused_before_anything_is_sent(helper: str) -> None:
    wrong = helper.split("#")[0] + "#sha256=" + "0" * 64
    with pytest.raises(HelperError, match="not the pinned one"):
        asyncio.run(HelperClient(wrong, HELPER_TOKEN).health())
    with pytest.raises(HelperError, match="https://"):
        HelperClient(helper.replace("https://", "http://"), HELPER_TOKEN)
    assert asyncio.run(HelperClient(helper, HELPER_TOKEN).health())["ok"] is True
    with pytest.raises(HelperError, match="refused the token"):
        asyncio.run(HelperClient(helper, "guess").health())


def test_a_slow_client_does_not_hold_others_up(helper: str) -> None:
    port = urlsplit(helper).port
    stop = threading.Event()

    def trickle() -> None:  # one byte at a time, never finishing its request head
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        with ctx.wrap_socket(raw) as s:
            for b in b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100:
                if stop.wait(0.1):
                    return
                s.sendall(bytes([b]))

    slow = [threading.Thread(target=trickle) for _ in range(5)]
    for t in slow:
        t.start()
    try:
        time.sleep(0.5)
        with client() as c:
            for _ in range(5):
                started = time.monotonic()
                assert c.get(api(helper) + "/health", headers=AUTH).status_code == 200
                assert time.monotonic() - started < 2.0
    finally:
        stop.set()
        for t in slow:
            t.join(10)


def test_a_client_that_never_finishes_its_head_is_let_go(helper: str) -> None:
    """A byte every 0.5 s: the connection is closed after the head's 10 s, first on a
    fresh connection, then on one kept alive after an answer."""
    port = urlsplit(helper).port
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    for kept_alive in (False, True):
        raw = socket.create_connection(("127.0.0.1", port), timeout=20)
        with ctx.wrap_socket(raw) as s:
            if kept_alive:
                s.sendall(f"GET /health HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {HELPER_TOKEN}"
                          "\r\n\r\n".encode())  # fmt: skip
                assert s.recv(65536).startswith(b"HTTP/1.1 200")
            started, closed = time.monotonic(), False
            for b in b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 60:
                try:
                    s.sendall(bytes([b]))
                    s.settimeout(0.5)
                    if s.recv(1024) == b"":
                        closed = True
                        break
                except TimeoutError:
                    continue
                except (ConnectionError, ssl.SSLError):
                    closed = True
                    break
            took = time.monotonic() - started
        assert closed and 9 < took < 14, (kept_alive, took)


def test_too_many_requests_are_429_not_measured() -> None:
    with helper_process("--rate", "1") as url, client() as c:
        codes = [c.get(api(url) + "/health", headers=AUTH).status_code for _ in range(30)]
    assert codes[:5] == [200] * 5  # a burst is fine ...
    assert 429 in codes  # ... a flood is not


def test_a_redirect_into_a_private_network_is_not_followed_and_busy_is_503() -> None:
    inner, inner_hits, s1 = site("127.0.0.3")
    outer, outer_hits, s2 = site("127.0.0.2", redirect=f"{inner}/secret")
    slow, _, s3 = site("127.0.0.4", delay=1.5)
    allowed = ["--allow-private", "127.0.0.2/32", "--allow-private", "127.0.0.4/32"]
    try:
        with helper_process(*allowed, "--max-concurrent", "1") as url, client() as c:
            r = c.post(api(url) + "/measure", headers=AUTH, json={"url": outer + "/"})
            assert r.status_code == 200 and "internal secret" not in r.text
            assert outer_hits == ["/"] and inner_hits == []

            def ask(_: int) -> int:
                with client() as c2:
                    return c2.post(api(url) + "/measure", headers=AUTH,
                                   json={"url": slow + "/"}).status_code  # fmt: skip

            with ThreadPoolExecutor(3) as pool:
                codes = sorted(pool.map(ask, range(3)))
            assert codes[0] == 200 and 503 in codes  # one measures, the others hear "busy"
    finally:
        for s in (s1, s2, s3):
            s.shutdown()  # type: ignore[attr-defined]


def test_a_measurement_spoiled_by_the_helpers_own_trouble_is_never_a_control() -> None:
    m = Measurement("https://a.org/", "control", 0, "ZZ", None)  # type: ignore[arg-type]
    m.queries.append(DnsQuery("a.org", "r", "udp", ["93.184.216.34"], None))
    assert spoiled(m) is None
    m.tcp_connect.append(TcpConnect("93.184.216.34", 443, "unknown_failure: Too many open files"))
    assert spoiled(m) == "unknown_failure: Too many open files"
