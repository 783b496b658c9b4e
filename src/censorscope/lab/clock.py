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
