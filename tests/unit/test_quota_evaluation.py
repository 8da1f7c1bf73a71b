"""Quota evaluation: what objects cost, which quotas bound them, and when admission refuses, in Kubernetes' words
(pkg/quota/v1/evaluator/core and the resourcequota admission evaluator)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from minik8s.api.quota_admission import QuotaRefused, QuotaWrite, charge
from minik8s.api.quota_usage import Scope, evaluator_for, namespace_usage, pod_matches_scope
from minik8s.api.resource_lists import to_json

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def quota(name: str = "q", hard: dict[str, str] | None = None, used: dict[str, str] | None = None,
          **spec: Any) -> dict[str, Any]:
    hard = hard or {"pods": "2"}
    status = {"hard": hard, "used": used if used is not None else dict.fromkeys(hard, "0")}
    return {"metadata": {"name": name, "namespace": "ns", "resourceVersion": "7"}, "spec": {"hard": hard, **spec},
            "status": status}


def pod(name: str = "p", *, requests: dict[str, str] | None = None, limits: dict[str, str] | None = None,
        **spec: Any) -> dict[str, Any]:
    resources = {key: value for key, value in (("requests", requests), ("limits", limits)) if value}
    return {"metadata": {"name": name, "namespace": "ns"},
            "spec": {"containers": [{"name": "app", "image": "i", "resources": resources}], **spec}}


@pytest.mark.parametrize(("plural", "group", "obj", "usage"), [
    ("pods", "", pod(requests={"cpu": "250m", "memory": "64Mi"}, limits={"memory": "128Mi"}),
     {"count/pods": "1", "pods": "1", "cpu": "250m", "requests.cpu": "250m", "memory": "64Mi",
      "requests.memory": "64Mi", "limits.memory": "128Mi"}),
    ("pods", "", {**pod(), "status": {"phase": "Succeeded"}}, {"count/pods": "1"}),
    ("services", "", {"spec": {"type": "NodePort", "ports": [{"port": 80}, {"port": 443}]}},
     {"count/services": "1", "services": "1", "services.loadbalancers": "0", "services.nodeports": "2"}),
    ("services", "", {"spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}},
     {"count/services": "1", "services": "1", "services.loadbalancers": "1", "services.nodeports": "1"}),
    ("configmaps", "", {}, {"count/configmaps": "1", "configmaps": "1"}),
    ("secrets", "", {}, {"count/secrets": "1", "secrets": "1"}),
    ("resourcequotas", "", {}, {"count/resourcequotas": "1", "resourcequotas": "1"}),
    ("deployments", "apps", {}, {"count/deployments.apps": "1"}),
])  # fmt: skip
def test_what_one_object_costs(plural: str, group: str, obj: dict[str, Any], usage: dict[str, str]) -> None:
    assert to_json(evaluator_for(plural, group).usage(obj, NOW)) == usage


def test_a_pod_past_its_deletion_grace_costs_no_compute() -> None:
    deleting = pod(requests={"cpu": "1"})
    deleting["metadata"].update(deletionTimestamp=(NOW - timedelta(seconds=60)).isoformat(),
                                deletionGracePeriodSeconds=30)
    assert to_json(evaluator_for("pods").usage(deleting, NOW)) == {"count/pods": "1"}
    deleting["metadata"]["deletionGracePeriodSeconds"] = 120
    assert "requests.cpu" in evaluator_for("pods").usage(deleting, NOW)


def test_a_create_is_charged_and_a_create_over_the_limit_refused() -> None:
    [charged] = charge([quota(used={"pods": "1"})], QuotaWrite("CREATE", "pods", "", pod()), NOW)
    assert charged["status"]["used"] == {"pods": "2"}
    assert charged["metadata"]["resourceVersion"] == "7"  # the guard of the companion write
    with pytest.raises(QuotaRefused) as refused:
        charge([quota(used={"pods": "2"})], QuotaWrite("CREATE", "pods", "", pod()), NOW)
    assert refused.value.message == "exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2"


def test_only_the_exceeded_resources_are_named_and_every_quota_is_charged() -> None:
    cpu = quota("cpu", {"requests.cpu": "1", "pods": "10"}, {"requests.cpu": "800m", "pods": "3"})
    count = quota("count", {"count/pods": "5"}, {"count/pods": "0"})
    with pytest.raises(QuotaRefused) as refused:
        charge([count, cpu], QuotaWrite("CREATE", "pods", "", pod(requests={"cpu": "300m"})), NOW)
    assert refused.value.message == ("exceeded quota: cpu, requested: requests.cpu=300m, used: requests.cpu=800m, "
                                     "limited: requests.cpu=1")
    charged = charge([count, cpu], QuotaWrite("CREATE", "pods", "", pod(requests={"cpu": "200m"})), NOW)
    assert [q["status"]["used"] for q in charged] == [{"count/pods": "1"}, {"requests.cpu": "1", "pods": "4"}]


def test_a_quota_on_cpu_or_memory_makes_every_container_declare_it() -> None:
    bounded = quota(hard={"limits.memory": "1Gi", "cpu": "2"})
    with pytest.raises(QuotaRefused) as refused:
        charge([bounded], QuotaWrite("CREATE", "pods", "", pod(requests={"cpu": "1"})), NOW)
    assert refused.value.message == "failed quota: q: must specify limits.memory for: app"


def test_a_quota_the_controller_has_not_counted() -> None:
    uncounted = quota(hard={"pods": "2", "services": "1"}, used={"services": "0"})
    with pytest.raises(QuotaRefused) as refused:
        charge([uncounted], QuotaWrite("CREATE", "pods", "", pod()), NOW)
    assert refused.value.message == "status unknown for quota: q, resources: pods"
    no_status = {**uncounted, "status": {}}
    assert charge([no_status], QuotaWrite("CREATE", "pods", "", pod()), NOW) == []  # bounds nothing yet


def test_updates_pay_only_the_growth_and_most_kinds_only_on_create() -> None:
    old = {**pod(), "metadata": {"name": "p", "resourceVersion": "3"}}
    terminating = pod(activeDeadlineSeconds=30)
    scoped = quota(hard={"pods": "1"}, used={"pods": "1"}, scopes=["Terminating"])
    with pytest.raises(QuotaRefused):  # the pod moves into the Terminating scope: it is new there
        charge([scoped], QuotaWrite("UPDATE", "pods", "", terminating, old), NOW)
    assert charge([quota(used={"pods": "2"})], QuotaWrite("UPDATE", "pods", "", pod(), old), NOW) == []
    assert charge([quota(hard={"configmaps": "0"})], QuotaWrite("UPDATE", "configmaps", "", {}, {}), NOW) == []
    lb = {"spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}}
    clusterip = {"metadata": {"resourceVersion": "1"}, "spec": {"type": "ClusterIP", "ports": [{"port": 80}]}}
    with pytest.raises(QuotaRefused) as refused:
        charge([quota(hard={"services.loadbalancers": "0"})], QuotaWrite("UPDATE", "services", "", lb, clusterip), NOW)
    assert refused.value.message.startswith("exceeded quota: q, requested: services.loadbalancers=1,")


@pytest.mark.parametrize(("scope", "subject", "matches"), [
    (Scope("BestEffort"), pod(), True),
    (Scope("BestEffort"), pod(requests={"memory": "1Mi"}), False),
    (Scope("NotBestEffort"), pod(limits={"cpu": "1"}), True),
    (Scope("Terminating"), pod(activeDeadlineSeconds=0), True),
    (Scope("NotTerminating"), pod(activeDeadlineSeconds=10), False),
    (Scope("PriorityClass", "In", ("high",)), pod(priorityClassName="high"), True),
    (Scope("PriorityClass", "NotIn", ("high",)), pod(), True),
    (Scope("PriorityClass"), pod(), False),
    (Scope("CrossNamespacePodAffinity"), pod(affinity={"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"topologyKey": "zone", "namespaces": ["other"]}]}}), True),
])  # fmt: skip
def test_pod_scopes(scope: Scope, subject: dict[str, Any], matches: bool) -> None:
    assert pod_matches_scope(subject, scope) is matches


def test_a_scoped_quota_bounds_only_the_pods_in_its_scope() -> None:
    best_effort = quota(hard={"pods": "1"}, used={"pods": "1"}, scopes=["BestEffort"])
    assert charge([best_effort], QuotaWrite("CREATE", "pods", "", pod(requests={"cpu": "1"})), NOW) == []
    with pytest.raises(QuotaRefused):
        charge([best_effort], QuotaWrite("CREATE", "pods", "", pod()), NOW)


def test_the_namespace_usage_the_controller_counts() -> None:
    pods = [pod("a", requests={"cpu": "100m"}), pod("b", requests={"cpu": "250m"}), {**pod("c"),
                                                                                     "status": {"phase": "Failed"}}]
    used = namespace_usage(evaluator_for("pods"), ["pods", "requests.cpu", "count/pods", "services"], pods, [], NOW)
    assert to_json(used) == {"pods": "2", "requests.cpu": "350m", "count/pods": "3"}
    assert to_json(namespace_usage(evaluator_for("pods"), ["pods"], [], [], NOW)) == {"pods": "0"}
