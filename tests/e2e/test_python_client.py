"""The official `kubernetes` Python client against a Docker cluster, used exactly as its users use it.

A kubeconfig loaded with `config.load_kube_config` into a Configuration of our own, CoreV1Api and
AppsV1Api on one ApiClient, `watch.Watch` across a resourceVersion that expired, pod logs, and exec
through `kubernetes.stream`. The client decodes every answer into a typed model, so these tests
assert the models' fields: a body of the wrong shape fails here even when kubectl would not mind.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from kubernetes import client, config, stream, watch
from kubernetes.client.exceptions import ApiException

from tests.e2e.conftest import WATCH_HISTORY, Cluster
from tests.support.waiting import wait_for

pytestmark = pytest.mark.docker

IMAGE = "minik8s/busybox:latest"
SLEEP = "trap 'exit 0' TERM; sleep 3600 & wait"


@dataclass
class Kube:
    """The two API groups a user reaches for. Typed `Any`: the client's models make every field
    Optional, and what these tests check about the fields are their assertions."""

    core: Any  # client.CoreV1Api
    apps: Any  # client.AppsV1Api


@pytest.fixture(scope="module")
def kube(cluster: Cluster) -> Iterator[Kube]:
    configuration = client.Configuration()
    config.load_kube_config(config_file=str(cluster.home / "kubeconfig"), client_configuration=configuration)
    with client.ApiClient(configuration) as api_client:
        yield Kube(client.CoreV1Api(api_client), client.AppsV1Api(api_client))


def busybox(name: str, command: str) -> client.V1PodSpec:
    """A pod spec of one busybox container running `command`, quick to stop."""
    container = client.V1Container(name=name, image=IMAGE, image_pull_policy="IfNotPresent",
                                   command=["sh", "-c", command])
    return client.V1PodSpec(containers=[container], termination_grace_period_seconds=1)


def pod(name: str, command: str = SLEEP, **labels: str) -> client.V1Pod:
    return client.V1Pod(metadata=client.V1ObjectMeta(name=name, labels=labels or {"app": name}),
                        spec=busybox("main", command))


def status_of(error: ApiException) -> dict[str, Any]:
    """The Status body of a failed call, as a user would parse it."""
    body: dict[str, Any] = json.loads(str(error.body))
    assert body["kind"] == "Status" and body["status"] == "Failure" and body["code"] == error.status
    return body


def running(kube: Kube, name: str, namespace: str) -> Any:
    def probe() -> Any:
        found = kube.core.read_namespaced_pod(name, namespace)
        return found if found.status.phase == "Running" else None

    return wait_for(f"pod {name} to run", probe, timeout=60)


def test_config_maps_create_list_read_replace_patch_delete(cluster: Cluster, kube: Kube) -> None:
    with cluster.namespace("pyclient-cm") as namespace:
        settings = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="settings", labels={"app": "demo"}),
                                      data={"mode": "fast"})
        created = kube.core.create_namespaced_config_map(namespace, settings)
        assert created.metadata.uid and created.metadata.namespace == namespace
        kube.core.create_namespaced_config_map(namespace, client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name="other", labels={"app": "other"})))
        listed = kube.core.list_namespaced_config_map(namespace, label_selector="app=demo")
        assert [item.metadata.name for item in listed.items] == ["settings"]
        assert int(listed.metadata.resource_version) >= int(created.metadata.resource_version)

        current = kube.core.read_namespaced_config_map("settings", namespace)
        current.data = {"mode": "safe"}
        replaced = kube.core.replace_namespaced_config_map("settings", namespace, current)
        assert replaced.data == {"mode": "safe"}
        assert int(replaced.metadata.resource_version) > int(created.metadata.resource_version)
        with pytest.raises(ApiException) as stale:
            kube.core.replace_namespaced_config_map("settings", namespace, current)  # the old resourceVersion
        assert stale.value.status == 409 and status_of(stale.value)["reason"] == "Conflict"

        patched = kube.core.patch_namespaced_config_map("settings", namespace, {"data": {"size": "3"}})
        assert patched.data == {"mode": "safe", "size": "3"}
        json_patched = kube.core.patch_namespaced_config_map(
            "settings", namespace, [{"op": "replace", "path": "/data/size", "value": "4"}])
        assert json_patched.data == {"mode": "safe", "size": "4"}

        deleted = kube.core.delete_namespaced_config_map("settings", namespace)
        assert deleted["status"] == "Success"
        with pytest.raises(ApiException) as missing:
            kube.core.read_namespaced_config_map("settings", namespace)
        body = status_of(missing.value)
        assert missing.value.status == 404 and body["reason"] == "NotFound"
        assert body["message"] == 'configmaps "settings" not found'
        assert body["details"] == {"name": "settings", "kind": "configmaps"}


def test_services_get_a_cluster_ip_that_replace_and_patch_keep(cluster: Cluster, kube: Kube) -> None:
    with cluster.namespace("pyclient-svc") as namespace:
        spec = client.V1ServiceSpec(selector={"app": "web"},
                                    ports=[client.V1ServicePort(name="http", port=80, target_port=8080)])
        created = kube.core.create_namespaced_service(namespace, client.V1Service(
            metadata=client.V1ObjectMeta(name="web"), spec=spec))
        cluster_ip = created.spec.cluster_ip
        assert cluster_ip.startswith("10.96.") and created.spec.cluster_ips == [cluster_ip]
        assert created.spec.type == "ClusterIP" and created.spec.ports[0].protocol == "TCP"

        current = kube.core.read_namespaced_service("web", namespace)
        current.spec.ports[0].port = 8000
        replaced = kube.core.replace_namespaced_service("web", namespace, current)
        assert replaced.spec.ports[0].port == 8000 and replaced.spec.cluster_ip == cluster_ip
        patched = kube.core.patch_namespaced_service("web", namespace, {"metadata": {"labels": {"tier": "front"}}})
        assert patched.metadata.labels == {"tier": "front"} and patched.spec.cluster_ip == cluster_ip
        assert [s.metadata.name for s in kube.core.list_namespaced_service(namespace, label_selector="tier=front").items] \
            == ["web"]

        deleted = kube.core.delete_namespaced_service("web", namespace)
        assert deleted.metadata.name == "web" and deleted.spec.cluster_ip == cluster_ip
        with pytest.raises(ApiException) as missing:
            kube.core.read_namespaced_service("web", namespace)
        assert missing.value.status == 404 and status_of(missing.value)["reason"] == "NotFound"


def test_a_deployment_becomes_available_scales_and_goes(cluster: Cluster, kube: Kube) -> None:
    with cluster.namespace("pyclient-deploy") as namespace:
        labels = {"app": "sleeper"}
        template = client.V1PodTemplateSpec(metadata=client.V1ObjectMeta(labels=labels),
                                            spec=busybox("main", SLEEP))
        created = kube.apps.create_namespaced_deployment(namespace, client.V1Deployment(
            metadata=client.V1ObjectMeta(name="sleeper"),
            spec=client.V1DeploymentSpec(replicas=2, selector=client.V1LabelSelector(match_labels=labels),
                                         template=template)))
        assert created.spec.strategy.type == "RollingUpdate" and created.metadata.generation == 1

        def available(replicas: int) -> Any:
            found = kube.apps.read_namespaced_deployment_status("sleeper", namespace)
            status = found.status
            done = (status.ready_replicas == replicas and status.available_replicas == replicas
                    and status.replicas == replicas and status.observed_generation == found.metadata.generation)
            return found if done else None

        ready = wait_for("2 available replicas", lambda: available(2), timeout=90)
        assert {c.type: c.status for c in ready.status.conditions}["Available"] == "True"
        pods = kube.core.list_namespaced_pod(namespace, label_selector="app=sleeper").items
        assert len(pods) == 2 and all(p.status.phase == "Running" for p in pods)

        kube.apps.patch_namespaced_deployment("sleeper", namespace, {"spec": {"replicas": 1}})
        wait_for("1 available replica", lambda: available(1), timeout=60)
        current = kube.apps.read_namespaced_deployment("sleeper", namespace)
        current.metadata.labels = {"team": "core"}
        replaced = kube.apps.replace_namespaced_deployment("sleeper", namespace, current)
        assert replaced.metadata.labels == {"team": "core"} and replaced.spec.replicas == 1
        assert [d.metadata.name for d in kube.apps.list_namespaced_deployment(namespace).items] == ["sleeper"]

        deleted = kube.apps.delete_namespaced_deployment("sleeper", namespace)
        assert deleted["status"] == "Success"
        wait_for("the deployment's pods to go", lambda: not kube.core.list_namespaced_pod(
            namespace, label_selector="app=sleeper").items, timeout=60)


def test_a_pod_watch_sees_it_added_modified_and_deleted(cluster: Cluster, kube: Kube) -> None:
    with cluster.namespace("pyclient-watch") as namespace:
        start = kube.core.list_namespaced_pod(namespace).metadata.resource_version
        created = kube.core.create_namespaced_pod(namespace, pod("watched"))
        assert created.status.phase == "Pending"
        running(kube, "watched", namespace)
        current = kube.core.read_namespaced_pod("watched", namespace)
        current.metadata.labels["stage"] = "replaced"
        kube.core.replace_namespaced_pod("watched", namespace, current)
        patched = kube.core.patch_namespaced_pod("watched", namespace, {"metadata": {"labels": {"stage": "patched"}}})
        assert patched.metadata.labels == {"app": "watched", "stage": "patched"}
        deleted = kube.core.delete_namespaced_pod("watched", namespace)
        assert deleted.metadata.deletion_timestamp is not None

        seen: list[tuple[str, str | None]] = []
        for event in watch.Watch().stream(kube.core.list_namespaced_pod, namespace, resource_version=start,
                                          timeout_seconds=60):
            seen.append((event["type"], event["object"].metadata.labels.get("stage")))
            assert isinstance(event["object"], client.V1Pod)
            if event["type"] == "DELETED":
                break
        assert seen[0] == ("ADDED", None) and seen[-1][0] == "DELETED"
        assert {stage for kind, stage in seen if kind == "MODIFIED"} >= {"replaced", "patched"}


def fill_watch_history(cluster: Cluster, namespace: str, *, writes: int) -> None:
    """`writes` store revisions: patches of a few config maps by concurrent writers (the fastest way)."""

    async def writer(api: httpx.AsyncClient, index: int, count: int) -> None:
        path = f"/api/v1/namespaces/{namespace}/configmaps"
        assert (await api.post(path, json={"metadata": {"name": f"filler-{index}"}})).status_code == 201
        for number in range(count - 1):
            response = await api.patch(f"{path}/filler-{index}", json={"data": {"n": str(number)}},
                                       headers={"content-type": "application/merge-patch+json"})
            assert response.status_code == 200, response.text

    async def fill() -> None:
        writers = 32
        async with httpx.AsyncClient(base_url=str(cluster.api.base_url), timeout=30,
                                     verify=cluster.tls) as api:
            await asyncio.gather(*(writer(api, index, writes // writers + 1) for index in range(writers)))

    asyncio.run(fill())


@pytest.mark.timeout(300)
def test_a_watch_from_an_expired_version_gets_410_and_a_relist_recovers(cluster: Cluster, kube: Kube) -> None:
    with cluster.namespace("pyclient-expired") as namespace:
        kube.core.create_namespaced_pod(namespace, pod("before"))
        expired = kube.core.list_namespaced_pod(namespace).metadata.resource_version
        # The session cluster keeps a short watch window: this many later revisions push `expired` out.
        fill_watch_history(cluster, namespace, writes=WATCH_HISTORY + 100)

        raw = kube.core.list_namespaced_pod(namespace, watch=True, resource_version=expired,
                                            _preload_content=False)
        first = json.loads(raw.data.decode().splitlines()[0])
        assert first["type"] == "ERROR"
        assert first["object"]["kind"] == "Status" and first["object"]["code"] == 410
        assert first["object"]["reason"] == "Expired" and first["object"]["status"] == "Failure"

        seen: list[str] = []
        resource_version = expired
        for _ in range(2):  # a user's reconnect loop: watch; on 410 re-list and watch from the list
            try:
                stream_ = watch.Watch()
                for event in stream_.stream(kube.core.list_namespaced_pod, namespace,
                                            resource_version=resource_version):
                    seen.append(f"{event['type']} {event['object'].metadata.name}")
                    if event["object"].metadata.name == "after":
                        stream_.stop()
                break
            except ApiException as error:
                assert error.status == 410
                seen.append(f"GONE {error.status}")
                listing = kube.core.list_namespaced_pod(namespace)
                seen.append("LISTED " + ",".join(p.metadata.name for p in listing.items))
                resource_version = listing.metadata.resource_version
                kube.core.create_namespaced_pod(namespace, pod("after"))
        assert seen == ["GONE 410", "LISTED before", "ADDED after"]


def test_logs_and_exec_through_the_client(cluster: Cluster, kube: Kube) -> None:
    with cluster.namespace("pyclient-exec") as namespace:
        kube.core.create_namespaced_pod(namespace, pod("talker", "for i in 1 2 3 4 5; do echo line-$i; done; " + SLEEP))
        running(kube, "talker", namespace)
        def complete_log() -> str | None:
            text: str = kube.core.read_namespaced_pod_log("talker", namespace)
            return text if "line-5" in text else None

        logs = wait_for("the pod's output", complete_log)
        assert logs == "".join(f"line-{i}\n" for i in range(1, 6))
        assert kube.core.read_namespaced_pod_log("talker", namespace, container="main", tail_lines=2) \
            == "line-4\nline-5\n"

        output = stream.stream(kube.core.connect_get_namespaced_pod_exec, "talker", namespace,
                               command=["sh", "-c", "echo out; echo err >&2"], container="main",
                               stdin=False, stdout=True, stderr=True, tty=False)
        assert sorted(output.splitlines()) == ["err", "out"]

        session = stream.stream(kube.core.connect_get_namespaced_pod_exec, "talker", namespace,
                                command=["sh", "-c", "echo partial; echo oops >&2; exit 3"],
                                stdin=False, stdout=True, stderr=True, tty=False, _preload_content=False)
        session.run_forever(timeout=30)
        assert session.read_stdout() == "partial\n" and session.read_stderr() == "oops\n"
        assert session.returncode == 3
        ok = stream.stream(kube.core.connect_get_namespaced_pod_exec, "talker", namespace, command=["true"],
                           stdin=False, stdout=True, stderr=True, tty=False, _preload_content=False)
        ok.run_forever(timeout=30)
        assert ok.returncode == 0

        with pytest.raises(ApiException) as missing:
            kube.core.read_namespaced_pod_log("nobody", namespace)
        assert missing.value.status == 404 and status_of(missing.value)["reason"] == "NotFound"
