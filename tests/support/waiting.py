"""The one way a test waits: poll a check until it holds, with a deadline and a message saying what for.

A test never sleeps to let something happen; it states the condition and how long it may take.
`eventually` is the flavour for a test's event loop (the check may be a coroutine function, so it
can ask the apiserver), `wait_for` the flavour for plain threads. Both return what the check
returned once it was truthy, so a test can wait for an object and use it. Transport errors count as
"not yet": a server that is starting or restarting is what many of these waits are waiting for.
The poll interval starts short (a pure test's fakes answer in microseconds) and grows to
`interval`, so a long wait does not flood a real server.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

import httpx

T = TypeVar("T")
Retried = tuple[type[BaseException], ...]
RETRIED: Retried = (httpx.TransportError,)
FIRST_INTERVAL = 0.001


def _timed_out(what: str, timeout: float, last: Any, describe: Callable[[], str] | None) -> AssertionError:
    details = f"\n{describe()}" if describe is not None else ""
    return AssertionError(f"timed out after {timeout:g} s waiting for {what} (last: {last!r}){details}")


@overload
async def eventually(what: str, check: Callable[[], Awaitable[T | None]], *, timeout: float = ...,
                     interval: float = ..., describe: Callable[[], str] | None = ..., retry_on: Retried = ...) -> T: ...


@overload
async def eventually(what: str, check: Callable[[], T | None], *, timeout: float = ...,
                     interval: float = ..., describe: Callable[[], str] | None = ..., retry_on: Retried = ...) -> T: ...


async def eventually(what: str, check: Callable[[], Any], *,
                     timeout: float = 30.0, interval: float = 0.05, describe: Callable[[], str] | None = None,
                     retry_on: Retried = RETRIED) -> Any:
    """Poll `check` (plain or async) until it returns something truthy, and return that.

    Fails with `what`, the last value (or error) and `describe()` once `timeout` seconds have passed.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    pause = min(FIRST_INTERVAL, interval)
    last: Any = None
    while True:
        try:
            last = check()
            if inspect.isawaitable(last):
                last = await last
        except retry_on as error:
            last = error
        else:
            if last:
                return last  # type: ignore[no-any-return]
        if loop.time() >= deadline:
            raise _timed_out(what, timeout, last, describe)
        await asyncio.sleep(pause)
        pause = min(pause * 2, interval)


def wait_for(what: str, probe: Callable[[], T | None], *, timeout: float = 30.0, interval: float = 0.1,
             describe: Callable[[], str] | None = None,
             retry_on: Retried = RETRIED) -> T:
    """Poll `probe` from a plain thread until it returns something truthy, and return that.

    Fails with `what`, the last value (or error) and `describe()` once `timeout` seconds have passed.
    """
    deadline = time.monotonic() + timeout
    pause = min(FIRST_INTERVAL, interval)
    last: Any = None
    while True:
        try:
            last = probe()
        except retry_on as error:
            last = error
        else:
            if last:
                return last  # type: ignore[no-any-return]
        if time.monotonic() >= deadline:
            raise _timed_out(what, timeout, last, describe)
        time.sleep(pause)
        pause = min(pause * 2, interval)
