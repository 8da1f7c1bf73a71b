"""Which nodes a DaemonSet's pod belongs on: node selector, required node affinity, taints.

The DaemonSet controller places its pods itself (it sets `spec.nodeName`, no scheduler
involved), so it must answer the scheduler's questions on its own, exactly as Kubernetes'
`NodeShouldRunDaemonPod` does: a node is eligible when the pod's nodeSelector and required
node affinity match it and every NoSchedule/NoExecute taint is tolerated — after adding the
tolerations every DaemonSet pod gets (not-ready, unreachable, the pressure conditions,
unschedulable), which is why a DaemonSet still runs on cordoned or NotReady nodes. A pod
already running stays while it tolerates the node's NoExecute taints, even if a new
NoSchedule taint would keep a new one out.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from minik8s.api.meta import JsonObject, labels_of, mapping_at, name_of, spec_of
from minik8s.api.selectors import Operator, Requirement
from minik8s.controllers.common.taints import (
    NO_EXECUTE,
    NO_SCHEDULE,
    TAINT_DISK_PRESSURE,
    TAINT_MEMORY_PRESSURE,
    TAINT_NETWORK_UNAVAILABLE,
    TAINT_NOT_READY,
    TAINT_PID_PRESSURE,
    TAINT_UNREACHABLE,
    TAINT_UNSCHEDULABLE,
    tolerates,
)

# Kubernetes' AddOrUpdateDaemonPodTolerations: no tolerationSeconds, so eviction never happens.
DAEMON_TOLERATIONS: tuple[JsonObject, ...] = (
    {"key": TAINT_NOT_READY, "operator": "Exists", "effect": NO_EXECUTE},
    {"key": TAINT_UNREACHABLE, "operator": "Exists", "effect": NO_EXECUTE},
    {"key": TAINT_DISK_PRESSURE, "operator": "Exists", "effect": NO_SCHEDULE},
    {"key": TAINT_MEMORY_PRESSURE, "operator": "Exists", "effect": NO_SCHEDULE},
    {"key": TAINT_PID_PRESSURE, "operator": "Exists", "effect": NO_SCHEDULE},
    {"key": TAINT_UNSCHEDULABLE, "operator": "Exists", "effect": NO_SCHEDULE},
)
_HOST_NETWORK_TOLERATION: JsonObject = {"key": TAINT_NETWORK_UNAVAILABLE, "operator": "Exists", "effect": NO_SCHEDULE}

_NODE_SELECTOR_OPERATORS = {
    "In": Operator.IN,
    "NotIn": Operator.NOT_IN,
    "Exists": Operator.EXISTS,
    "DoesNotExist": Operator.DOES_NOT_EXIST,
    "Gt": Operator.GREATER_THAN,
    "Lt": Operator.LESS_THAN,
}


@dataclass(frozen=True)
class Placement:
    """`should_run`: a new pod belongs here; `should_continue_running`: a running one may stay."""

    should_run: bool
    should_continue_running: bool


def with_daemon_tolerations(spec: Mapping[str, Any]) -> list[JsonObject]:
    """The pod spec's tolerations plus the DaemonSet ones, replacing any with the same key/operator/effect."""
    tolerations = [dict(t) for t in spec.get("tolerations") or [] if isinstance(t, Mapping)]
    wanted = [*DAEMON_TOLERATIONS, *([_HOST_NETWORK_TOLERATION] if spec.get("hostNetwork") else [])]
    for toleration in wanted:
        replaced = [dict(toleration) if _same_toleration(t, toleration) else t for t in tolerations]
        if replaced == tolerations and toleration not in tolerations:
            replaced.append(dict(toleration))
        tolerations = replaced
    return tolerations


def _same_toleration(left: Mapping[str, Any], right: Mapping[str, Any]) -> bool:
    """Kubernetes' MatchToleration: same key, operator, value and effect (tolerationSeconds aside)."""
    return all((left.get(field) or "") == (right.get(field) or "") for field in ("key", "operator", "value", "effect"))


def untolerated_taint(taints: Iterable[Mapping[str, Any]], tolerations: list[JsonObject], *,
                      effects: frozenset[str]) -> Mapping[str, Any] | None:
    """The first taint with one of `effects` that no toleration tolerates, if any."""
    for taint in taints:
        if taint.get("effect") in effects and not any(tolerates(t, taint) for t in tolerations):
            return taint
    return None


