"""A store whose transactions take a while, so that concurrent writers all read before any commits."""

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
