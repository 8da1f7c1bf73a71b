"""Preemption carried out, and the nominations that keep the room it makes for the pod that made it.

When a pod fits nowhere, the scheduling loop asks `Preemptor.preempt`: it runs the pure plan
(preemption.py) over the cluster view and the PodDisruptionBudgets, and when victims are chosen it
nominates the pod to their node (`status.nominatedNodeName`, written by the loop with the pod's
PodScheduled condition), gives each victim `DisruptionTarget=True` (reason PreemptionByScheduler,
message `<scheduler>: preempting to accommodate a higher priority pod`), deletes it with its own grace
period, and records a `Preempted` Event on it, as kube-scheduler's prepareCandidate does. Lower-priority
pods nominated to that node lose their nomination.

Nominations are remembered from the pods themselves (an unbound pod's `status.nominatedNodeName`,
seen by the informer) and from our own decisions. While a pod is being decided, the nominated pods of
at least its priority are counted on their nodes (`reserved`), as kube-scheduler's
RunFilterPluginsWithNominatedPods does, so the room freed for a preemptor is not taken by a
lower-priority pod while the victims terminate.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any

from minik8s.api.disruption_budget import DISRUPTION_TARGET
from minik8s.api.kinds import PODS
from minik8s.api.meta import JsonObject, key_of, metadata_of, now_time, spec_of, status_of
from minik8s.client.api import ApiClient
from minik8s.client.errors import ApiError, Conflict, NotFound
from minik8s.client.events import EventRecorder
from minik8s.client.informer import Informer
from minik8s.scheduler.decision import Unschedulable
from minik8s.scheduler.node_info import ClusterView
from minik8s.scheduler.pod_facts import PodFacts, pod_facts
from minik8s.scheduler.preemption import PREEMPTED_BY_SCHEDULER, NoPreemption, Preempt, plan_preemption

log = logging.getLogger(__name__)

Spawn = Callable[[Coroutine[Any, Any, None]], None]


@dataclass(frozen=True)
class Outcome:
    """What the loop writes on the pod: its PodScheduled message, and its nomination (None: leave it)."""

    message: str
    nominated: str | None = None


class Preemptor:
    def __init__(self, client: ApiClient, events: EventRecorder, pods: Informer, budgets: Informer, *,
                 scheduler_name: str, spawn: Spawn) -> None:
        self.client, self.events, self.pods, self.budgets = client, events, pods, budgets
        self.scheduler_name = scheduler_name
        self._spawn = spawn
        self.nominations: dict[str, tuple[str, PodFacts]] = {}  # pod key → (node, facts)

    # -- nominations ------------------------------------------------------------------------------------

    def track(self, pod: JsonObject) -> None:
        """An informer event: remember an unbound pod's nomination, forget a bound or finished one's."""
        key = key_of(pod)
        nominated = str(status_of(pod).get("nominatedNodeName") or "")
        if spec_of(pod).get("nodeName") or not nominated or metadata_of(pod).get("deletionTimestamp"):
            self.nominations.pop(key, None)
            return
        try:
            self.nominations[key] = (nominated, pod_facts(pod))
        except ValueError:
            self.nominations.pop(key, None)

    def forget(self, key: str) -> None:
        self.nominations.pop(key, None)

    @contextlib.contextmanager
    def reserved(self, pod: PodFacts, cluster: ClusterView) -> Iterator[None]:
        """Count the nominated pods of at least `pod`'s priority on their nodes while `pod` is decided."""
        nodes = {info.name: info for info in cluster.nodes}
        added = []
        for key, (node_name, facts) in self.nominations.items():
            info = nodes.get(node_name)
            if key == pod.key or facts.priority < pod.priority or info is None or key in info.pods:
                continue
            info.add_pod(facts.with_node(node_name))
            added.append((info, key))
        try:
            yield
        finally:
            for info, key in added:
                info.remove_pod(key)

    # -- preempting -------------------------------------------------------------------------------------

    def preempt(self, pod: JsonObject, facts: PodFacts, decision: Unschedulable, cluster: ClusterView) -> Outcome:
        """Decide (purely) and start what preemption does; the message and nomination to write on the pod.

        The message is kube-scheduler's FitError: the filters' reasons, then ` preemption: <why not>.` (the
        inner message ends with its own period, so two follow each other, as they do in Kubernetes)."""
        if not decision.reasons:
            return Outcome(decision.message)  # no node at all: kube-scheduler runs no PostFilter
        nominated = self.nominations.get(facts.key, (str(status_of(pod).get("nominatedNodeName") or ""), facts))[0]
        plan = plan_preemption(facts, policy=str(spec_of(pod).get("preemptionPolicy") or ""), nominated=nominated,
                               cluster=cluster, refused=decision.reasons, budgets=self.budgets.list(),
                               pods=self.pods)
        if isinstance(plan, NoPreemption):
            if plan.clear_nomination:
                self.nominations.pop(facts.key, None)
            return Outcome(f"{decision.message} preemption: {plan.message}.", "" if plan.clear_nomination else None)
        self._nominate(facts, plan)
        return Outcome(decision.message, plan.node_name)

    def _nominate(self, facts: PodFacts, plan: Preempt) -> None:
        log.info("pod %s preempts %s on %s", facts.key, ", ".join(v.key for v in plan.victims), plan.node_name)
        self.nominations[facts.key] = (plan.node_name, facts)
        for victim in plan.victims:
            self._spawn(self._evict(victim, facts, plan.node_name))
        for key, (node_name, other) in list(self.nominations.items()):
            if node_name == plan.node_name and other.priority < facts.priority:
                del self.nominations[key]
                self._spawn(self._clear_nomination(key))

    async def _evict(self, victim: PodFacts, preemptor: PodFacts, node_name: str) -> None:
        """DisruptionTarget on the victim, then its graceful delete, then the Preempted Event."""
        condition = {"type": DISRUPTION_TARGET, "status": "True", "reason": PREEMPTED_BY_SCHEDULER,
                     "message": f"{preemptor.scheduler_name}: preempting to accommodate a higher priority pod",
                     "lastProbeTime": None}
        try:
            pod = await self._write_status(victim.namespace, victim.name, lambda status: _set_condition(
                status, condition))
            await self.client.delete(PODS, victim.name, namespace=victim.namespace, preconditions_uid=victim.uid or None)
        except NotFound:
            return
        except ApiError as error:
            log.warning("could not preempt pod %s for %s: %s", victim.key, preemptor.key, error)
            return
        await self.events.record(pod, "Normal", "Preempted", f"Preempted by pod {preemptor.uid} on node {node_name}")

    async def _clear_nomination(self, key: str) -> None:
        namespace, _, name = key.partition("/")
        try:
            await self._write_status(namespace, name, lambda status: status.pop("nominatedNodeName", None))
        except ApiError as error:
            log.debug("could not clear the nomination of %s: %s", key, error)

    async def _write_status(self, namespace: str, name: str, change: Callable[[dict[str, Any]], object]) -> JsonObject:
        """Apply `change` to the pod's newest status, retried on conflicts."""
        for attempt in range(5):
            pod = copy.deepcopy(await self.client.get(PODS, name, namespace=namespace))
            change(pod.setdefault("status", {}))
            try:
                return await self.client.update_status(PODS, pod)
            except Conflict:
                await asyncio.sleep(0.05 * (attempt + 1))
        raise Conflict(409, "Conflict", f"pod {namespace}/{name} kept changing")


def _set_condition(status: dict[str, Any], condition: JsonObject) -> None:
    """UpdatePodCondition: replace the condition of its type, moving its transition time only on a change."""
    conditions = [c for c in status.get("conditions") or [] if isinstance(c, dict)]
    existing = next((c for c in conditions if c.get("type") == condition["type"]), None)
    transition = now_time()
    if existing is not None and existing.get("status") == condition["status"]:
        transition = existing.get("lastTransitionTime") or transition
    status["conditions"] = [c for c in conditions if c is not existing] + [{**condition,
                                                                             "lastTransitionTime": transition}]
