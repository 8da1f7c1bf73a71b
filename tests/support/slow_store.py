"""Stores that take a while: transactions (concurrent writers all read before any commits), read barriers."""

from __future__ import annotations

import asyncio

from minik8s.store.base import LocalStore
from minik8s.store.state import Command, Result


class SlowCommits(LocalStore):
    """LocalStore with `delay` seconds before each transaction (the race a replicated store widens)."""

    delay = 0.02

    async def apply(self, command: Command) -> Result:
        if command.get("op") == "txn":
            await asyncio.sleep(self.delay)
        return await super().apply(command)


class SlowBarrier(LocalStore):
    """LocalStore whose read barrier takes `delay` seconds, as a follower's does while its no-op commits
    (longer after a burst of writes): a write may commit while a read, or a watch's start, waits for it."""

    delay = 0.3

    async def barrier(self) -> None:
        await asyncio.sleep(self.delay)
