"""Taints, tolerations, node selector terms and pod affinity terms, parsed once and matched fast.

Every filter and score asks the same small questions thousands of times per second: does this
toleration cover that taint, does this node satisfy that node selector term, does that pod fall
under this affinity term. Pods and nodes arrive as JSON; this module turns the relevant parts
into immutable values with a `matches`/`tolerates` method, with Kubernetes' exact semantics
(component-helpers `scheduling/corev1`, `nodeaffinity`; the scheduler's `AffinityTerm`). A part
Kubernetes' validation would refuse raises ValueError here, so a malformed pod is reported,
never half-understood.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from minik8s.api.selectors import LabelSelector, SelectorError, label_selector_from_object

Labels = Mapping[str, str]

NO_SCHEDULE = "NoSchedule"
PREFER_NO_SCHEDULE = "PreferNoSchedule"
NO_EXECUTE = "NoExecute"

TAINT_UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
TAINT_NOT_READY = "node.kubernetes.io/not-ready"
TAINT_UNREACHABLE = "node.kubernetes.io/unreachable"


@dataclass(frozen=True, slots=True)
class Taint:
    key: str
    value: str
    effect: str


@dataclass(frozen=True, slots=True)
class Toleration:
    key: str
    operator: str  # "Equal" (also for "") or "Exists"
    value: str
    effect: str  # "" tolerates every effect

    def tolerates(self, taint: Taint) -> bool:
        if self.effect and self.effect != taint.effect:
            return False
        if self.key and self.key != taint.key:
            return False
        if self.operator == "Exists":
            return True
        return self.operator == "Equal" and self.value == taint.value


def tolerated(tolerations: tuple[Toleration, ...], taint: Taint) -> bool:
    return any(toleration.tolerates(taint) for toleration in tolerations)


def parse_taints(taints: Any) -> tuple[Taint, ...]:
    """A node's `spec.taints`; entries that are not objects are skipped (the node is not ours to judge)."""
    parsed = []
    for taint in taints if isinstance(taints, list) else []:
        if isinstance(taint, dict):
            parsed.append(Taint(str(taint.get("key") or ""), str(taint.get("value") or ""),
                                str(taint.get("effect") or "")))
    return tuple(parsed)


def parse_tolerations(tolerations: Any) -> tuple[Toleration, ...]:
    parsed = []
    for index, toleration in enumerate(_list(tolerations, "spec.tolerations")):
        if not isinstance(toleration, dict):
            raise ValueError(f"spec.tolerations[{index}]: must be an object")
        operator = str(toleration.get("operator") or "Equal")
        if operator not in ("Equal", "Exists"):
            raise ValueError(f'spec.tolerations[{index}].operator: Unsupported value: "{operator}"')
        parsed.append(Toleration(str(toleration.get("key") or ""), operator, str(toleration.get("value") or ""),
                                 str(toleration.get("effect") or "")))
    return tuple(parsed)


# -- node selectors -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NodeRequirement:
    """One `matchExpressions` (on labels) or `matchFields` (on `metadata.name`) requirement."""

    key: str
    operator: str  # In, NotIn, Exists, DoesNotExist, Gt, Lt
    values: frozenset[str]
    bound: int = 0  # the integer of Gt/Lt

    def matches(self, labels: Labels) -> bool:
        present = self.key in labels
        operator = self.operator
        if operator == "In":
            return present and labels[self.key] in self.values
        if operator == "NotIn":
            return not present or labels[self.key] not in self.values
        if operator == "Exists":
            return present
        if operator == "DoesNotExist":
            return not present
        if not present:
            return False
        try:
            number = int(labels[self.key])
        except ValueError:
            return False
        return number > self.bound if operator == "Gt" else number < self.bound


@dataclass(frozen=True, slots=True)
class NodeSelectorTerm:
    """Requirements ANDed; a term without any requirement matches no node."""

    expressions: tuple[NodeRequirement, ...]
    fields: tuple[NodeRequirement, ...]

    def matches(self, labels: Labels, node_name: str) -> bool:
        if not self.expressions and not self.fields:
            return False
        if not all(requirement.matches(labels) for requirement in self.expressions):
            return False
        if self.fields:
            node_fields = {"metadata.name": node_name}
            return all(requirement.matches(node_fields) for requirement in self.fields)
        return True


@dataclass(frozen=True, slots=True)
class NodeSelector:
    """`requiredDuringSchedulingIgnoredDuringExecution`: terms ORed."""

    terms: tuple[NodeSelectorTerm, ...]

    def matches(self, labels: Labels, node_name: str) -> bool:
        return any(term.matches(labels, node_name) for term in self.terms)


@dataclass(frozen=True, slots=True)
class PreferredNodeTerm:
    weight: int
    term: NodeSelectorTerm


_LABEL_OPERATORS = frozenset({"In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"})
_FIELD_OPERATORS = frozenset({"In", "NotIn"})


