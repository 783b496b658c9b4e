"""A time limit on request heads for the servers we run on uvicorn (the helper, the
dashboard).

uvicorn limits a head's size and an idle keep-alive connection, not the time a client
takes to send its head: one trickling a byte a second keeps a connection (of the
helper's few) for as long as it likes, and any byte it sends also cancels the keep-alive
timer. Here the head, the first or the next on a kept-alive connection, must arrive whole
within HEAD_SECONDS, or the connection is closed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

HEAD_SECONDS = 10.0


class HeadTimeLimit(H11Protocol):
    """uvicorn's h11 protocol (`uvicorn.Config(http=HeadTimeLimit)`), with a deadline for
    each request head."""

    head_seconds = HEAD_SECONDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_head()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        cycle = self.cycle  # the last request's until the next head is whole
        if cycle is not None and not cycle.response_complete and self._head_timer is not None:
            self._head_timer.cancel()  # a whole head came: the app's limits apply now
            self._head_timer = None

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._await_head()  # the next head on this connection, on the same terms

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        super().connection_lost(exc)

    def _await_head(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        self._head_timer = self.loop.call_later(self.head_seconds, self._too_slow)

    def _too_slow(self) -> None:
        self._head_timer = None
        if self.cycle is None or self.cycle.response_complete:
            self.transport.close()
