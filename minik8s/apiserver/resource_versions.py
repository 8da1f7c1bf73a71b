"""Reads "at least as new as resourceVersion N": a bounded wait, then Kubernetes' "Too large resource version".

A get, list or watch may name a resourceVersion the reply must not be older than. After the read
barrier this replica has applied everything committed; if it is still behind N, N was not yet
written anywhere (or this replica lags). Kubernetes' watch cache waits up to 3 seconds for it and
then answers 504 Timeout with a `ResourceVersionTooLarge` cause and Retry-After 1, which client-go's
reflector knows to relist on. minik8s does the same instead of answering an older state as if it
were N (a wrong answer) or waiting without end (a request that hangs).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from minik8s.apiserver import errors

WAIT_SECONDS = 3.0  # Kubernetes' watch cache blockTimeout
POLL_SECONDS = 0.05
RETRY_AFTER_SECONDS = 1  # Kubernetes' resourceVersionTooHighRetrySeconds
TOO_LARGE_CAUSE = "ResourceVersionTooLarge"


def too_large(wanted: int, current: int) -> errors.StatusError:
    """Kubernetes' NewTooLargeResourceVersionError."""
    return errors.StatusError(
        504, "Timeout", f"Timeout: Too large resource version: {wanted}, current: {current}",
        details={"causes": [{"reason": TOO_LARGE_CAUSE, "message": "Too large resource version"}],
                 "retryAfterSeconds": RETRY_AFTER_SECONDS},
        retry_after=RETRY_AFTER_SECONDS)


async def wait_for_revision(revision: Callable[[], int], wanted: int, *, timeout: float = WAIT_SECONDS) -> None:
    """Return once `revision()` reaches `wanted`; after `timeout` seconds, raise 504 Too large resource version."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while revision() < wanted:
        if loop.time() >= deadline:
            raise too_large(wanted, revision())
        await asyncio.sleep(POLL_SECONDS)
