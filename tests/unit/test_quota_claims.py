"""What a PersistentVolumeClaim costs against a ResourceQuota (Kubernetes' pvcEvaluator)."""

from __future__ import annotations

from datetime import UTC, datetime

from minik8s.api.quota_usage import evaluator_for
from minik8s.api.resource_lists import Quantity
from tests.support.storage_builders import pvc

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_claim_costs_itself_and_its_request_also_under_its_class() -> None:
    evaluator = evaluator_for("persistentvolumeclaims")
    usage = evaluator.usage(pvc("data", storage_class="standard", request="1500m"), NOW)
    assert {name: str(amount) for name, amount in usage.items()} == {
        "count/persistentvolumeclaims": "1", "persistentvolumeclaims": "1",
        "standard.storageclass.storage.k8s.io/persistentvolumeclaims": "1",
        "requests.storage": "2", "standard.storageclass.storage.k8s.io/requests.storage": "2"}  # whole bytes


def test_the_claim_evaluator_answers_for_class_scoped_names_and_updates() -> None:
    evaluator = evaluator_for("persistentvolumeclaims")
    assert evaluator.matching(["requests.storage", "fast.storageclass.storage.k8s.io/requests.storage", "pods",
                               "requests.cpu"]) == ["requests.storage",
                                                    "fast.storageclass.storage.k8s.io/requests.storage"]
    assert evaluator.handles("UPDATE", pvc("data"), pvc("data"))
    without_class = evaluator.usage(pvc("raw", storage_class="", request="1Gi"), NOW)
    assert without_class["requests.storage"] == Quantity.parse("1Gi")
    assert not any("storageclass" in name for name in without_class)
