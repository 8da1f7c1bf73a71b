"""PriorityClass (scheduling.k8s.io/v1): its rules, the two system classes, and the priority a new pod gets.

A PriorityClass maps a name to the integer a pod's `spec.priority` becomes; the scheduler orders its
queue by it and preempts lower-priority pods for higher ones. Kubernetes keeps the values above one
billion for the system: only `system-cluster-critical` (2000000000) and `system-node-critical`
(2000001000), which every apiserver creates when it starts, may use them or the `system-` prefix
(pkg/apis/scheduling, validation.go and v1/helpers.go). `preemptionPolicy` defaults to
PreemptLowerPriority; `value` and `preemptionPolicy` never change after creation.

`resolve_priority` is the decision of the Priority admission plugin (plugin/pkg/admission/priority):
a new pod's `priorityClassName` becomes `spec.priority` and `spec.preemptionPolicy`; a pod naming no
class gets the globalDefault class (the lowest-valued one, should a race have made two) or 0; an
unknown class and a pod that sets `priority` or `preemptionPolicy` to something else are refused with
Kubernetes' words. It is pure: the apiserver plugin (apiserver/admission_priority.py) hands it the classes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from minik8s.api.field_errors import FieldError
from minik8s.api.field_reader import FieldReader
from minik8s.api.meta import JsonObject, name_of
from minik8s.api.meta_validation import validate_object_meta, validate_object_meta_update

HIGHEST_USER_DEFINABLE_PRIORITY = 1_000_000_000
SYSTEM_CRITICAL_PRIORITY = 2 * HIGHEST_USER_DEFINABLE_PRIORITY
SYSTEM_PREFIX = "system-"
SYSTEM_CLUSTER_CRITICAL = "system-cluster-critical"
SYSTEM_NODE_CRITICAL = "system-node-critical"
PREEMPT_LOWER_PRIORITY, PREEMPT_NEVER = "PreemptLowerPriority", "Never"
PREEMPTION_POLICIES = (PREEMPT_LOWER_PRIORITY, PREEMPT_NEVER)
DEFAULT_PRIORITY = 0  # a pod naming no class when no class is the global default
_INT32 = (-(2**31), 2**31 - 1)

SYSTEM_PRIORITY_CLASSES: tuple[JsonObject, ...] = (
    {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": SYSTEM_NODE_CRITICAL},
     "value": SYSTEM_CRITICAL_PRIORITY + 1000,
     "description": "Used for system critical pods that must not be moved from their current node."},
    {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": SYSTEM_CLUSTER_CRITICAL},
     "value": SYSTEM_CRITICAL_PRIORITY,
     "description": "Used for system critical pods that must run in the cluster, but can be moved to another node "
                    "if necessary."},
)
SYSTEM_CLASS_NAMES = frozenset(name_of(system_class) for system_class in SYSTEM_PRIORITY_CLASSES)


def default_priority_class(priority_class: JsonObject, _: bool) -> None:
    """SetDefaults_PriorityClass: PreemptLowerPriority; a missing `value` reads as Go's zero value."""
    priority_class.setdefault("value", 0)
    if priority_class.get("preemptionPolicy") is None:
        priority_class["preemptionPolicy"] = PREEMPT_LOWER_PRIORITY


def known_system_class_problem(name: str, value: Any, global_default: Any) -> str:
    """IsKnownSystemPriorityClass: "" when `name` is a system class with exactly its value and default."""
    for system_class in SYSTEM_PRIORITY_CLASSES:
        if name_of(system_class) == name:
            if value != system_class["value"]:
                return f"value of {name} PriorityClass must be {system_class['value']}"
            if bool(global_default) != bool(system_class.get("globalDefault")):
                return f"globalDefault of {name} PriorityClass must be false"
            return ""
    return f"{name} is not a known system priority class"


