"""Defaults, validation and Table rows of PersistentVolumes, claims and StorageClasses, in Kubernetes' words."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from minik8s.api.defaults import apply_defaults
from minik8s.api.meta import JsonObject
from minik8s.api.table_printers import row_cells
from minik8s.api.validation import validate
from tests.support.storage_builders import pv, pvc, storage_class


def problems(kind: str, obj: JsonObject, old: JsonObject | None = None) -> list[str]:
    apply_defaults(kind, obj)
    return [str(error) for error in validate(kind, obj, old=old)]


def test_defaults_fill_what_kubernetes_fills() -> None:
    volume, claim, the_class = pv("v"), pvc("c"), {"metadata": {"name": "s"}, "provisioner": "x"}
    volume["spec"].pop("persistentVolumeReclaimPolicy")
    volume["spec"]["capacity"]["storage"] = "1024Mi"
    apply_defaults("PersistentVolume", volume)
    apply_defaults("PersistentVolumeClaim", claim)
    apply_defaults("StorageClass", the_class)
    assert volume["spec"]["persistentVolumeReclaimPolicy"] == "Retain" and volume["spec"]["volumeMode"] == "Filesystem"
    assert volume["spec"]["capacity"] == {"storage": "1Gi"} and volume["spec"]["hostPath"]["type"] == ""
    assert claim["spec"]["volumeMode"] == "Filesystem" and "storageClassName" not in claim["spec"]
    assert (the_class["reclaimPolicy"], the_class["volumeBindingMode"]) == ("Delete", "Immediate")


@pytest.mark.parametrize(("body", "expected"), [
    (pvc("c", modes=()), ["spec.accessModes: Required value: at least 1 access mode is required"]),
    (pvc("c", request="-1Gi"), ['spec.resources[storage]: Invalid value: "-1Gi": must be greater than zero']),
    (pvc("c", storage_class="Fast!"), ['spec.storageClassName: Invalid value: "Fast!": a lowercase RFC 1123 '
                                       "subdomain must consist of lower case alphanumeric characters, '-' or '.', and "
                                       "must start and end with an alphanumeric character (e.g. 'example.com', regex "
                                       "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*"
                                       "[a-z0-9])?)*')"]),
    (pvc("c", volumeMode="Block"), ['spec.volumeMode: Unsupported value: "Block": not supported by minik8s: it has '
                                    "no block volumes"]),
])
def test_claims_kubernetes_refuses(body: JsonObject, expected: list[str]) -> None:
    assert problems("PersistentVolumeClaim", body) == expected


def bound_claim() -> JsonObject:
    claim = pvc("c", storage_class="standard", volume_name="v", phase="Bound")
    claim["status"]["capacity"] = {"storage": "1Gi"}
    apply_defaults("PersistentVolumeClaim", claim)
    return claim


@pytest.mark.parametrize(("change", "expected"), [
    (lambda c: c["spec"].update(accessModes=["ReadWriteMany"]),
     ["spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName "
      "for bound claims"]),
    (lambda c: c["spec"]["resources"]["requests"].update(storage="2Gi"), []),  # resize is admission's to refuse
    (lambda c: c["spec"]["resources"]["requests"].update(storage="512Mi"),
     ["spec.resources.requests.storage: Forbidden: field can not be less than status.capacity"]),
    (lambda c: c["spec"].update(volumeName="other"),
     ["spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName "
      "for bound claims"]),
])
def test_what_a_claim_update_may_change(change: Any, expected: list[str]) -> None:
    old = bound_claim()
    new = copy.deepcopy(old)
    change(new)
    assert problems("PersistentVolumeClaim", new, old) == expected


def test_an_unbound_claim_names_its_volume_once_and_gains_a_class_once() -> None:
    old = pvc("c")
    apply_defaults("PersistentVolumeClaim", old)
    new = copy.deepcopy(old)
    new["spec"].update(volumeName="v", storageClassName="standard")
    assert problems("PersistentVolumeClaim", new, old) == []


def test_a_volumes_source_mode_and_node_affinity_never_change() -> None:
    old = pv("v", node="n1")
    apply_defaults("PersistentVolume", old)
    new = copy.deepcopy(old)
    new["spec"]["hostPath"]["path"] = "/elsewhere"
    new["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]["values"] = ["n2"]
    new["spec"]["persistentVolumeReclaimPolicy"] = "Delete"  # this may change
    assert problems("PersistentVolume", new, old) == [
        "spec.persistentvolumesource: Forbidden: spec.persistentvolumesource is immutable after creation",
        'nodeAffinity: Invalid value: {"required":{"nodeSelectorTerms":[{"matchExpressions":[{"key":'
        '"kubernetes.io/hostname","operator":"In","values":["n2"]}]}]}}: field is immutable']


@pytest.mark.parametrize(("affinity", "expected"), [
    ({}, ["spec.nodeAffinity.required: Required value: must specify required node constraints"]),
    ({"required": {"nodeSelectorTerms": []}},
     ["spec.nodeAffinity.required.nodeSelectorTerms: Required value: must have at least one node selector term"]),
    ({"required": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "k", "operator": "In"}]}]}},
     ["spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values: Required value: must be "
      "specified when `operator` is 'In' or 'NotIn'"]),
    ({"required": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "k", "operator": "Near"}]}]}},
     ['spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].operator: Invalid value: "Near": not a '
      "valid selector operator"]),
])
def test_a_volumes_node_affinity_is_a_valid_node_selector(affinity: JsonObject, expected: list[str]) -> None:
    assert problems("PersistentVolume", pv("v", nodeAffinity=affinity)) == expected


def test_class_updates_keep_provisioner_parameters_policy_and_binding_mode() -> None:
    old = storage_class("s", parameters={"a": "1"})
    apply_defaults("StorageClass", old)
    new = copy.deepcopy(old)
    new.update(provisioner="other.io/p", parameters={"a": "2"}, reclaimPolicy="Retain", volumeBindingMode="Immediate")
    assert problems("StorageClass", new, old) == [
        "parameters: Forbidden: updates to parameters are forbidden.",
        "provisioner: Forbidden: updates to provisioner are forbidden.",
        "reclaimPolicy: Forbidden: updates to reclaimPolicy are forbidden.",
        'volumeBindingMode: Invalid value: "Immediate": field is immutable']


def test_rows_show_terminating_objects_and_a_bound_claims_capacity() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    volume = pv("v", deleting=True, phase="Bound", claim=pvc("c"))
    claim = pvc("c", volume_name="v", phase="Bound", storage_class="standard")
    claim["status"].update({"capacity": {"storage": "2048Mi"}, "accessModes": ["ReadWriteOncePod"]})
    volume_row = row_cells("PersistentVolume", volume, now=now)
    claim_row = row_cells("PersistentVolumeClaim", claim, now=now)
    assert volume_row[:6] == ["v", "1Gi", "RWO", "Retain", "Terminating", "default/c"]
    assert claim_row[:6] == ["c", "Bound", "v", "2Gi", "RWOP", "standard"]
