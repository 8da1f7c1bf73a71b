"""Deployments and ReplicaSets through a real apiserver, as `kubectl` users drive and observe them.

An in-process apiserver runs the ReplicaSet and Deployment controllers against it, with two
stand-ins for the rest of a cluster: a scheduler that binds every pod to `node-1` through the
binding subresource, and a kubelet that marks bound pods Running and Ready through PUT
/status and finishes graceful deletions. No Docker, no node agents.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from minik8s.api.kinds import DEPLOYMENTS, EVENTS, PODS, REPLICA_SETS
from minik8s.api.meta import key_of
from minik8s.client.api import ApiClient
from minik8s.client.errors import ApiError, NotFound
from minik8s.client.events import EventRecorder
from minik8s.client.informer import Informer
from minik8s.controllers.common.context import (
    ControllerContext,
    ControllerOptions,
    InformerFactory,
    RunnableController,
)
from minik8s.controllers.deployment.controller import DeploymentController
from minik8s.controllers.manager import CONTROLLERS, load_controllers
from minik8s.controllers.replicaset.controller import ReplicaSetController
from tests.support.serving import apiserver_in_loop
from tests.support.waiting import eventually

pytestmark = pytest.mark.timeout(120)

NAMESPACE = "default"
WAIT_SECONDS = 30.0


class FakeNode:
    """Scheduler stand-in plus kubelet stand-in, driven by the shared pod informer."""

    def __init__(self, client: ApiClient, pods: Informer) -> None:
        self.client, self.pods = client, pods
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        pods.add_handler(on_add=self._enqueue, on_update=lambda _old, new: self._enqueue(new))

    def _enqueue(self, pod: dict[str, Any]) -> None:
        self.queue.put_nowait(key_of(pod))

    async def run(self) -> None:
        while True:
            key = await self.queue.get()
            pod = self.pods.get(key)
            if pod is None:
                continue
            try:
                await self._handle(pod)
            except NotFound:
                continue
            except ApiError:  # a stale cache: look again when the next event comes
                continue

    async def _handle(self, pod: dict[str, Any]) -> None:
        metadata, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
        if metadata.get("deletionTimestamp"):
            await self.client.delete(PODS, metadata["name"], namespace=metadata["namespace"], grace_period_seconds=0)
        elif not spec.get("nodeName"):
            await self.client.bind(metadata["namespace"], metadata["name"], "node-1")
        elif status.get("phase") != "Running":
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            running = copy.deepcopy(pod)
            running["status"] = {**status, "phase": "Running", "podIP": "10.244.0.10", "hostIP": "127.0.0.1",
                                 "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": now}]}
            await self.client.update_status(PODS, running)


@dataclass
class Cluster:
    client: ApiClient
    informers: InformerFactory
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def pods(self) -> Informer:
        return self.informers.informer(PODS)

    @property
    def replica_sets(self) -> Informer:
        return self.informers.informer(REPLICA_SETS)

    async def wait_for(self, what: str, check: Callable[[], Any]) -> Any:
        """Poll `check` (on cached state) until it returns something truthy, within a deadline."""
        return await eventually(what, check, timeout=WAIT_SECONDS, interval=0.02)

    def live_pods(self, **labels: str) -> list[dict[str, Any]]:
        return [pod for pod in self.pods.list()
                if not pod["metadata"].get("deletionTimestamp")
                and all(pod["metadata"].get("labels", {}).get(k) == v for k, v in labels.items())]

    def counts_pods(self, count: int, **labels: str) -> Callable[[], bool]:
        return lambda: len(self.live_pods(**labels)) == count

    async def rolled_out(self, name: str) -> dict[str, Any]:
        """Wait for what `kubectl rollout status` waits for; return the Deployment."""
        async def done() -> dict[str, Any] | None:
            deployment = await self.client.get(DEPLOYMENTS, name, namespace=NAMESPACE)
            status, replicas = deployment.get("status") or {}, deployment["spec"]["replicas"]
            updated = status.get("updatedReplicas", 0)
            finished = (deployment["metadata"]["generation"] <= status.get("observedGeneration", 0)
                        and updated == replicas and status.get("replicas", 0) == updated
                        and status.get("availableReplicas", 0) == updated)
            return deployment if finished else None

        return await eventually(f"deployment {name} to roll out", done, timeout=WAIT_SECONDS)


@pytest.fixture
async def cluster() -> AsyncIterator[Cluster]:
    async with apiserver_in_loop(history=10000) as client:
        informers = InformerFactory(client)
        context = ControllerContext(client, informers, EventRecorder(client, component="controller-manager"),
                                    ControllerOptions(workers=2))
        controllers: list[RunnableController] = [ReplicaSetController(context), DeploymentController(context)]
        node = FakeNode(client, informers.informer(PODS))
        harness = Cluster(client, informers)
        harness.tasks = [asyncio.create_task(informers.run()), asyncio.create_task(node.run()),
                         *(asyncio.create_task(controller.run()) for controller in controllers)]
        await informers.wait_synced()
        try:
            yield harness
        finally:
            for task in harness.tasks:
                task.cancel()
            await asyncio.gather(*harness.tasks, return_exceptions=True)


def deployment_manifest(name: str = "web", replicas: int = 3, image: str = "nginx:1.25",
                        *, surge: int | str = "25%", unavailable: int | str = "25%") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}},
            "template": {"metadata": {"labels": {"app": name}},
                         "spec": {"containers": [{"name": "main", "image": image}]}},
        },
    }


def test_the_manager_knows_both_controllers_by_name():
    assert load_controllers(["replicaset", "deployment"]) == [ReplicaSetController, DeploymentController]
    assert CONTROLLERS["replicaset"].endswith(":ReplicaSetController")


async def test_a_deployment_of_three_runs_three_pods_with_kubectl_compatible_status(cluster: Cluster):
    await cluster.client.create(DEPLOYMENTS, deployment_manifest(replicas=3), namespace=NAMESPACE)
    deployment = await cluster.rolled_out("web")
    status = deployment["status"]
    assert {k: status.get(k) for k in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas")} == \
        {"replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3}
    assert {c["type"]: c["reason"] for c in status["conditions"]} == {
        "Available": "MinimumReplicasAvailable", "Progressing": "NewReplicaSetAvailable"}
    assert deployment["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"

    replica_sets = (await cluster.client.list(REPLICA_SETS, namespace=NAMESPACE))["items"]
    assert len(replica_sets) == 1
    replica_set = replica_sets[0]
    template_hash = replica_set["metadata"]["labels"]["pod-template-hash"]
    assert replica_set["metadata"]["name"] == f"web-{template_hash}"
    assert replica_set["metadata"]["ownerReferences"][0]["uid"] == deployment["metadata"]["uid"]
    assert replica_set["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    pods = cluster.live_pods(app="web")
    assert len(pods) == 3
    for pod in pods:
        assert pod["metadata"]["name"].startswith(f"web-{template_hash}-")
        assert pod["metadata"]["labels"]["pod-template-hash"] == template_hash
        assert pod["metadata"]["ownerReferences"] == [{
            "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": replica_set["metadata"]["name"],
            "uid": replica_set["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]
    events = (await cluster.client.list(EVENTS, namespace=NAMESPACE))["items"]
    assert {"ScalingReplicaSet", "SuccessfulCreate"} <= {event["reason"] for event in events}


async def test_scaling_3_to_5_to_2(cluster: Cluster):
    await cluster.client.create(DEPLOYMENTS, deployment_manifest(replicas=3), namespace=NAMESPACE)
    await cluster.rolled_out("web")
    for replicas in (5, 2):
        await cluster.client.patch(DEPLOYMENTS, "web", {"spec": {"replicas": replicas}}, namespace=NAMESPACE,
                                   subresource="scale")
        deployment = await cluster.rolled_out("web")
        assert deployment["status"]["availableReplicas"] == replicas
        await cluster.wait_for(f"{replicas} pods", cluster.counts_pods(replicas, app="web"))
    replica_set = (await cluster.client.list(REPLICA_SETS, namespace=NAMESPACE))["items"][0]
    assert replica_set["spec"]["replicas"] == 2
    assert replica_set["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] == "2"


async def test_an_image_change_rolls_within_bounds_and_undo_reuses_the_old_replica_set(cluster: Cluster):
    replicas, surge, unavailable = 4, 1, 1
    await cluster.client.create(DEPLOYMENTS, deployment_manifest(replicas=replicas, surge=surge,
                                                                 unavailable=unavailable), namespace=NAMESPACE)
    await cluster.rolled_out("web")
    ready_counts: list[int] = []
    spec_totals: list[int] = []

    def observe_pods(*_: Any) -> None:
        ready_counts.append(sum(1 for pod in cluster.live_pods(app="web") if any(
            c.get("type") == "Ready" and c.get("status") == "True" for c in pod["status"].get("conditions", []))))

    def observe_replica_sets(*_: Any) -> None:
        spec_totals.append(sum(rs["spec"]["replicas"] for rs in cluster.replica_sets.list()))

    cluster.pods.add_handler(on_add=observe_pods, on_update=observe_pods, on_delete=observe_pods)
    cluster.replica_sets.add_handler(on_add=observe_replica_sets, on_update=observe_replica_sets)
    patch = {"spec": {"template": {"spec": {"$setElementOrder/containers": [{"name": "main"}],
                                            "containers": [{"name": "main", "image": "nginx:1.26"}]}}}}
    await cluster.client.patch(DEPLOYMENTS, "web", patch, namespace=NAMESPACE, patch_type="strategic")
    deployment = await cluster.rolled_out("web")

    assert ready_counts and min(ready_counts) >= replicas - unavailable, ready_counts
    assert spec_totals and max(spec_totals) <= replicas + surge, spec_totals
    by_revision = {rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]: rs
                   for rs in (await cluster.client.list(REPLICA_SETS, namespace=NAMESPACE))["items"]}
    assert sorted(by_revision) == ["1", "2"]
    assert by_revision["1"]["spec"]["replicas"] == 0 and by_revision["2"]["spec"]["replicas"] == replicas
    new_hash = by_revision["2"]["metadata"]["labels"]["pod-template-hash"]
    await cluster.wait_for("only new pods", lambda: {p["metadata"]["labels"]["pod-template-hash"]
                                                     for p in cluster.live_pods(app="web")} == {new_hash})
    assert deployment["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"

    # `kubectl rollout undo`: the previous ReplicaSet's template, hash label removed, as a JSON patch.
    previous = copy.deepcopy(by_revision["1"]["spec"]["template"])
    del previous["metadata"]["labels"]["pod-template-hash"]
    previous["metadata"]["creationTimestamp"] = None
    previous["spec"]["containers"][0]["resources"] = {}
    await cluster.client.patch(DEPLOYMENTS, "web", [{"op": "replace", "path": "/spec/template", "value": previous}],
                               namespace=NAMESPACE, patch_type="json")
    deployment = await cluster.rolled_out("web")
    replica_sets = {rs["metadata"]["name"]: rs for rs in (await cluster.client.list(REPLICA_SETS, namespace=NAMESPACE))["items"]}
    assert set(replica_sets) == {by_revision["1"]["metadata"]["name"], by_revision["2"]["metadata"]["name"]}
    reused = replica_sets[by_revision["1"]["metadata"]["name"]]
    assert reused["spec"]["replicas"] == replicas
    assert reused["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    assert reused["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "1"
    assert deployment["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"


async def test_a_replica_set_adopts_matching_orphans_and_replaces_pods_it_releases(cluster: Cluster):
    orphan = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "orphan", "labels": {"app": "db"}},
              "spec": {"containers": [{"name": "main", "image": "postgres"}]}}
    await cluster.client.create(PODS, orphan, namespace=NAMESPACE)
    replica_set = {
        "apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "db"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "db"}},
                 "template": {"metadata": {"labels": {"app": "db"}},
                              "spec": {"containers": [{"name": "main", "image": "postgres"}]}}},
    }
    created = await cluster.client.create(REPLICA_SETS, replica_set, namespace=NAMESPACE)

    def settled(count: int) -> dict[str, Any] | None:
        current = cluster.replica_sets.get(f"{NAMESPACE}/db")
        status = (current or {}).get("status") or {}
        return current if status.get("readyReplicas") == count and status.get("replicas") == count else None

    await cluster.wait_for("two ready replicas", lambda: settled(2))
    adopted = await cluster.client.get(PODS, "orphan", namespace=NAMESPACE)
    assert adopted["metadata"]["ownerReferences"][0]["uid"] == created["metadata"]["uid"]
    assert len(cluster.live_pods(app="db")) == 2, "the orphan counts: only one pod was created"

    await cluster.client.patch(PODS, "orphan", {"metadata": {"labels": {"app": "debug"}}}, namespace=NAMESPACE)
    await cluster.wait_for("the release", lambda: not (cluster.pods.get(f"{NAMESPACE}/orphan") or {})
                           .get("metadata", {}).get("ownerReferences"))
    await cluster.wait_for("a replacement", lambda: len(cluster.live_pods(app="db")) == 2
                           and settled(2) is not None)
    assert cluster.pods.get(f"{NAMESPACE}/orphan") is not None, "a released pod is left alone"
