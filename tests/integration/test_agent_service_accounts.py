"""A pod's ServiceAccount from end to end, in one event loop: admission, controllers, the node agent.

A Node,RBAC apiserver with a signing key and the ServiceAccount admission plugin; the ServiceAccount
and root CA publisher controllers as `system:kube-controller-manager`; the node agent (in-memory
runtime) as `system:node:node-a`. A pod bound to the node gets the `kube-api-access-*` volume, the
agent writes its token, ca.crt and namespace files, the container is created with the `kubernetes`
Service's variables and the volume mounted read-only at the token path, the token authenticates as
the pod's ServiceAccount — and the periodic sync renews it when it is due.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from minik8s.api.kinds import CONFIG_MAPS, PODS, SERVICE_ACCOUNTS
from minik8s.api.rbac_policy import CONTROLLER_MANAGER_USER
from minik8s.api.service_account_admission import TOKEN_MOUNT_PATH
from minik8s.api.user import SYSTEM_MASTERS, SYSTEM_NODES
from minik8s.apiserver.admission import DEFAULT_PLUGINS, SERVICE_ACCOUNT
from minik8s.client.api import ApiClient
from minik8s.controllers.common.context import ControllerOptions
from minik8s.controllers.root_ca_publisher.controller import RootCaPublisher
from minik8s.controllers.serviceaccount.controller import ServiceAccountController
from minik8s.node.agent import NodeAgent
from minik8s.node.executor import NodeSettings
from minik8s.node.fake.runtime import FakeRuntime
from minik8s.node.runtime import ContainerSpec
from tests.support import builders
from tests.support.in_loop import controllers_running, found
from tests.support.serving import apiserver_serving
from tests.support.users import user_token
from tests.support.waiting import eventually

pytestmark = pytest.mark.timeout(60)

NODE = "node-a"
CA = "-----BEGIN CERTIFICATE-----\nMIIBcluster\n-----END CERTIFICATE-----\n"
WHOAMI = "/apis/authentication.k8s.io/v1/selfsubjectreviews"


@dataclass
class Cluster:
    admin: ApiClient
    agent: NodeAgent
    runtime: FakeRuntime
    url: str


@contextlib.asynccontextmanager
async def agent_running(url: str, data_dir: Path) -> AsyncIterator[tuple[NodeAgent, FakeRuntime]]:
    runtime = FakeRuntime()
    settings = NodeSettings(node_name=NODE, network=f"fake-{NODE}", pod_cidr="10.250.1.0/24", node_ip="10.250.1.1",
                            data_dir=data_dir, host_mounts=False)  # fake pods: volumes on disk, no mounts
    await runtime.ensure_network(settings.network, subnet=settings.pod_cidr, gateway=settings.gateway)
    async with ApiClient([url], token=user_token(f"system:node:{NODE}", SYSTEM_NODES)) as client:
        agent = NodeAgent(client, runtime, settings, backoff_base=1.0, resync_seconds=0.5, workers=2)
        task = asyncio.create_task(agent.run())
        try:
            yield agent, runtime
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    async with apiserver_serving(authorization_mode="Node,RBAC", signing_key=ec.generate_private_key(ec.SECP256R1()),
                                 admission_plugins=DEFAULT_PLUGINS | {SERVICE_ACCOUNT}) as url, \
            ApiClient([url], token=user_token("admin", SYSTEM_MASTERS)) as admin, \
            ApiClient([url], token=user_token(CONTROLLER_MANAGER_USER)) as controller_manager, \
            controllers_running(controller_manager, ControllerOptions(workers=1, root_ca=CA),
                                lambda c: [ServiceAccountController(c), RootCaPublisher(c)]), \
            agent_running(url, tmp_path / NODE) as (agent, runtime):
        yield Cluster(admin, agent, runtime, url)


async def whoami(url: str, token: str) -> dict[str, Any] | None:
    async with httpx.AsyncClient(base_url=url, timeout=5) as http:
        answer = await http.post(WHOAMI, json={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
                                 headers={"Authorization": f"Bearer {token}"})
    return answer.json()["status"]["userInfo"] if answer.status_code == 201 else None


def created_spec(runtime: FakeRuntime, container: str) -> ContainerSpec | None:
    return next((spec for spec in runtime.created_specs.values() if spec.name.startswith(f"k8s_{container}_")), None)


async def test_a_pod_runs_with_its_accounts_token_the_ca_and_the_kubernetes_service(cluster: Cluster) -> None:
    admin = cluster.admin
    await eventually("the default account", lambda: found(admin, SERVICE_ACCOUNTS, "default", "default"))
    await eventually("the root CA", lambda: found(admin, CONFIG_MAPS, "kube-root-ca.crt", "default"))
    container = builders.container("main", imagePullPolicy="IfNotPresent",
                                   command=["sh", "-c", "echo $(KUBERNETES_SERVICE_HOST)"])
    pod = await admin.create(PODS, builders.pod("web", node_name=NODE, grace=1, containers=[container]),
                             namespace="default")
    [volume] = pod["spec"]["volumes"]
    directory = cluster.agent.executor.pod_dir(pod) / "volumes" / volume["name"]

    def files_written() -> bool:
        return all((directory / name).is_file() for name in ("token", "ca.crt", "namespace"))

    await eventually("the agent to write the token volume", files_written)
    assert (directory / "ca.crt").read_text() == CA and (directory / "namespace").read_text() == "default"
    token = (directory / "token").read_text()
    user = await whoami(cluster.url, token)
    assert user is not None and user["username"] == "system:serviceaccount:default:default"
    assert user["extra"]["authentication.kubernetes.io/pod-name"] == ["web"]

    await eventually("the container to be created", lambda: created_spec(cluster.runtime, "main") is not None)
    spec = created_spec(cluster.runtime, "main")
    assert spec is not None
    assert spec.env["KUBERNETES_SERVICE_HOST"] == "10.96.0.1" and spec.env["KUBERNETES_SERVICE_PORT"] == "443"
    assert spec.entrypoint == ["sh", "-c", "echo 10.96.0.1"]
    [mount] = [m for m in spec.mounts if m.target == TOKEN_MOUNT_PATH]
    assert mount.read_only and Path(mount.source) == directory

    later = datetime.now(UTC) + timedelta(minutes=50)  # past 80% of the token's hour
    cluster.agent.sources.tokens.clock = lambda: later
    await eventually("the periodic sync to renew the token", lambda: (directory / "token").read_text() != token)
    assert await whoami(cluster.url, (directory / "token").read_text()) is not None
