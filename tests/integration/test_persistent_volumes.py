"""Volumes that persist, through the whole pipeline: real apiserver, scheduler, controller-manager and two node
agents over the fake runtime, each its own process.

A claim of the default class (`standard`: local-path, WaitForFirstConsumer) waits for its first pod;
the scheduler picks the node and selects it on the claim; the provisioner makes a volume pinned to
that node; the binder binds both ways; the node agent makes the directory and runs the pod. What the
pod left in the directory is there for its replacement, which the volume's node affinity brings back
to the same node. The claim stays while a pod uses it (pvc-protection); once gone, a Delete volume
goes with its directory, a Retain one stays Released with its data; deleting a namespace takes its
claims and their volumes with it.
"""

from __future__ import annotations

import stat
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from minik8s.api.kinds import (
    EVENTS,
    NAMESPACES,
    PERSISTENT_VOLUME_CLAIMS,
    PERSISTENT_VOLUMES,
    PODS,
    STORAGE_CLASSES,
)
from minik8s.api.meta import JsonObject
from minik8s.api.persistent_volumes import ANN_SELECTED_NODE, HOSTNAME_LABEL
from minik8s.client.api import ApiClient
from minik8s.client.errors import NotFound
from tests.support.cluster_api import is_running, wait_for_ready_nodes
from tests.support.daemons import SimulatedCluster, simulated_cluster
from tests.support.storage_builders import claim_pod, pv, pvc, storage_class
from tests.support.waiting import eventually

pytestmark = pytest.mark.timeout(180)

NAMESPACE = "default"
WAIT_SECONDS = 40.0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatedCluster]:
    with simulated_cluster(tmp_path_factory.mktemp("volumes")) as running:
        running.start_nodes(2)
        running.start_scheduler("scheduler", leader_elect=False)
        running.start_controller_manager("controller-manager", leader_elect=False)
        yield running


@pytest.fixture
async def client(cluster: SimulatedCluster) -> AsyncIterator[ApiClient]:
    async with ApiClient(cluster.servers) as api:
        await wait_for_ready_nodes(api, 2)
        yield api


async def get(client: ApiClient, kind: Any, name: str, namespace: str | None = NAMESPACE) -> JsonObject | None:
    try:
        return await client.get(kind, name, namespace=namespace)
    except NotFound:
        return None


async def running_pod(client: ApiClient, name: str) -> JsonObject:
    async def check() -> JsonObject | None:
        pod = await get(client, PODS, name)
        return pod if pod is not None and is_running(pod) else None

    return await eventually(f"pod {name} to run", check, timeout=WAIT_SECONDS)  # type: ignore[no-any-return]


async def bound_claim(client: ApiClient, name: str) -> JsonObject:
    async def check() -> JsonObject | None:
        claim = await get(client, PERSISTENT_VOLUME_CLAIMS, name)
        return claim if claim is not None and (claim.get("status") or {}).get("phase") == "Bound" else None

    return await eventually(f"claim {name} to be Bound", check, timeout=WAIT_SECONDS)  # type: ignore[no-any-return]


async def gone(client: ApiClient, kind: Any, name: str, namespace: str | None = NAMESPACE) -> None:
    async def check() -> bool:
        return await get(client, kind, name, namespace) is None

    await eventually(f"{kind.singular} {name} to be gone", check, timeout=WAIT_SECONDS)


async def claim_events(client: ApiClient, claim: str) -> list[str]:
    events = (await client.list(EVENTS, namespace=NAMESPACE)).get("items") or []
    return [e["reason"] for e in events if (e.get("involvedObject") or {}).get("name") == claim]


