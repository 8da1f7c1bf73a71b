"""`run_daemon`: the `main` every daemon shares, from logging set-up to its exit code.

It configures logging from the flags of `logs.py`, runs the daemon's `serve` coroutine in a
fresh event loop and stops it gracefully on SIGTERM or SIGINT: the coroutine is cancelled, so
its `finally` blocks close listeners, journals and connections, and the process exits 0.
Exit codes, alike for every daemon:

- 0: stopped by SIGTERM or SIGINT, or `serve` returned (e.g. `minik8s-proxy --cleanup` is done);
- 1: the daemon failed: a `StartupError` or one of the daemon's own fatal errors (a port already
  in use, a missing tool, …) is logged as one line, anything else with its traceback;
- 2: bad flags, from argparse before `run_daemon` is reached.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable

from minik8s.daemon.logs import configure_logging

log = logging.getLogger(__name__)

EXIT_STOPPED = 0
EXIT_FAILED = 1
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StartupError(Exception):
    """The daemon cannot run; the message says why, in one line for the log."""


def run_daemon(serve: Callable[[], Awaitable[None]], args: argparse.Namespace, *, name: str,
               fatal: tuple[type[Exception], ...] = (), fast_loop: bool = False) -> int:
    """Run `serve` until it returns or a stop signal arrives; the process's exit code.

    `fatal` are the daemon's expected failures, logged as `name: message` without a traceback;
    `fast_loop` runs the event loop on uvloop when it is installed (the HTTP servers use it).
    """
    configure_logging(args)
    if fast_loop:
        install_uvloop()
    try:
        asyncio.run(until_stopped(serve, name=name))
    except Exception as error:
        report_failure(error, name=name, expected=(StartupError, *fatal))
        return EXIT_FAILED
    return EXIT_STOPPED


def report_failure(error: Exception, *, name: str, expected: tuple[type[Exception], ...]) -> None:
    """Expected failures (also when a task group gathered them) in one line each, others with a traceback."""
    causes = list(leaf_exceptions(error))
    if all(isinstance(cause, expected) for cause in causes):
        for cause in causes:
            log.error("%s: %s", name, cause)
    else:
        log.error("%s failed", name, exc_info=error)


def leaf_exceptions(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in leaf_exceptions(inner)]
    return [error]


async def until_stopped(serve: Callable[[], Awaitable[None]], *, name: str) -> None:
    """Await `serve`, cancelling it at the first SIGTERM or SIGINT (which is then not an error)."""
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(serve())
    received: list[signal.Signals] = []

    def stop(signum: signal.Signals) -> None:
        if not received:
            log.info("%s: %s received, stopping", name, signum.name)
        received.append(signum)
        task.cancel()

    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, stop, signum)
    try:
        await task
    except asyncio.CancelledError:
        if not received:
            raise
    finally:
        for signum in STOP_SIGNALS:
            loop.remove_signal_handler(signum)


def install_uvloop() -> None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        return
    uvloop.install()
