"""A Deployment's spec read once, with Kubernetes' defaults and its int-or-percent arithmetic.

Every step of a rollout needs the same numbers: desired replicas, how many pods may be
surged or unavailable (maxSurge rounds up, maxUnavailable rounds down, and both at zero
means one unavailable), minReadySeconds, the history limit, the progress deadline, paused.
Reading them in one place, and refusing a malformed value there with a clear message, keeps
the rollout arithmetic free of parsing and makes a bad object an Event instead of a crash.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from minik8s.api.meta import integer, spec_of
from minik8s.controllers.common.workload_objects import MalformedObject

ROLLING_UPDATE = "RollingUpdate"
RECREATE = "Recreate"
MAX_INT32 = 2**31 - 1  # "no limit" for progressDeadlineSeconds and revisionHistoryLimit


def int_or_percent(value: Any, *, total: int, round_up: bool, field: str) -> int:
    """intstr.GetScaledValueFromIntOrPercent: an int as is, `N%` of total rounded as asked."""
    if value is None:
        return 0
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.endswith("%"):
        try:
            percent = int(value[:-1])
        except ValueError:
            percent = None
        if percent is not None:
            scaled = percent * total / 100
            return math.ceil(scaled) if round_up else math.floor(scaled)
    raise MalformedObject(f"invalid value for {field}: {value!r} is neither an integer nor a percentage")


def resolve_fenceposts(max_surge: Any, max_unavailable: Any, desired: int) -> tuple[int, int]:
    """ResolveFenceposts: (surge rounded up, unavailable rounded down); both zero → unavailable 1."""
    surge = int_or_percent(max_surge, total=desired, round_up=True, field="maxSurge")
    unavailable = int_or_percent(max_unavailable, total=desired, round_up=False, field="maxUnavailable")
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def _optional_count(spec: Mapping[str, Any], name: str) -> int | None:
    value = spec.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise MalformedObject(f"spec.{name} must be a non-negative integer, not {value!r}")
    return value


@dataclass(frozen=True)
class DeploymentSpec:
    replicas: int
    strategy: str
    max_surge: int  # MaxSurge(d): 0 unless RollingUpdate
    max_unavailable: int  # MaxUnavailable(d): 0 unless RollingUpdate or when replicas is 0; ≤ replicas
    min_ready_seconds: int
    revision_history_limit: int | None
    progress_deadline_seconds: int | None
    paused: bool

    @property
    def is_rolling_update(self) -> bool:
        return self.strategy == ROLLING_UPDATE

    @property
    def has_progress_deadline(self) -> bool:
        return self.progress_deadline_seconds is not None and self.progress_deadline_seconds != MAX_INT32

    @property
    def has_revision_history_limit(self) -> bool:
        return self.revision_history_limit is not None and self.revision_history_limit != MAX_INT32

    @property
    def max_replicas(self) -> int:
        """spec.replicas + maxSurge: the max-replicas annotation of its ReplicaSets."""
        return self.replicas + self.max_surge

    @property
    def min_available(self) -> int:
        return self.replicas - self.max_unavailable


def read_spec(deployment: Mapping[str, Any]) -> DeploymentSpec:
    """The spec with defaults for what the apiserver would have defaulted; MalformedObject if bad."""
    spec = spec_of(deployment)
    replicas = integer(spec.get("replicas"), default=1)
    if replicas < 0:
        raise MalformedObject(f"spec.replicas must not be negative, not {replicas}")
    raw_strategy = spec.get("strategy")
    strategy: Mapping[str, Any] = raw_strategy if isinstance(raw_strategy, Mapping) else {}
    strategy_type = str(strategy.get("type") or ROLLING_UPDATE)
    if strategy_type not in (ROLLING_UPDATE, RECREATE):
        raise MalformedObject(f"unexpected deployment strategy type: {strategy_type}")
    surge = unavailable = 0
    if strategy_type == ROLLING_UPDATE:
        raw_rolling = strategy.get("rollingUpdate")
        rolling: Mapping[str, Any] = (
            raw_rolling if isinstance(raw_rolling, Mapping) else {"maxSurge": "25%", "maxUnavailable": "25%"}
        )
        surge, unavailable = resolve_fenceposts(rolling.get("maxSurge"), rolling.get("maxUnavailable"), replicas)
        unavailable = 0 if replicas == 0 else min(unavailable, replicas)
    return DeploymentSpec(
        replicas=replicas,
        strategy=strategy_type,
        max_surge=surge,
        max_unavailable=unavailable,
        min_ready_seconds=_optional_count(spec, "minReadySeconds") or 0,
        revision_history_limit=_optional_count(spec, "revisionHistoryLimit"),
        progress_deadline_seconds=_optional_count(spec, "progressDeadlineSeconds"),
        paused=spec.get("paused") is True,
    )
