"""The pod subresource /binding: a command rather than a view (/eviction, the other, is eviction.py).

Binding is a compare-and-set on `spec.nodeName`: a pod that is already bound can never be
bound again, whichever scheduler (or deposed leader) asks.
"""

from __future__ import annotations

from typing import Any

from minik8s.api.meta import JsonObject, mapping_at, spec_of
from minik8s.api.registry import ResourceKind
from minik8s.apiserver import errors, strategy
from minik8s.apiserver.operations import Operations
from minik8s.apiserver.storage import clone


def _success(code: int) -> JsonObject:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": code}


async def bind(ops: Operations, pods: ResourceKind, namespace: str, name: str, body: Any) -> JsonObject:
    if not isinstance(body, dict):
        raise errors.bad_request("the request body must be a Binding")
    node_name = mapping_at(body, "target").get("name")
    if not isinstance(node_name, str) or not node_name:
        raise errors.invalid(pods, name, [{"reason": "FieldValueRequired", "message": "Required value",
                                           "field": "target.name"}])
    for _ in range(8):
        current = await ops.current(pods, namespace, name)
        if current is None:
            raise errors.not_found(pods, name)
        spec = spec_of(current)
        if spec.get("nodeName"):
            raise errors.conflict(pods, name, f"pod {name} is already assigned to node \"{spec['nodeName']}\"")
        if current["metadata"].get("deletionTimestamp"):
            raise errors.conflict(pods, name, f"pod {name} is being deleted, cannot be assigned to a host")
        bound = clone(current)
        bound["spec"]["nodeName"] = node_name
        conditions = [c for c in (bound.setdefault("status", {}).get("conditions") or [])
                      if c.get("type") != "PodScheduled"]
        conditions.append({"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                           "lastTransitionTime": strategy.timestamp()})
        bound["status"]["conditions"] = conditions
        try:
            await ops.objects.replace(pods, bound, mod_revision=int(current["metadata"]["resourceVersion"]))
            return _success(201)
        except errors.StatusError as error:
            if error.reason != "Conflict":
                raise
    raise errors.stale_conflict(pods, name)

