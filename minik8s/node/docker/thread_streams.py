"""Blocking streams (Docker events, logs, pull progress) read in a thread, consumed by asyncio.

The docker SDK only offers blocking generators over a long-lived HTTP response. Reading one
on the event loop would freeze the agent, and reading it through the default executor would
pin one of its few workers for as long as the stream lasts. So each stream gets its own
daemon thread that hands items to the loop through an `asyncio.Queue`, with a small credit
semaphore as back-pressure so a chatty container cannot fill memory while a slow client
reads its logs.

Stopping must not leak the thread: when the consumer leaves (cancelled, closed, or done),
the underlying stream is closed, which shuts the HTTP socket down and wakes the thread out
of its blocking read; a thread waiting for credit notices the stop within a fraction of a
second.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import threading
from collections.abc import AsyncGenerator, Callable, Iterator
from typing import Any, Generic, Protocol, TypeVar, cast

logger = logging.getLogger(__name__)

ItemT = TypeVar("ItemT")
ItemT_co = TypeVar("ItemT_co", covariant=True)

_CREDIT_POLL_SECONDS = 0.2


class ClosableStream(Protocol[ItemT_co]):
    """A blocking iterator whose `close()` may be called from another thread to end it."""

    def __iter__(self) -> Iterator[ItemT_co]: ...

    def close(self) -> None: ...


class _Message(enum.Enum):
    ITEM = "item"
    END = "end"
    ERROR = "error"


class _StreamThread(Generic[ItemT]):
    """One stream: the reading thread, its queue towards the loop, and the stop switch."""

    def __init__(self, open_stream: Callable[[], ClosableStream[ItemT]], *, name: str, max_pending: int) -> None:
        self._open_stream = open_stream
        self._loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[tuple[_Message, object]] = asyncio.Queue()
        self.credits = threading.Semaphore(max_pending)
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._stream: ClosableStream[ItemT] | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """End the stream from the loop side: idempotent, never blocks for long."""
        with self._lock:
            if self._stopped.is_set():
                return
            self._stopped.set()
            stream = self._stream
        if stream is not None:
            _close_quietly(stream)
        self.queue.put_nowait((_Message.END, None))

    def _deliver(self, kind: _Message, value: object) -> None:
        try:
            self._loop.call_soon_threadsafe(self.queue.put_nowait, (kind, value))
        except RuntimeError:  # the loop is closed: nobody is listening any more
            self._stopped.set()

    def _wait_for_credit(self) -> bool:
        while not self.credits.acquire(timeout=_CREDIT_POLL_SECONDS):
            if self._stopped.is_set():
                return False
        return not self._stopped.is_set()

    def _run(self) -> None:
        try:
            stream = self._open_stream()
        except Exception as exc:
            if not self._stopped.is_set():
                self._deliver(_Message.ERROR, exc)
            return
        with self._lock:
            if self._stopped.is_set():
                _close_quietly(stream)
                return
            self._stream = stream
        try:
            for item in stream:
                if not self._wait_for_credit():
                    return
                self._deliver(_Message.ITEM, item)
            if not self._stopped.is_set():
                self._deliver(_Message.END, None)
        except Exception as exc:
            if not self._stopped.is_set():
                self._deliver(_Message.ERROR, exc)
        finally:
            _close_quietly(stream)


def _close_quietly(stream: ClosableStream[object]) -> None:
    try:
        stream.close()
    except Exception:
        logger.debug("closing a stream failed", exc_info=True)


class ThreadStreams:
    """Every stream opened through it, so that `close_all` can end them on shutdown."""

    def __init__(self) -> None:
        self._active: set[_StreamThread[Any]] = set()

    async def iterate(
        self,
        open_stream: Callable[[], ClosableStream[ItemT]],
        *,
        name: str,
        translate_error: Callable[[Exception], Exception],
        max_pending: int = 64,
    ) -> AsyncGenerator[ItemT, None]:
        """Items of the stream `open_stream()` returns (it runs in the thread, so it may block).

        Ends when the stream ends or `close_all` is called; an exception of the stream (or of
        opening it) is raised here as `translate_error(exc)`.
        """
        worker: _StreamThread[ItemT] = _StreamThread(open_stream, name=name, max_pending=max_pending)
        self._active.add(worker)
        worker.start()
        try:
            while True:
                kind, value = await worker.queue.get()
                if kind is _Message.ITEM:
                    worker.credits.release()
                    yield cast(ItemT, value)
                elif kind is _Message.END:
                    return
                else:
                    assert isinstance(value, Exception)
                    raise translate_error(value) from value
        finally:
            self._active.discard(worker)
            worker.stop()

    def close_all(self) -> None:
        for worker in list(self._active):
            worker.stop()