def _requirement(raw: Any, where: str, *, fields: bool) -> NodeRequirement:
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: must be an object")
    key, operator, values = raw.get("key"), raw.get("operator"), raw.get("values") or []
    allowed = _FIELD_OPERATORS if fields else _LABEL_OPERATORS
    if not isinstance(key, str) or not key:
        raise ValueError(f"{where}.key: Required value")
    if fields and key != "metadata.name":
        raise ValueError(f'{where}.key: Invalid value: "{key}": not a valid field selector key')
    if operator not in allowed:
        raise ValueError(f'{where}.operator: Invalid value: "{operator}": not a valid selector operator')
    if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
        raise ValueError(f"{where}.values: must be a list of strings")
    if operator in ("In", "NotIn") and not values:
        raise ValueError(f"{where}.values: Required value: must be specified when `operator` is 'In' or 'NotIn'")
    if operator in ("Exists", "DoesNotExist") and values:
        raise ValueError(f"{where}.values: Forbidden: may not be specified when `operator` is 'Exists' or "
                         "'DoesNotExist'")
    bound = 0
    if operator in ("Gt", "Lt"):
        if len(values) != 1:
            raise ValueError(f"{where}.values: Required value: must be specified single value when `operator` is "
                             "'Lt' or 'Gt'")
        try:
            bound = int(values[0])
        except ValueError:
            raise ValueError(f'{where}.values[0]: Invalid value: "{values[0]}": must be an integer') from None
    return NodeRequirement(key, operator, frozenset(values), bound)


def parse_node_selector_term(raw: Any, where: str) -> NodeSelectorTerm:
    if raw is None:
        return NodeSelectorTerm((), ())
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: must be an object")
    expressions = tuple(_requirement(item, f"{where}.matchExpressions[{index}]", fields=False)
                        for index, item in enumerate(_list(raw.get("matchExpressions"), where)))
    fields = tuple(_requirement(item, f"{where}.matchFields[{index}]", fields=True)
                   for index, item in enumerate(_list(raw.get("matchFields"), where)))
    return NodeSelectorTerm(expressions, fields)


def parse_node_selector(raw: Any, where: str) -> NodeSelector | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: must be an object")
    terms = _list(raw.get("nodeSelectorTerms"), f"{where}.nodeSelectorTerms")
    return NodeSelector(tuple(parse_node_selector_term(term, f"{where}.nodeSelectorTerms[{index}]")
                              for index, term in enumerate(terms)))


def parse_preferred_node_terms(raw: Any, where: str) -> tuple[PreferredNodeTerm, ...]:
    preferred = []
    for index, item in enumerate(_list(raw, where)):
        if not isinstance(item, dict):
            raise ValueError(f"{where}[{index}]: must be an object")
        weight = _weight(item.get("weight"), f"{where}[{index}].weight")
        preferred.append(PreferredNodeTerm(weight, parse_node_selector_term(item.get("preference"),
                                                                            f"{where}[{index}].preference")))
    return tuple(preferred)


# -- pod affinity terms ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AffinityTerm:
    """A PodAffinityTerm with its namespaces resolved against the pod that carries it.

    A pod falls under the term when its namespace is listed (or, with a namespace selector,
    its namespace's labels match) and its labels match the selector. A term without a label
    selector matches no pod; an empty selector `{}` matches every pod.
    """

    namespaces: frozenset[str]
    namespace_selector: LabelSelector | None
    selector: LabelSelector | None
    topology_key: str

    def matches(self, namespace: str, labels: Labels, namespace_labels: Mapping[str, Labels]) -> bool:
        if self.selector is None:
            return False
        if namespace not in self.namespaces and not (
            self.namespace_selector is not None
            and self.namespace_selector.matches(namespace_labels.get(namespace, {}))
        ):
            return False
        return self.selector.matches(labels)


@dataclass(frozen=True, slots=True)
class WeightedAffinityTerm:
    weight: int
    term: AffinityTerm


def parse_affinity_term(raw: Any, own_namespace: str, where: str) -> AffinityTerm:
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: must be an object")
    topology_key = raw.get("topologyKey")
    if not isinstance(topology_key, str) or not topology_key:
        raise ValueError(f"{where}.topologyKey: Required value: can not be empty")
    namespaces = raw.get("namespaces") or []
    if not isinstance(namespaces, list) or not all(isinstance(name, str) for name in namespaces):
        raise ValueError(f"{where}.namespaces: must be a list of strings")
    raw_namespace_selector = raw.get("namespaceSelector")
    try:
        selector = None if raw.get("labelSelector") is None else label_selector_from_object(raw["labelSelector"])
        namespace_selector = (None if raw_namespace_selector is None
                              else label_selector_from_object(raw_namespace_selector))
    except SelectorError as error:
        raise ValueError(f"{where}: {error}") from None
    if not namespaces and namespace_selector is None:
        namespaces = [own_namespace]
    return AffinityTerm(frozenset(namespaces), namespace_selector, selector, topology_key)


def parse_affinity_terms(raw: Any, own_namespace: str, where: str) -> tuple[AffinityTerm, ...]:
    return tuple(parse_affinity_term(item, own_namespace, f"{where}[{index}]")
                 for index, item in enumerate(_list(raw, where)))


def parse_weighted_affinity_terms(raw: Any, own_namespace: str, where: str) -> tuple[WeightedAffinityTerm, ...]:
    weighted = []
    for index, item in enumerate(_list(raw, where)):
        if not isinstance(item, dict):
            raise ValueError(f"{where}[{index}]: must be an object")
        weight = _weight(item.get("weight"), f"{where}[{index}].weight")
        weighted.append(WeightedAffinityTerm(weight, parse_affinity_term(
            item.get("podAffinityTerm"), own_namespace, f"{where}[{index}].podAffinityTerm")))
    return tuple(weighted)


# -- helpers --------------------------------------------------------------------------------------


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{where}: must be a list")
    return value


def _weight(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 100:
        raise ValueError(f"{where}: Invalid value: {value!r}: must be in the range 1-100")
    return value
