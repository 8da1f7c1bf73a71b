"""What the official `kubernetes` Python client decodes from the apiserver, without Docker.

The client turns every answer into a typed model chosen by the OpenAPI spec of the call (a
DELETE of a Service is decoded as a V1Service, not a Status), so a body of the wrong shape is a
client-side exception for the user even when the server did the right thing. The client is
synchronous: each call runs on a worker thread while the apiserver serves on the test's loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from kubernetes import client, config

from minik8s.client.kubeconfig import write_kubeconfig

T = TypeVar("T")


@pytest.fixture
def core(api: httpx.AsyncClient, tmp_path: Path) -> Any:
    """A CoreV1Api built from a kubeconfig of the test apiserver, as a user loads it (typed Any: the
    client's models make every field Optional)."""
    kubeconfig = tmp_path / "kubeconfig"
    write_kubeconfig(kubeconfig, servers=[str(api.base_url).rstrip("/")])
    configuration = client.Configuration()
    config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
    return client.CoreV1Api(client.ApiClient(configuration))


async def call(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await asyncio.to_thread(function, *args, **kwargs)


def service(name: str) -> client.V1Service:
    return client.V1Service(metadata=client.V1ObjectMeta(name=name), spec=client.V1ServiceSpec(
        selector={"app": name}, ports=[client.V1ServicePort(port=80, target_port=8080)]))


def pod(name: str) -> client.V1Pod:
    return client.V1Pod(metadata=client.V1ObjectMeta(name=name), spec=client.V1PodSpec(
        containers=[client.V1Container(name="main", image="minik8s/busybox:latest")]))


async def test_deleting_a_service_answers_with_the_service(core: Any) -> None:
    created = await call(core.create_namespaced_service, "default", service("web"))
    deleted = await call(core.delete_namespaced_service, "web", "default")
    assert deleted.metadata.uid == created.metadata.uid and deleted.spec.cluster_ip == created.spec.cluster_ip
    assert isinstance(deleted, client.V1Service)


async def test_deleting_a_pod_answers_with_the_pod(core: Any) -> None:
    await call(core.create_namespaced_pod, "default", pod("solo"))
    deleted = await call(core.delete_namespaced_pod, "solo", "default", grace_period_seconds=0)
    assert deleted.metadata.name == "solo" and isinstance(deleted, client.V1Pod)


async def test_deleting_a_config_map_answers_with_a_success_status(core: Any) -> None:
    await call(core.create_namespaced_config_map, "default",
               client.V1ConfigMap(metadata=client.V1ObjectMeta(name="settings"), data={"mode": "fast"}))
    deleted = await call(core.delete_namespaced_config_map, "settings", "default")
    assert deleted["status"] == "Success" and deleted["details"]["name"] == "settings"
