"""What an eviction may do to a pod, decided purely from the pod and the budgets of its namespace.

The eviction subresource (POST pods/NAME/eviction) is a delete that asks the pod's
PodDisruptionBudget first, as Kubernetes' EvictionREST does (pkg/registry/core/pod/storage/eviction.go):

- a pod that has finished, is still Pending or is already being deleted disrupts nothing more: it is
  deleted without asking (a Pending one guarded by its resourceVersion, lest it turn Ready meanwhile);
- a pod covered by no budget is deleted; by more than one, the eviction fails (500, Kubernetes' words);
- a pod that is not Ready is deleted without spending the budget when the budget is met anyway
  (`currentHealthy >= desiredHealthy > 0`) or its `unhealthyPodEvictionPolicy` is AlwaysAllow — guarded
  by its resourceVersion, so a pod that became Ready meanwhile is refused with 429 instead;
- otherwise the budget is checked and spent (`check_and_spend`): refused with 429 TooManyRequests
  ("Cannot evict pod as it would violate the pod's disruption budget.") while it allows no disruption or
  the controller has not yet seen its latest spec; else its `disruptionsAllowed` goes down by one and
  the pod is recorded in `disruptedPods`, so the disruption controller does not count it healthy.

The apiserver (apiserver/eviction.py) reads, writes and turns a `Refusal` into its Status.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from minik8s.api.disruption_budget import (
    ALWAYS_ALLOW,
    covers_for_eviction,
    with_disruption_allowed_condition,
)
from minik8s.api.meta import (
    JsonObject,
    is_condition_true,
    is_deleting,
    labels_of,
    mapping_at,
    metadata_of,
    spec_of,
    status_of,
)

VIOLATES_BUDGET = "Cannot evict pod as it would violate the pod's disruption budget."
MULTIPLE_BUDGETS = "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."
BUDGET_CAUSE = "DisruptionBudget"
MAX_DISRUPTED_PODS = 2000
PROCESSING_RETRY_SECONDS = 10
EVICTION_CONDITION: JsonObject = {"type": "DisruptionTarget", "status": "True", "reason": "EvictionByEvictionAPI",
                                  "message": "Eviction API: evicting"}


class Route(enum.Enum):
    DELETE = "delete"  # no budget to ask
    DELETE_GUARDED = "delete-guarded"  # delete only if the pod is unchanged (resourceVersion precondition)
    SPEND_BUDGET = "spend-budget"  # check and spend the budget, then delete
    TOO_MANY_BUDGETS = "too-many-budgets"


@dataclass(frozen=True)
class EvictionRoute:
    route: Route
    budget: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Refusal(Exception):
    """Why the budget refuses: a 429 (`TooManyRequests`) or a 403 (`Forbidden` on the budget)."""

    reason: str  # "TooManyRequests" or "Forbidden"
    message: str
    cause: str = ""  # the DisruptionBudget cause's message (429)
    retry_after: int = 0  # seconds; 0 sends no Retry-After


def can_ignore_budget(pod: Mapping[str, Any]) -> bool:
    """canIgnorePDB: finished, Pending or already being deleted."""
    return status_of(pod).get("phase") in ("Succeeded", "Failed", "Pending") or is_deleting(pod)


def guards_resource_version(pod: Mapping[str, Any]) -> bool:
    """shouldEnforceResourceVersion: anything but a finished or deleting pod might turn Ready meanwhile."""
    return status_of(pod).get("phase") not in ("Succeeded", "Failed") and not is_deleting(pod)


def route_eviction(pod: Mapping[str, Any], budgets: Sequence[Mapping[str, Any]]) -> EvictionRoute:
    """Which way an eviction of `pod` goes, given the budgets of its namespace."""
    if can_ignore_budget(pod):
        return EvictionRoute(Route.DELETE_GUARDED if guards_resource_version(pod) else Route.DELETE)
    labels = labels_of(pod)
    covering = [budget for budget in budgets if covers_for_eviction(budget, labels)]
    if len(covering) > 1:
        return EvictionRoute(Route.TOO_MANY_BUDGETS)
    if not covering:
        return EvictionRoute(Route.DELETE)
    budget = covering[0]
    if not is_condition_true(pod, "Ready"):
        if spec_of(budget).get("unhealthyPodEvictionPolicy") == ALWAYS_ALLOW:
            return EvictionRoute(Route.DELETE_GUARDED, budget)
        status = status_of(budget)
        desired, current = int(status.get("desiredHealthy") or 0), int(status.get("currentHealthy") or 0)
        if current >= desired > 0:
            return EvictionRoute(Route.DELETE_GUARDED, budget)
    return EvictionRoute(Route.SPEND_BUDGET, budget)


def still_processing(budget_name: str) -> Refusal:
    """createTooManyRequestsError: the controller has not caught up with the budget (or the pod changed)."""
    return Refusal("TooManyRequests", VIOLATES_BUDGET,
                   f"The disruption budget {budget_name} is still being processed by the server.",
                   PROCESSING_RETRY_SECONDS)


def check_and_spend(budget: Mapping[str, Any], pod_name: str, *, now: str) -> JsonObject:
    """checkAndDecrement: the budget's new status with one disruption spent on `pod_name`, or a Refusal."""
    metadata, status = metadata_of(budget), status_of(budget)
    name = str(metadata.get("name") or "")
    if int(status.get("observedGeneration") or 0) < int(metadata.get("generation") or 0):
        raise still_processing(name)
    allowed = int(status.get("disruptionsAllowed") or 0)
    disrupted = mapping_at(status, "disruptedPods")
    if allowed < 0:
        raise Refusal("Forbidden", "pdb disruptions allowed is negative")
    if len(disrupted) > MAX_DISRUPTED_PODS:
        raise Refusal("Forbidden", "DisruptedPods map too big - too many evictions not confirmed by PDB controller")
    if allowed == 0:
        raise Refusal("TooManyRequests", VIOLATES_BUDGET,
                      f"The disruption budget {name} needs {int(status.get('desiredHealthy') or 0)} healthy pods "
                      f"and has {int(status.get('currentHealthy') or 0)} currently")
    spent: JsonObject = {**status, "disruptionsAllowed": allowed - 1, "disruptedPods": {**disrupted, pod_name: now}}
    if allowed - 1 == 0:
        spent = with_disruption_allowed_condition(spent, now=now)
    return spent
