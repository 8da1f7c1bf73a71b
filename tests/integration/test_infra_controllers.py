"""DaemonSet, Endpoints and node IPAM controllers through a real apiserver.

An in-process apiserver and the three controllers on one loop; no node agents, no scheduler:
Node objects are created by the tests, and a tiny stand-in kubelet (for DaemonSet pods) marks
pods Running and Ready through PUT /status and finishes their graceful deletion.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest

from minik8s.api.kinds import DAEMON_SETS, ENDPOINTS, EVENTS, NODES, PODS, SERVICES
from minik8s.client.api import ApiClient
from minik8s.client.errors import ApiError, NotFound
from minik8s.controllers.common.context import (
    ControllerOptions,
)
from minik8s.controllers.daemonset.controller import DaemonSetController
from minik8s.controllers.endpoints.controller import UNRESOLVED_PORT_REASON, EndpointsController
from minik8s.controllers.node_ipam.controller import NodeIpamController
from tests.support import builders
from tests.support.in_loop import controllers_running, found
from tests.support.serving import apiserver_in_loop
from tests.support.waiting import eventually

pytestmark = pytest.mark.timeout(90)

T = TypeVar("T")


@pytest.fixture
async def api() -> AsyncIterator[ApiClient]:
    """An apiserver plus the DaemonSet, Endpoints and node IPAM controllers; a client to act with."""
    async with apiserver_in_loop() as client, controllers_running(client, ControllerOptions(workers=2), lambda c: [
            DaemonSetController(c), EndpointsController(c), NodeIpamController(c)]):
        yield client


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def create_node(client: ApiClient, name: str, *, taints: list[dict[str, str]] | None = None,
                      pod_cidr: str | None = None) -> None:
    spec: dict[str, Any] = {"taints": taints or []}
    if pod_cidr:
        spec.update(podCIDR=pod_cidr, podCIDRs=[pod_cidr])
    await client.create(NODES, {"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
                                "spec": spec})


async def set_pod_status(client: ApiClient, pod: dict[str, Any], *, ready: bool, ip: str) -> None:
    condition = {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": now()}
    status = {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}], "conditions": [condition]}
    await client.update_status(PODS, {**pod, "status": status})


async def play_kubelet(client: ApiClient, namespace: str) -> None:
    """Mark every pod Ready, and finish graceful deletions, until cancelled."""
    addresses = iter(range(2, 250))
    while True:
        for pod in (await client.list(PODS, namespace=namespace))["items"]:
            name = pod["metadata"]["name"]
            with contextlib.suppress(ApiError):
                if pod["metadata"].get("deletionTimestamp"):
                    await client.delete(PODS, name, namespace=namespace, grace_period_seconds=0)
                elif (pod.get("status") or {}).get("phase") != "Running":
                    await set_pod_status(client, pod, ready=True, ip=f"10.244.9.{next(addresses)}")
        await asyncio.sleep(0.05)


def daemon_set(image: str) -> dict[str, Any]:
    return builders.daemon_set("agent", namespace="default",
                               pod_spec={"containers": [builders.container("agent", image)]},
                               updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}})


async def daemon_pods(client: ApiClient) -> dict[str, list[dict[str, Any]]]:
    """Live (not terminating) DaemonSet pods by node."""
    by_node: dict[str, list[dict[str, Any]]] = {}
    for pod in (await client.list(PODS, namespace="default", label_selector="app=agent"))["items"]:
        if not pod["metadata"].get("deletionTimestamp"):
            by_node.setdefault(pod["spec"]["nodeName"], []).append(pod)
    return by_node


async def test_a_daemon_set_runs_one_pod_per_eligible_node_and_rolls_updates(api: ApiClient) -> None:
    await create_node(api, "node-a")
    await create_node(api, "node-b")
    await create_node(api, "node-db", taints=[{"key": "dedicated", "value": "db", "effect": "NoSchedule"}])
    kubelet = asyncio.create_task(play_kubelet(api, "default"))
    try:
        await api.create(DAEMON_SETS, daemon_set("agent:1"))

        async def placed(expected: set[str]) -> dict[str, list[dict[str, Any]]] | None:
            pods = await daemon_pods(api)
            return pods if set(pods) == expected and all(len(p) == 1 for p in pods.values()) else None

        await eventually("one pod on each untainted node", lambda: placed({"node-a", "node-b"}))
        events = (await api.list(EVENTS, namespace="default"))["items"]
        assert {(e["involvedObject"]["kind"], e["involvedObject"]["name"]) for e in events
                if e["reason"] == "SuccessfulCreate"} == {("DaemonSet", "agent")}
        await create_node(api, "node-c")
        await eventually("a pod on the new node", lambda: placed({"node-a", "node-b", "node-c"}))

        async def status_says(**expected: int) -> bool:
            status = (await api.get(DAEMON_SETS, "agent", namespace="default")).get("status") or {}
            return all(status.get(key, 0) == value for key, value in expected.items())

        await eventually("the status to count three ready pods",
                         lambda: status_says(desiredNumberScheduled=3, currentNumberScheduled=3, numberReady=3,
                                             numberAvailable=3, updatedNumberScheduled=3))
        before = {pod["metadata"]["name"] for pods in (await daemon_pods(api)).values() for pod in pods}
        current = await api.get(DAEMON_SETS, "agent", namespace="default")
        current["spec"]["template"]["spec"]["containers"][0]["image"] = "agent:2"
        await api.update(DAEMON_SETS, current)

        async def rolled() -> bool:
            pods = await placed({"node-a", "node-b", "node-c"})
            return bool(pods) and all(p[0]["spec"]["containers"][0]["image"] == "agent:2"
                                      and p[0]["metadata"]["name"] not in before for p in (pods or {}).values())

        await eventually("every pod replaced by one of the new template", rolled, timeout=30)
        await eventually("the status to count the updated pods",
                         lambda: status_says(updatedNumberScheduled=3, numberAvailable=3))
    finally:
        kubelet.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await kubelet


def web_pod(name: str, *, port_name: str = "http", container_port: int = 8080) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "default", "labels": {"app": "web"}},
            "spec": {"nodeName": "node-a", "containers": [
                {"name": "web", "image": "web:1", "ports": [{"name": port_name, "containerPort": container_port}]}]}}


async def test_endpoints_follow_pod_readiness_and_resolve_named_ports(api: ApiClient) -> None:
    service = {"metadata": {"name": "web", "namespace": "default"},
               "spec": {"selector": {"app": "web"},
                        "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]}}
    await api.create(SERVICES, service)
    ready = await api.create(PODS, web_pod("web-1"))
    unready = await api.create(PODS, web_pod("web-2", container_port=9090))
    await set_pod_status(api, ready, ready=True, ip="10.244.1.10")
    await set_pod_status(api, unready, ready=False, ip="10.244.1.11")

    def addresses(endpoints: dict[str, Any], where: str) -> list[tuple[str, int, str]]:
        return sorted((address["ip"], subset["ports"][0]["port"], address["targetRef"]["name"])
                      for subset in endpoints.get("subsets") or [] for address in subset.get(where) or [])

    async def endpoints_show(expected_ready: list[Any], expected_not_ready: list[Any]) -> dict[str, Any] | None:
        endpoints = await found(api, ENDPOINTS, "web", "default")
        if endpoints is None:
            return None
        matches = (addresses(endpoints, "addresses") == expected_ready
                   and addresses(endpoints, "notReadyAddresses") == expected_not_ready)
        return endpoints if matches else None

    endpoints = await eventually(
        "a ready and a not-ready address, each with its own resolved port",
        lambda: endpoints_show([("10.244.1.10", 8080, "web-1")], [("10.244.1.11", 9090, "web-2")]))
    address = endpoints["subsets"][0]["addresses"][0]
    assert address["nodeName"] == "node-a" and address["targetRef"]["kind"] == "Pod"

    current = await api.get(PODS, "web-2", namespace="default")
    await set_pod_status(api, current, ready=True, ip="10.244.1.11")
    await eventually("the pod turning Ready to move into addresses",
                     lambda: endpoints_show([("10.244.1.10", 8080, "web-1"), ("10.244.1.11", 9090, "web-2")], []))

    stranger = await api.create(PODS, web_pod("web-3", port_name="admin"))
    await set_pod_status(api, stranger, ready=True, ip="10.244.1.12")

    async def warned() -> bool:
        events = (await api.list(EVENTS, namespace="default"))["items"]
        return any(e["reason"] == UNRESOLVED_PORT_REASON and e["involvedObject"]["name"] == "web"
                   and "web-3" in e["message"] for e in events)

    await eventually("a Warning Event naming the pod without the port", warned)
    endpoints = await api.get(ENDPOINTS, "web", namespace="default")
    assert "10.244.1.12" not in str(endpoints)

    await api.delete(SERVICES, "web", namespace="default")

    async def endpoints_gone() -> bool:
        try:
            await api.get(ENDPOINTS, "web", namespace="default")
        except NotFound:
            return True
        return False

    await eventually("the Endpoints to go with their Service", endpoints_gone)


async def test_node_ipam_gives_every_node_a_distinct_block(api: ApiClient) -> None:
    await create_node(api, "agent-set", pod_cidr="10.244.0.0/24")
    names = [f"node-{index}" for index in range(6)]
    await asyncio.gather(*(create_node(api, name) for name in names))

    async def assigned() -> dict[str, str] | None:
        nodes = (await api.list(NODES))["items"]
        cidrs = {n["metadata"]["name"]: (n.get("spec") or {}).get("podCIDR") for n in nodes}
        return cidrs if all(cidrs.get(name) for name in names) else None  # type: ignore[return-value]

    cidrs = await eventually("every node to get a pod CIDR", assigned)
    assert len(set(cidrs.values())) == len(cidrs) == 7
    assert all(cidr.startswith("10.244.") and cidr.endswith("/24") for cidr in cidrs.values())
    node = await api.get(NODES, "node-0")
    assert node["spec"]["podCIDRs"] == [node["spec"]["podCIDR"]]
