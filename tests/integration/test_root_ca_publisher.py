"""The root CA publisher through a real apiserver: kube-root-ca.crt in every namespace, and it comes back.

As on Kubernetes, a pod's token volume reads the cluster CA from this ConfigMap, so it must exist in
every namespace, new ones included, and hold the CA whatever a user does to it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from minik8s.api.kinds import CONFIG_MAPS, NAMESPACES
from minik8s.client.api import ApiClient
from minik8s.controllers.common.context import ControllerOptions
from minik8s.controllers.root_ca_publisher.controller import RootCaPublisher
from tests.support.in_loop import controllers_running, found
from tests.support.serving import apiserver_in_loop
from tests.support.waiting import eventually

pytestmark = pytest.mark.timeout(60)

CA = "-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----\n"
NAME = "kube-root-ca.crt"


@pytest.fixture
async def api() -> AsyncIterator[ApiClient]:
    async with apiserver_in_loop() as client, controllers_running(
            client, ControllerOptions(workers=1, root_ca=CA), lambda c: [RootCaPublisher(c)]):
        yield client


async def published(api: ApiClient, namespace: str, uid_not: str = "") -> bool:
    config_map = await found(api, CONFIG_MAPS, NAME, namespace)
    return (config_map is not None and config_map.get("data") == {"ca.crt": CA}
            and config_map["metadata"]["uid"] != uid_not)


async def test_every_namespace_gets_the_ca_and_keeps_it(api: ApiClient) -> None:
    await eventually("default to get the CA", lambda: published(api, "default"))
    await eventually("kube-system to get the CA", lambda: published(api, "kube-system"))
    await api.create(NAMESPACES, {"metadata": {"name": "team"}})
    await eventually("a new namespace to get the CA", lambda: published(api, "team"))
    config_map = await api.get(CONFIG_MAPS, NAME, namespace="team")
    await api.update(CONFIG_MAPS, {**config_map, "data": {"ca.crt": "forged"}})
    await eventually("an edited CA to be put back", lambda: published(api, "team"))
    uid = config_map["metadata"]["uid"]
    await api.delete(CONFIG_MAPS, NAME, namespace="team")
    await eventually("a deleted CA to be published again", lambda: published(api, "team", uid_not=uid))
