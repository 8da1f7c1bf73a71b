"""Node lifecycle, namespace and garbage collection through a real apiserver, with short intervals.

An in-process apiserver and the three controllers (node lifecycle, namespace, garbage
collector) on one loop; no node agents: the tests play the agent themselves (renewing a
Lease, posting node status, finishing a pod's graceful deletion) so every step is theirs
to time.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest

from minik8s.api.kinds import (
    CONFIG_MAPS,
    DEPLOYMENTS,
    EVENTS,
    LEASES,
    NAMESPACES,
    NODES,
    PODS,
    REPLICA_SETS,
    SECRETS,
)
from minik8s.client.api import ApiClient
from minik8s.client.errors import Conflict, NotFound
from minik8s.controllers.common.context import (
    ControllerOptions,
)
from minik8s.controllers.garbage_collector.controller import GarbageCollector
from minik8s.controllers.namespace.controller import NamespaceController
from minik8s.controllers.node_lifecycle.controller import NodeLifecycleController
from tests.support import builders
from tests.support.in_loop import controllers_running, found
from tests.support.serving import apiserver_in_loop
from tests.support.waiting import eventually

pytestmark = pytest.mark.timeout(90)

T = TypeVar("T")
UNREACHABLE = "node.kubernetes.io/unreachable"
GRACE_SECONDS = 1.0


@pytest.fixture
async def client() -> AsyncIterator[ApiClient]:
    """An apiserver plus the three controllers; yields a client for the test to act with."""
    options = ControllerOptions(node_monitor_grace_period=GRACE_SECONDS, node_monitor_period=0.2, workers=2)
    async with apiserver_in_loop() as api, controllers_running(api, options, lambda c: [
            NodeLifecycleController(c), NamespaceController(c), GarbageCollector(c)]):
        yield api


async def gone(api: ApiClient, kind: Any, name: str, namespace: str | None = None) -> bool:
    try:
        await api.get(kind, name, namespace=namespace)
    except NotFound:
        return True
    return False


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# -- playing the node agent ----------------------------------------------------------------------


async def register_node(api: ApiClient, name: str) -> None:
    await api.create(NODES, {"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}}, "spec": {}})
    await post_ready(api, name)
    lease = {"metadata": {"name": name, "namespace": "kube-node-lease"},
             "spec": {"holderIdentity": name, "leaseDurationSeconds": 40, "renewTime": now()}}
    await api.create(LEASES, lease, namespace="kube-node-lease")


async def post_ready(api: ApiClient, name: str) -> None:
    """What the agent's status post does: Ready=True with a fresh heartbeat (retrying write races)."""
    for _ in range(20):
        node = await api.get(NODES, name)
        stamp = now()[:19] + "Z"
        node["status"] = {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                          "message": "kubelet is posting ready status",
                                          "lastHeartbeatTime": stamp, "lastTransitionTime": stamp}]}
        try:
            await api.update_status(NODES, node)
            return
        except Conflict:
            continue
    raise AssertionError("could not post node status")


async def renew_lease(api: ApiClient, name: str) -> None:
    await api.patch(LEASES, name, {"spec": {"renewTime": now()}}, namespace="kube-node-lease")


@contextlib.asynccontextmanager
async def heartbeat(api: ApiClient, name: str) -> AsyncIterator[None]:
    async def beat() -> None:
        while True:
            await renew_lease(api, name)
            await asyncio.sleep(0.2)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def run_pod(api: ApiClient, name: str, *, node: str, tolerations: list[dict[str, Any]] | None = None,
                  namespace: str = "default") -> None:
    """A pod bound to `node` and Running+Ready, as the scheduler and agent would leave it."""
    spec: dict[str, Any] = {"nodeName": node, "containers": [{"name": "app", "image": "nginx"}]}
    if tolerations is not None:
        spec["tolerations"] = tolerations
    pod = await api.create(PODS, {"metadata": {"name": name}, "spec": spec}, namespace=namespace)
    pod["status"] = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
    await api.update_status(PODS, pod)


async def is_evicted(api: ApiClient, name: str) -> bool:
    """Evicted = deletion begun (the pod's agent would finish it) or already gone."""
    pod = await found(api, PODS, name, "default")
    return pod is None or bool(pod["metadata"].get("deletionTimestamp"))


def taint_keys(node: dict[str, Any]) -> list[tuple[str, str]]:
    return [(t["key"], t["effect"]) for t in (node.get("spec") or {}).get("taints") or []]


async def event_reasons(api: ApiClient, name: str) -> list[str]:
    listing = await api.list(EVENTS, field_selector=f"involvedObject.name={name}")
    return [str(event.get("reason")) for event in listing["items"]]


# -- node lifecycle ------------------------------------------------------------------------------