async def provisioned_claim(client: ApiClient, claim: str, pod: JsonObject) -> tuple[JsonObject, JsonObject]:
    """A default-class claim used by `pod`, followed until bound: (its pod running, its volume)."""
    await client.create(PERSISTENT_VOLUME_CLAIMS, pvc(claim), namespace=NAMESPACE)
    await eventually("the claim to wait for its first consumer",
                     lambda: has_event(client, claim, "WaitForFirstConsumer"), timeout=WAIT_SECONDS)
    await client.create(PODS, pod, namespace=NAMESPACE)
    running = await running_pod(client, pod["metadata"]["name"])
    bound = await bound_claim(client, claim)
    volume = await client.get(PERSISTENT_VOLUMES, bound["spec"]["volumeName"])
    return running, volume


async def has_event(client: ApiClient, claim: str, reason: str) -> bool:
    return reason in await claim_events(client, claim)


def directory_of(volume: JsonObject) -> Path:
    return Path(volume["spec"]["hostPath"]["path"])


async def test_data_written_by_a_pod_comes_back_in_its_replacement_on_the_same_node(
        cluster: SimulatedCluster, client: ApiClient) -> None:
    first = claim_pod("writer", "data")
    first["spec"]["nodeSelector"] = {HOSTNAME_LABEL: "sim-2"}
    pod, volume = await provisioned_claim(client, "data", first)
    claim = await client.get(PERSISTENT_VOLUME_CLAIMS, "data", namespace=NAMESPACE)
    assert pod["spec"]["nodeName"] == "sim-2" and claim["metadata"]["annotations"][ANN_SELECTED_NODE] == "sim-2"
    assert volume["metadata"]["name"] == f"pvc-{claim['metadata']['uid']}"
    assert volume["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]["values"] == [
        "sim-2"]
    assert volume["spec"]["claimRef"]["uid"] == claim["metadata"]["uid"]
    assert claim["status"] == {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}}
    directory = directory_of(volume)
    assert directory == cluster.root / "nodes" / "sim-2" / "volumes" / f"{volume['metadata']['name']}_default_data"
    assert directory.is_dir() and stat.S_IMODE(directory.stat().st_mode) == 0o777
    (directory / "greeting").write_text("hello")  # what the pod wrote (the fake runtime runs no process)
    assert set(await claim_events(client, "data")) >= {"WaitForFirstConsumer", "ExternalProvisioning",
                                                       "Provisioning", "ProvisioningSucceeded"}

    await client.delete(PODS, "writer", namespace=NAMESPACE)
    await gone(client, PODS, "writer")
    await client.create(PODS, claim_pod("reader", "data"), namespace=NAMESPACE)  # no node selector this time
    reader = await running_pod(client, "reader")
    assert reader["spec"]["nodeName"] == "sim-2"  # the volume's node affinity brought it back
    assert (directory / "greeting").read_text() == "hello"
    await client.delete(PODS, "reader", namespace=NAMESPACE)
    await client.delete(PERSISTENT_VOLUME_CLAIMS, "data", namespace=NAMESPACE)


