"""PodDisruptionBudget (policy/v1): its rules, which pods it covers, and the DisruptionAllowed condition.

A PDB says how many of a set of pods must stay up (`minAvailable`) or may be down (`maxUnavailable`),
as an integer or a percentage of what the pods' controllers want. The disruption controller writes
what holds now into its status; the eviction subresource reads that status and refuses (429) an
eviction that would break the budget. Both, and the scheduler's preemption, agree here on which pods a
budget covers — with Kubernetes' two quirks kept: the controller lets an empty selector (`{}`) cover
every pod of the namespace (policy/v1), while the eviction subresource and preemption let a missing
or empty selector cover nothing (pkg/registry/core/pod/storage/eviction.go).

Validation is ValidatePodDisruptionBudget(Spec) and ValidatePodDisruptionBudgetStatusUpdate
(pkg/apis/policy/validation); the condition is component-helpers' UpdateDisruptionAllowedCondition
with apimachinery's SetStatusCondition (the transition time moves only when the status does).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from minik8s.api.field_errors import FieldError, join_path
from minik8s.api.field_reader import FieldReader
from minik8s.api.formats import check_percent, check_qualified_name
from minik8s.api.meta import JsonObject, find_condition, metadata_of, spec_of, status_of
from minik8s.api.meta_validation import (
    validate_label_selector,
    validate_nonnegative,
    validate_object_meta,
    validate_object_meta_update,
)
from minik8s.api.selectors import SelectorError, label_selector_from_object

IF_HEALTHY_BUDGET, ALWAYS_ALLOW = "IfHealthyBudget", "AlwaysAllow"
UNHEALTHY_POD_EVICTION_POLICIES = (ALWAYS_ALLOW, IF_HEALTHY_BUDGET)  # sorted, as sets.List() lists them
DISRUPTION_ALLOWED = "DisruptionAllowed"
SUFFICIENT_PODS, INSUFFICIENT_PODS, SYNC_FAILED = "SufficientPods", "InsufficientPods", "SyncFailed"
DISRUPTION_TARGET = "DisruptionTarget"  # the pod condition an eviction or a preemption sets
EMPTY_STATUS: JsonObject = {"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0}
STATUS_COUNTS = ("disruptionsAllowed", "currentHealthy", "desiredHealthy", "expectedPods")
_CONDITION_REASON = re.compile(r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")
_CONDITION_STATUSES = ("True", "False", "Unknown")


def validate_pod_disruption_budget(reader: FieldReader, pdb: Mapping[str, Any], old: Mapping[str, Any] | None) -> None:
    validate_object_meta(reader, pdb, "PodDisruptionBudget")
    spec = reader.mapping(pdb, "spec", "")
    min_available = reader.int_or_string(spec, "minAvailable", "spec")
    max_unavailable = reader.int_or_string(spec, "maxUnavailable", "spec")
    if min_available is not None and max_unavailable is not None:
        reader.add(FieldError.invalid("spec", dict(spec), "minAvailable and maxUnavailable cannot be both set"))
    for name, value in (("minAvailable", min_available), ("maxUnavailable", max_unavailable)):
        _validate_int_or_percent(reader, value, join_path("spec", name))
    validate_label_selector(reader, spec, "selector", "spec")
    policy = reader.optional_string(spec, "unhealthyPodEvictionPolicy", "spec")
    if policy is not None and policy not in UNHEALTHY_POD_EVICTION_POLICIES:
        reader.add(FieldError.not_supported("spec.unhealthyPodEvictionPolicy", policy,
                                            UNHEALTHY_POD_EVICTION_POLICIES))
    if old is not None:
        validate_object_meta_update(reader, pdb, old)
        _validate_status(reader, reader.mapping(pdb, "status", ""))


def _validate_int_or_percent(reader: FieldReader, value: int | str | None, path: str) -> None:
    """ValidatePositiveIntOrPercent and IsNotMoreThan100Percent."""
    if isinstance(value, str):
        problems = check_percent(value)
        reader.extend(FieldError.invalid(path, value, problem) for problem in problems)
        if not problems and int(value[:-1]) > 100:
            reader.add(FieldError.invalid(path, value, "must not be greater than 100%"))
    elif isinstance(value, int):
        validate_nonnegative(reader, value, path)


def _validate_status(reader: FieldReader, status: Mapping[str, Any]) -> None:
    """ValidatePodDisruptionBudgetStatusUpdate: the conditions, and counts that are never negative."""
    for count in STATUS_COUNTS:
        validate_nonnegative(reader, reader.integer(status, count, "status"), join_path("status", count))
    reader.integer(status, "observedGeneration", "status")
    reader.mapping(status, "disruptedPods", "status")
    for path, condition in reader.objects(status, "conditions", "status"):
        _validate_condition(reader, condition, path)


def _validate_condition(reader: FieldReader, condition: Mapping[str, Any], path: str) -> None:
    """metav1 ValidateCondition: a qualified type, a known status, a reason in CamelCase, a transition time."""
    condition_type = reader.string(condition, "type", path)
    reader.extend(FieldError.invalid(join_path(path, "type"), condition_type, p)
                  for p in check_qualified_name(condition_type))
    status = reader.string(condition, "status", path)
    if status not in _CONDITION_STATUSES:
        reader.add(FieldError.not_supported(join_path(path, "status"), status, _CONDITION_STATUSES))
    validate_nonnegative(reader, reader.integer(condition, "observedGeneration", path),
                         join_path(path, "observedGeneration"))
    if not condition.get("lastTransitionTime"):
        reader.add(FieldError.required(join_path(path, "lastTransitionTime"), "must be set"))
    reason = reader.string(condition, "reason", path)
    if not reason:
        reader.add(FieldError.required(join_path(path, "reason"), "reason must be set"))
    elif not _CONDITION_REASON.match(reason):
        reader.add(FieldError.invalid(join_path(path, "reason"), reason,
                                      "a condition reason must start with alphabetic character, optionally followed "
                                      "by a string of alphanumeric characters or '_,:', and must end with an "
                                      "alphanumeric character or '_' (e.g. 'my_name',  or 'MY_NAME',  or 'MyName',  "
                                      "or 'ReasonA,ReasonB',  or 'ReasonA:ReasonB', regex used for validation is "
                                      "'[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?')"))
    reader.optional_string(condition, "message", path)


# -- which pods a budget covers ----------------------------------------------------------------------


def covers_for_controller(pdb: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """The disruption controller's view (policy/v1 lister): no selector covers nothing, `{}` covers all."""
    selector = spec_of(pdb).get("selector")
    if selector is None:
        return False
    try:
        return label_selector_from_object(selector).matches(labels)
    except SelectorError:
        return False  # an invalid selector matches nothing


