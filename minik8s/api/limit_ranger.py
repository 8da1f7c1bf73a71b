"""LimitRanger's decisions: the defaults a namespace's LimitRanges give a new pod, and the bounds it must keep.

Kubernetes' plugin/pkg/admission/limitranger. A LimitRange item of type Container fills each
container's (and init container's) missing requests from `defaultRequest` and missing limits from
`default`, noting what it set in the `kubernetes.io/limit-ranger` annotation (the mutating half);
then every container must request at least `min`, limit at most `max`, keep limit/request within
`maxLimitRequestRatio`, and a type Pod item bounds the pod's totals the same way (the validating
half). The refusal is one message, or `[first, second, ...]` when several bounds fail, worded as
Kubernetes words them (`maximum cpu usage per Container is 1, but limit is 2`). Pure: the
apiserver hands in the pod and its namespace's LimitRanges.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from minik8s.api.pod_resources import (
    LIMITS,
    REQUESTS,
    container_resources,
    containers_of,
    milli_value,
    pod_total,
)
from minik8s.api.resource_lists import Quantity, ResourceList, parse_list

ANNOTATION = "kubernetes.io/limit-ranger"
CONTAINER, POD = "Container", "Pod"

Constraint = Callable[[str, str, Quantity, ResourceList, ResourceList], str | None]


def limit_items(limit_range: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    spec = limit_range.get("spec")
    items = spec.get("limits") if isinstance(spec, Mapping) else None
    return [item for item in items if isinstance(item, Mapping)] if isinstance(items, list) else []


def _container_defaults(limit_range: Mapping[str, Any]) -> tuple[ResourceList, ResourceList]:
    """(default requests, default limits) of the range's Container items."""
    requests: ResourceList = {}
    limits: ResourceList = {}
    for item in limit_items(limit_range):
        if item.get("type") == CONTAINER:
            requests.update(parse_list(item.get("defaultRequest")))
            limits.update(parse_list(item.get("default")))
    return requests, limits


def _fill(container: dict[str, Any], part: str, defaults: ResourceList) -> list[str]:
    """Set each default the container lacks in `resources[part]`; the names set, sorted."""
    resources = container.get("resources")
    if resources is None:
        resources = container["resources"] = {}
    if not isinstance(resources, dict) or not isinstance(resources.get(part, {}), dict):
        return []  # malformed: validation answers for it
    given = resources.get(part) or {}
    missing = sorted(name for name in defaults if name not in given)
    if missing:
        resources[part] = {**given, **{name: str(defaults[name]) for name in missing}}
    return missing


def apply_defaults(pod: dict[str, Any], limit_range: Mapping[str, Any]) -> None:
    """The mutating half (PodMutateLimitFunc): fill defaults into `pod` in place and annotate what was set."""
    requests, limits = _container_defaults(limit_range)
    if not requests and not limits:
        return
    notes: list[str] = []
    for field, label in (("containers", "container"), ("initContainers", "init container")):
        spec = pod.get("spec")
        items = spec.get(field) if isinstance(spec, dict) else None
        for container in items if isinstance(items, list) else []:
            if not isinstance(container, dict):
                continue
            set_limits = _fill(container, LIMITS, limits)
            set_requests = _fill(container, REQUESTS, requests)
            name = container.get("name")
            if set_requests:
                notes.append(f"{', '.join(set_requests)} request for {label} {name}")
            if set_limits:
                notes.append(f"{', '.join(set_limits)} limit for {label} {name}")
    if notes:
        metadata = pod.setdefault("metadata", {})
        annotations = metadata.get("annotations")
        metadata["annotations"] = {**(annotations if isinstance(annotations, dict) else {}),
                                   ANNOTATION: "LimitRanger plugin set: " + "; ".join(notes)}


def _values(request: ResourceList, limit: ResourceList, name: str, enforced: Quantity) -> tuple[int, int, int]:
    """requestLimitEnforcedValues: compared in thousandths (no quantity here outgrows that precision)."""
    zero = Quantity.of(0)
    return milli_value(request.get(name, zero)), milli_value(limit.get(name, zero)), milli_value(enforced)


def minimum(kind: str, name: str, enforced: Quantity, request: ResourceList, limit: ResourceList) -> str | None:
    observed_request, observed_limit, bound = _values(request, limit, name, enforced)
    if name not in request:
        return f"minimum {name} usage per {kind} is {enforced}.  No request is specified"
    if observed_request < bound:
        return f"minimum {name} usage per {kind} is {enforced}, but request is {request[name]}"
    if name in limit and observed_limit < bound:
        return f"minimum {name} usage per {kind} is {enforced}, but limit is {limit[name]}"
    return None


def maximum(kind: str, name: str, enforced: Quantity, request: ResourceList, limit: ResourceList) -> str | None:
    observed_request, observed_limit, bound = _values(request, limit, name, enforced)
    if name not in limit:
        return f"maximum {name} usage per {kind} is {enforced}.  No limit is specified"
    if observed_limit > bound:
        return f"maximum {name} usage per {kind} is {enforced}, but limit is {limit[name]}"
    if name in request and observed_request > bound:
        return f"maximum {name} usage per {kind} is {enforced}, but request is {request[name]}"
    return None


def ratio(kind: str, name: str, enforced: Quantity, request: ResourceList, limit: ResourceList) -> str | None:
    observed_request, observed_limit, bound = _values(request, limit, name, enforced)
    prefix = f"{name} max limit to request ratio per {kind} is {enforced}"
    if name not in request or observed_request == 0:
        return f"{prefix}, but no request is specified or request is 0"
    if name not in limit or observed_limit == 0:
        return f"{prefix}, but no limit is specified or limit is 0"
    observed = observed_limit / observed_request
    if observed * 1000 > bound:
        return f"{prefix}, but provided ratio is {observed:f}"
    return None


_CONSTRAINTS: tuple[tuple[str, Constraint], ...] = (("min", minimum), ("max", maximum),
                                                    ("maxLimitRequestRatio", ratio))


def _check(item: Mapping[str, Any], kind: str, request: ResourceList, limit: ResourceList) -> list[str]:
    problems: list[str] = []
    for field, constraint in _CONSTRAINTS:
        for name, enforced in parse_list(item.get(field)).items():
            problem = constraint(kind, name, enforced, request, limit)
            if problem is not None:
                problems.append(problem)
    return problems


def violations(pod: Mapping[str, Any], limit_range: Mapping[str, Any]) -> list[str]:
    """The validating half (PodValidateLimitFunc): every bound of `limit_range` the pod breaks."""
    problems: list[str] = []
    for item in limit_items(limit_range):
        if item.get("type") == CONTAINER:
            for container in [*containers_of(pod), *containers_of(pod, "initContainers")]:
                problems += _check(item, CONTAINER, container_resources(container, REQUESTS),
                                   container_resources(container, LIMITS))
        elif item.get("type") == POD:
            problems += _check(item, POD, pod_total(pod, REQUESTS), pod_total(pod, LIMITS))
    return problems


def aggregate(problems: Sequence[str]) -> str:
    """utilerrors.NewAggregate(...).Error(): one message as is; several, deduplicated, in brackets."""
    unique = list(dict.fromkeys(problems))
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"
