"""A pod's topology spread constraints, read once, and the cluster's default ones when it has none.

PodTopologySpread asks per node and per placed pod "does this pod count for that constraint",
so a constraint is parsed once into a `SpreadConstraint` whose selector already carries the
values of its `matchLabelKeys` (the incoming pod's own labels for those keys, ANDed to
`labelSelector`, as kube-scheduler merges them), with kube-scheduler's defaults for what is
unset: minDomains 1, nodeAffinityPolicy Honor, nodeTaintsPolicy Ignore.

A pod without constraints is spread by the system defaults (kube-scheduler's
`systemDefaultConstraints`: at most 3 apart per hostname and 5 per zone, ScheduleAnyway, so
they only score), counting the pods its Services and its ReplicationController, ReplicaSet or
StatefulSet select (`default_selector`, upstream's `helper.DefaultSelector`); a pod nothing
selects is not spread at all. Upstream validation keeps malformed constraints out of the API;
what slips through (a pod stored before validation existed) raises ValueError, as every
other part of `pod_facts` does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from minik8s.api.field_errors import render_value
from minik8s.api.selectors import (
    LabelSelector,
    Operator,
    Requirement,
    SelectorError,
    label_selector_from_object,
    label_selector_from_requirements,
    label_selector_from_set,
)

DO_NOT_SCHEDULE = "DoNotSchedule"
SCHEDULE_ANYWAY = "ScheduleAnyway"
HONOR = "Honor"
IGNORE = "Ignore"
HOSTNAME_LABEL = "kubernetes.io/hostname"
ZONE_LABEL = "topology.kubernetes.io/zone"

Labels = Mapping[str, str]


@dataclass(frozen=True, slots=True)
class SpreadConstraint:
    """One topology spread constraint as the scheduler applies it."""

    max_skew: int
    topology_key: str
    when_unsatisfiable: str  # DoNotSchedule (a filter) or ScheduleAnyway (a score)
    selector: LabelSelector | None  # None: no labelSelector, which matches no pod
    min_domains: int = 1
    honor_node_affinity: bool = True  # nodeAffinityPolicy
    honor_node_taints: bool = False  # nodeTaintsPolicy

    def counts(self, labels: Labels) -> bool:
        """Whether a pod with `labels` is one of the pods this constraint spreads."""
        return self.selector is not None and self.selector.matches(labels)


class ControllerRef(NamedTuple):
    """A pod's controller ownerReference, as the default selector looks it up."""

    api_version: str
    kind: str
    name: str


SYSTEM_DEFAULT_CONSTRAINTS: tuple[SpreadConstraint, ...] = (
    SpreadConstraint(3, HOSTNAME_LABEL, SCHEDULE_ANYWAY, None),
    SpreadConstraint(5, ZONE_LABEL, SCHEDULE_ANYWAY, None),
)


