"""NoExecute taints against pod tolerations: which pods must leave a node, and when.

Kubernetes' taint manager (pkg/controller/tainteviction) deletes a pod from a node with a
NoExecute taint it does not tolerate at once, and one that tolerates the taint for
`tolerationSeconds` when that time has passed. Here the decision is a pure function of the
pod, the node's taints and the time, so the node lifecycle controller stays a thin shell and
the rules are tested table-driven. Deadlines are measured from each taint's `timeAdded`
(stable across controller restarts and leader changes), and of several taints the earliest
deadline wins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from minik8s.api.meta import JsonObject, is_deleting, list_at, parse_time, spec_of
from minik8s.controllers.common.taints import NO_EXECUTE, tolerates


def no_execute_taints(node: Mapping[str, Any]) -> list[JsonObject]:
    taints = list_at(spec_of(node), "taints")
    return [taint for taint in taints if isinstance(taint, dict) and taint.get("effect") == NO_EXECUTE]


def pod_tolerations(pod: Mapping[str, Any]) -> list[JsonObject]:
    tolerations = list_at(spec_of(pod), "tolerations")
    return [toleration for toleration in tolerations if isinstance(toleration, dict)]


@dataclass(frozen=True)
class EvictionDecision:
    """Evict now, look again after `recheck_after` seconds, or (neither) leave the pod alone."""

    evict: bool = False
    recheck_after: float | None = None
    reason: str = ""

    @property
    def keep(self) -> bool:
        return not self.evict and self.recheck_after is None


KEEP = EvictionDecision()


def _toleration_seconds(toleration: Mapping[str, Any]) -> float | None:
    """Seconds the toleration lasts; None for ever."""
    seconds = toleration.get("tolerationSeconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        return None
    return max(0.0, float(seconds))


def _deadline(taint: Mapping[str, Any], tolerations: Sequence[Mapping[str, Any]], *,
              now: datetime) -> tuple[bool, datetime | None]:
    """(is the taint tolerated at all, when the toleration runs out — None for never)."""
    matching = next((toleration for toleration in tolerations if tolerates(toleration, taint)), None)
    if matching is None:
        return False, None
    seconds = _toleration_seconds(matching)
    if seconds is None:
        return True, None
    added = parse_time(taint.get("timeAdded")) or now
    try:
        return True, added + timedelta(seconds=seconds)
    except OverflowError:  # beyond any calendar (tolerationSeconds is an int64): tolerated for ever
        return True, None


def plan_eviction(pod: Mapping[str, Any], taints: Sequence[Mapping[str, Any]], *, now: datetime) -> EvictionDecision:
    """What the taint manager does with `pod` on a node carrying `taints` (any effects) at `now`."""
    if is_deleting(pod):
        return KEEP  # already going
    tolerations = pod_tolerations(pod)
    earliest: datetime | None = None
    for taint in taints:
        if taint.get("effect") != NO_EXECUTE:
            continue
        tolerated, deadline = _deadline(taint, tolerations, now=now)
        if not tolerated:
            return EvictionDecision(evict=True, reason=f"does not tolerate taint {taint.get('key')}")
        if deadline is not None and (earliest is None or deadline < earliest):
            earliest = deadline
    if earliest is None:
        return KEEP
    if earliest <= now:
        return EvictionDecision(evict=True, reason="toleration expired")
    return EvictionDecision(recheck_after=(earliest - now).total_seconds(), reason="tolerating for now")
