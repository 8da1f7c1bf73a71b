"""The scheduling loop: informers in, one pure decision at a time, bindings out, concurrently.

Everything that decides lives elsewhere and is pure (`decision.schedule_pod` over the cache's
view). This module is the thin part kube-scheduler calls `scheduleOne` and its event handlers:
informers on pods, nodes and namespaces keep the cache and the queue current; the loop takes
one pod at a time, decides, *assumes* it on the chosen node and starts the bind without
waiting for it, so many bindings are in flight while the next pods are decided. Binding is a
compare-and-set on the server (a pod is never bound twice, even by a deposed leader); any
failure forgets the assumption and retries the pod after its backoff. A pod that fits nowhere
gets PodScheduled=False/Unschedulable with the reason (written only when it changed), a
FailedScheduling Event, and waits for a change in the cluster or the periodic retry.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import random
from collections.abc import Coroutine
from dataclasses import replace
from typing import Any

from minik8s.api.kinds import NAMESPACES, NODES, POD_DISRUPTION_BUDGETS, PODS
from minik8s.api.meta import (
    JsonObject,
    condition_of,
    integer,
    is_deleting,
    key_of,
    metadata_of,
    now_time,
    spec_of,
    status_of,
)
from minik8s.client.api import ApiClient
from minik8s.client.errors import ApiError, Conflict, NotFound
from minik8s.client.events import EventRecorder
from minik8s.client.informer import Informer
from minik8s.scheduler.cache import TERMINAL_PHASES, SchedulerCache
from minik8s.scheduler.decision import Chooser, Scheduled, prefilter_message, schedule_pod
from minik8s.scheduler.pod_facts import PodFacts, pod_facts
from minik8s.scheduler.preemptor import Preemptor
from minik8s.scheduler.queue import SchedulingQueue
from minik8s.scheduler.volume_prebind import DEFAULT_BIND_TIMEOUT_SECONDS, VolumeBinder, VolumeBindingFailed
from minik8s.scheduler.workload_selectors import WorkloadSelectors

log = logging.getLogger(__name__)



DEFAULT_SCHEDULER_NAME = "default-scheduler"
EVENT_QUIET_SECONDS = 0.2
EVENT_MAX_DELAY_SECONDS = 10.0


def needs_scheduling(pod: JsonObject, scheduler_name: str) -> bool:
    """Unbound, ours, not being deleted and not finished."""
    spec = spec_of(pod)
    if spec.get("nodeName") or is_deleting(pod):
        return False
    if status_of(pod).get("phase") in TERMINAL_PHASES:
        return False
    return (spec.get("schedulerName") or DEFAULT_SCHEDULER_NAME) == scheduler_name


def unschedulable_condition(pod: JsonObject, message: str, *, now: str) -> JsonObject | None:
    """The PodScheduled condition to write for `message`, or None when the pod already says so."""
    current = condition_of(pod, "PodScheduled")
    if current is not None and (current.get("status"), current.get("reason"), current.get("message")) == (
            "False", "Unschedulable", message):
        return None
    transition = current.get("lastTransitionTime") if current and current.get("status") == "False" else None
    return {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message,
            "lastProbeTime": None, "lastTransitionTime": transition or now}


def unschedulable_status(pod: JsonObject, message: str, nominated: str | None, *, now: str) -> JsonObject | None:
    """The pod with PodScheduled=False/`message` and `nominated` as its nominatedNodeName (None: kept, "": none);
    None when it says all that already."""
    condition = unschedulable_condition(pod, message, now=now)
    updated = with_condition(pod, condition) if condition is not None else copy.deepcopy(pod)
    if nominated is not None and (status_of(pod).get("nominatedNodeName") or "") != nominated:
        status = updated.setdefault("status", {})
        if nominated:
            status["nominatedNodeName"] = nominated
        else:
            status.pop("nominatedNodeName", None)
    return None if updated == pod else updated


def with_condition(pod: JsonObject, condition: JsonObject) -> JsonObject:
    """A copy of `pod` with `condition` replacing the one of its type."""
    updated = copy.deepcopy(pod)
    status = updated.setdefault("status", {})
    others = [c for c in status.get("conditions") or []
              if not (isinstance(c, dict) and c.get("type") == condition["type"])]
    status["conditions"] = [*others, condition]
    return updated


class Scheduler:
    """One scheduler profile (`scheduler_name`) over one cluster; `run()` until cancelled."""

    def __init__(
        self,
        client: ApiClient,
        *,
        scheduler_name: str = DEFAULT_SCHEDULER_NAME,
        events: EventRecorder | None = None,
        assume_ttl: float = 30.0,
        unschedulable_retry_seconds: float = 30.0,
        max_binds_in_flight: int = 4,
        housekeeping_interval: float = 1.0,
        choose: Chooser | None = None,
        bind_timeout: float = DEFAULT_BIND_TIMEOUT_SECONDS,
    ) -> None:
        self.client = client
        self.scheduler_name = scheduler_name
        self.events = events or EventRecorder(client, component=scheduler_name)
        self.workloads = WorkloadSelectors(client)  # Services' and controllers' selectors, for the default spread
        self.cache = SchedulerCache(assume_ttl=assume_ttl, default_spread_selector=self.workloads.selector_for)
        self.queue = SchedulingQueue()
        self.pods = Informer(client, PODS)
        self.nodes = Informer(client, NODES)
        self.namespaces = Informer(client, NAMESPACES)
        self.volume_binder = VolumeBinder(client, bind_timeout=bind_timeout)
        self.budgets = Informer(client, POD_DISRUPTION_BUDGETS)  # read by preemption
        self.preemptor = Preemptor(client, self.events, self.pods, self.budgets, scheduler_name=scheduler_name,
                                   spawn=self._spawn)
        self._unschedulable_retry_seconds = unschedulable_retry_seconds
        self._housekeeping_interval = housekeeping_interval
        self._choose: Chooser = choose or random.Random().choice
        self._bind_slots = asyncio.Semaphore(max_binds_in_flight)
        self._binds_in_flight = 0
        self._last_busy = 0.0  # loop time of the last decision or binding
        self._background: set[asyncio.Task[None]] = set()
        self._events: asyncio.Queue[tuple[float, JsonObject, str, str, str]] = asyncio.Queue(maxsize=10_000)
        self.pods.add_handler(on_add=self._on_pod_added, on_update=self._on_pod_updated,
                              on_delete=self._on_pod_deleted)
        self.nodes.add_handler(on_add=self._on_node_added, on_update=self._on_node_updated,
                               on_delete=self._on_node_deleted)
        self.namespaces.add_handler(on_add=self.cache.set_namespace,
                                    on_update=lambda _, new: self.cache.set_namespace(new),
                                    on_delete=lambda ns: self.cache.remove_namespace(key_of(ns)))
        for storage in self.volume_binder.informers:  # a claim bound, a volume or class added: pods may fit now
            storage.add_handler(on_add=self._on_storage_changed, on_update=lambda _, new: self._on_storage_changed(new))

    async def run(self) -> None:
        informers = (self.nodes, self.namespaces, *self.workloads.informers, *self.volume_binder.informers, self.budgets,
                     self.pods)
        try:
            async with asyncio.TaskGroup() as tasks:
                for informer in informers:
                    tasks.create_task(informer.run(), name=f"scheduler-informer-{informer.kind.plural}")
                for informer in informers:
                    await informer.wait_synced()
                log.info("%s: caches synced (%d nodes, %d pods waiting)", self.scheduler_name,
                         len(self.cache.view().nodes), len(self.queue))
                tasks.create_task(self._housekeep_forever(), name="scheduler-housekeeping")
                tasks.create_task(self._record_events_forever(), name="scheduler-events")
                tasks.create_task(self._schedule_forever(), name="scheduler-loop")
        finally:
            for task in self._background:
                task.cancel()
            await asyncio.gather(*self._background, return_exceptions=True)

    # -- informer events: keep the cache and the queue current -------------------------------------

    def _on_pod_added(self, pod: JsonObject) -> None:
        self._on_pod_updated(None, pod)

    def _on_pod_updated(self, old: JsonObject | None, pod: JsonObject) -> None:
        key = key_of(pod)
        self.preemptor.track(pod)
        if spec_of(pod).get("nodeName"):
            if old is not None and _counted_the_same(old, pod) and self.cache.node_of(key) is not None:
                return  # a status change of a running pod: nothing the scheduler counts
            self.queue.delete(key)
            was_counted = self.cache.node_of(key) is not None
            was_assumed = self.cache.is_assumed(key)
            facts = self.cache.add_or_update_pod(pod)
            if facts is None and was_counted:
                self.queue.move_to_active()  # it finished: what it held is free
            elif facts is not None and (was_assumed or not was_counted):
                self.queue.move_to_active(self._waits_for_pod_affinity)
        elif needs_scheduling(pod, self.scheduler_name):
            if self.cache.is_assumed(key):
                return  # bound by us a moment ago; the informer has not caught up
            if key not in self.queue or (old is not None and _spec_changed(old, pod)):
                self.queue.add(key, _priority(pod))
        else:
            self.queue.delete(key)

    def _on_pod_deleted(self, pod: JsonObject) -> None:
        key = key_of(pod)
        self.queue.delete(key)
        self.preemptor.forget(key)
        if self.cache.remove_pod(key):
            self.queue.move_to_active()

    def _waits_for_pod_affinity(self, key: str) -> bool:
        """Whether a newly placed pod may let this waiting one fit: its pod affinity, or its spread's minimum."""
        spec = spec_of(self.pods.get(key) or {})
        affinity = spec.get("affinity") or {}
        return bool(affinity.get("podAffinity") or spec.get("topologySpreadConstraints"))

    def _on_storage_changed(self, _: JsonObject) -> None:
        self.queue.move_to_active()

    def _on_node_added(self, node: JsonObject) -> None:
        self.cache.add_or_update_node(node)
        self.queue.move_to_active()

    def _on_node_updated(self, old: JsonObject, node: JsonObject) -> None:
        if self.cache.add_or_update_node(node):
            self.queue.move_to_active()

    def _on_node_deleted(self, node: JsonObject) -> None:
        self.cache.remove_node(key_of(node))

    # -- the loop ---------------------------------------------------------------------------------

    async def _schedule_forever(self) -> None:
        while True:
            key = await self.queue.pop()
            await self._bind_slots.acquire()
            try:
                binding = self._schedule_one(key)
            except Exception:  # a bug or an object nobody foresaw must not stop scheduling
                log.exception("scheduling %s failed", key)
                self.queue.retry_later(key)
                binding = False
            if not binding:
                self._bind_slots.release()
            self._last_busy = asyncio.get_running_loop().time()
            await asyncio.sleep(0)  # let informer events and bindings progress between decisions

    def _schedule_one(self, key: str) -> bool:
        """Decide for one pod; True when a binding was started (it then holds a bind slot)."""
        pod = self.pods.get(key)
        if self.cache.is_assumed(key):
            return False
        if pod is None or not needs_scheduling(pod, self.scheduler_name):
            self.queue.delete(key)  # gone, bound or not ours: forget its backoff too
            return False
        try:
            facts = pod_facts(pod)
        except ValueError as error:
            log.warning("pod %s cannot be scheduled: %s", key, error)
            self.queue.park(key, _priority(pod))
            self._spawn(self._report_unschedulable(pod, f"pod cannot be scheduled: {error}"))
            return False
        volumes = self.volume_binder.read(pod, self.pods.list)
        if isinstance(volumes, str):  # PreFilter refused the pod: no node is looked at
            self.queue.park(key, facts.priority)
            self._spawn(self._report_unschedulable(pod, prefilter_message(len(self.cache.view().nodes), volumes)))
            return False
        facts = replace(facts, volumes=volumes)
        view = self.cache.view()
        with self.preemptor.reserved(facts, view):  # nominated pods of at least its priority hold their room
            decision = schedule_pod(facts, view, choose=self._choose)
            if isinstance(decision, Scheduled):
                self.cache.assume(facts, decision.node_name)
                self._binds_in_flight += 1
                self._spawn(self._bind(pod, facts, decision.node_name))
                return True
            outcome = self.preemptor.preempt(pod, facts, decision, view)
        log.info("pod %s is unschedulable: %s", key, outcome.message)
        self.queue.park(key, facts.priority)
        self._spawn(self._report_unschedulable(pod, outcome.message, nominated=outcome.nominated))
        return False

    async def _bind(self, pod: JsonObject, facts: PodFacts, node_name: str) -> None:
        key = facts.key
        try:
            await self._prebind_volumes(pod, facts, node_name)
            await self.client.bind(facts.namespace, facts.name, node_name)
        except NotFound:
            self.cache.forget(key)
            self.queue.delete(key)
        except Conflict as error:  # bound by someone else, or being deleted: look again later
            log.info("binding %s to %s refused: %s", key, node_name, error)
            self.cache.forget(key)
            self.queue.retry_later(key, facts.priority)
        except VolumeBindingFailed as error:
            log.info("binding the volumes of %s on %s failed: %s", key, node_name, error)
            self.cache.forget(key)
            self.queue.retry_later(key, facts.priority)
            self._event(pod, "Warning", "FailedScheduling", f'running PreBind plugin "VolumeBinding": {error}')
        except Exception as error:
            log.warning("binding %s to %s failed: %r", key, node_name, error)
            self.cache.forget(key)
            self.queue.retry_later(key, facts.priority)
            self._event(pod, "Warning", "FailedScheduling", f"Binding rejected: {error}")
        else:
            self.cache.finish_binding(key)
            self.queue.delete(key)
            self._event(pod, "Normal", "Scheduled", f"Successfully assigned {key} to {node_name}")
        finally:
            self._bind_slots.release()
            self._binds_in_flight -= 1
            self._last_busy = asyncio.get_running_loop().time()

    async def _prebind_volumes(self, pod: JsonObject, facts: PodFacts, node_name: str) -> None:
        """VolumeBinding's PreBind: pre-bind or provision the pod's waiting claims on the chosen node."""
        if facts.volumes is None or not facts.volumes.delayed:
            return
        node = self.nodes.get(node_name) or {}
        plan = facts.volumes.plan_for(node_name, metadata_of(node).get("labels") or {})
        await self.volume_binder.prebind(pod, node_name, plan)

    async def _report_unschedulable(self, pod: JsonObject, message: str, *, nominated: str | None = None) -> None:
        """PodScheduled=False with `message` and the nomination (None: unchanged, "": cleared), when they changed;
        a nomination is written on the newest pod (a conflict re-reads it)."""
        for _ in range(3 if nominated is not None else 1):
            updated = unschedulable_status(pod, message, nominated, now=now_time())
            if updated is None:
                break
            try:
                await self.client.update_status(PODS, updated)
                break
            except NotFound:
                break
            except Conflict as error:
                log.debug("pod %s changed before its condition was written: %s", key_of(pod), error)
                pod = await self._fresh(pod)
            except ApiError as error:
                log.warning("could not write the PodScheduled condition of %s: %s", key_of(pod), error)
                break
        self._event(pod, "Warning", "FailedScheduling", message)

    async def _fresh(self, pod: JsonObject) -> JsonObject:
        metadata = metadata_of(pod)
        try:
            return await self.client.get(PODS, str(metadata.get("name")), namespace=str(metadata.get("namespace")))
        except ApiError:
            return pod

    # -- background work --------------------------------------------------------------------------

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _event(self, pod: JsonObject, event_type: str, reason: str, message: str) -> None:
        try:
            self._events.put_nowait((asyncio.get_running_loop().time(), pod, event_type, reason, message))
        except asyncio.QueueFull:
            log.warning("event queue full: dropping %s event of %s", reason, key_of(pod))

    async def _record_events_forever(self) -> None:
        """Events go out one at a time when scheduling is quiet (no binding in flight, no decision for
        EVENT_QUIET_SECONDS): a burst of pods is bound first and told about after, so Events never
        slow scheduling down. Under endless load an Event waits at most EVENT_MAX_DELAY_SECONDS."""
        loop = asyncio.get_running_loop()
        while True:
            queued_at, pod, event_type, reason, message = await self._events.get()
            while loop.time() - queued_at < EVENT_MAX_DELAY_SECONDS:
                quiet_in = self._last_busy + EVENT_QUIET_SECONDS - loop.time()
                if self._binds_in_flight == 0 and quiet_in <= 0:
                    break
                await asyncio.sleep(max(quiet_in, EVENT_QUIET_SECONDS / 4))
            await self.events.record(pod, event_type, reason, message)

    async def _housekeep_forever(self) -> None:
        while True:
            await asyncio.sleep(self._housekeeping_interval)
            for key in self.cache.expire():
                pod = self.pods.get(key)
                if pod is not None and needs_scheduling(pod, self.scheduler_name):
                    self.queue.add(key, _priority(pod))
            self.queue.flush_parked(older_than=self._unschedulable_retry_seconds)


def _counted_the_same(old: JsonObject, new: JsonObject) -> bool:
    """Whether the cache would count `new` exactly as `old` (same spec, labels, deletion and phase class)."""
    old_metadata, new_metadata = metadata_of(old), metadata_of(new)
    old_phase, new_phase = status_of(old).get("phase"), status_of(new).get("phase")
    return bool(old.get("spec") == new.get("spec")
                and old_metadata.get("labels") == new_metadata.get("labels")
                and old_metadata.get("uid") == new_metadata.get("uid")
                and old_metadata.get("ownerReferences") == new_metadata.get("ownerReferences")
                and bool(old_metadata.get("deletionTimestamp")) == bool(new_metadata.get("deletionTimestamp"))
                and (old_phase in TERMINAL_PHASES) == (new_phase in TERMINAL_PHASES))


def _spec_changed(old: JsonObject, new: JsonObject) -> bool:
    return bool(old.get("spec") != new.get("spec")
                or metadata_of(old).get("labels") != metadata_of(new).get("labels"))


def _priority(pod: JsonObject) -> int:
    return integer(spec_of(pod).get("priority"), default=0)
