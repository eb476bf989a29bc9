"""Server-sent events: a small fan-out bus from worker threads to every connected browser."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from typing import Any

__all__ = ["EventBus"]


class EventBus:
    """Fan-out of ``(event, data)`` pairs to subscribers (one asyncio queue each).

    :meth:`publish` may be called from any thread; a slow subscriber whose queue is full loses
    events rather than slowing the publisher (the dashboard re-reads state on the next event).
    """

    def __init__(self, maxsize: int = 256) -> None:
        self.maxsize = maxsize
        self._subs: set[asyncio.Queue] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._guard = threading.Lock()
        self.published = 0

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """The event loop subscribers live on (set at startup)."""
        self._loop = loop

    def publish(self, event: str, data: dict[str, Any]) -> None:
        """Send ``data`` (JSON-able) as SSE ``event`` to every subscriber."""
        self.published += 1
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        message = (event, json.dumps(data, default=str, allow_nan=False))
        with self._guard:
            subs = list(self._subs)
        for q in subs:
            loop.call_soon_threadsafe(_offer, q, message)

    async def stream(self, limit: int | None = None, heartbeat_s: float = 15.0) -> AsyncIterator[str]:
        """SSE text frames; a comment line every ``heartbeat_s`` keeps proxies from closing the stream."""
        q: asyncio.Queue = asyncio.Queue(self.maxsize)
        with self._guard:
            self._subs.add(q)
        sent = 0
        try:
            yield ": connected\n\n"
            while limit is None or sent < limit:
                try:
                    event, data = await asyncio.wait_for(q.get(), heartbeat_s)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                sent += 1
                yield f"event: {event}\ndata: {data}\n\n"
        finally:
            with self._guard:
                self._subs.discard(q)

    @property
    def subscribers(self) -> int:
        return len(self._subs)


def _offer(q: asyncio.Queue, message: tuple[str, str]) -> None:
    if not q.full():
        q.put_nowait(message)
