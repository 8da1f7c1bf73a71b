"""Leader election over a coordination.k8s.io/v1 Lease, as client-go does it.

Several copies of the scheduler or controller-manager may run; one at a time must act
(docs/architecture.md, "Processes"). Whoever holds the Lease leads: it acquires the Lease by creating it or,
when the holder stopped renewing, by an update guarded by resourceVersion (so of two
contenders exactly one wins), renews it every retry period, and stops leading when it has
not renewed for the renew deadline, which is shorter than the lease so that it stops
before anyone else may start. Expiry is judged by the local monotonic time at which this
elector last saw the Lease change, never by comparing clocks across machines.

Deadlines use `asyncio.timeout`, not `asyncio.wait_for`: on Python 3.11 `wait_for` can
swallow a cancellation that arrives as its inner call completes, and an elector that
ignores cancellation keeps leading.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Protocol

from minik8s.api.meta import JsonObject, format_micro_time, spec_of
from minik8s.api.registry import REGISTRY, ResourceKind
from minik8s.client.errors import AlreadyExists, ApiError, Conflict, NotFound

logger = logging.getLogger(__name__)


_LEASE = REGISTRY.by_kind("coordination.k8s.io/v1", "Lease")
if _LEASE is None:
    raise LookupError("the registry has no coordination.k8s.io/v1 Lease")
LEASE: ResourceKind = _LEASE


class LeaseApi(Protocol):
    """The calls an elector makes (ApiClient has them; tests use fakes)."""

    async def get(self, kind: ResourceKind, name: str, *, namespace: str | None = None) -> JsonObject: ...

    async def create(self, kind: ResourceKind, obj: JsonObject, *, namespace: str | None = None) -> JsonObject: ...

    async def update(self, kind: ResourceKind, obj: JsonObject) -> JsonObject: ...


class LeaderElector:
    """Holds one Lease for `identity` while `lead()` runs.

    `run(lead)` waits to acquire, runs `lead()` as a task and cancels it when leadership is
    lost, then tries to acquire again. It returns (releasing the Lease) only when `lead()`
    returns by itself, and re-raises what `lead()` raised. Cancelling `run` cancels `lead()`
    and, with `release_on_cancel`, hands the Lease back at once so a standby takes over
    without waiting for expiry.
    """

    def __init__(
        self,
        client: LeaseApi,
        *,
        lease_name: str,
        namespace: str = "kube-system",
        identity: str,
        lease_duration: float = 15.0,
        renew_deadline: float = 10.0,
        retry_period: float = 2.0,
        release_on_cancel: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not identity:
            raise ValueError("a leader elector needs an identity")
        if not lease_duration > renew_deadline > retry_period > 0:
            raise ValueError("need lease_duration > renew_deadline > retry_period > 0")
        self.lease_name = lease_name
        self.namespace = namespace
        self.identity = identity
        self._client = client
        self._lease_duration = lease_duration
        self._renew_deadline = renew_deadline
        self._retry_period = retry_period
        self._release_on_cancel = release_on_cancel
        self._clock = clock
        self._observed_spec: JsonObject | None = None
        self._observed_time = 0.0
        self._lease: JsonObject | None = None
        self._is_leader = False

    @property
    def is_leader(self) -> bool:
        return self._is_leader

    @property
    def observed_holder(self) -> str:
        """The holder in the Lease as last seen ("" when free or never seen)."""
        return str((self._observed_spec or {}).get("holderIdentity") or "")

    # -- one attempt ----------------------------------------------------------------------------

    async def try_acquire_or_renew(self) -> bool:
        """One attempt to take or keep the Lease; True if this elector holds it now."""
        now = format_micro_time(datetime.now(UTC))
        try:
            current = await self._client.get(LEASE, self.lease_name, namespace=self.namespace)
        except NotFound:
            return await self._create(now)
        self._observe(current)
        spec = spec_of(current)
        holder = str(spec.get("holderIdentity") or "")
        if holder and holder != self.identity and not self._observed_lease_expired():
            return False
        transitions = int(spec.get("leaseTransitions") or 0)
        if holder == self.identity:
            acquire_time = str(spec.get("acquireTime") or now)
        else:
            acquire_time, transitions = now, transitions + 1
        wanted = copy.deepcopy(current)
        wanted["spec"] = {**spec, **self._spec(acquire_time=acquire_time, renew_time=now, transitions=transitions)}
        try:
            updated = await self._client.update(LEASE, wanted)
        except Conflict:
            logger.debug("lease %s/%s: lost a race to update", self.namespace, self.lease_name)
            return False
        self._observe(updated)
        return True

    async def _create(self, now: str) -> bool:
        lease = {
            "apiVersion": LEASE.api_version,
            "kind": LEASE.kind,
            "metadata": {"name": self.lease_name, "namespace": self.namespace},
            "spec": self._spec(acquire_time=now, renew_time=now, transitions=0),
        }
        try:
            created = await self._client.create(LEASE, lease, namespace=self.namespace)
        except AlreadyExists:
            self._observe(await self._client.get(LEASE, self.lease_name, namespace=self.namespace))
            return False
        self._observe(created)
        return True

    def _spec(self, *, acquire_time: str, renew_time: str, transitions: int) -> JsonObject:
        return {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": max(1, math.ceil(self._lease_duration)),
            "acquireTime": acquire_time,
            "renewTime": renew_time,
            "leaseTransitions": transitions,
        }

    def _observe(self, lease: JsonObject) -> None:
        """Remember the Lease; restart the expiry clock when its spec changed since last seen."""
        spec = lease.get("spec") or {}
        if spec != self._observed_spec:
            self._observed_spec = copy.deepcopy(spec)
            self._observed_time = self._clock()
        self._lease = lease

    def _observed_lease_expired(self) -> bool:
        seconds = (self._observed_spec or {}).get("leaseDurationSeconds")
        duration = float(seconds) if isinstance(seconds, int | float) and seconds > 0 else self._lease_duration
        return self._observed_time + duration <= self._clock()

    # -- the loop -------------------------------------------------------------------------------

    async def run(self, lead: Callable[[], Awaitable[None]]) -> None:
        """Lead whenever holding the Lease; see the class docstring for when this returns."""
        try:
            while True:
                await self._acquire()
                lead_task = asyncio.create_task(_as_coroutine(lead), name=f"lead-{self.lease_name}")
                try:
                    lost = await self._renew_while_leading(lead_task)
                finally:
                    self._is_leader = False
                    lead_task.cancel()
                    await asyncio.gather(lead_task, return_exceptions=True)
                if not lost:
                    await self.release()
                    lead_task.result()
                    return
                logger.warning("lease %s/%s: leadership lost by %s", self.namespace, self.lease_name,
                               self.identity)
        except asyncio.CancelledError:
            if self._release_on_cancel:
                await self.release()
            raise

    async def _acquire(self) -> None:
        while True:
            try:
                async with asyncio.timeout(self._renew_deadline):
                    acquired = await self.try_acquire_or_renew()
            except (ApiError, TimeoutError) as exc:
                logger.info("lease %s/%s: cannot acquire yet: %r", self.namespace, self.lease_name, exc)
                acquired = False
            if acquired:
                self._is_leader = True
                logger.info("lease %s/%s: %s is the leader", self.namespace, self.lease_name, self.identity)
                return
            await asyncio.sleep(self._retry_period * random.uniform(1.0, 1.2))

    async def _renew_while_leading(self, lead_task: asyncio.Task[None]) -> bool:
        """Renew every retry period; False when lead() ended, True when leadership is lost:
        no renewal for renew_deadline, or the Lease seen held by someone else (no use waiting)."""
        last_renewal = self._clock()
        while True:
            await asyncio.wait({lead_task}, timeout=self._retry_period)
            if lead_task.done():
                return False
            remaining = last_renewal + self._renew_deadline - self._clock()
            try:
                async with asyncio.timeout(max(remaining, 0.001)):
                    renewed = await self.try_acquire_or_renew()
            except (ApiError, TimeoutError) as exc:
                logger.info("lease %s/%s: renewal failed: %r", self.namespace, self.lease_name, exc)
                renewed = False
            if renewed:
                last_renewal = self._clock()
                continue
            taken_by_other = self.observed_holder not in ("", self.identity)
            if taken_by_other or self._clock() - last_renewal >= self._renew_deadline:
                return True

    async def release(self) -> bool:
        """Hand the Lease back (empty holder, 1 s duration) if this elector holds it."""
        self._is_leader = False
        lease = self._lease
        if lease is None or self.observed_holder != self.identity:
            return False
        now = format_micro_time(datetime.now(UTC))
        spec = spec_of(lease)
        released = copy.deepcopy(lease)
        released["spec"] = {**spec, "holderIdentity": "", "leaseDurationSeconds": 1,
                            "acquireTime": now, "renewTime": now}
        try:
            async with asyncio.timeout(self._retry_period):
                self._observe(await self._client.update(LEASE, released))
        except (ApiError, TimeoutError) as exc:
            logger.info("lease %s/%s: release failed: %r", self.namespace, self.lease_name, exc)
            return False
        logger.info("lease %s/%s: released by %s", self.namespace, self.lease_name, self.identity)
        return True


async def _as_coroutine(lead: Callable[[], Awaitable[None]]) -> None:
    await lead()