async def test_a_claim_in_use_stays_and_its_delete_volume_goes_with_the_directory_after(
        client: ApiClient) -> None:
    _, volume = await provisioned_claim(client, "busy", claim_pod("user", "busy"))
    await client.create(PERSISTENT_VOLUME_CLAIMS, pvc("idle", storage_class=""), namespace=NAMESPACE)
    await client.delete(PERSISTENT_VOLUME_CLAIMS, "busy", namespace=NAMESPACE)
    await client.delete(PERSISTENT_VOLUME_CLAIMS, "idle", namespace=NAMESPACE)
    await gone(client, PERSISTENT_VOLUME_CLAIMS, "idle")  # the protection controller let the unused one go …
    busy = await client.get(PERSISTENT_VOLUME_CLAIMS, "busy", namespace=NAMESPACE)
    assert busy["metadata"]["deletionTimestamp"]  # … and holds the one a pod uses
    assert busy["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    assert directory_of(volume).is_dir()

    await client.delete(PODS, "user", namespace=NAMESPACE)
    await gone(client, PERSISTENT_VOLUME_CLAIMS, "busy")
    await gone(client, PERSISTENT_VOLUMES, volume["metadata"]["name"], None)  # Released, then deleted by its node
    assert not directory_of(volume).exists()


async def test_a_retain_volume_outlives_its_claim_with_its_data(client: ApiClient) -> None:
    await client.create(STORAGE_CLASSES, storage_class("keep", policy="Retain"))
    claim_body = pvc("kept", storage_class="keep")
    await client.create(PERSISTENT_VOLUME_CLAIMS, claim_body, namespace=NAMESPACE)
    await client.create(PODS, claim_pod("keeper", "kept"), namespace=NAMESPACE)
    await running_pod(client, "keeper")
    volume = await client.get(PERSISTENT_VOLUMES, (await bound_claim(client, "kept"))["spec"]["volumeName"])
    assert volume["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    (directory_of(volume) / "keep-me").write_text("kept")
    await client.delete(PODS, "keeper", namespace=NAMESPACE)
    await client.delete(PERSISTENT_VOLUME_CLAIMS, "kept", namespace=NAMESPACE)

    async def released() -> bool:
        current = await get(client, PERSISTENT_VOLUMES, volume["metadata"]["name"], None)
        return current is not None and current["status"]["phase"] == "Released"

    await eventually("the volume to be Released", released, timeout=WAIT_SECONDS)
    assert (directory_of(volume) / "keep-me").read_text() == "kept"


async def test_a_static_volume_binds_an_immediate_claim_both_ways(client: ApiClient) -> None:
    await client.create(PERSISTENT_VOLUMES, pv("static-small", capacity="1Gi", storage_class=""))
    await client.create(PERSISTENT_VOLUMES, pv("static-big", capacity="5Gi", storage_class=""))
    await client.create(PERSISTENT_VOLUME_CLAIMS, pvc("manual", storage_class="", request="512Mi"),
                        namespace=NAMESPACE)
    claim = await bound_claim(client, "manual")
    assert claim["spec"]["volumeName"] == "static-small"  # the smallest that fits
    volume = await client.get(PERSISTENT_VOLUMES, "static-small")
    assert volume["status"]["phase"] == "Bound" and volume["spec"]["claimRef"]["name"] == "manual"
    assert claim["status"]["capacity"] == {"storage": "1Gi"}


async def test_deleting_a_namespace_deletes_its_claims_and_their_volumes(client: ApiClient) -> None:
    await client.create(NAMESPACES, {"metadata": {"name": "scratch"}})
    await client.create(PERSISTENT_VOLUME_CLAIMS, pvc("cache", namespace="scratch"), namespace="scratch")
    await client.create(PODS, claim_pod("worker", "cache"), namespace="scratch")
    claim = await eventually("the claim to be Bound", lambda: _bound_in(client, "scratch", "cache"),
                             timeout=WAIT_SECONDS)
    volume = await client.get(PERSISTENT_VOLUMES, claim["spec"]["volumeName"])
    await eventually("the pod to run", lambda: running_in(client, "scratch", "worker"), timeout=WAIT_SECONDS)
    assert directory_of(volume).is_dir()
    await client.delete(NAMESPACES, "scratch")
    await gone(client, NAMESPACES, "scratch", None)  # its pod, then (unprotected) its claim, then itself
    await gone(client, PERSISTENT_VOLUMES, volume["metadata"]["name"], None)
    assert not directory_of(volume).exists()


async def _bound_in(client: ApiClient, namespace: str, name: str) -> JsonObject | None:
    claim = await get(client, PERSISTENT_VOLUME_CLAIMS, name, namespace)
    return claim if claim is not None and (claim.get("status") or {}).get("phase") == "Bound" else None


async def running_in(client: ApiClient, namespace: str, name: str) -> bool:
    pod = await get(client, PODS, name, namespace)
    return pod is not None and is_running(pod)
