"""The node agent (kubelet): pods bound to this node, driven into containers and reported back.

The one controller pattern (docs/architecture.md, "The controller pattern"): an informer on
pods with `spec.nodeName=<node>`, runtime events (a container died) and a periodic resync turn
into pod keys on a work queue; `sync` reads the pod and its containers, lets `pod_sync.decide`
choose, executes, and writes the status when it changed. Nothing is torn down because the
apiserver is unreachable: the containers keep running and the agent retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from minik8s.api.kinds import PODS
from minik8s.api.meta import (
    JsonObject,
    is_deleting,
    key_of,
    metadata_of,
    name_of,
    namespace_of,
    parse_time,
    spec_of,
    status_of,
    uid_of,
)
from minik8s.client.api import ApiClient
from minik8s.client.controller import run_workers
from minik8s.client.errors import Conflict, NotFound
from minik8s.client.events import EventRecorder
from minik8s.client.informer import Informer
from minik8s.client.workqueue import WorkQueue
from minik8s.node.backoff import Backoff
from minik8s.node.claims import ClaimError, claim_volumes, mount_failure_message
from minik8s.node.container_choice import choose_container
from minik8s.node.executor import Executor, NodeSettings, PodContext
from minik8s.node.local_volumes import LocalVolumeCleaner
from minik8s.node.observation import observe_pod, running_sandbox
from minik8s.node.pod_sources import PodSources
from minik8s.node.pod_sync import BackoffQuery, Decision, PodView, Step, decide, pod_ref
from minik8s.node.probes import ProbeSet
from minik8s.node.runtime import (
    LABEL_NODE,
    LABEL_POD_NAME,
    LABEL_POD_NAMESPACE,
    LABEL_POD_UID,
    ContainerInfo,
    ContainerRuntime,
)
from minik8s.node.server import ResolvedContainer
from minik8s.node.status import pod_status, status_changed

log = logging.getLogger(__name__)
CLAIM_RETRY_SECONDS = 2.0  # a pod waiting for its claims looks again this often
FAILED_MOUNT_REPEAT_SECONDS = 60.0


@dataclass
class PodMemory:
    """What the agent remembers of a pod between syncs (lost on restart, rebuilt from Docker)."""

    uid: str
    counted_failures: set[str] = field(default_factory=set)  # exited container ids already in the back-off
    mount_failure: tuple[str, float] | None = None  # the last FailedMount message and when it was recorded


class NodeAgent:
    def __init__(self, client: ApiClient, runtime: ContainerRuntime, settings: NodeSettings, *,
                 backoff_base: float = 10.0, backoff_cap: float = 300.0, resync_seconds: float = 10.0,
                 workers: int = 8) -> None:
        self.client, self.runtime, self.settings = client, runtime, settings
        self.events = EventRecorder(client, component="kubelet", host=settings.node_name)
        self.sources = PodSources(client, ttl=resync_seconds)
        self.executor = Executor(runtime, settings, self.events, self.sources)
        self.backoff = Backoff(base=backoff_base, cap=backoff_cap, immediate_first_retry=True)
        self.image_backoff = Backoff(base=backoff_base, cap=backoff_cap)
        self.pods = Informer(client, PODS, field_selector=f"spec.nodeName={settings.node_name}")
        self.queue = WorkQueue(name=f"pods@{settings.node_name}")
        self.memory: dict[str, PodMemory] = {}  # pod key -> memory
        self.probes = ProbeSet(runtime, on_change=self._probe_changed, on_unhealthy=self._unhealthy)
        self.local_volumes = LocalVolumeCleaner(client, settings.node_name, settings.local_path_dir)
        self._background: set[asyncio.Task[None]] = set()
        self.resync_seconds, self.workers = resync_seconds, workers

    # ---- wiring ----

    async def run(self) -> None:
        self.pods.add_handler(on_add=self._enqueue, on_update=lambda _, new: self._enqueue(new),
                              on_delete=self._enqueue)
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self.pods.run())
            tasks.create_task(self.sources.services.run())
            tasks.create_task(self._follow_runtime_events())
            tasks.create_task(self.local_volumes.run())
            await self.pods.wait_synced()
            await self.sources.services.wait_synced()  # every container gets the Services' variables
            try:
                await self.remove_orphans()  # pods deleted while this agent was down
            except Exception:
                log.exception("removing orphaned containers at start failed; retrying at the next resync")
            tasks.create_task(self._resync_forever())
            tasks.create_task(run_workers(self.queue, self.sync, workers=self.workers,
                                          name=f"kubelet {self.settings.node_name}"))

    def _enqueue(self, pod: JsonObject) -> None:
        self.queue.add(key_of(pod))

    def _probe_changed(self, pod_key: str) -> None:
        self.queue.add(pod_key)

    def _unhealthy(self, pod_key: str, container: str, message: str) -> None:
        """A failed probe attempt: an Unhealthy event, recorded in the background."""
        pod = self.pods.get(pod_key)
        if pod is not None:
            self._in_background(self.events.record(pod, "Warning", "Unhealthy", message,
                                                   field_path=f"spec.containers{{{container}}}"))

    def _in_background(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _follow_runtime_events(self) -> None:
        while True:
            try:
                async for event in self.runtime.events({LABEL_NODE: self.settings.node_name}):
                    namespace = event.labels.get(LABEL_POD_NAMESPACE)
                    name = event.labels.get(LABEL_POD_NAME)
                    if namespace and name:
                        self.queue.add(f"{namespace}/{name}")
            except Exception as error:  # the engine restarted or is gone: follow again shortly
                log.warning("runtime events stopped (%s); following again", error)
            await asyncio.sleep(1.0)

    async def _resync_forever(self) -> None:
        while True:
            await asyncio.sleep(self.resync_seconds)
            keys = self.pods.keys()
            for key in keys:
                self.queue.add(key)
            self.sources.tidy()
            try:
                await self.remove_orphans()
            except Exception:
                log.exception("removing orphaned containers failed; retrying at the next resync")

    # ---- one pod ----

    async def sync(self, key: str) -> None:
        pod = self.pods.get(key)
        memory = self.memory.get(key)
        if pod is None:
            if memory is not None:
                await self._forget(key, memory.uid)
            return
        uid = uid_of(pod)
        if memory is None or memory.uid != uid:
            if memory is not None:
                await self._forget(key, memory.uid)
            memory = self.memory[key] = PodMemory(uid)
        containers = await self._containers_of(uid)
        if is_deleting(pod):
            await self._terminate(key, pod, containers)
            return
        for _ in range(3):  # a fresh sandbox: start the containers in this same sync
            decision = decide(PodView(pod, containers, self._backoff_query(memory), self.probes.unhealthy(uid)))
            if any(step.action == "run_sandbox" for step in decision.steps) and not await self._claims_ready(
                    pod, memory):
                await self._report(pod, containers, dict(decision.waiting), decision.sandbox_attempt)
                self.queue.add_after(key, CLAIM_RETRY_SECONDS)
                return
            context = PodContext(pod, running_sandbox(containers, decision.sandbox_attempt),
                                 decision.sandbox_attempt)
            waiting, steps = self._hold_back_image_pulls(pod, decision)
            if await self._execute(context, steps, containers):
                containers = await self._containers_of(uid)
            if context.sandbox is None or not any(step.action == "run_sandbox" for step in steps):
                break
        for name, failure in context.failures.items():
            waiting[name] = (failure.reason, failure.message)
            if failure.reason == "ErrImagePull":
                decision.wait(self.image_backoff.record_failure((uid, name), now=_now()))
            else:
                decision.wait(2.0)  # e.g. a missing ConfigMap: look again soon
        for step in steps:
            if step.action == "start" and step.container not in context.failures:
                self.image_backoff.reset((uid, step.container))
        requeue = decision.requeue_after
        if context.sandbox is not None:
            await self.executor.refresh_volumes(pod)  # renews tokens, follows edited ConfigMaps and Secrets
        self.probes.sync(key, pod, containers)
        await self._record_back_offs(pod, waiting)
        await self._report(pod, containers, waiting, decision.sandbox_attempt)
        if requeue is not None:
            self.queue.add_after(key, requeue)

    async def _claims_ready(self, pod: JsonObject, memory: PodMemory) -> bool:
        """The pod's claims resolve to volumes of this node; if not, no sandbox yet and a FailedMount Event
        (at most once a minute for the same reason, as the kubelet reports on its mount timeout)."""
        if not claim_volumes(pod):
            return True
        try:
            await self.executor.resolve_claims(pod)
            memory.mount_failure = None
            return True
        except ClaimError as error:
            message = mount_failure_message(pod, [name for name, _, _ in claim_volumes(pod)], str(error))
        last = memory.mount_failure
        if last is None or last[0] != message or _now() - last[1] >= FAILED_MOUNT_REPEAT_SECONDS:
            memory.mount_failure = (message, _now())
            self._in_background(self.events.record(pod, "Warning", "FailedMount", message))
        return False

    def _hold_back_image_pulls(self, pod: JsonObject, decision: Decision) -> tuple[dict[str, tuple[str, str]],
                                                                                     list[Step]]:
        """Steps to run now; a container whose image failed to pull waits out its back-off instead."""
        uid = uid_of(pod)
        waiting = dict(decision.waiting)
        steps = []
        for step in decision.steps:
            remaining = self.image_backoff.remaining((uid, step.container), now=_now())
            if step.action == "start" and not step.container_id and remaining > 0:
                waiting[step.container] = ("ImagePullBackOff",
                                           f'Back-off pulling image "{_image_of(pod, step.container)}"')
                decision.wait(remaining)
            else:
                steps.append(step)
        return waiting, steps

    async def _record_back_offs(self, pod: JsonObject, waiting: dict[str, tuple[str, str]]) -> None:
        """BackOff events (aggregated into a count by the recorder) for containers waiting one out."""
        for name, (reason, _) in waiting.items():
            if reason == "CrashLoopBackOff":
                message = f"Back-off restarting failed container {name} in pod {pod_ref(pod)}"
            elif reason == "ImagePullBackOff":
                message = f'Back-off pulling image "{_image_of(pod, name)}"'
            else:
                continue
            await self.events.record(pod, "Warning" if reason == "CrashLoopBackOff" else "Normal", "BackOff",
                                     message, field_path=f"spec.containers{{{name}}}")

    async def _containers_of(self, uid: str) -> list[ContainerInfo]:
        return await self.runtime.list_containers({LABEL_NODE: self.settings.node_name, LABEL_POD_UID: uid})

    def _backoff_query(self, memory: PodMemory) -> BackoffQuery:
        def remaining(name: str, exited: ContainerInfo) -> float:
            key = (memory.uid, name)
            if exited.id not in memory.counted_failures:
                memory.counted_failures.add(exited.id)
                self.backoff.record_failure(key, now=_now(), ran_for=_ran_for(exited))
            return self.backoff.remaining(key, now=_now())

        return remaining

    async def _execute(self, context: PodContext, steps: list[Any], containers: list[ContainerInfo]) -> bool:
        by_id = {c.id: c for c in containers}
        pod = context.pod
        for step in steps:
            if step.action == "run_sandbox":
                await self.executor.run_sandbox(context, step.attempt)
                if context.sandbox is None:
                    return True
            elif step.action == "kill_pod":
                await self.executor.kill_all(pod, containers, grace_seconds=_grace(pod), remove=False)
            elif step.action == "kill":
                info = by_id.get(step.container_id)
                if info is not None:
                    await self.executor.kill(pod, info, grace_seconds=_grace(pod), message=step.message)
            elif step.action == "remove":
                await self.executor.remove(step.container_id)
            elif step.action == "start":
                await self.executor.start(context, step)
        return bool(steps)

    async def _report(self, pod: JsonObject, containers: list[ContainerInfo],
                      waiting: dict[str, tuple[str, str]], sandbox_attempt: int) -> None:
        observation = observe_pod(pod, containers, waiting=waiting, sandbox_attempt=sandbox_attempt,
                                  host_ip=self.settings.node_ip, probes=self.probes)
        previous = status_of(pod)
        status = pod_status(pod, observation, now=datetime.now(UTC))
        if not status_changed(previous, status):
            return
        # A merge patch of the whole status, as the kubelet patches: no conflict with our own last write
        # when the informer has not caught up yet. Fields that went away are removed with null.
        patch = {"status": {**{field: None for field in previous if field not in status}, **status}}
        with contextlib.suppress(NotFound):
            await self.client.patch(PODS, name_of(pod), patch, namespace=namespace_of(pod),
                                    patch_type="merge", subresource="status")

    # ---- endings ----

    async def _terminate(self, key: str, pod: JsonObject, containers: list[ContainerInfo]) -> None:
        """Graceful deletion: SIGTERM, the grace period, SIGKILL; then the pod object goes for good."""
        grace = _remaining_grace(pod)
        uid = uid_of(pod)
        self.probes.forget(uid)
        self.sources.forget_pod(uid)
        await self.executor.kill_all(pod, containers, grace_seconds=grace, remove=True)
        await self.executor.remove_pod_dir(uid)
        with contextlib.suppress(NotFound, Conflict):  # already gone, or a new pod of that name
            await self.client.delete(PODS, name_of(pod), namespace=namespace_of(pod),
                                     grace_period_seconds=0, preconditions_uid=uid)
        self.memory.pop(key, None)
        self.backoff.forget(uid)
        self.image_backoff.forget(uid)

    async def _forget(self, key: str, uid: str) -> None:
        """A pod removed from the API without us (force delete): remove what is left of it."""
        self.probes.forget(uid)
        self.sources.forget_pod(uid)
        containers = await self._containers_of(uid)
        await self.executor.kill_all({"metadata": {"uid": uid}}, containers, grace_seconds=2, remove=True)
        await self.executor.remove_pod_dir(uid)
        self.memory.pop(key, None)
        self.backoff.forget(uid)
        self.image_backoff.forget(uid)

    async def remove_orphans(self) -> None:
        """Containers of this node whose pod no longer exists (e.g. deleted while the agent was down)."""
        if not self.pods.has_synced:
            return
        known = {uid_of(pod) for pod in self.pods.list()}
        containers = await self.runtime.list_containers({LABEL_NODE: self.settings.node_name})
        orphans: dict[str, list[ContainerInfo]] = {}
        for info in containers:
            uid = info.labels.get(LABEL_POD_UID, "")
            if uid and uid not in known:
                orphans.setdefault(uid, []).append(info)
        for uid, infos in orphans.items():
            log.info("removing %d container(s) of pod uid %s, which no longer exists", len(infos), uid)
            await self.executor.kill_all({"metadata": {"uid": uid}}, infos, grace_seconds=2, remove=True)

    async def resolve_container(self, namespace: str, pod_name: str, container: str | None,
                                previous: bool) -> ResolvedContainer:
        """The Docker id behind `kubectl logs|exec`, or a Status error with Kubernetes' wording."""
        pod = self.pods.get(f"{namespace}/{pod_name}")
        if pod is None:
            raise NotFound(404, "NotFound", f'pods "{pod_name}" not found')
        containers = await self._containers_of(uid_of(pod))
        return ResolvedContainer(choose_container(pod, containers, container, previous=previous))


