"""NodeRestriction in the apiserver's write path: the stored object a node's write touches.

The NodeRestriction admission plugin (on unless `--disable-admission-plugins NodeRestriction`) is
enforced here, by the HTTP handlers, rather than by the admission chain Operations runs: it judges
bindings, evictions and TokenRequests too, and it needs the user who asks. Under
`--authorization-mode=Node,RBAC` every create, update, patch, delete and eviction from a
`system:node:<name>` user is put to `minik8s.api.node_restriction.refusal` with the object it
would write and the object stored now (read only when the rule needs it: pods, pods/status,
evictions, Node updates, PersistentVolume deletes); a node's TokenRequest is checked by
`admit_node_token`. A refusal is Kubernetes' admission 403 on the target object. Other users' writes, and every write under the
other modes, pass untouched.
"""

from __future__ import annotations

from minik8s.api.kinds import PODS, SERVICE_ACCOUNTS
from minik8s.api.meta import JsonObject, name_of
from minik8s.api.node_restriction import (
    CREATE,
    DELETE,
    UPDATE,
    Write,
    refusal,
    token_binding_refusal,
    token_pod_refusal,
)
from minik8s.api.registry import ResourceKind
from minik8s.api.user import UserInfo, node_name_of
from minik8s.apiserver import errors
from minik8s.apiserver.authorization import Authorizer
from minik8s.apiserver.authorization_node import NODE_RBAC
from minik8s.apiserver.operations import Operations


def _needs_stored(resource: ResourceKind, subresource: str | None, operation: str) -> bool:
    """Pod writes but creation are judged by the stored pod's node; Node updates by its stored taints."""
    if resource.group != "":
        return False
    if resource.plural == "pods":
        return operation != CREATE or subresource == "eviction"
    if resource.plural == "persistentvolumes":
        return operation == DELETE
    return resource.plural == "nodes" and operation == UPDATE


def judges_new_object(resource: ResourceKind, subresource: str | None) -> bool:
    """Whether a patch is judged on what it would write (a Node's taints), not just on its target.

    Pod status writes keep the stored labels here, so their patches need no dry run."""
    return resource.group == "" and resource.plural == "nodes" and not subresource


def restricted_node(authorizer: Authorizer, user: UserInfo, *, enabled: bool = True) -> str | None:
    """The node whose writes NodeRestriction checks: the user's, when the plugin is enabled (it is by
    default: apiserver/admission.py) and the Node authorizer runs."""
    return node_name_of(user) if enabled and authorizer.mode == NODE_RBAC else None


async def admit_node_write(ops: Operations, node: str, resource: ResourceKind, namespace: str | None,
                           name: str | None, subresource: str | None, operation: str,
                           new: JsonObject | None = None) -> None:
    """Raise 403 Forbidden when NodeRestriction refuses `node` this write."""
    target = name or name_of(new or {})
    old = await ops.get(resource, namespace, target) if _needs_stored(resource, subresource, operation) else None
    write = Write(operation, resource.group, resource.plural, subresource or "", namespace or "", target, new, old)
    reason = refusal(node, write)
    if reason is not None:
        raise errors.forbidden(resource, target, reason)


async def admit_node_token(ops: Operations, node: str, namespace: str, service_account: str,
                           bound: JsonObject | None) -> None:
    """Raise 403 Forbidden unless `node`'s TokenRequest is bound to a pod of its own (a 404 when that pod is gone)."""
    reason = token_binding_refusal(bound)
    if reason is None and bound is not None:
        pod = await ops.get(PODS, namespace, str(bound["name"]))
        reason = token_pod_refusal(node, bound, pod)
    if reason is not None:
        raise errors.forbidden(SERVICE_ACCOUNTS, service_account, reason)
