"""PersistentVolumes, claims and StorageClasses through the apiserver: what kubectl users see and are refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from minik8s.api.persistent_volumes import (
    ANN_PROVISIONED_BY,
    LOCAL_PATH_NODE_LABEL,
    LOCAL_PATH_PROVISIONER,
)
from minik8s.api.user import SYSTEM_NODES
from tests.support.serving import apiserver_serving
from tests.support.storage_builders import claim_pod, pv, pvc, storage_class
from tests.support.users import ADMIN, TEST_USER_HEADER, as_user

PVCS = "/api/v1/namespaces/default/persistentvolumeclaims"
PVS = "/api/v1/persistentvolumes"
CLASSES = "/apis/storage.k8s.io/v1/storageclasses"
TABLE = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}
N1 = as_user("system:node:n1", SYSTEM_NODES)


async def created(api: httpx.AsyncClient, url: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await api.post(url, json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def table(api: httpx.AsyncClient, url: str) -> tuple[list[str], list[list[Any]]]:
    body = (await api.get(url, headers=TABLE)).json()
    return [c["name"] for c in body["columnDefinitions"]], [row["cells"] for row in body["rows"]]


async def test_the_standard_class_is_the_default_and_a_claim_without_class_gets_it(api: httpx.AsyncClient) -> None:
    columns, rows = await table(api, CLASSES)
    assert columns == ["Name", "Provisioner", "ReclaimPolicy", "VolumeBindingMode", "AllowVolumeExpansion", "Age"]
    assert rows[0][:5] == ["standard (default)", "minik8s.io/local-path", "Delete", "WaitForFirstConsumer", False]
    claim = await created(api, PVCS, pvc("data"))
    assert claim["spec"]["storageClassName"] == "standard" and claim["spec"]["volumeMode"] == "Filesystem"
    assert claim["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    assert claim["status"] == {"phase": "Pending"}
    no_class = await created(api, PVCS, pvc("raw", storage_class=""))
    assert no_class["spec"]["storageClassName"] == ""  # an explicit "" asks for no class: not defaulted


async def test_tables_have_kubectls_columns(api: httpx.AsyncClient) -> None:
    await created(api, PVS, pv("pv1", capacity="2Gi", modes=("ReadWriteOnce", "ReadOnlyMany"), storage_class="slow"))
    await created(api, PVCS, pvc("data", request="1Gi"))
    columns, rows = await table(api, PVS)
    assert columns == ["Name", "Capacity", "Access Modes", "Reclaim Policy", "Status", "Claim", "StorageClass",
                       "VolumeAttributesClass", "Reason", "Age", "VolumeMode"]
    assert rows[0][:9] == ["pv1", "2Gi", "RWO,ROX", "Retain", "Pending", "", "slow", "<unset>", ""]
    assert rows[0][10] == "Filesystem"
    columns, rows = await table(api, PVCS)
    assert columns == ["Name", "Status", "Volume", "Capacity", "Access Modes", "StorageClass",
                       "VolumeAttributesClass", "Age", "VolumeMode"]
    assert rows[0][:7] == ["data", "Pending", "", "", "", "standard", "<unset>"]


async def test_a_volume_gets_its_protection_finalizer_and_dates_each_phase_change(api: httpx.AsyncClient) -> None:
    volume = await created(api, PVS, pv("pv1"))
    assert volume["metadata"]["finalizers"] == ["kubernetes.io/pv-protection"]
    assert volume["spec"]["persistentVolumeReclaimPolicy"] == "Retain" and volume["spec"]["hostPath"]["type"] == ""
    assert volume["status"]["phase"] == "Pending" and volume["status"]["lastPhaseTransitionTime"]
    volume["status"] = {"phase": "Available", "lastPhaseTransitionTime": "2020-01-01T00:00:00Z"}
    written = (await api.put(f"{PVS}/pv1/status", json=volume)).json()
    assert written["status"]["phase"] == "Available"
    assert written["status"]["lastPhaseTransitionTime"] == "2020-01-01T00:00:00Z"  # the writer's own time kept
    written["status"] = {"phase": "Released", "lastPhaseTransitionTime": "2020-01-01T00:00:00Z"}
    stamped = (await api.put(f"{PVS}/pv1/status", json=written)).json()
    assert stamped["status"]["lastPhaseTransitionTime"] != "2020-01-01T00:00:00Z"  # unchanged time: the server's


@pytest.mark.parametrize(("body", "message"), [
    (pv("v", capacity="0"), 'spec.capacity[storage]: Invalid value: "0": must be greater than zero'),
    (pv("v", modes=("ReadWriteOncePod", "ReadWriteOnce")),
     "spec.accessModes: Forbidden: may not use ReadWriteOncePod with other access modes"),
    ({**pv("v"), "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                          "nfs": {"server": "nas", "path": "/"}}},
     'spec.nfs: Unsupported value: "nfs": not supported by minik8s: its node agent mounts only directories of its '
     "node (hostPath, local)"),
    ({**pv("v"), "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                          "local": {"path": "/mnt/disk"}}},
     "spec.nodeAffinity: Required value: Local volume requires node affinity"),
    (pv("v", mountOptions=["ro"]), "spec.mountOptions: Forbidden: may not specify mount options for this volume type"),
])
async def test_volumes_kubernetes_or_minik8s_cannot_serve_are_refused(api: httpx.AsyncClient, body: dict[str, Any],
                                                                      message: str) -> None:
    response = await api.post(PVS, json=body)
    assert response.status_code == 422
    assert response.json()["message"] == f'PersistentVolume "v" is invalid: {message}'


async def test_a_claim_keeps_its_spec_and_may_not_grow(api: httpx.AsyncClient) -> None:
    claim = await created(api, PVCS, pvc("data"))
    claim["spec"]["accessModes"] = ["ReadWriteMany"]
    refused = await api.put(f"{PVCS}/data", json=claim)
    assert refused.status_code == 422
    assert refused.json()["details"]["causes"][0]["message"] == (
        "Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for "
        "bound claims")
    claim = (await api.get(f"{PVCS}/data")).json()
    claim["spec"]["volumeName"] = "pv1"  # a claim names its volume once: allowed
    named = await api.put(f"{PVCS}/data", json=claim)
    assert named.status_code == 200, named.text
    bound = named.json()
    bound["status"] = {"phase": "Bound", "capacity": {"storage": "1Gi"}}
    bound = (await api.put(f"{PVCS}/data/status", json=bound)).json()
    bound["spec"]["resources"]["requests"]["storage"] = "2Gi"
    grown = await api.put(f"{PVCS}/data", json=bound)
    assert grown.status_code == 403
    assert grown.json()["message"] == (
        'persistentvolumeclaims "data" is forbidden: only dynamically provisioned pvc can be resized and the '
        "storageclass that provisions the pvc must support resize")


async def test_classes_refuse_what_minik8s_cannot_honour_and_keep_what_may_not_change(api: httpx.AsyncClient) -> None:
    refused = await api.post(CLASSES, json=storage_class("grow", allowVolumeExpansion=True))
    assert refused.status_code == 422 and "allowVolumeExpansion: Unsupported value: true" in refused.json()["message"]
    fast = await created(api, CLASSES, storage_class("fast", binding_mode="Immediate"))
    fast["provisioner"] = "example.com/other"
    changed = await api.put(f"{CLASSES}/fast", json=fast)
    assert changed.status_code == 422
    assert "provisioner: Forbidden: updates to provisioner are forbidden." in changed.json()["message"]


@pytest.fixture
async def node_api() -> AsyncIterator[httpx.AsyncClient]:
    """Node,RBAC with node n1 running a pod on claim `data`, bound to volume `mine`; volume `other` is unrelated."""
    async with apiserver_serving(history=500, authorization_mode="Node,RBAC") as url, \
            httpx.AsyncClient(base_url=url, timeout=5, headers={TEST_USER_HEADER: ADMIN}) as client:
        await created(client, "/api/v1/nodes", {"metadata": {"name": "n1"}})
        claim = await created(client, PVCS, pvc("data", storage_class=""))
        await created(client, PVS, pv("mine", claim=claim))
        await created(client, PVS, pv("other"))
        await created(client, "/api/v1/namespaces/default/pods", claim_pod("web", "data", node_name="n1"))
        yield client


async def test_a_node_reads_the_claims_and_volumes_of_its_pods_only(node_api: httpx.AsyncClient) -> None:
    assert (await node_api.get(f"{PVCS}/data", headers=N1)).status_code == 200
    assert (await node_api.get(f"{PVS}/mine", headers=N1)).status_code == 200
    refused = await node_api.get(f"{PVS}/other", headers=N1)
    assert refused.status_code == 403
    assert refused.json()["message"].endswith("no relationship found between node 'n1' and this object")
    assert (await node_api.get(PVS, headers=N1)).status_code == 403
    own = await node_api.get(PVS, params={"labelSelector": f"{LOCAL_PATH_NODE_LABEL}=n1"}, headers=N1)
    assert own.status_code == 200 and own.json()["items"] == []
    assert (await node_api.get(PVS, params={"labelSelector": f"{LOCAL_PATH_NODE_LABEL}=n2"},
                               headers=N1)).status_code == 403


async def test_a_node_deletes_only_its_own_released_local_path_volumes(node_api: httpx.AsyncClient) -> None:
    local = pv("pvc-1", policy="Delete", labels={LOCAL_PATH_NODE_LABEL: "n1"},
               annotations={ANN_PROVISIONED_BY: LOCAL_PATH_PROVISIONER})
    await created(node_api, PVS, local)
    refused = await node_api.delete(f"{PVS}/pvc-1", headers=N1)
    assert refused.status_code == 403
    assert refused.json()["message"] == ('persistentvolumes "pvc-1" is forbidden: node "n1" can only delete released '
                                         "persistentvolumes whose reclaim policy is Delete")
    assert (await node_api.delete(f"{PVS}/other", headers=N1)).status_code == 403
    stored = (await node_api.get(f"{PVS}/pvc-1")).json()
    stored["status"] = {"phase": "Released"}
    assert (await node_api.put(f"{PVS}/pvc-1/status", json=stored)).status_code == 200
    assert (await node_api.delete(f"{PVS}/pvc-1", headers=N1)).status_code == 200
