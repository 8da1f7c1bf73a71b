"""OpenAPI schemas of policy/v1 PodDisruptionBudget and scheduling.k8s.io/v1 PriorityClass, under Kubernetes' names.

They join `openapi_kinds.SCHEMAS` (with their List kinds), so `kubectl explain pdb.spec` and
`kubectl explain priorityclass` read them, and kubectl's client-side validation knows their fields.
"""

from __future__ import annotations

from minik8s.api.openapi_schema import (
    INT_OR_STRING,
    LABEL_SELECTOR,
    TIME,
    Schema,
    array,
    boolean,
    integer,
    kind_object,
    map_of,
    obj,
    ref,
    string,
)

_CONDITION = obj("Details of one aspect of the current state of this API resource.", {
    "type": string("Type of condition in CamelCase or in foo.example.com/CamelCase."),
    "status": string("Status of the condition, one of True, False, Unknown.", enum=("True", "False", "Unknown")),
    "observedGeneration": integer("The .metadata.generation the condition was set based upon.", format="int64"),
    "lastTransitionTime": ref(TIME), "reason": string("A programmatic identifier of the last transition."),
    "message": string("A human readable message about the transition.")},
    required=("type", "status", "lastTransitionTime", "reason", "message"))

POD_DISRUPTION_BUDGET = kind_object(
    "PodDisruptionBudget is an object to define the max disruption that can be caused to a collection of pods.",
    "policy", "v1", "PodDisruptionBudget", {
        "spec": obj("Specification of the desired behavior of the PodDisruptionBudget.", {
            "minAvailable": ref(INT_OR_STRING), "maxUnavailable": ref(INT_OR_STRING),
            "selector": ref(LABEL_SELECTOR),
            "unhealthyPodEvictionPolicy": string("How running pods that are not yet healthy are evicted.",
                                                 enum=("AlwaysAllow", "IfHealthyBudget"))}),
        "status": obj("Most recently observed status of the PodDisruptionBudget.", {
            "observedGeneration": integer("The most recent generation observed.", format="int64"),
            "disruptedPods": map_of(ref(TIME), "Pods whose eviction was processed but not yet observed."),
            "disruptionsAllowed": integer("Number of pod disruptions that are currently allowed."),
            "currentHealthy": integer("current number of healthy pods"),
            "desiredHealthy": integer("minimum desired number of healthy pods"),
            "expectedPods": integer("total number of pods counted by this disruption budget"),
            "conditions": array(_CONDITION, "Conditions contain conditions for PDB.")},
            required=("disruptionsAllowed", "currentHealthy", "desiredHealthy", "expectedPods"))})

PRIORITY_CLASS = kind_object(
    "PriorityClass defines mapping from a priority class name to the priority integer value.",
    "scheduling.k8s.io", "v1", "PriorityClass", {
        "value": integer("The actual priority that pods receive when they name this class."),
        "globalDefault": boolean("Whether this class is the default priority for pods that name none."),
        "description": string("Guidelines on when this priority class should be used."),
        "preemptionPolicy": string("The Policy for preempting pods with lower priority.",
                                   enum=("Never", "PreemptLowerPriority"))},
    required=("value",))

# (group, kind) → schema, in `openapi_kinds._KINDS`' shape; both kinds are listed.
DISRUPTION_KINDS: dict[tuple[str, str], Schema] = {
    ("policy", "PodDisruptionBudget"): POD_DISRUPTION_BUDGET,
    ("scheduling.k8s.io", "PriorityClass"): PRIORITY_CLASS,
}
