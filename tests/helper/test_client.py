"""The probe's helper client keeps within the helper's limits for one client address:
controls asked at once all come back, none lost to "slow down" (429)."""

from __future__ import annotations

import asyncio

from censorscope.helper.client import HelperClient
from censorscope.records import Measurement, Target
from tests.conftest import HELPER_TOKEN, helper_process
from tests.helper.test_attacks import site


def _ask(clients: list[HelperClient], base: str) -> list[Measurement | None]:
    async def ask_all() -> list[Measurement | None]:
        return await asyncio.gather(*(c(Target(f"{base}/{i}")) for i, c in enumerate(clients)))

    return asyncio.run(ask_all())


def test_controls_asked_at_once_all_come_back_from_a_strict_helper() -> None:
    """One client, five controls at once, a helper that takes one at a time from a client:
    the client learns the limit from /health and keeps within it (three were 429 before).
    Two clients from one address (two probes on one machine) overrun it together: the
    one told 429 waits the Retry-After and asks again."""
    base, hits, server = site("127.0.0.5", delay=0.2)
    try:
        with helper_process("--allow-private", "127.0.0.5/32", "--client-concurrent", "1") as url:
            one = HelperClient(url, HELPER_TOKEN)
            assert asyncio.run(one.health())["limits"] == {
                "concurrent": 1,
                "rate": 2.0,
                "burst": 20.0,
            }
            got = _ask([one] * 5, base)
            assert one.errors == [] and all(m is not None for m in got)
            assert sorted(hits) == [f"/{i}" for i in range(5)]  # each measured once
            hits.clear()
            a, b = HelperClient(url, HELPER_TOKEN), HelperClient(url, HELPER_TOKEN)
            got = _ask([a, b, a, b], base)
            assert a.errors == b.errors == [] and all(m is not None for m in got)
            assert sorted(hits) == [f"/{i}" for i in range(4)]
    finally:
        server.shutdown()  # type: ignore[attr-defined]


def test_a_list_longer_than_the_helpers_burst_is_paced_not_lost() -> None:
    """Past the helper's burst (10 x its rate) a client is held to the rate: the client
    spaces its requests as the helper's bucket refills, and every control comes back."""
    base, hits, server = site("127.0.0.6")
    try:
        with helper_process("--allow-private", "127.0.0.6/32", "--rate", "1") as url:
            client = HelperClient(url, HELPER_TOKEN)
            got = _ask([client] * 14, base)  # the burst is 10; /health takes one
    finally:
        server.shutdown()  # type: ignore[attr-defined]
    assert client.errors == [] and all(m is not None for m in got)
    assert sorted(hits, key=lambda h: int(h[1:])) == [f"/{i}" for i in range(14)]
