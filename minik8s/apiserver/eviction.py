"""POST pods/NAME/eviction: a graceful delete that a PodDisruptionBudget may refuse.

Kubernetes' EvictionREST.Create, in this apiserver's terms. The route (api/eviction_policy.py) says
whether the pod's budget is asked at all; when it is, the budget's status is checked and spent with a
compare-and-set on its resourceVersion (a conflict re-reads it, 20 tries), and a refusal is the 429
TooManyRequests kubectl's drain retries every 5 seconds: `Cannot evict pod as it would violate the pod's
disruption budget.`, with a DisruptionBudget cause naming the budget and its counts, and no Retry-After
(so clients do not retry behind the user's back) — except "still being processed" (the controller has
not seen the budget's latest spec), which says 10 s. Before the delete, the pod gets the condition
`DisruptionTarget=True` (reason EvictionByEvictionAPI), written on its newest version; the delete then
gives it its grace period (the Eviction's deleteOptions, else the pod's own). `dryRun` (query or
deleteOptions) judges everything and writes nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from minik8s.api.eviction_policy import (
    BUDGET_CAUSE,
    EVICTION_CONDITION,
    MULTIPLE_BUDGETS,
    Refusal,
    Route,
    check_and_spend,
    route_eviction,
    still_processing,
)
from minik8s.api.kinds import POD_DISRUPTION_BUDGETS
from minik8s.api.meta import JsonObject, metadata_of, name_of, now_time
from minik8s.api.registry import ResourceKind
from minik8s.apiserver import errors
from minik8s.apiserver.delete_options import DeleteOptions
from minik8s.apiserver.operations import Operations
from minik8s.apiserver.storage import clone

_RETRIES = 20  # EvictionsRetry: 20 steps
SUCCESS: JsonObject = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}
_EVICTION_VERSIONS = ("policy/v1", "policy/v1beta1")


def refusal_error(refusal: Refusal, budget_name: str) -> errors.StatusError:
    """A Refusal as Kubernetes answers it: 429 with its DisruptionBudget cause, or 403 on the budget."""
    if refusal.reason == "Forbidden":
        return errors.StatusError(403, "Forbidden",
                                  f'poddisruptionbudget.policy "{budget_name}" is forbidden: {refusal.message}',
                                  details={"name": budget_name, "group": "policy", "kind": "poddisruptionbudget"})
    details: dict[str, Any] = {"causes": [{"reason": BUDGET_CAUSE, "message": refusal.cause}]}
    if refusal.retry_after:
        details["retryAfterSeconds"] = refusal.retry_after
    return errors.StatusError(429, "TooManyRequests", refusal.message, details=details,
                              retry_after=refusal.retry_after or None)


def eviction_options(body: Any, name: str, params: Mapping[str, str]) -> DeleteOptions:
    """The Eviction's deleteOptions (with the query's dryRun), after Kubernetes' checks of the body."""
    if not isinstance(body, dict):
        raise errors.bad_request("the request body must be an Eviction")
    if body.get("kind") not in (None, "Eviction") or body.get("apiVersion") not in (None, *_EVICTION_VERSIONS):
        raise errors.bad_request(f"not a Eviction object: {body.get('apiVersion')}, Kind={body.get('kind')}")
    if name_of(body) != name:
        raise errors.bad_request("name in URL does not match name in Eviction object")
    query = {"dryRun": params["dryRun"]} if "dryRun" in params else {}
    return DeleteOptions.parse(query, body.get("deleteOptions"))


async def evict(ops: Operations, pods: ResourceKind, namespace: str, name: str, body: Any,
                params: Mapping[str, str]) -> tuple[int, JsonObject]:
    """Evict the pod: (HTTP code, Status)."""
    options = eviction_options(body, name, params)
    user_guard = options.precondition_resource_version is not None
    for _ in range(_RETRIES):
        pod = await ops.current(pods, namespace, name)
        if pod is None:
            raise errors.not_found(pods, name)
        await ops.objects.sync(None)  # the budgets as of now, as Kubernetes lists them from etcd
        route = route_eviction(pod, ops.objects.list(POD_DISRUPTION_BUDGETS, namespace)[1])
        budget_name = name_of(route.budget or {})
        if route.route is Route.TOO_MANY_BUDGETS:
            return 500, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                         "message": MULTIPLE_BUDGETS, "code": 500}
        guarded = options
        if route.route is Route.DELETE_GUARDED and not user_guard:
            guarded = dataclasses.replace(options, precondition_resource_version=metadata_of(pod)["resourceVersion"])
        elif route.route is Route.SPEND_BUDGET:
            await _spend_budget(ops, route.budget or {}, name, dry_run=options.dry_run)
        try:
            await _mark_and_delete(ops, pods, namespace, name, guarded)
            return 201, dict(SUCCESS)
        except errors.StatusError as error:
            if error.reason != "Conflict" or user_guard or route.route is Route.SPEND_BUDGET:
                raise
            if route.budget is not None:  # an unhealthy pod changed (turned Ready?) since the budget was read
                raise refusal_error(still_processing(budget_name), budget_name) from None
    raise errors.stale_conflict(pods, name)