def node_should_run(daemon_set: Mapping[str, Any], node: Mapping[str, Any]) -> Placement:
    """Kubernetes' NodeShouldRunDaemonPod for the DaemonSet's pod template on `node`."""
    spec = spec_of(mapping_at(spec_of(daemon_set), "template"))
    node_name = name_of(node)
    if spec.get("nodeName") and spec.get("nodeName") != node_name:
        return Placement(False, False)
    if not matches_node_selector(spec.get("nodeSelector"), node) or not matches_required_affinity(spec, node):
        return Placement(False, False)
    tolerations = with_daemon_tolerations(spec)
    taints = [t for t in spec_of(node).get("taints") or [] if isinstance(t, Mapping)]
    if untolerated_taint(taints, tolerations, effects=frozenset({NO_SCHEDULE, NO_EXECUTE})) is None:
        return Placement(True, True)
    stays = untolerated_taint(taints, tolerations, effects=frozenset({NO_EXECUTE})) is None
    return Placement(False, stays)


def matches_node_selector(node_selector: Any, node: Mapping[str, Any]) -> bool:
    """A pod's `nodeSelector` map: every pair must be a label of the node."""
    if not node_selector:
        return True
    if not isinstance(node_selector, Mapping):
        return False
    labels = labels_of(node)
    return all(labels.get(key) == value for key, value in node_selector.items())


def required_node_affinity(spec: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """`affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution` of a pod spec, if set."""
    required = mapping_at(mapping_at(spec, "affinity"), "nodeAffinity").get(
        "requiredDuringSchedulingIgnoredDuringExecution")
    return required if isinstance(required, Mapping) else None


def matches_required_affinity(spec: Mapping[str, Any], node: Mapping[str, Any]) -> bool:
    """requiredDuringSchedulingIgnoredDuringExecution: any term matches (no terms: none does)."""
    required = required_node_affinity(spec)
    if required is None:
        return True
    terms = required.get("nodeSelectorTerms") or []
    return any(_term_matches(term, node) for term in terms if isinstance(term, Mapping))


def _term_matches(term: Mapping[str, Any], node: Mapping[str, Any]) -> bool:
    """A term ANDs its label expressions and field expressions; an empty term matches nothing."""
    expressions = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not expressions and not fields:
        return False
    field_values = {"metadata.name": name_of(node)}
    requirements = [_requirement(expression) for expression in expressions]
    field_requirements = [_requirement(expression, fields_only=True) for expression in fields]
    if any(r is None for r in [*requirements, *field_requirements]):
        return False  # a malformed term never matches (Kubernetes ignores what it cannot parse)
    labels = labels_of(node)
    return (all(r is not None and r.matches(labels) for r in requirements)
            and all(r is not None and r.matches(field_values) for r in field_requirements))


def _requirement(expression: Any, *, fields_only: bool = False) -> Requirement | None:
    if not isinstance(expression, Mapping) or not isinstance(expression.get("key"), str):
        return None
    operator = _NODE_SELECTOR_OPERATORS.get(str(expression.get("operator")))
    values = expression.get("values") or []
    if operator is None or not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        return None
    if fields_only and (expression["key"] != "metadata.name" or operator not in (Operator.IN, Operator.NOT_IN)):
        return None
    if operator in (Operator.IN, Operator.NOT_IN) and not values:
        return None
    if operator in (Operator.GREATER_THAN, Operator.LESS_THAN) and len(values) != 1:
        return None
    return Requirement(expression["key"], operator, tuple(values))


def replace_node_name_affinity(affinity: Any, node_name: str) -> JsonObject:
    """Kubernetes' ReplaceDaemonSetPodNodeNameNodeAffinity: required affinity = this node only."""
    term = {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node_name]}]}
    result: JsonObject = copy.deepcopy(dict(affinity)) if isinstance(affinity, Mapping) else {}
    node_affinity = result.get("nodeAffinity")
    if not isinstance(node_affinity, dict):
        node_affinity = result["nodeAffinity"] = {}
    required = node_affinity.get("requiredDuringSchedulingIgnoredDuringExecution")
    if not isinstance(required, dict):
        required = node_affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {}
    required["nodeSelectorTerms"] = [term]
    return result


