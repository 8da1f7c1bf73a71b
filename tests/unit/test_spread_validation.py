"""topologySpreadConstraints are validated as Kubernetes validates them, in Pods and pod templates alike."""

from __future__ import annotations

from typing import Any

import pytest

from minik8s.api.defaults import apply_defaults
from minik8s.api.validation import validate

HOST = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"
PATH = "spec.topologySpreadConstraints"


def constraint(**fields: Any) -> dict[str, Any]:
    return {"maxSkew": 1, "topologyKey": HOST, "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": {"app": "web"}}, **fields}


def pod_errors(*constraints: dict[str, Any]) -> list[str]:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
           "spec": {"containers": [{"name": "c", "image": "busybox"}], "topologySpreadConstraints": list(constraints)}}
    apply_defaults("Pod", pod)
    return [str(error) for error in validate("Pod", pod)]


def test_every_field_the_scheduler_honours_is_accepted() -> None:
    full = constraint(minDomains=2, nodeAffinityPolicy="Ignore", nodeTaintsPolicy="Honor",
                      matchLabelKeys=["pod-template-hash"])
    assert pod_errors(full, constraint(maxSkew=3, topologyKey=ZONE, whenUnsatisfiable="ScheduleAnyway")) == []


@pytest.mark.parametrize(("fields", "expected"), [
    ({"maxSkew": 0}, [f"{PATH}[0].maxSkew: Invalid value: 0: must be greater than zero"]),
    ({"maxSkew": None}, [f"{PATH}[0].maxSkew: Invalid value: 0: must be greater than zero"]),
    ({"topologyKey": ""}, [f"{PATH}[0].topologyKey: Required value: can not be empty"]),
    ({"whenUnsatisfiable": "Sometimes"}, [f'{PATH}[0].whenUnsatisfiable: Unsupported value: "Sometimes": '
                                          'supported values: "DoNotSchedule", "ScheduleAnyway"']),
    ({"minDomains": 0}, [f"{PATH}[0].minDomains: Invalid value: 0: must be greater than zero"]),
    ({"minDomains": 2, "whenUnsatisfiable": "ScheduleAnyway"},
     [f"{PATH}[0].minDomains: Invalid value: 2: can only use minDomains if whenUnsatisfiable=DoNotSchedule, "
      "not ScheduleAnyway"]),
    ({"nodeAffinityPolicy": "Always"},
     [f'{PATH}[0].nodeAffinityPolicy: Unsupported value: "Always": supported values: "Honor", "Ignore"']),
    ({"nodeTaintsPolicy": "honor"},
     [f'{PATH}[0].nodeTaintsPolicy: Unsupported value: "honor": supported values: "Honor", "Ignore"']),
    ({"matchLabelKeys": ["app"]},
     [f'{PATH}[0].matchLabelKeys[0]: Invalid value: "app": exists in both matchLabelKeys and labelSelector']),
    ({"matchLabelKeys": ["pod-template-hash"], "labelSelector": None},
     [f"{PATH}[0].matchLabelKeys: Forbidden: must not be specified when labelSelector is not set"]),
    ({"labelSelector": {"matchExpressions": [{"key": "app", "operator": "Near"}]}},
     [f'{PATH}[0].labelSelector.matchExpressions[0].operator: Invalid value: "Near": not a valid selector operator']),
])
def test_invalid_constraints_are_refused_with_kubernetes_messages(fields: dict[str, Any], expected: list[str]) -> None:
    assert pod_errors(constraint(**fields)) == expected


def test_a_key_may_be_spread_once_per_action() -> None:
    errors = pod_errors(constraint(), constraint(maxSkew=2), constraint(whenUnsatisfiable="ScheduleAnyway"))
    assert errors == [f'{PATH}[0].{{topologyKey, whenUnsatisfiable}}: Duplicate value: '
                      f'"{{{HOST}, DoNotSchedule}}"']


def test_match_label_keys_must_be_label_names() -> None:
    [error] = pod_errors(constraint(matchLabelKeys=["bad key"]))
    assert error.startswith(f'{PATH}[0].matchLabelKeys[0]: Invalid value: "bad key": name part must consist of')


def test_deployment_templates_are_held_to_the_same_rules() -> None:
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "busybox"}],
                     "topologySpreadConstraints": [constraint(maxSkew=-1)]}}}}
    apply_defaults("Deployment", deployment)
    assert [str(error) for error in validate("Deployment", deployment)] == [
        "spec.template.spec.topologySpreadConstraints[0].maxSkew: Invalid value: -1: must be greater than zero"]
