"""Validation of a pod spec's `topologySpreadConstraints`, in Kubernetes' words.

The scheduler honours every field of a constraint (maxSkew, topologyKey, whenUnsatisfiable,
labelSelector, minDomains, matchLabelKeys, nodeAffinityPolicy, nodeTaintsPolicy), so what the
API must do is refuse what the scheduler could not apply, with the field errors of upstream's
`validateTopologySpreadConstraints`: `maxSkew` above zero, a topologyKey, one of the two
actions, no two constraints of the same {topologyKey, whenUnsatisfiable}, `minDomains` above
zero and only with DoNotSchedule, Honor or Ignore policies, and matchLabelKeys that are label
names, need a labelSelector and do not repeat its keys. Serves Pods and every pod template.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from minik8s.api.field_errors import FieldError, join_index, join_path
from minik8s.api.field_reader import FieldReader
from minik8s.api.formats import check_qualified_name
from minik8s.api.meta_validation import validate_label_selector

ACTIONS = ("DoNotSchedule", "ScheduleAnyway")
NODE_INCLUSION_POLICIES = ("Honor", "Ignore")
NOT_POSITIVE = "must be greater than zero"


def validate_topology_spread_constraints(reader: FieldReader, spec: Mapping[str, Any], path: str) -> None:
    constraints = reader.objects(spec, "topologySpreadConstraints", path)
    for index, (constraint_path, constraint) in enumerate(constraints):
        _validate_max_skew(reader, constraint, constraint_path)
        if not reader.string(constraint, "topologyKey", constraint_path):
            reader.add(FieldError.required(join_path(constraint_path, "topologyKey"), "can not be empty"))
        action = reader.string(constraint, "whenUnsatisfiable", constraint_path)
        if action not in ACTIONS:
            reader.add(FieldError.not_supported(join_path(constraint_path, "whenUnsatisfiable"), action, ACTIONS))
        _validate_unique_pair(reader, constraint, [other for _, other in constraints[index + 1:]], constraint_path)
        _validate_min_domains(reader, constraint, action, constraint_path)
        for policy in ("nodeAffinityPolicy", "nodeTaintsPolicy"):
            value = reader.optional_string(constraint, policy, constraint_path)
            if value is not None and value not in NODE_INCLUSION_POLICIES:
                reader.add(FieldError.not_supported(join_path(constraint_path, policy), value,
                                                    NODE_INCLUSION_POLICIES))
        _validate_match_label_keys(reader, constraint, constraint_path)
        validate_label_selector(reader, constraint, "labelSelector", constraint_path)


def _validate_max_skew(reader: FieldReader, constraint: Mapping[str, Any], path: str) -> None:
    max_skew = reader.integer(constraint, "maxSkew", path)
    if max_skew is None and constraint.get("maxSkew") is not None:
        return  # mistyped: already reported
    if (max_skew or 0) <= 0:
        reader.add(FieldError.invalid(join_path(path, "maxSkew"), max_skew or 0, NOT_POSITIVE))


def _validate_unique_pair(reader: FieldReader, constraint: Mapping[str, Any], later: list[Mapping[str, Any]],
                          path: str) -> None:
    """Each {topologyKey, whenUnsatisfiable} once; the first of two equal constraints is the one reported."""
    pair = (constraint.get("topologyKey"), constraint.get("whenUnsatisfiable"))
    if any((other.get("topologyKey"), other.get("whenUnsatisfiable")) == pair for other in later):
        reader.add(FieldError.duplicate(join_path(path, "{topologyKey, whenUnsatisfiable}"),
                                        f"{{{pair[0]}, {pair[1]}}}"))


def _validate_min_domains(reader: FieldReader, constraint: Mapping[str, Any], action: str, path: str) -> None:
    min_domains = reader.integer(constraint, "minDomains", path)
    if min_domains is None:
        return
    min_domains_path = join_path(path, "minDomains")
    if min_domains <= 0:
        reader.add(FieldError.invalid(min_domains_path, min_domains, NOT_POSITIVE))
    if action != "DoNotSchedule":
        reader.add(FieldError.invalid(min_domains_path, min_domains,
                                      f"can only use minDomains if whenUnsatisfiable=DoNotSchedule, not {action}"))


def _validate_match_label_keys(reader: FieldReader, constraint: Mapping[str, Any], path: str) -> None:
    keys = reader.strings(constraint, "matchLabelKeys", path)
    if not keys:
        return
    keys_path = join_path(path, "matchLabelKeys")
    selector = constraint.get("labelSelector")
    if selector is None:
        reader.add(FieldError.forbidden(keys_path, "must not be specified when labelSelector is not set"))
    selector_keys = _selector_keys(selector)
    for index, (_, key) in enumerate(keys):
        key_path = join_index(keys_path, index)
        reader.extend(FieldError.invalid(key_path, key, problem) for problem in check_qualified_name(key))
        if key in selector_keys:
            reader.add(FieldError.invalid(key_path, key, "exists in both matchLabelKeys and labelSelector"))


def _selector_keys(selector: Any) -> set[str]:
    if not isinstance(selector, Mapping):
        return set()
    keys = set(selector.get("matchLabels") or {}) if isinstance(selector.get("matchLabels"), Mapping) else set()
    for expression in selector.get("matchExpressions") or []:
        if isinstance(expression, Mapping) and isinstance(expression.get("key"), str):
            keys.add(expression["key"])
    return keys