async def _spend_budget(ops: Operations, budget: Mapping[str, Any], pod_name: str, *, dry_run: bool) -> None:
    """checkAndDecrement with RetryOnConflict: refused while it allows nothing, else one disruption spent."""
    name = name_of(budget)
    current: Mapping[str, Any] | None = budget
    for _ in range(_RETRIES):
        if current is None:
            raise errors.not_found(POD_DISRUPTION_BUDGETS, name)
        try:
            spent = check_and_spend(current, pod_name, now=now_time())
        except Refusal as refusal:
            raise refusal_error(refusal, name) from None
        if dry_run:
            return
        try:
            await ops.write_update(POD_DISRUPTION_BUDGETS, {**clone(dict(current)), "status": spent}, dict(current),
                                   subresource="status", dry_run=False)
            return
        except errors.StatusError as error:
            if error.reason != "Conflict":
                raise
        await ops.objects.sync(None)  # refresh: another eviction spent it first
        current = ops.objects.get(POD_DISRUPTION_BUDGETS, str(metadata_of(budget).get("namespace")), name)
    raise errors.StatusError(504, "Timeout", f'Timeout: couldn\'t update PodDisruptionBudget "{name}" due to conflicts',
                             details={"retryAfterSeconds": 10}, retry_after=10)


async def _mark_and_delete(ops: Operations, pods: ResourceKind, namespace: str, name: str,
                           options: DeleteOptions) -> None:
    """addConditionAndDeletePod: DisruptionTarget on the newest pod (preconditions checked), then the delete."""
    if not options.dry_run:
        for _ in range(8):
            current = await ops.current(pods, namespace, name)
            if current is None:
                raise errors.not_found(pods, name)
            _check_preconditions(current, options)
            try:
                updated = await ops.write_update(pods, _with_eviction_condition(current), current,
                                                 subresource="status", dry_run=False)
                break
            except errors.StatusError as error:
                if error.reason != "Conflict":
                    raise
        else:
            raise errors.stale_conflict(pods, name)
        if options.precondition_resource_version is not None:
            options = dataclasses.replace(options,
                                          precondition_resource_version=metadata_of(updated)["resourceVersion"])
    await ops.delete(pods, namespace, name, options)


def _check_preconditions(pod: Mapping[str, Any], options: DeleteOptions) -> None:
    metadata, name = metadata_of(pod), name_of(pod)
    for wanted, field, recorded, why in (
            (options.precondition_uid, "UID", metadata.get("uid"), "deleted and then recreated"),
            (options.precondition_resource_version, "ResourceVersion", metadata.get("resourceVersion"), "modified")):
        if wanted and wanted != recorded:
            raise errors.StatusError(409, "Conflict", f'Operation cannot be fulfilled on Pod "{name}": the {field} in '
                                     f"the precondition ({wanted}) does not match the {field} in record ({recorded}). "
                                     f"The object might have been {why}", details={"name": name, "kind": "Pod"})


def _with_eviction_condition(pod: Mapping[str, Any]) -> JsonObject:
    """UpdatePodCondition: DisruptionTarget True/EvictionByEvictionAPI, its transition time kept when unchanged."""
    updated = clone(dict(pod))
    status = updated.setdefault("status", {})
    conditions = [c for c in status.get("conditions") or [] if isinstance(c, dict)]
    existing = next((c for c in conditions if c.get("type") == EVICTION_CONDITION["type"]), None)
    transition = now_time()
    if existing is not None and existing.get("status") == EVICTION_CONDITION["status"]:
        transition = existing.get("lastTransitionTime") or transition
    condition = {**EVICTION_CONDITION, "lastProbeTime": None, "lastTransitionTime": transition}
    status["conditions"] = [c for c in conditions if c is not existing] + [condition]
    return updated