def _now() -> float:
    return asyncio.get_running_loop().time()


def _grace(pod: Mapping[str, Any]) -> float:
    configured = spec_of(pod).get("terminationGracePeriodSeconds")
    return float(configured) if configured is not None else 30.0


def _remaining_grace(pod: Mapping[str, Any]) -> float:
    metadata = metadata_of(pod)
    grace = metadata.get("deletionGracePeriodSeconds")
    deadline = _whole_seconds(metadata.get("deletionTimestamp"))
    if deadline:
        left = (deadline - datetime.now(UTC)).total_seconds()
        return max(0.0, min(float(grace) if grace is not None else left, left + 1))
    return float(grace) if grace is not None else _grace(pod)


def _ran_for(info: ContainerInfo) -> float:
    started, finished = _whole_seconds(info.started_at), _whole_seconds(info.finished_at)
    return (finished - started).total_seconds() if started and finished else 0.0


def _whole_seconds(text: object) -> datetime | None:
    """A timestamp cut to the second, as the kubelet counts grace periods and run times."""
    moment = parse_time(text)
    return moment.replace(microsecond=0) if moment else None


def _image_of(pod: Mapping[str, Any], name: str) -> str:
    spec = spec_of(pod)
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        if container.get("name") == name:
            return str(container.get("image", ""))
    return ""
