"""One step of a DaemonSet rolling update: which old pods go, and (with surge) where new ones start.

Kubernetes replaces a DaemonSet's pods node by node. Without surge (the default, maxSurge 0)
it deletes old pods while at most `maxUnavailable` nodes lack an available pod, and the
ordinary placement loop then creates the new pod once the old one is gone. With maxSurge the
new pod starts beside the old one on up to `maxSurge` nodes and the old one is deleted once
the new one is available. Old pods that are not available anyway are replaced at once, since
replacing them costs no availability. This is Kubernetes' `rollingUpdate` (daemon/update.go),
as a pure function of the pods per node.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from minik8s.api.meta import is_deleting, labels_of, mapping_at, name_of, spec_of
from minik8s.controllers.common.pods import is_available
from minik8s.controllers.daemonset.pods import REVISION_HASH_LABEL


@dataclass(frozen=True)
class RolloutLimits:
    max_surge: int
    max_unavailable: int


@dataclass(frozen=True)
class RolloutStep:
    delete: tuple[str, ...] = ()
    create_on: tuple[str, ...] = ()


def scaled_value(value: Any, total: int, *, round_up: bool) -> int:
    """An int-or-percent (`1`, `"25%"`) of `total`; raise ValueError for anything else."""
    if value is None:
        return 0
    if isinstance(value, bool):
        raise ValueError(f"invalid value {value!r}: must be an integer or a percentage")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.endswith("%"):
        try:
            percent = int(value[:-1])
        except ValueError:
            raise ValueError(f"invalid value for IntOrString: invalid value {value!r}") from None
        scaled = percent * total / 100
        return math.ceil(scaled) if round_up else math.floor(scaled)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise ValueError(f"invalid value for IntOrString: invalid value {value!r}")


def rolling_update_of(daemon_set: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """`spec.updateStrategy.rollingUpdate` ({} when unset); None for the OnDelete strategy."""
    strategy = mapping_at(spec_of(daemon_set), "updateStrategy")
    if (strategy.get("type") or "RollingUpdate") != "RollingUpdate":
        return None
    return mapping_at(strategy, "rollingUpdate")


def rollout_limits(daemon_set: Mapping[str, Any], desired_number_scheduled: int) -> RolloutLimits:
    """maxSurge and maxUnavailable for this many desired nodes (both 0 would deadlock: unavailable 1)."""
    rolling = rolling_update_of(daemon_set)
    if rolling is None:
        return RolloutLimits(0, 0)
    max_surge = scaled_value(rolling.get("maxSurge"), desired_number_scheduled, round_up=True)
    max_unavailable = scaled_value(rolling.get("maxUnavailable"), desired_number_scheduled, round_up=True)
    if desired_number_scheduled > 0 and max_surge == 0 and max_unavailable == 0:
        max_unavailable = 1
    return RolloutLimits(max_surge, max_unavailable)


def allows_surge(daemon_set: Mapping[str, Any]) -> bool:
    try:
        rolling = rolling_update_of(daemon_set)
        return rolling is not None and scaled_value(rolling.get("maxSurge"), 1, round_up=True) != 0
    except ValueError:
        return False


def split_by_revision(pods: Sequence[Mapping[str, Any]], revision_hash: str) -> tuple[Mapping[str, Any] | None, Mapping[str, Any] | None, bool]:
    """(new pod, old pod, ok) among the node's live pods; not ok when there are two of a kind."""
    new_pod: Mapping[str, Any] | None = None
    old_pod: Mapping[str, Any] | None = None
    for pod in pods:
        if is_deleting(pod):
            continue
        if labels_of(pod).get(REVISION_HASH_LABEL) == revision_hash:
            if new_pod is not None:
                return None, None, False
            new_pod = pod
        else:
            if old_pod is not None:
                return None, None, False
            old_pod = pod
    return new_pod, old_pod, True


def roll(node_pods: Mapping[str, Sequence[Mapping[str, Any]]], *, revision_hash: str, limits: RolloutLimits,
         min_ready_seconds: int, now: datetime, should_run: Callable[[str], bool]) -> RolloutStep:
    """The next step; `node_pods` holds every node with pods or wanting one (then with no pods)."""
    if limits.max_surge == 0:
        return _roll_without_surge(node_pods, revision_hash=revision_hash, max_unavailable=limits.max_unavailable,
                                   min_ready_seconds=min_ready_seconds, now=now)
    return _roll_with_surge(node_pods, revision_hash=revision_hash, max_surge=limits.max_surge,
                            min_ready_seconds=min_ready_seconds, now=now, should_run=should_run)


def _roll_without_surge(node_pods: Mapping[str, Sequence[Mapping[str, Any]]], *, revision_hash: str, max_unavailable: int,
                        min_ready_seconds: int, now: datetime) -> RolloutStep:
    unavailable = 0
    replacements: list[str] = []  # old pods that are unavailable anyway: replacing them costs nothing
    candidates: list[str] = []
    for node_name in sorted(node_pods):
        new_pod, old_pod, ok = split_by_revision(node_pods[node_name], revision_hash)
        if not ok or (old_pod is None) == (new_pod is None):
            unavailable += 1  # excess pods, no pod, or a replacement under way: the placement loop acts
        elif new_pod is not None:
            unavailable += 0 if is_available(new_pod, min_ready_seconds=min_ready_seconds, now=now) else 1
        elif old_pod is not None and not is_available(old_pod, min_ready_seconds=min_ready_seconds, now=now):
            replacements.append(name_of(old_pod))
        elif old_pod is not None and unavailable < max_unavailable:
            candidates.append(name_of(old_pod))
    room = min(max(max_unavailable - unavailable, 0), len(candidates))
    return RolloutStep(delete=(*replacements, *candidates[:room]))


def _roll_with_surge(node_pods: Mapping[str, Sequence[Mapping[str, Any]]], *, revision_hash: str, max_surge: int,
                     min_ready_seconds: int, now: datetime, should_run: Callable[[str], bool]) -> RolloutStep:
    surging = 0
    deletions: list[str] = []
    replacements: list[str] = []  # nodes whose old pod is unavailable: a new pod may start at once
    candidates: list[str] = []
    for node_name in sorted(node_pods):
        new_pod, old_pod, ok = split_by_revision(node_pods[node_name], revision_hash)
        if not ok:
            surging += 1
        elif old_pod is None:
            continue  # up to date, or the placement loop creates the pod
        elif new_pod is None:
            if not is_available(old_pod, min_ready_seconds=min_ready_seconds, now=now):
                if should_run(node_name):
                    replacements.append(node_name)
                else:
                    deletions.append(name_of(old_pod))
            elif surging < max_surge:
                candidates.append(node_name)
        elif not is_available(new_pod, min_ready_seconds=min_ready_seconds, now=now):
            surging += 1  # the new pod is on its way: wait for it
        else:
            deletions.append(name_of(old_pod))  # the new pod is available: the old one may go
    room = min(max(max_surge - surging, 0), len(candidates))
    return RolloutStep(delete=tuple(deletions), create_on=(*replacements, *candidates[:room]))