async def test_silent_node_turns_unknown_tainted_and_pods_leave_after_their_toleration(client: ApiClient) -> None:
    await register_node(client, "node-1")
    await run_pod(client, "default-toleration", node="node-1")  # 300 s from admission defaults
    await run_pod(client, "brief", node="node-1",
                  tolerations=[{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute",
                                "tolerationSeconds": 2}])
    await run_pod(client, "forever", node="node-1",
                  tolerations=[{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute"}])

    async def tainted() -> dict[str, Any] | None:
        node = await client.get(NODES, "node-1")
        return node if (UNREACHABLE, "NoExecute") in taint_keys(node) else None

    node = await eventually("the unreachable taint", tainted)
    ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"], ready["message"]) == (
        "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.")
    assert next(t for t in node["spec"]["taints"] if t["key"] == UNREACHABLE)["timeAdded"]
    assert not await is_evicted(client, "brief")  # tolerates for 2 s yet

    await eventually("the 2 s toleration to run out", lambda: is_evicted(client, "brief"))
    assert not await is_evicted(client, "default-toleration")
    assert not await is_evicted(client, "forever")
    pod = await client.get(PODS, "forever", namespace="default")
    assert next(c for c in pod["status"]["conditions"] if c["type"] == "Ready")["status"] == "False"
    assert "TaintManagerEviction" in await event_reasons(client, "brief")
    assert "NodeNotReady" in await event_reasons(client, "node-1")

    await renew_lease(client, "node-1")
    await post_ready(client, "node-1")

    async def untainted() -> bool:
        return not taint_keys(await client.get(NODES, "node-1"))

    await eventually("recovery to remove the taint", untainted)
    assert not await is_evicted(client, "default-toleration")

    await client.delete(NODES, "node-1")
    await eventually("pods of a deleted node to go", lambda: gone(client, PODS, "forever", "default"))
    await eventually("all pods of the node", lambda: gone(client, PODS, "default-toleration", "default"))


async def test_no_execute_taint_evicts_intolerant_pods_at_once_and_cordon_taints(client: ApiClient) -> None:
    await register_node(client, "node-2")
    async with heartbeat(client, "node-2"):
        await run_pod(client, "intolerant", node="node-2")
        await run_pod(client, "tolerant", node="node-2",
                      tolerations=[{"key": "dedicated", "operator": "Equal", "value": "db", "effect": "NoExecute"}])
        await client.patch(NODES, "node-2", {"spec": {"taints": [{"key": "dedicated", "value": "db",
                                                                  "effect": "NoExecute"}]}})
        await eventually("the intolerant pod to be evicted", lambda: is_evicted(client, "intolerant"))
        assert not await is_evicted(client, "tolerant")

        await client.patch(NODES, "node-2", {"spec": {"unschedulable": True}})

        async def cordoned() -> bool:
            return ("node.kubernetes.io/unschedulable", "NoSchedule") in taint_keys(await client.get(NODES, "node-2"))

        await eventually("the unschedulable taint", cordoned)
        await client.patch(NODES, "node-2", {"spec": {"unschedulable": False}})

        async def uncordoned() -> bool:
            return taint_keys(await client.get(NODES, "node-2")) == [("dedicated", "NoExecute")]

        await eventually("uncordon to remove the taint", uncordoned)
        node = await client.get(NODES, "node-2")
        assert next(c for c in node["status"]["conditions"] if c["type"] == "Ready")["status"] == "True"
    assert not await is_evicted(client, "tolerant")


# -- namespace -----------------------------------------------------------------------------------


NGINX: dict[str, Any] = {"containers": [builders.container(image="nginx")]}  # a pod spec no agent runs here


async def test_deleting_a_namespace_removes_its_contents_then_itself(client: ApiClient) -> None:
    await client.create(NAMESPACES, {"metadata": {"name": "team"}})
    await client.create(NODES, {"metadata": {"name": "node-ns"}, "spec": {}})
    await client.create(CONFIG_MAPS, {"metadata": {"name": "settings"}, "data": {"a": "1"}}, namespace="team")
    await client.create(SECRETS, {"metadata": {"name": "token"}, "stringData": {"t": "x"}}, namespace="team")
    await client.create(DEPLOYMENTS, builders.deployment("web", pod_spec=NGINX), namespace="team")
    await client.create(PODS, {"metadata": {"name": "pending"},
                               "spec": {"containers": [{"name": "app", "image": "nginx"}]}}, namespace="team")
    await run_pod(client, "running", node="node-ns", namespace="team")

    await client.delete(NAMESPACES, "team")
    for kind, name in ((CONFIG_MAPS, "settings"), (SECRETS, "token"), (DEPLOYMENTS, "web"), (PODS, "pending")):
        await eventually(f"{name} to go", functools.partial(gone, client, kind, name, "team"))

    running = await eventually("the running pod to terminate", lambda: _terminating(client, "running"))

    async def content_remaining() -> dict[str, Any] | None:
        namespace = await client.get(NAMESPACES, "team")
        assert namespace["status"]["phase"] == "Terminating"
        conditions = namespace["status"].get("conditions") or []
        remaining = next((c for c in conditions if c["type"] == "NamespaceContentRemaining"), None)
        return remaining if remaining and "pods has 1 resource" in remaining["message"] else None

    remaining = await eventually("the namespace to report the pod left", content_remaining)
    assert remaining["status"] == "True"
    assert remaining["message"] == "Some resources are remaining: pods has 1 resource instances"

    await client.delete(PODS, "running", namespace="team", grace_period_seconds=0,  # what its agent does
                        preconditions_uid=running["metadata"]["uid"])
    await eventually("the namespace to go", lambda: gone(client, NAMESPACES, "team"))


async def _terminating(api: ApiClient, name: str) -> dict[str, Any] | None:
    pod = await api.get(PODS, name, namespace="team")
    return pod if pod["metadata"].get("deletionTimestamp") else None


# -- garbage collection --------------------------------------------------------------------------


def owned_by(owner: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
             "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]


async def deployment_with_dependents(api: ApiClient, name: str) -> list[tuple[Any, str]]:
    """Deployment → ReplicaSet → two pods, tied by ownerReferences; returns the dependents."""
    owner = await api.create(DEPLOYMENTS, builders.deployment(name, pod_spec=NGINX), namespace="default")
    replica_set = builders.replica_set(f"{name}-rs", pod_spec=NGINX)
    replica_set["metadata"]["ownerReferences"] = owned_by(owner)
    replica_set = await api.create(REPLICA_SETS, replica_set, namespace="default")
    for index in range(2):
        pod = builders.pod(f"{name}-pod-{index}", containers=NGINX["containers"])
        pod["metadata"]["ownerReferences"] = owned_by(replica_set)
        await api.create(PODS, pod, namespace="default")
    return [(REPLICA_SETS, f"{name}-rs"), (PODS, f"{name}-pod-0"), (PODS, f"{name}-pod-1")]


@pytest.mark.parametrize("policy", ["Background", "Foreground"])
async def test_deleting_an_owner_deletes_its_dependents(client: ApiClient, policy: Any) -> None:
    dependents = await deployment_with_dependents(client, policy.lower())
    await client.delete(DEPLOYMENTS, policy.lower(), namespace="default", propagation_policy=policy)
    await eventually("the owner to go", lambda: gone(client, DEPLOYMENTS, policy.lower(), "default"))
    if policy == "Foreground":  # the owner went last
        for kind, name in dependents:
            assert await gone(client, kind, name, "default"), f"{name} outlived its foreground-deleted owner"
    for kind, name in dependents:
        await eventually(f"{name} to go", functools.partial(gone, client, kind, name, "default"))


async def test_orphan_deletion_keeps_dependents_without_the_reference(client: ApiClient) -> None:
    dependents = await deployment_with_dependents(client, "orphans")
    await client.delete(DEPLOYMENTS, "orphans", namespace="default", propagation_policy="Orphan")
    await eventually("the owner to go", lambda: gone(client, DEPLOYMENTS, "orphans", "default"))
    replica_set = await client.get(REPLICA_SETS, "orphans-rs", namespace="default")
    assert not replica_set["metadata"].get("ownerReferences")
    for kind, name in dependents[1:]:
        pod = await client.get(kind, name, namespace="default")
        assert pod["metadata"]["ownerReferences"][0]["uid"] == replica_set["metadata"]["uid"]


async def test_dependent_of_two_owners_lives_until_both_are_gone(client: ApiClient) -> None:
    owners = [await client.create(CONFIG_MAPS, {"metadata": {"name": name}}, namespace="default")
              for name in ("owner-a", "owner-b")]
    references = [{**owned_by(owner)[0], "controller": False} for owner in owners]
    await client.create(CONFIG_MAPS, {"metadata": {"name": "shared", "ownerReferences": references}},
                        namespace="default")
    await client.delete(CONFIG_MAPS, "owner-a", namespace="default")

    async def only_b_left() -> bool:
        shared = await client.get(CONFIG_MAPS, "shared", namespace="default")
        return [ref["name"] for ref in shared["metadata"]["ownerReferences"]] == ["owner-b"]

    await eventually("the reference to the deleted owner to be dropped", only_b_left)
    await client.delete(CONFIG_MAPS, "owner-b", namespace="default")
    await eventually("the last owner's dependent to go", lambda: gone(client, CONFIG_MAPS, "shared", "default"))
