"""The bootstrap roles are enough for the components that use them: the controllers, the scheduler and
the DNS registration run as their own users against an RBAC apiserver, and nothing they do is refused.

Each component's ApiClient names its user with a test token (tests/support/users.py), standing in for
the client certificates authentication will check.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from minik8s.api.kinds import (
    CLUSTER_ROLES,
    CONFIG_MAPS,
    DEPLOYMENTS,
    NAMESPACES,
    NODES,
    PODS,
    RESOURCE_QUOTAS,
    SERVICE_ACCOUNTS,
    SERVICES,
)
from minik8s.api.rbac_policy import CONTROLLER_MANAGER_USER, DNS_USER, PROXY_USER, SCHEDULER_USER
from minik8s.client.api import ApiClient
from minik8s.client.errors import ApiError, NotFound
from minik8s.controllers.common.context import ControllerOptions
from minik8s.controllers.manager import CONTROLLERS, load_controllers
from minik8s.scheduler.scheduler import Scheduler
from tests.support import builders
from tests.support.in_loop import controllers_running, found
from tests.support.serving import apiserver_serving
from tests.support.users import user_token
from tests.support.waiting import eventually

pytestmark = pytest.mark.timeout(90)
ROOT_CA = "-----BEGIN CERTIFICATE-----\nMIIBroles\n-----END CERTIFICATE-----\n"


@contextlib.asynccontextmanager
async def clients() -> AsyncIterator[dict[str, ApiClient]]:
    async with apiserver_serving(history=5_000, authorization_mode="RBAC") as url:
        made = {name: ApiClient([url], token=user_token(name, *groups)) for name, groups in (
            ("admin", ("system:masters",)), (CONTROLLER_MANAGER_USER, ()), (SCHEDULER_USER, ()),
            (DNS_USER, ()), (PROXY_USER, ()), ("nobody", ()))}
        try:
            yield made
        finally:
            for client in made.values():
                await client.aclose()


async def count(client: ApiClient, kind: Any, namespace: str | None = None) -> int:
    return len((await client.list(kind, namespace=namespace))["items"])


async def test_controllers_and_scheduler_work_under_their_roles() -> None:
    async with clients() as api:
        admin, manager = api["admin"], api[CONTROLLER_MANAGER_USER]
        async with controllers_running(manager, ControllerOptions(workers=1, root_ca=ROOT_CA),
                                       lambda c: [cls(c) for cls in load_controllers(list(CONTROLLERS))]):
            scheduler = asyncio.create_task(Scheduler(api[SCHEDULER_USER], housekeeping_interval=0.1).run())
            try:
                await admin.create(NODES, {"metadata": {"name": "n1", "labels": {"kubernetes.io/hostname": "n1"}},
                                           "spec": {}, "status": {
                                               "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
                                               "conditions": [{"type": "Ready", "status": "True"}]}})
                await admin.create(DEPLOYMENTS, builders.deployment("web", replicas=2), namespace="default")

                async def bound() -> bool:
                    pods = (await admin.list(PODS, namespace="default"))["items"]
                    return len(pods) == 2 and all(p["spec"].get("nodeName") == "n1" for p in pods)
                await eventually("the deployment's pods to be created and bound", bound)
                await admin.create(RESOURCE_QUOTAS, {"metadata": {"name": "q"}, "spec": {"hard": {"pods": "10"}}},
                                   namespace="default")

                async def quota_counted() -> bool:
                    status = (await admin.get(RESOURCE_QUOTAS, "q", namespace="default")).get("status") or {}
                    return status.get("used") == {"pods": "2"}
                await eventually("the resourcequota controller to count the pods", quota_counted)

                await admin.create(CLUSTER_ROLES, {
                    "metadata": {"name": "extra", "labels": {"rbac.authorization.k8s.io/aggregate-to-view": "true"}},
                    "rules": [{"apiGroups": ["example.com"], "resources": ["widgets"], "verbs": ["get"]}]})

                async def view_aggregated() -> bool:
                    view = await admin.get(CLUSTER_ROLES, "view")
                    return any("widgets" in rule.get("resources", []) for rule in view.get("rules") or [])
                await eventually("view to aggregate the new role", view_aggregated)

                await admin.create(NAMESPACES, {"metadata": {"name": "team"}})
                await admin.create(CONFIG_MAPS, {"metadata": {"name": "c"}}, namespace="team")

                async def team_has_default_account() -> bool:
                    return await found(admin, SERVICE_ACCOUNTS, "default", "team") is not None
                await eventually("the serviceaccount controller to create team's default", team_has_default_account)

                async def team_has_root_ca() -> bool:
                    return await found(admin, CONFIG_MAPS, "kube-root-ca.crt", "team") is not None
                await eventually("the root CA publisher to create team's kube-root-ca.crt", team_has_root_ca)
                await admin.delete(NAMESPACES, "team")

                async def team_gone() -> bool:
                    try:
                        await admin.get(NAMESPACES, "team")
                    except NotFound:
                        return True
                    return False
                await eventually("the namespace controller to empty and remove team", team_gone)
            finally:
                scheduler.cancel()
                await asyncio.gather(scheduler, return_exceptions=True)


async def test_proxy_and_dns_read_services_and_endpoints_and_nobody_else_does() -> None:
    async with clients() as api:
        for user in (PROXY_USER, DNS_USER):
            assert await count(api[user], SERVICES) >= 1
        with pytest.raises(ApiError) as refused:
            await api[PROXY_USER].create(SERVICES, {"metadata": {"name": "x"}, "spec": {"ports": [{"port": 1}]}},
                                         namespace="default")
        assert refused.value.code == 403
        with pytest.raises(ApiError):
            await api["nobody"].list(SERVICES)
        dns = api[DNS_USER]
        service = {"metadata": {"name": "kube-dns"}, "spec": {"ports": [{"name": "dns", "port": 53,
                                                                          "protocol": "UDP"}]}}

        async def dns_may_write() -> bool:  # its Role in kube-system comes right after the namespace
            try:
                await dns.create(SERVICES, service, namespace="kube-system")
            except ApiError as error:
                if error.code != 403:
                    raise
                return False
            return True
        await eventually("the DNS user to create kube-dns", dns_may_write)
        await dns.delete(SERVICES, "kube-dns", namespace="kube-system")
        with pytest.raises(ApiError) as other:
            await dns.create(SERVICES, {**service, "metadata": {"name": "other"}}, namespace="default")
        assert other.value.code == 403
