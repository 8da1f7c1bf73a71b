"""The protection finalizers: a claim used by a scheduled pod, or a Bound volume, is not removed."""

from __future__ import annotations

from typing import Any

import pytest

from minik8s.api.meta import JsonObject
from minik8s.api.persistent_volumes import PV_PROTECTION_FINALIZER, PVC_PROTECTION_FINALIZER
from minik8s.controllers.volume_protection.plan import claim_in_use, finalizers_after, volume_in_use
from tests.support.storage_builders import claim_pod, pv, pvc

PVC = PVC_PROTECTION_FINALIZER


def with_finalizers(obj: JsonObject, *finalizers: str) -> JsonObject:
    obj["metadata"]["finalizers"] = list(finalizers)
    return obj


@pytest.mark.parametrize(("pod", "used"), [
    (claim_pod("web", "data", namespace="default", node_name="node-1"), True),
    (claim_pod("web", "data", namespace="default"), False),  # not scheduled: its kubelet will refuse the claim
    (claim_pod("web", "other", namespace="default", node_name="node-1"), False),
    (claim_pod("web", "data", namespace="elsewhere", node_name="node-1"), False),
])
def test_a_claim_is_in_use_by_a_scheduled_pod_of_its_namespace_that_names_it(pod: JsonObject, used: bool) -> None:
    assert claim_in_use(pvc("data"), [pod]) is used


@pytest.mark.parametrize(("claim_options", "finalizers", "in_use", "expected"), [
    ({"deleting": True}, (PVC,), False, []),
    ({"deleting": True}, (PVC, "example.com/keep"), False, ["example.com/keep"]),
    ({"deleting": True}, (PVC,), True, None),  # in use: kept until the pod is gone
    ({}, (), False, [PVC]),  # created before the admission plugin was on
    ({}, (PVC,), True, None),
    ({"deleting": True}, (), False, None),
])
def test_the_claim_finalizer_goes_only_when_the_deleted_claim_is_unused(
        claim_options: dict[str, Any], finalizers: tuple[str, ...], in_use: bool, expected: list[str] | None) -> None:
    assert finalizers_after(with_finalizers(pvc("data", **claim_options), *finalizers), PVC,
                            in_use=in_use) == expected


def test_a_volume_is_in_use_while_it_is_bound() -> None:
    assert volume_in_use(pv("v", phase="Bound"))
    assert not volume_in_use(pv("v", phase="Released"))
    released = with_finalizers(pv("v", phase="Released", deleting=True), PV_PROTECTION_FINALIZER)
    assert finalizers_after(released, PV_PROTECTION_FINALIZER, in_use=volume_in_use(released)) == []