def parse_spread_constraints(raw: Any, pod_labels: Labels, where: str) -> tuple[SpreadConstraint, ...]:
    """`spec.topologySpreadConstraints` of a pod with `pod_labels`; ValueError for what validation refuses."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ValueError(f"{where}: must be a list")
    return tuple(_constraint(item, pod_labels, f"{where}[{index}]") for index, item in enumerate(raw))


def _constraint(raw: Any, pod_labels: Labels, where: str) -> SpreadConstraint:
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: must be an object")
    max_skew, min_domains = raw.get("maxSkew"), raw.get("minDomains")
    if not isinstance(max_skew, int) or not _positive(max_skew):
        raise ValueError(f"{where}.maxSkew: Invalid value: {render_value(max_skew)}: must be greater than zero")
    if min_domains is not None and not _positive(min_domains):
        raise ValueError(f"{where}.minDomains: Invalid value: {render_value(min_domains)}: must be greater than zero")
    topology_key, action = raw.get("topologyKey"), raw.get("whenUnsatisfiable")
    if not isinstance(topology_key, str) or not topology_key:
        raise ValueError(f"{where}.topologyKey: Required value: can not be empty")
    if action not in (DO_NOT_SCHEDULE, SCHEDULE_ANYWAY):
        raise ValueError(f"{where}.whenUnsatisfiable: Unsupported value: {render_value(action)}: "
                         'supported values: "DoNotSchedule", "ScheduleAnyway"')
    return SpreadConstraint(
        max_skew=max_skew, topology_key=topology_key, when_unsatisfiable=action,
        selector=_selector(raw.get("labelSelector"), raw.get("matchLabelKeys"), pod_labels, where),
        min_domains=min_domains or 1,
        honor_node_affinity=_policy(raw.get("nodeAffinityPolicy"), HONOR, f"{where}.nodeAffinityPolicy"),
        honor_node_taints=_policy(raw.get("nodeTaintsPolicy"), IGNORE, f"{where}.nodeTaintsPolicy"),
    )


def _selector(raw: Any, match_label_keys: Any, pod_labels: Labels, where: str) -> LabelSelector | None:
    """`labelSelector` ANDed with `key=<the pod's value>` for each of `matchLabelKeys` the pod has."""
    if match_label_keys is not None and (
            not isinstance(match_label_keys, list) or not all(isinstance(key, str) for key in match_label_keys)):
        raise ValueError(f"{where}.matchLabelKeys: must be a list of strings")
    if raw is None:
        return None
    try:
        selector = label_selector_from_object(raw)
    except SelectorError as error:
        raise ValueError(f"{where}.labelSelector: {error}") from None
    pinned = [Requirement(key, Operator.EQUALS, (pod_labels[key],))
              for key in match_label_keys or () if key in pod_labels]
    return label_selector_from_requirements([*pinned, *selector.requirements]) if pinned else selector


def _policy(value: Any, default: str, where: str) -> bool:
    """True for Honor; a policy left out takes `default`."""
    chosen = default if value is None else value
    if chosen not in (HONOR, IGNORE):
        raise ValueError(f'{where}: Unsupported value: {render_value(value)}: supported values: "Honor", "Ignore"')
    return bool(chosen == HONOR)


def _positive(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


# -- the defaults for a pod without constraints ------------------------------------------------------


class OwnerSelector(NamedTuple):
    """The selector of the workload controlling a pod: an RC's plain map, or an RS's/StatefulSet's selector."""

    kind: str  # "ReplicationController", "ReplicaSet" or "StatefulSet"
    selector: LabelSelector
    plain: Mapping[str, str]  # the RC's map (merged with the Services' before turning into a selector)


def default_selector(pod_labels: Labels, service_selectors: Iterable[Labels], owner: OwnerSelector | None) -> (
        LabelSelector):
    """The pods the system default constraints spread a pod among (kube-scheduler's DefaultSelector).

    The labels of every Service selecting the pod, merged; then a ReplicationController's map
    merged into them, or a ReplicaSet's or StatefulSet's requirements added. Empty when nothing
    selects the pod: then it is not spread by default.
    """
    merged: dict[str, str] = {}
    for service_selector in service_selectors:
        if service_selector and all(pod_labels.get(key) == value for key, value in service_selector.items()):
            merged.update(service_selector)
    if owner is not None and owner.kind == "ReplicationController":
        merged.update(owner.plain)
    selector = label_selector_from_set(merged)
    if owner is not None and owner.kind in ("ReplicaSet", "StatefulSet"):
        selector = label_selector_from_requirements([*selector.requirements, *owner.selector.requirements])
    return selector


def constraints_to_apply(explicit: tuple[SpreadConstraint, ...], action: str,
                         default: LabelSelector | None) -> tuple[SpreadConstraint, ...]:
    """The pod's constraints of `action`; without any constraint, the system defaults of it with `default`."""
    if explicit:
        return tuple(constraint for constraint in explicit if constraint.when_unsatisfiable == action)
    if default is None or default.is_empty():
        return ()
    return tuple(SpreadConstraint(c.max_skew, c.topology_key, c.when_unsatisfiable, default)
                 for c in SYSTEM_DEFAULT_CONSTRAINTS if c.when_unsatisfiable == action)
