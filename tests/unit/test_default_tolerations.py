"""DefaultTolerationSeconds: every pod tolerates a not-ready or unreachable node for a while, unless it says otherwise."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from minik8s.api.default_tolerations import add_default_tolerations


def _spec(**fields: Any) -> dict[str, Any]:
    return {"containers": [{"name": "c", "image": "i"}], **fields}


def test_a_bare_pod_tolerates_unready_and_unreachable_nodes_for_300_seconds() -> None:
    spec = _spec()
    add_default_tolerations(spec)
    assert spec["tolerations"] == [
        {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
        {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
         "tolerationSeconds": 300},
    ]


@pytest.mark.parametrize(
    ("existing", "added_keys"),
    [
        ([{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"}],
         ["node.kubernetes.io/unreachable"]),
        ([{"key": "node.kubernetes.io/unreachable", "operator": "Exists"}], ["node.kubernetes.io/not-ready"]),
        ([{"operator": "Exists"}], []),
        ([{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoSchedule"}],
         ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"]),
    ],
)  # fmt: skip
def test_default_tolerations_are_added_only_when_not_already_tolerated(existing, added_keys) -> None:
    spec = _spec(tolerations=copy.deepcopy(existing))
    add_default_tolerations(spec)
    assert spec["tolerations"][: len(existing)] == existing
    assert [toleration["key"] for toleration in spec["tolerations"][len(existing):]] == added_keys


def test_the_seconds_are_the_flags_but_a_pods_own_toleration_is_kept() -> None:
    own = {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
           "tolerationSeconds": 7}
    spec = _spec(tolerations=[own])
    add_default_tolerations(spec, {"node.kubernetes.io/not-ready": 2, "node.kubernetes.io/unreachable": 3})
    assert {t["key"]: t["tolerationSeconds"] for t in spec["tolerations"]} == {
        "node.kubernetes.io/unreachable": 7, "node.kubernetes.io/not-ready": 2}


def test_malformed_tolerations_are_left_for_validation() -> None:
    spec = _spec(tolerations="everything")
    add_default_tolerations(spec)
    assert spec["tolerations"] == "everything"
