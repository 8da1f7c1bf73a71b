"""The ServiceAccount controller through a real apiserver, beside the namespace controller.

A new namespace gets its `default` ServiceAccount, a deleted one comes back, and deleting the
namespace still completes: the ServiceAccount controller does not refill a terminating namespace.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from minik8s.api.kinds import NAMESPACES, SERVICE_ACCOUNTS
from minik8s.client.api import ApiClient
from minik8s.controllers.common.context import ControllerOptions
from minik8s.controllers.namespace.controller import NamespaceController
from minik8s.controllers.serviceaccount.controller import ServiceAccountController
from tests.support.in_loop import controllers_running, found
from tests.support.serving import apiserver_in_loop
from tests.support.waiting import eventually

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def api() -> AsyncIterator[ApiClient]:
    async with apiserver_in_loop() as client, controllers_running(client, ControllerOptions(workers=1), lambda c: [
            ServiceAccountController(c), NamespaceController(c)]):
        yield client


async def has_default_account(api: ApiClient, namespace: str) -> bool:
    return await found(api, SERVICE_ACCOUNTS, "default", namespace) is not None


async def test_every_namespace_gets_a_default_service_account_that_comes_back(api: ApiClient) -> None:
    await eventually("the default namespace to get its account", lambda: has_default_account(api, "default"))
    await eventually("kube-system to get its account", lambda: has_default_account(api, "kube-system"))
    await api.create(NAMESPACES, {"metadata": {"name": "team"}})
    await eventually("a new namespace to get its account", lambda: has_default_account(api, "team"))
    first = await api.get(SERVICE_ACCOUNTS, "default", namespace="team")
    await api.delete(SERVICE_ACCOUNTS, "default", namespace="team")

    async def recreated() -> bool:
        account = await found(api, SERVICE_ACCOUNTS, "default", "team")
        return account is not None and account["metadata"]["uid"] != first["metadata"]["uid"]

    await eventually("a deleted default account to be made again", recreated)


async def test_deleting_a_namespace_still_completes(api: ApiClient) -> None:
    await api.create(NAMESPACES, {"metadata": {"name": "doomed"}})
    await api.create(SERVICE_ACCOUNTS, {"metadata": {"name": "robot"}}, namespace="doomed")
    await eventually("the account to be made", lambda: has_default_account(api, "doomed"))
    await api.delete(NAMESPACES, "doomed")

    async def namespace_gone() -> bool:
        return await found(api, NAMESPACES, "doomed") is None

    await eventually("the namespace and its accounts to be gone", namespace_gone)
    assert await found(api, SERVICE_ACCOUNTS, "default", "doomed") is None
