"""The local-path provisioner's decisions: which claims it provisions, the volume it makes, what it refuses."""

from __future__ import annotations

from typing import Any

import pytest

from minik8s.api.meta import JsonObject
from minik8s.api.persistent_volumes import (
    ANN_PROVISIONED_BY,
    ANN_SELECTED_NODE,
    ANN_STORAGE_PROVISIONER,
    LOCAL_PATH_DIR_ANNOTATION,
    LOCAL_PATH_NODE_LABEL,
    LOCAL_PATH_PROVISIONER,
)
from minik8s.controllers.local_path_provisioner.plan import (
    Provisioned,
    Refused,
    provision,
    should_provision,
)
from tests.support.builders import node
from tests.support.storage_builders import pvc, storage_class

STANDARD = storage_class(policy="Delete")
NODE = {**node("node-1", labels={"kubernetes.io/hostname": "node-1"}),
        "metadata": {"name": "node-1", "labels": {"kubernetes.io/hostname": "node-1"},
                     "annotations": {LOCAL_PATH_DIR_ANNOTATION: "/var/lib/minik8s/node-1/volumes"}}}


def claim(*, selected: str | None = "node-1", provisioner: str = LOCAL_PATH_PROVISIONER, **options: Any) -> JsonObject:
    annotations = {ANN_STORAGE_PROVISIONER: provisioner}
    if selected is not None:
        annotations[ANN_SELECTED_NODE] = selected
    return pvc("data", namespace="shop", uid="0f1e", storage_class="standard", annotations=annotations, **options)


@pytest.mark.parametrize(("the_claim", "the_class", "expected"), [
    (claim(), STANDARD, True),
    (claim(selected=None), STANDARD, False),  # WaitForFirstConsumer: not before the scheduler chose a node
    (claim(selected=None), storage_class(binding_mode="Immediate"), True),
    (claim(provisioner="example.com/nfs"), STANDARD, False),
    (claim(volume_name="pvc-0f1e"), STANDARD, False),  # already bound
    (claim(deleting=True), STANDARD, False),
    (claim(), None, False),
    (claim(), storage_class(provisioner="example.com/nfs"), False),
])
def test_which_claims_it_provisions(the_claim: JsonObject, the_class: JsonObject | None, expected: bool) -> None:
    assert should_provision(the_claim, the_class) is expected


def test_the_volume_is_a_directory_of_the_chosen_node_prebound_to_the_claim() -> None:
    outcome = provision(claim(request="2Gi", modes=("ReadWriteOncePod",)), STANDARD, NODE)
    assert isinstance(outcome, Provisioned)
    volume = outcome.volume
    assert volume["metadata"] == {"name": "pvc-0f1e", "labels": {LOCAL_PATH_NODE_LABEL: "node-1"},
                                  "annotations": {ANN_PROVISIONED_BY: LOCAL_PATH_PROVISIONER}}
    spec = volume["spec"]
    assert spec["hostPath"] == {"path": "/var/lib/minik8s/node-1/volumes/pvc-0f1e_shop_data",
                                "type": "DirectoryOrCreate"}
    assert spec["capacity"] == {"storage": "2Gi"} and spec["accessModes"] == ["ReadWriteOncePod"]
    assert spec["persistentVolumeReclaimPolicy"] == "Delete" and spec["storageClassName"] == "standard"
    assert spec["claimRef"]["name"] == "data" and spec["claimRef"]["namespace"] == "shop"
    assert spec["claimRef"]["uid"] == "0f1e"
    assert spec["nodeAffinity"] == {"required": {"nodeSelectorTerms": [{"matchExpressions": [
        {"key": "kubernetes.io/hostname", "operator": "In", "values": ["node-1"]}]}]}}


def test_a_retain_class_makes_retained_volumes() -> None:
    outcome = provision(claim(), storage_class(policy="Retain"), NODE)
    assert isinstance(outcome, Provisioned)
    assert outcome.volume["spec"]["persistentVolumeReclaimPolicy"] == "Retain"


@pytest.mark.parametrize(("the_claim", "the_node", "expected"), [
    (claim(modes=("ReadWriteMany",)), NODE,
     Refused("NodePath only supports ReadWriteOnce and ReadWriteOncePod (1.22+) access modes")),
    (claim(selector={"matchLabels": {"a": "b"}}), NODE, Refused("claim.Spec.Selector is not supported")),
    (claim(volumeMode="Block"), NODE, Refused("minik8s.io/local-path does not support block volume provisioning")),
    (claim(selected=None), NODE, Refused("configuration error, no node was specified")),
    (claim(), None, Refused('failed to get target node: nodes "node-1" not found', reschedule=True)),
    (claim(), node("node-1"), Refused('node "node-1" publishes no minik8s.io/local-path-dir annotation: its node '
                                      "agent has not registered a directory for volumes", retry=True)),
])
def test_what_it_refuses(the_claim: JsonObject, the_node: JsonObject | None, expected: Refused) -> None:
    assert provision(the_claim, STANDARD, the_node) == expected
