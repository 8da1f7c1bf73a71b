"""NodeRestriction: what a node may write, decided on the objects themselves.

Kubernetes' plugin/pkg/admission/noderestriction, for a `system:node:<name>` user: it writes
only its own Node (and not its taints), only its own Lease in `kube-node-lease`, the status of
pods bound to it (without touching their labels), deletes and evicts only pods bound to it, and
creates no pod but a mirror pod (annotated `kubernetes.io/config.mirror`) bound to itself, and asks
for ServiceAccount tokens only bound to a pod (name and uid) that runs on it. minik8s adds one rule for
its built-in provisioner: a node deletes only a PersistentVolume of `minik8s.io/local-path` labelled
with its name, once Released under the Delete policy (its directory removed first). The
Node authorizer cannot see these — it has no object names on create and no objects at all —
so the apiserver asks `refusal` on each write and answers a reason with a 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from minik8s.api.meta import JsonObject, annotations_of, labels_of, uid_of
from minik8s.api.node_authorization import LOCAL_PATH_NODE_LABEL, NODE_LEASE_NAMESPACE

MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror"
PROVISIONED_BY, LOCAL_PATH = "pv.kubernetes.io/provisioned-by", "minik8s.io/local-path"  # api/persistent_volumes.py
CREATE, UPDATE, DELETE = "CREATE", "UPDATE", "DELETE"


@dataclass(frozen=True)
class Write:
    """One write a node asks for: the admission operation, the target, the new and the stored object."""

    operation: str  # CREATE, UPDATE or DELETE
    api_group: str
    resource: str
    subresource: str
    namespace: str
    name: str
    new: JsonObject | None = None
    old: JsonObject | None = None


def _node_name(obj: JsonObject | None) -> str:
    spec: Any = (obj or {}).get("spec") or {}
    return str(spec.get("nodeName") or "")


def _pod(node: str, write: Write) -> str | None:
    if write.operation == CREATE:
        annotations = annotations_of(write.new or {})
        if MIRROR_POD_ANNOTATION not in annotations:
            return f'pod does not have "{MIRROR_POD_ANNOTATION}" annotation, node "{node}" can only create mirror pods'
        if _node_name(write.new) != node:
            return f'node "{node}" can only create pods with spec.nodeName set to itself'
        return None
    if write.operation == DELETE:
        if _node_name(write.old) != node:
            return f'node "{node}" can only delete pods with spec.nodeName set to itself'
        return None
    return f'unexpected operation "{write.operation}", node "{node}" can only create and delete mirror pods'


def _pod_status(node: str, write: Write) -> str | None:
    if write.operation != UPDATE:
        return f'unexpected operation "{write.operation}"'
    if _node_name(write.old) != node:
        return f'node "{node}" can only update pod status for pods with spec.nodeName set to itself'
    if write.new is not None and labels_of(write.new) != labels_of(write.old or {}):
        return f'node "{node}" cannot update labels through pod status'
    return None


def _node(node: str, write: Write) -> str | None:
    if write.name != node:
        return f'node "{node}" is not allowed to modify node "{write.name}"'
    if write.operation == UPDATE and write.new is not None:
        taints = ((write.new.get("spec") or {}).get("taints") or [], ((write.old or {}).get("spec") or {}).get("taints") or [])
        if taints[0] != taints[1]:
            return f'node "{node}" is not allowed to modify taints'
    return None


def _lease(node: str, write: Write) -> str | None:
    if write.namespace != NODE_LEASE_NAMESPACE:
        return f'can only access leases in the "{NODE_LEASE_NAMESPACE}" system namespace'
    if write.name != node:
        return "can only access node lease with the same name as the requesting node"
    return None


def _persistent_volume(node: str, write: Write) -> str | None:
    """Only a Released, Delete-policy local-path volume of this node, whose directory it has removed."""
    old = write.old or {}
    spec: Any = old.get("spec") or {}
    status: Any = old.get("status") or {}
    if write.operation != DELETE:
        return f'node "{node}" can only delete persistentvolumes'
    if labels_of(old).get(LOCAL_PATH_NODE_LABEL) != node or annotations_of(old).get(PROVISIONED_BY) != LOCAL_PATH:
        return f'node "{node}" can only delete local-path persistentvolumes of its own'
    if status.get("phase") != "Released" or spec.get("persistentVolumeReclaimPolicy") != "Delete":
        return f'node "{node}" can only delete released persistentvolumes whose reclaim policy is Delete'
    return None


def token_binding_refusal(bound: Any) -> str | None:
    """A node's TokenRequest must be bound to a pod by name and uid (read before the pod is looked up)."""
    if (not isinstance(bound, dict) or bound.get("apiVersion") != "v1" or bound.get("kind") != "Pod"
            or not bound.get("name")):
        return "node requested token not bound to a pod"
    if not bound.get("uid"):
        return "node requested token with a pod binding without a uid"
    return None


def token_pod_refusal(node: str, bound: JsonObject, pod: JsonObject) -> str | None:
    """...and that pod, as stored, must be the one the reference names and be bound to the node."""
    if bound.get("uid") != uid_of(pod):
        return (f"the UID in the bound object reference ({bound.get('uid')}) does not match the UID in record. "
                "The object might have been deleted and then recreated")
    if _node_name(pod) != node:
        return "node requested token bound to a pod scheduled on a different node"
    return None


def refusal(node: str, write: Write) -> str | None:
    """Why NodeRestriction refuses `node` this write, or None when it admits it."""
    where = (write.api_group, write.resource, write.subresource)
    if where == ("", "pods", ""):
        return _pod(node, write)
    if where == ("", "pods", "status"):
        return _pod_status(node, write)
    if where == ("", "pods", "eviction"):
        if _node_name(write.old) != node:
            return f"node {node} can only evict pods with spec.nodeName set to itself"
        return None
    if write.api_group == "" and write.resource == "nodes":
        return _node(node, write)
    if write.api_group == "coordination.k8s.io" and write.resource == "leases":
        return _lease(node, write)
    if where == ("", "persistentvolumes", ""):
        return _persistent_volume(node, write)
    return None