def validate_priority_class(reader: FieldReader, priority_class: Mapping[str, Any],
                            old: Mapping[str, Any] | None) -> None:
    """ValidatePriorityClass, and on update ValidatePriorityClassUpdate."""
    validate_object_meta(reader, priority_class, "PriorityClass")
    value = reader.integer(priority_class, "value", "")
    if value is not None and not _INT32[0] <= value <= _INT32[1]:
        reader.add(FieldError.type_invalid("value", value, "must be of type int32"))
    global_default = reader.boolean(priority_class, "globalDefault", "")
    reader.optional_string(priority_class, "description", "")
    name = name_of(priority_class)
    if name.startswith(SYSTEM_PREFIX):
        problem = known_system_class_problem(name, value, global_default)
        if problem:
            reader.add(FieldError.forbidden("metadata.name", f"priority class names with '{SYSTEM_PREFIX}' prefix "
                                                             f"are reserved for system use only. error: {problem}"))
    elif value is not None and value > HIGHEST_USER_DEFINABLE_PRIORITY:
        reader.add(FieldError.forbidden(
            "value", f"maximum allowed value of a user defined priority is {HIGHEST_USER_DEFINABLE_PRIORITY}"))
    validate_preemption_policy(reader, priority_class, "")
    if old is not None:
        validate_object_meta_update(reader, priority_class, old)
        if priority_class.get("value") != old.get("value"):
            reader.add(FieldError.forbidden("value", "may not be changed in an update."))
        if priority_class.get("preemptionPolicy") != old.get("preemptionPolicy"):
            reader.add(FieldError.invalid("preemptionPolicy", priority_class.get("preemptionPolicy"),
                                          "field is immutable"))


def validate_preemption_policy(reader: FieldReader, owner: Mapping[str, Any], path: str) -> None:
    """ValidatePreemptionPolicy of a PriorityClass or a pod spec (absent is fine: it is defaulted or resolved)."""
    policy = reader.optional_string(owner, "preemptionPolicy", path)
    field = f"{path}.preemptionPolicy" if path else "preemptionPolicy"
    if policy == "":
        reader.add(FieldError.required(field))
    elif policy is not None and policy not in PREEMPTION_POLICIES:
        reader.add(FieldError.not_supported(field, policy, PREEMPTION_POLICIES))


def global_default_class(classes: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The globalDefault class; with several (a race), the one with the lowest value, as Kubernetes picks."""
    defaults = [c for c in classes if c.get("globalDefault") is True]
    return min(defaults, key=lambda c: (_value_of(c), name_of(c))) if defaults else None


@dataclass(frozen=True)
class Resolved:
    """What a new pod's spec gets: `priorityClassName` (may stay ""), `priority`, `preemptionPolicy`."""

    class_name: str
    priority: int
    preemption_policy: str


class PriorityRefused(Exception):
    """The Priority plugin refuses the pod; the message is Kubernetes' (a 403 Forbidden)."""


def resolve_priority(spec: Mapping[str, Any], named_class: Mapping[str, Any] | None,
                     classes: Iterable[Mapping[str, Any]]) -> Resolved:
    """The Priority admission plugin's admitPod for a create: `named_class` is the class the spec names
    (None when it names none or one that does not exist), `classes` every class (for the default)."""
    wanted = spec.get("priorityClassName")
    if not wanted:
        chosen = global_default_class(classes)
        resolved = (Resolved(name_of(chosen), _value_of(chosen), _policy_of(chosen)) if chosen is not None
                    else Resolved("", DEFAULT_PRIORITY, PREEMPT_LOWER_PRIORITY))
    else:
        found = named_class
        if found is None:
            raise PriorityRefused(f"no PriorityClass with name {wanted} was found")
        resolved = Resolved(str(wanted), _value_of(found), _policy_of(found))
    given = spec.get("priority")
    if given is not None and given != resolved.priority:
        raise PriorityRefused(f"the integer value of priority ({given}) must not be provided in pod spec; priority "
                              f"admission controller computed {resolved.priority} from the given PriorityClass name")
    given_policy = spec.get("preemptionPolicy")
    if given_policy is not None and given_policy != resolved.preemption_policy:
        raise PriorityRefused(f"the string value of PreemptionPolicy ({given_policy}) must not be provided in pod "
                              f"spec; priority admission controller computed {resolved.preemption_policy} from the "
                              "given PriorityClass name")
    return resolved


def _value_of(priority_class: Mapping[str, Any]) -> int:
    value = priority_class.get("value")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _policy_of(priority_class: Mapping[str, Any]) -> str:
    return str(priority_class.get("preemptionPolicy") or PREEMPT_LOWER_PRIORITY)
