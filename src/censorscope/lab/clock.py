"""The lab's virtual clock: which rules are in force is decided by this time, not the
wall clock, so a test can jump to 2022-03-14 without waiting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    def __init__(self, at: datetime | None = None) -> None:
        self.now = at or datetime.now(UTC)

    def set(self, at: datetime) -> None:
        self.now = at

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class FlowClocks:
    """Which virtual clock a connection to the origin farm runs on. The farm serves every
    clock slot of a campaign at once; the middlebox of a slot registers its upstream
    connection (source address and port) while it lasts, so that what a site answers
    can depend on the time (content a service withholds from a date on)."""

    def __init__(self, default: Clock) -> None:
        self.default = default  # for a connection not registered (HTTP/3, say)
        self._live: dict[tuple[str, int], Clock] = {}

    def register(self, key: tuple[str, int], clock: Clock) -> None:
        self._live[key] = clock

    def forget(self, key: tuple[str, int]) -> None:
        self._live.pop(key, None)

    def now(self, key: tuple[str, int]) -> datetime:
        return self._live.get(key, self.default).now
