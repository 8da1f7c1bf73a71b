"""PodDisruptionBudget and PriorityClass as the API takes them: defaults, validation in Kubernetes' words, the
Priority plugin's decision, the eviction subresource's decision, and what `kubectl get`/`describe` print."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from minik8s.api.defaults import apply_defaults
from minik8s.api.eviction_policy import Refusal, Route, check_and_spend, route_eviction
from minik8s.api.priority_class import PriorityRefused, resolve_priority
from minik8s.api.table_columns import column_definitions
from minik8s.api.table_printers import row_cells
from minik8s.api.validation import validate
from minik8s.cli.describers import Evidence, describe

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def messages(kind: str, obj: dict[str, Any], old: dict[str, Any] | None = None) -> list[str]:
    return [str(error) for error in validate(kind, obj, old=old)]


def pdb(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": "web", "namespace": "default"}, "spec": spec}


@pytest.mark.parametrize(("spec", "expected"), [
    ({"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}}, []),
    ({"maxUnavailable": "25%", "unhealthyPodEvictionPolicy": "AlwaysAllow"}, []),
    ({"minAvailable": -1}, ["spec.minAvailable: Invalid value: -1: must be greater than or equal to 0"]),
    ({"maxUnavailable": "120%"}, ['spec.maxUnavailable: Invalid value: "120%": must not be greater than 100%']),
    ({"minAvailable": "half"}, ['spec.minAvailable: Invalid value: "half": a valid percent string must be a numeric '
                                "string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation "
                                "is '[0-9]+%')"]),
    ({"unhealthyPodEvictionPolicy": "Sometimes"}, ['spec.unhealthyPodEvictionPolicy: Unsupported value: "Sometimes": '
                                                   'supported values: "AlwaysAllow", "IfHealthyBudget"']),
])
def test_budget_validation(spec: dict[str, Any], expected: list[str]) -> None:
    assert messages("PodDisruptionBudget", pdb(**spec)) == expected


def test_a_budget_may_not_set_both_bounds_and_its_status_counts_are_never_negative() -> None:
    both = messages("PodDisruptionBudget", pdb(minAvailable=1, maxUnavailable=1))
    assert len(both) == 1 and both[0].endswith("minAvailable and maxUnavailable cannot be both set")
    stored = pdb(minAvailable=1)
    bad_status = {**stored, "status": {"disruptionsAllowed": -1, "currentHealthy": 0, "desiredHealthy": 0,
                                       "expectedPods": 0, "conditions": [{"type": "DisruptionAllowed",
                                                                          "status": "Maybe", "reason": ""}]}}
    assert messages("PodDisruptionBudget", bad_status, old=stored) == [
        "status.disruptionsAllowed: Invalid value: -1: must be greater than or equal to 0",
        'status.conditions[0].status: Unsupported value: "Maybe": supported values: "True", "False", "Unknown"',
        "status.conditions[0].lastTransitionTime: Required value: must be set",
        "status.conditions[0].reason: Required value: reason must be set"]


def priority_class(name: str = "high", **fields: Any) -> dict[str, Any]:
    obj = {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": name}, **fields}
    apply_defaults("PriorityClass", obj)
    return obj


def test_priority_class_defaults_and_validation() -> None:
    assert priority_class(value=5) | {"metadata": {}} == {
        "apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {}, "value": 5,
        "preemptionPolicy": "PreemptLowerPriority"}
    assert messages("PriorityClass", priority_class(value=1_000_000_000)) == []
    assert messages("PriorityClass", priority_class(value=1_000_000_001)) == [
        "value: Forbidden: maximum allowed value of a user defined priority is 1000000000"]
    assert messages("PriorityClass", priority_class("system-mine", value=10)) == [
        "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. "
        "error: system-mine is not a known system priority class"]
    assert messages("PriorityClass", priority_class("system-node-critical", value=2_000_001_000)) == []
    assert messages("PriorityClass", priority_class("system-node-critical", value=7)) == [
        "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. "
        "error: value of system-node-critical PriorityClass must be 2000001000"]
    assert messages("PriorityClass", priority_class(value=1, preemptionPolicy="Sometimes")) == [
        'preemptionPolicy: Unsupported value: "Sometimes": supported values: "PreemptLowerPriority", "Never"']


def test_a_priority_class_keeps_its_value_and_policy() -> None:
    old = {**priority_class(value=1), "metadata": {"name": "high", "resourceVersion": "5", "uid": "u"}}
    changed = {**old, "value": 2, "preemptionPolicy": "Never", "description": "may change"}
    assert messages("PriorityClass", changed, old=old) == [
        "value: Forbidden: may not be changed in an update.", 'preemptionPolicy: Invalid value: "Never": field is '
                                                               "immutable"]


def test_a_pod_names_a_class_by_a_valid_name_and_a_known_policy() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
           "spec": {"containers": [{"name": "c", "image": "busybox"}], "priorityClassName": "Not_Valid",
                    "preemptionPolicy": "Sometimes"}}
    apply_defaults("Pod", pod)
    assert [m for m in messages("Pod", pod) if "priority" in m.lower() or "preemption" in m.lower()] == [
        'spec.priorityClassName: Invalid value: "Not_Valid": a lowercase RFC 1123 subdomain must consist of lower '
        "case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. "
        "'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*"
        "[a-z0-9])?)*')",
        'spec.preemptionPolicy: Unsupported value: "Sometimes": supported values: "PreemptLowerPriority", "Never"']


HIGH = priority_class(value=1000)
DEFAULT = {**priority_class("normal", value=100, preemptionPolicy="Never"), "globalDefault": True}


@pytest.mark.parametrize(("spec", "named", "classes", "expected"), [
    ({}, None, [], ("", 0, "PreemptLowerPriority")),
    ({}, None, [HIGH, DEFAULT], ("normal", 100, "Never")),
    ({"priorityClassName": "high"}, HIGH, [], ("high", 1000, "PreemptLowerPriority")),
    ({"priorityClassName": "high", "priority": 1000}, HIGH, [], ("high", 1000, "PreemptLowerPriority")),
])
def test_the_priority_a_new_pod_gets(spec: dict[str, Any], named: dict[str, Any] | None,
                                     classes: list[dict[str, Any]], expected: tuple[str, int, str]) -> None:
    resolved = resolve_priority(spec, named, classes)
    assert (resolved.class_name, resolved.priority, resolved.preemption_policy) == expected


@pytest.mark.parametrize(("spec", "named", "message"), [
    ({"priorityClassName": "gold"}, None, "no PriorityClass with name gold was found"),
    ({"priorityClassName": "high", "priority": 5}, HIGH,
     "the integer value of priority (5) must not be provided in pod spec; priority admission controller computed "
     "1000 from the given PriorityClass name"),
    ({"priority": 7}, None, "the integer value of priority (7) must not be provided in pod spec; priority admission "
                            "controller computed 0 from the given PriorityClass name"),
    ({"priorityClassName": "high", "preemptionPolicy": "Never"}, HIGH,
     "the string value of PreemptionPolicy (Never) must not be provided in pod spec; priority admission controller "
     "computed PreemptLowerPriority from the given PriorityClass name"),
])
def test_the_priority_plugin_refuses(spec: dict[str, Any], named: dict[str, Any] | None, message: str) -> None:
    with pytest.raises(PriorityRefused) as refused:
        resolve_priority(spec, named, [])
    assert str(refused.value) == message


def running(name: str = "web-1", *, ready: bool = True, phase: str = "Running") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "default", "labels": {"app": "web"}, "resourceVersion": "7"},
            "status": {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def budget(allowed: int = 1, *, current: int = 3, desired: int = 2, policy: str | None = None,
           selector: dict[str, Any] | None = None, observed: int = 1) -> dict[str, Any]:
    spec: dict[str, Any] = {"minAvailable": desired, "selector": {"matchLabels": {"app": "web"}}
                            if selector is None else selector}
    if policy:
        spec["unhealthyPodEvictionPolicy"] = policy
    return {"metadata": {"name": "web", "namespace": "default", "generation": 1}, "spec": spec,
            "status": {"disruptionsAllowed": allowed, "currentHealthy": current, "desiredHealthy": desired,
                       "expectedPods": 3, "observedGeneration": observed}}


@pytest.mark.parametrize(("case", "pod", "budgets", "route"), [
    ("no budget", running(), [], Route.DELETE),
    ("a budget with an empty selector covers nothing", running(), [budget(selector={})], Route.DELETE),
    ("a finished pod", running(phase="Succeeded"), [budget(0)], Route.DELETE),
    ("a pending pod, guarded by its version", running(phase="Pending"), [budget(0)], Route.DELETE_GUARDED),
    ("a ready pod spends the budget", running(), [budget(0)], Route.SPEND_BUDGET),
    ("an unready pod while the budget holds", running(ready=False), [budget(0, current=2)], Route.DELETE_GUARDED),
    ("an unready pod while the budget is short", running(ready=False), [budget(0, current=1)], Route.SPEND_BUDGET),
    ("an unready pod under AlwaysAllow", running(ready=False), [budget(0, current=1, policy="AlwaysAllow")],
     Route.DELETE_GUARDED),
    ("two budgets", running(), [budget(), budget()], Route.TOO_MANY_BUDGETS),
])
def test_the_way_an_eviction_goes(case: str, pod: dict[str, Any], budgets: list[dict[str, Any]],
                                  route: Route) -> None:
    assert route_eviction(pod, budgets).route is route


def test_a_budget_is_spent_one_disruption_at_a_time_and_then_refuses() -> None:
    spent = check_and_spend(budget(1), "web-1", now="2025-03-01T12:00:00Z")
    assert spent["disruptionsAllowed"] == 0 and spent["disruptedPods"] == {"web-1": "2025-03-01T12:00:00Z"}
    assert spent["conditions"][0] | {"lastTransitionTime": None} == {
        "type": "DisruptionAllowed", "status": "False", "reason": "InsufficientPods", "message": "",
        "observedGeneration": 1, "lastTransitionTime": None}
    with pytest.raises(Refusal) as refused:
        check_and_spend({**budget(), "status": spent}, "web-2", now="2025-03-01T12:00:01Z")
    assert refused.value == Refusal("TooManyRequests", "Cannot evict pod as it would violate the pod's disruption "
                                    "budget.", "The disruption budget web needs 2 healthy pods and has 3 currently")
    with pytest.raises(Refusal) as lagging:
        check_and_spend(budget(1, observed=0), "web-1", now="2025-03-01T12:00:00Z")
    assert (lagging.value.cause, lagging.value.retry_after) == (
        "The disruption budget web is still being processed by the server.", 10)


def test_get_and_describe_a_budget_and_a_priority_class() -> None:
    stored = {**budget(1), "metadata": {"name": "web", "namespace": "default", "creationTimestamp":
                                        "2025-03-01T11:58:00Z"}}
    assert [c["name"] for c in column_definitions("PodDisruptionBudget")] == [
        "Name", "Min Available", "Max Unavailable", "Allowed Disruptions", "Age"]
    assert row_cells("PodDisruptionBudget", stored, now=NOW) == ["web", "2", "N/A", 1, "2m"]
    assert row_cells("PodDisruptionBudget", {**stored, "spec": {"maxUnavailable": "25%"}}, now=NOW)[1:3] == [
        "N/A", "25%"]
    high = {**HIGH, "metadata": {"name": "high", "creationTimestamp": "2025-03-01T11:00:00Z"}}
    assert [c["name"] for c in column_definitions("PriorityClass")] == [
        "Name", "Value", "Global-Default", "Age", "PreemptionPolicy"]
    assert row_cells("PriorityClass", high, now=NOW) == ["high", 1000, False, "60m", "PreemptLowerPriority"]
    text = describe("PodDisruptionBudget", Evidence(stored, events=[]), now=NOW)
    assert text.splitlines()[:9] == ["Name:           web", "Namespace:      default", "Min available:  2",
                                     "Selector:       app=web", "Status:", "    Allowed disruptions:  1",
                                     "    Current:              3", "    Desired:              2",
                                     "    Total:                3"]
    assert describe("PriorityClass", Evidence(high), now=NOW).splitlines()[:6] == [
        "Name:              high", "Value:             1000", "GlobalDefault:     false",
        "PreemptionPolicy:  PreemptLowerPriority", "Description:       ", "Annotations:       <none>"]
