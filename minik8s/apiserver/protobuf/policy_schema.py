"""Field tables of policy/v1 PodDisruptionBudget and scheduling.k8s.io/v1 PriorityClass (their generated.proto).

`kubectl create pdb` and `kubectl create priorityclass` send these as protobuf. A budget's status is the
server's (its create resets it), so only the spec is read; a class's `value` is written even when zero
(no omitempty), its `preemptionPolicy` only when set (a pointer).
"""

from __future__ import annotations

from minik8s.apiserver.protobuf.meta_schema import LABEL_SELECTOR, OBJECT_META
from minik8s.apiserver.protobuf.schema import boolean, int32, int_or_string, message, nested, string

POD_DISRUPTION_BUDGET = message("PodDisruptionBudget", {
    1: nested("metadata", OBJECT_META),
    2: nested("spec", message("PodDisruptionBudgetSpec", {
        1: int_or_string("minAvailable"), 2: nested("selector", LABEL_SELECTOR), 3: int_or_string("maxUnavailable"),
        4: string("unhealthyPodEvictionPolicy", keep_zero=True),
    })),
    3: nested("status", message("PodDisruptionBudgetStatus")),
})

PRIORITY_CLASS = message("PriorityClass", {
    1: nested("metadata", OBJECT_META), 2: int32("value", keep_zero=True), 3: boolean("globalDefault"),
    4: string("description"), 5: string("preemptionPolicy", keep_zero=True),
})