def covers_for_eviction(pdb: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """The eviction subresource's and preemption's view: a missing or empty selector covers nothing."""
    try:
        selector = label_selector_from_object(spec_of(pdb).get("selector"))
    except SelectorError:
        return False
    return not selector.is_empty() and selector.matches(labels)


def scaled_value(amount: int | str, total: int) -> int:
    """GetScaledValueFromIntOrPercent rounding up: `3` → 3, `50%` of 5 → 3. ValueError for another string."""
    if isinstance(amount, int):
        return amount
    if not amount.endswith("%") or check_percent(amount):
        raise ValueError(f"invalid value for IntOrString: invalid type: string is not a percentage: {amount!r}")
    return math.ceil(int(amount[:-1]) * total / 100)


# -- the DisruptionAllowed condition -----------------------------------------------------------------


def with_disruption_allowed_condition(status: Mapping[str, Any], *, now: str, reason: str | None = None,
                                      message: str = "") -> JsonObject:
    """`status` with its DisruptionAllowed condition set from disruptionsAllowed (or to False/`reason`)."""
    allowed = int(status.get("disruptionsAllowed") or 0) > 0
    if reason is None:
        reason = SUFFICIENT_PODS if allowed else INSUFFICIENT_PODS
    wanted = {"type": DISRUPTION_ALLOWED, "status": "True" if reason == SUFFICIENT_PODS else "False",
              "reason": reason, "message": message, "observedGeneration": int(status.get("observedGeneration") or 0)}
    conditions = [dict(c) for c in status.get("conditions") or [] if isinstance(c, Mapping)]
    current = next((c for c in conditions if c.get("type") == DISRUPTION_ALLOWED), None)
    if current is None:
        conditions.append({**wanted, "lastTransitionTime": now})
    else:
        if current.get("status") != wanted["status"] or not current.get("lastTransitionTime"):
            current["lastTransitionTime"] = now
        current.update(wanted)
    return {**status, "conditions": conditions}


def conditions_up_to_date(pdb: Mapping[str, Any]) -> bool:
    """ConditionsAreUpToDate: the condition agrees with disruptionsAllowed and the generation was observed."""
    status = status_of(pdb)
    condition = find_condition(status.get("conditions"), DISRUPTION_ALLOWED)
    if condition is None or status.get("observedGeneration") != metadata_of(pdb).get("generation"):
        return False
    if int(status.get("disruptionsAllowed") or 0) > 0:
        return (condition.get("status"), condition.get("reason")) == ("True", SUFFICIENT_PODS)
    return (condition.get("status"), condition.get("reason")) == ("False", INSUFFICIENT_PODS)
