"""DefaultTolerationSeconds' decision: how long a pod stays on a node that stops answering.

Kubernetes' plugin/pkg/admission/defaulttolerationseconds. When a node turns not-ready or
unreachable, the node lifecycle controller taints it `NoExecute`, which evicts every pod that does
not tolerate the taint. Every new pod (and every update of one) that does not already tolerate
`node.kubernetes.io/not-ready` or `node.kubernetes.io/unreachable` with effect NoExecute (a
toleration with an empty key or effect tolerates both) gets one for `--default-not-ready-toleration-
seconds` / `--default-unreachable-toleration-seconds` (300 s each by default), so a short outage does
not reschedule everything at once. Pure: the admission plugin hands in the pod's spec.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
DEFAULT_TOLERATION_SECONDS = 300
DEFAULT_SECONDS: dict[str, int] = {NOT_READY_TAINT: DEFAULT_TOLERATION_SECONDS,
                                   UNREACHABLE_TAINT: DEFAULT_TOLERATION_SECONDS}


def tolerates_no_execute(toleration: Mapping[str, Any], taint: str) -> bool:
    key_matches = toleration.get("key") in (taint, "", None)
    effect_matches = toleration.get("effect") in ("NoExecute", "", None)
    return key_matches and effect_matches


def add_default_tolerations(spec: dict[str, Any], seconds: Mapping[str, int] = DEFAULT_SECONDS) -> None:
    """Append the not-ready and unreachable tolerations `spec` lacks, for `seconds[taint]` seconds each."""
    tolerations = spec.get("tolerations")
    if tolerations is None:
        tolerations = []
    if not isinstance(tolerations, list):
        return  # malformed: validation answers for it
    existing = [toleration for toleration in tolerations if isinstance(toleration, dict)]
    added = [
        {"key": taint, "operator": "Exists", "effect": "NoExecute",
         "tolerationSeconds": seconds.get(taint, DEFAULT_TOLERATION_SECONDS)}
        for taint in (NOT_READY_TAINT, UNREACHABLE_TAINT)
        if not any(tolerates_no_execute(toleration, taint) for toleration in existing)
    ]
    if added:
        spec["tolerations"] = [*tolerations, *added]
