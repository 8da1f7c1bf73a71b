"""The ReplicaSet controller's pure decisions: how many pods, which to delete, what the status says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from minik8s.api.selectors import label_selector_from_object
from minik8s.controllers.common.expectations import ControllerExpectations
from minik8s.controllers.common.pods import is_available
from minik8s.controllers.common.workload_objects import (
    MalformedObject,
    claim,
    controller_reference,
    selector_of,
)
from minik8s.controllers.replicaset.plan import (
    compute_status,
    next_availability_check,
    plan_replicas,
    slow_start_batches,
    status_changed,
)
from minik8s.controllers.replicaset.pods import pod_from_template, pods_to_delete

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def stamp(seconds_ago: float) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def replica_set(replicas: int = 3, *, min_ready: int = 0, generation: int = 1, status: dict | None = None,
                labels: dict[str, str] | None = None) -> dict[str, Any]:
    template_labels = labels if labels is not None else {"app": "web"}
    return {
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "web", "namespace": "default", "uid": "rs-uid", "generation": generation},
        "spec": {"replicas": replicas, "minReadySeconds": min_ready, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": template_labels},
                              "spec": {"containers": [{"name": "c", "image": "nginx"}]}}},
        "status": status if status is not None else {"replicas": 0},
    }


def pod(name: str, *, node: str = "node-1", phase: str = "Running", ready: bool | None = True,
        ready_for: float = 3600, created_ago: float = 3600, labels: dict[str, str] | None = None,
        owner_uid: str | None = "rs-uid", restarts: int = 0, annotations: dict[str, str] | None = None,
        deleting: bool = False) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": "default", "uid": f"uid-{name}",
                                "labels": labels if labels is not None else {"app": "web"},
                                "creationTimestamp": stamp(created_ago)}
    if owner_uid:
        metadata["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web",
                                        "uid": owner_uid, "controller": True}]
    if annotations:
        metadata["annotations"] = annotations
    if deleting:
        metadata["deletionTimestamp"] = stamp(0)
    status: dict[str, Any] = {"phase": phase,
                              "containerStatuses": [{"name": "c", "restartCount": restarts}]}
    if ready is not None:
        status["conditions"] = [{"type": "Ready", "status": "True" if ready else "False",
                                 "lastTransitionTime": stamp(ready_for)}]
    return {"metadata": metadata, "spec": {"nodeName": node} if node else {}, "status": status}


@pytest.mark.parametrize(("replicas", "existing", "create", "delete"), [
    (3, 0, 3, 0),
    (3, 1, 2, 0),
    (3, 3, 0, 0),
    (1, 3, 0, 2),
    (0, 2, 0, 2),
    (900, 0, 500, 0),  # burstReplicas caps one sync
])
def test_plan_replicas_creates_the_shortfall_and_deletes_the_excess(replicas, existing, create, delete):
    pods = [pod(f"p{i}") for i in range(existing)]
    changes = plan_replicas(replica_set(replicas), pods)
    assert changes.create == create
    assert len(changes.delete) == delete


@pytest.mark.parametrize(("count", "batches"), [
    (0, []), (1, [1]), (2, [1, 1]), (3, [1, 2]), (7, [1, 2, 4]), (10, [1, 2, 4, 3]),
])
def test_slow_start_batches_double_from_one(count, batches):
    assert slow_start_batches(count) == batches
    assert sum(batches) == count


@pytest.mark.parametrize(("doomed", "keeper", "why"), [
    (pod("a", node=""), pod("b"), "unscheduled before scheduled"),
    (pod("a", phase="Pending"), pod("b"), "pending before running"),
    (pod("a", phase="Unknown"), pod("b"), "unknown before running"),
    (pod("a", ready=False), pod("b"), "not ready before ready"),
    (pod("a", annotations={"controller.kubernetes.io/pod-deletion-cost": "-5"}), pod("b"), "cheaper first"),
    (pod("a", ready_for=10), pod("b", ready_for=1000), "ready for less time first"),
    (pod("a", restarts=4), pod("b"), "more restarts first"),
    (pod("a", ready=False, created_ago=10), pod("b", ready=False, created_ago=1000), "newer first"),
])
def test_pods_to_delete_prefers_the_least_valuable_pod(doomed, keeper, why):
    assert pods_to_delete([keeper, doomed], 1) == [doomed], why
    assert pods_to_delete([doomed, keeper], 1) == [doomed], why


def test_pods_to_delete_prefers_pods_doubled_up_on_a_node():
    lonely, crowded = pod("a", node="node-1"), pod("b", node="node-2")
    related = [crowded, pod("x", node="node-2"), lonely]
    assert pods_to_delete([lonely, crowded], 1, related=related) == [crowded]


def test_pods_to_delete_takes_all_when_all_must_go():
    pods = [pod("a"), pod("b")]
    assert pods_to_delete(pods, 5) == pods


@pytest.mark.parametrize(("min_ready", "ready_for", "available"), [
    (0, 0, True), (10, 5, False), (10, 11, True), (10, 10, False),
])
def test_availability_waits_min_ready_seconds(min_ready, ready_for, available):
    assert is_available(pod("a", ready_for=ready_for), min_ready_seconds=min_ready, now=NOW) is available


def test_status_counts_ready_available_and_fully_labelled_pods():
    rs = replica_set(4, min_ready=30, generation=3, labels={"app": "web", "tier": "front"})
    pods = [
        pod("a", labels={"app": "web", "tier": "front"}, ready_for=60),
        pod("b", labels={"app": "web"}, ready_for=5),
        pod("c", ready=False),
    ]
    status = compute_status(rs, pods, now=NOW)
    assert status == {"replicas": 3, "fullyLabeledReplicas": 1, "readyReplicas": 2, "availableReplicas": 1,
                      "observedGeneration": 3}


def test_status_omits_zero_counts_but_always_has_replicas():
    assert compute_status(replica_set(0, generation=0), [], now=NOW) == {"replicas": 0}


def test_failed_creates_add_a_replica_failure_condition_that_success_removes():
    rs = replica_set(3)
    failed = compute_status(rs, [], now=NOW, failure="quota exceeded")
    assert failed["conditions"] == [{"type": "ReplicaFailure", "status": "True", "lastTransitionTime": stamp(0),
                                     "reason": "FailedCreate", "message": "quota exceeded"}]
    rs["status"] = failed
    assert compute_status(rs, [], now=NOW + timedelta(seconds=5), failure="again")["conditions"] == \
        failed["conditions"], "an existing failure is kept as it is"
    assert "conditions" not in compute_status(rs, [pod("a")], now=NOW)


def test_failed_deletes_are_reported_as_failed_delete():
    status = compute_status(replica_set(0), [pod("a")], now=NOW, failure="boom")
    assert status["conditions"][0]["reason"] == "FailedDelete"


@pytest.mark.parametrize(("old", "new", "changed"), [
    ({"replicas": 2, "readyReplicas": 2, "observedGeneration": 1}, {"replicas": 2, "readyReplicas": 2,
                                                                    "observedGeneration": 1}, False),
    ({"replicas": 2, "readyReplicas": 0, "observedGeneration": 1}, {"replicas": 2, "observedGeneration": 1}, False),
    ({"replicas": 2, "observedGeneration": 1}, {"replicas": 3, "observedGeneration": 1}, True),
    ({"replicas": 2}, {"replicas": 2, "observedGeneration": 1}, True),
    ({"replicas": 2, "observedGeneration": 1}, {"replicas": 2, "observedGeneration": 1,
                                                "conditions": [{"type": "ReplicaFailure"}]}, True),
])
def test_status_is_written_only_when_it_changed(old, new, changed):
    assert status_changed(replica_set(2, status=old), new) is changed


def test_next_availability_check_is_when_the_first_ready_pod_passes_min_ready_seconds():
    rs = replica_set(3, min_ready=30)
    pods = [pod("a", ready_for=10), pod("b", ready_for=25), pod("c", ready_for=60)]
    assert next_availability_check(rs, pods, now=NOW) == pytest.approx(5.1)
    assert next_availability_check(rs, [pod("c", ready_for=60)], now=NOW) is None
    assert next_availability_check(replica_set(3), pods, now=NOW) is None


def test_claim_adopts_matching_orphans_releases_strays_and_ignores_others():
    rs = replica_set()
    ours, orphan = pod("ours"), pod("orphan", owner_uid=None)
    stray = pod("stray", labels={"app": "other"})
    foreign = pod("foreign", owner_uid="someone-else")
    dying_orphan = pod("dying", owner_uid=None, deleting=True)
    decision = claim(rs, label_selector_from_object({"matchLabels": {"app": "web"}}),
                     [ours, orphan, stray, foreign, dying_orphan])
    assert decision.owned == [ours]
    assert decision.adopt == [orphan]
    assert decision.release == [stray]


def test_a_deleting_owner_neither_adopts_nor_releases():
    rs = replica_set()
    rs["metadata"]["deletionTimestamp"] = stamp(0)
    decision = claim(rs, label_selector_from_object({"matchLabels": {"app": "web"}}),
                     [pod("orphan", owner_uid=None), pod("stray", labels={"app": "other"})])
    assert (decision.adopt, decision.release) == ([], [])


def test_pods_from_the_template_are_owned_and_named_after_the_replica_set():
    rs = replica_set()
    rs["spec"]["template"]["metadata"]["annotations"] = {"note": "x"}
    reference = controller_reference(rs, api_version="apps/v1", kind="ReplicaSet")
    made = pod_from_template(rs, owner_reference=reference)
    assert made["metadata"] == {
        "generateName": "web-", "namespace": "default", "labels": {"app": "web"}, "annotations": {"note": "x"},
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": "rs-uid",
                             "controller": True, "blockOwnerDeletion": True}],
    }
    assert made["spec"] == rs["spec"]["template"]["spec"]
    made["spec"]["containers"][0]["image"] = "changed"
    assert rs["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx", "the template is not shared"


def test_expectations_hold_a_key_until_its_creates_and_deletes_are_seen():
    moments = [0.0]
    expectations = ControllerExpectations(timeout=300, clock=lambda: moments[0])
    assert expectations.satisfied("ns/web")
    expectations.expect_creations("ns/web", 2)
    assert not expectations.satisfied("ns/web")
    expectations.creation_observed("ns/web")
    expectations.creation_observed("ns/web")
    assert expectations.satisfied("ns/web")
    expectations.expect_deletions("ns/web", ["ns/a", "ns/b"])
    expectations.deletion_observed("ns/web", "ns/a")
    expectations.deletion_observed("ns/web", "ns/a")  # a graceful delete is seen twice, counted once
    assert expectations.pending("ns/web") == (0, 1)
    assert not expectations.satisfied("ns/web")
    moments[0] = 301.0
    assert expectations.satisfied("ns/web"), "lost events must not block the controller forever"
    expectations.forget("ns/web")
    assert expectations.pending("ns/web") == (0, 0)


def test_a_malformed_selector_is_reported_not_raised_as_a_crash():
    broken = replica_set()
    broken["spec"]["selector"] = {"matchExpressions": [{"key": "app", "operator": "Near", "values": ["x"]}]}
    with pytest.raises(MalformedObject, match="invalid label selector"):
        selector_of(broken)
