"""The Node authorizer's decision: a kubelet reads only what the pods bound to its node use.

Kubernetes' plugin/pkg/auth/authorizer/node: a `system:node:<name>` user in `system:nodes` may
get (list, watch) a Secret or ConfigMap, get a PersistentVolumeClaim, and create a token for a
ServiceAccount only when a pod bound to its node references that object, and get a
PersistentVolume only when its claimRef names such a claim (its graph runs from each object
through the pods that use it to their node). minik8s adds what its node agent needs as the
built-in local-path provisioner's deleter: it lists and watches the volumes labelled
`minik8s.io/local-path-node=<name>` (only with that label selector) and deletes volumes, which
NodeRestriction narrows to its own released ones. It may get, create, update, patch and
delete only its own Lease in `kube-node-lease`. As with AuthorizeNodeWithSelectors (on by
default since v1.32) it reads only its own Node, and only its own pods: by name, or listed and
watched with the field selector `spec.nodeName=<name>`; it may write any Node and create or
delete pods, update pod status and evict — NodeRestriction narrows those writes to its own.
Everything else a kubelet needs is one static rule set (bootstrappolicy.NodeRules): services,
endpoints, events, reviews. The
authorizer never denies: a request it does not allow gets "no opinion" with a reason, and the
next authorizer in the chain (RBAC) decides.

`PodReferences.of(pod)` reads what one pod references; `NodeGraph` keeps them per node.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from minik8s.api.meta import JsonObject, name_of, namespace_of
from minik8s.api.rbac import Decision, PolicyRule, RequestAttributes, rule_allows
from minik8s.api.user import NODE_PREFIX, SYSTEM_NODES, node_name_of

NODE_LEASE_NAMESPACE = "kube-node-lease"
SECRET, CONFIG_MAP, PVC, SERVICE_ACCOUNT = "secrets", "configmaps", "persistentvolumeclaims", "serviceaccounts"
POD, PV = "pods", "persistentvolumes"
LOCAL_PATH_NODE_LABEL = "minik8s.io/local-path-node"  # api/persistent_volumes.py
_READ = ("get", "list", "watch")

# bootstrappolicy.NodeRules (v1.32), without the kinds minik8s does not serve (CSI, DRA, CSRs).
NODE_RULES = (
    PolicyRule(("create",), ("authentication.k8s.io",), ("tokenreviews",)),
    PolicyRule(("create",), ("authorization.k8s.io",), ("subjectaccessreviews", "localsubjectaccessreviews")),
    PolicyRule(_READ, ("",), ("services",)),
    PolicyRule(("create", "get", "list", "watch"), ("",), ("nodes",)),
    PolicyRule(("update", "patch"), ("",), ("nodes/status",)),
    PolicyRule(("update", "patch"), ("",), ("nodes",)),
    PolicyRule(("create", "update", "patch"), ("", "events.k8s.io"), ("events",)),
    PolicyRule(_READ, ("",), ("pods",)),
    PolicyRule(("create", "delete"), ("",), ("pods",)),
    PolicyRule(("update", "patch"), ("",), ("pods/status",)),
    PolicyRule(("create",), ("",), ("pods/eviction",)),
    PolicyRule(("get",), ("",), ("endpoints",)),
    PolicyRule(_READ, ("discovery.k8s.io",), ("endpointslices",)),
)


def _names(items: Any, key: str) -> Iterator[str]:
    for item in items if isinstance(items, list) else ():
        if isinstance(item, dict) and isinstance(item.get(key), str):
            yield item[key]


def _volume_refs(volume: JsonObject) -> Iterator[tuple[str, str]]:
    if isinstance(volume.get("secret"), dict):
        yield SECRET, str(volume["secret"].get("secretName", ""))
    if isinstance(volume.get("configMap"), dict):
        yield CONFIG_MAP, str(volume["configMap"].get("name", ""))
    if isinstance(volume.get("persistentVolumeClaim"), dict):
        yield PVC, str(volume["persistentVolumeClaim"].get("claimName", ""))
    projected = volume.get("projected")
    for source in (projected.get("sources") or []) if isinstance(projected, dict) else ():
        for kind, key in ((SECRET, "secret"), (CONFIG_MAP, "configMap")):
            if isinstance(source, dict) and isinstance(source.get(key), dict):
                yield kind, str(source[key].get("name", ""))


def _container_refs(container: JsonObject) -> Iterator[tuple[str, str]]:
    for env in container.get("env") or []:
        value_from = env.get("valueFrom") if isinstance(env, dict) else None
        if isinstance(value_from, dict):
            for kind, key in ((SECRET, "secretKeyRef"), (CONFIG_MAP, "configMapKeyRef")):
                if isinstance(value_from.get(key), dict):
                    yield kind, str(value_from[key].get("name", ""))
    for source in container.get("envFrom") or []:
        for kind, key in ((SECRET, "secretRef"), (CONFIG_MAP, "configMapRef")):
            if isinstance(source, dict) and isinstance(source.get(key), dict):
                yield kind, str(source[key].get("name", ""))


@dataclass(frozen=True)
class PodReferences:
    """The node a pod is bound to and the (resource, name) pairs in its namespace it references."""

    node: str
    namespace: str
    name: str
    objects: frozenset[tuple[str, str]] = field(default_factory=frozenset)

    @classmethod
    def of(cls, pod: JsonObject) -> PodReferences:
        spec = pod.get("spec") or {}
        refs: set[tuple[str, str]] = {(SECRET, name) for name in _names(spec.get("imagePullSecrets"), "name")}
        for volume in spec.get("volumes") or []:
            refs.update(_volume_refs(volume) if isinstance(volume, dict) else ())
        for key in ("initContainers", "containers", "ephemeralContainers"):
            for container in spec.get(key) or []:
                refs.update(_container_refs(container) if isinstance(container, dict) else ())
        refs.add((SERVICE_ACCOUNT, str(spec.get("serviceAccountName") or "default")))
        return cls(str(spec.get("nodeName") or ""), namespace_of(pod) or "default", name_of(pod),
                   frozenset(ref for ref in refs if ref[1]))


class NodeGraph:
    """Pods by node, each with what it references, and the claim each volume is bound to; updated one object
    at a time."""

    def __init__(self, pods: Iterable[tuple[str, JsonObject]] = (), volumes: Iterable[JsonObject] = ()) -> None:
        self._pods: dict[str, PodReferences] = {}
        self._by_node: dict[str, dict[str, PodReferences]] = {}
        self._claims: dict[str, tuple[str, str]] = {}  # volume name -> (namespace, claim name)
        for key, pod in pods:
            self.put(key, pod)
        for volume in volumes:
            self.put_volume(volume)

    def put_volume(self, volume: JsonObject) -> None:
        """A PersistentVolume's edge to the claim its claimRef names (none when it names none)."""
        ref = (volume.get("spec") or {}).get("claimRef") if isinstance(volume.get("spec"), dict) else None
        if isinstance(ref, dict) and ref.get("name"):
            self._claims[name_of(volume)] = (str(ref.get("namespace") or ""), str(ref["name"]))
        else:
            self._claims.pop(name_of(volume), None)

    def remove_volume(self, name: str) -> None:
        self._claims.pop(name, None)

    def put(self, key: str, pod: JsonObject) -> None:
        self.remove(key)
        refs = PodReferences.of(pod)
        if refs.node:
            self._pods[key] = refs
            self._by_node.setdefault(refs.node, {})[key] = refs

    def remove(self, key: str) -> None:
        old = self._pods.pop(key, None)
        if old is not None:
            on_node = self._by_node.get(old.node, {})
            on_node.pop(key, None)
            if not on_node:
                self._by_node.pop(old.node, None)

    def reaches(self, node: str, resource: str, namespace: str, name: str) -> bool:
        """True when some pod bound to `node` in `namespace` is, or references, `resource` `name`."""
        if resource == POD:
            return any(refs.namespace == namespace and refs.name == name for refs in self._by_node.get(node, {}).values())
        if resource == PV:
            claim = self._claims.get(name)
            return claim is not None and self.reaches(node, PVC, *claim)
        return any(refs.namespace == namespace and (resource, name) in refs.objects
                   for refs in self._by_node.get(node, {}).values())


def _no_opinion(reason: str) -> Decision:
    return Decision(False, reason)


def _through_graph(node: str, graph: NodeGraph, attributes: RequestAttributes) -> Decision:
    if not attributes.name:
        return _no_opinion("No Object name found")
    if not graph.reaches(node, attributes.resource, attributes.namespace, attributes.name):
        return _no_opinion(f"no relationship found between node '{node}' and this object")
    return Decision(True)


def _read_namespaced(node: str, graph: NodeGraph, attributes: RequestAttributes, verbs: tuple[str, ...]) -> Decision:
    if attributes.verb not in verbs:
        only = "read resources" if len(verbs) > 1 else "get individual resources"
        return _no_opinion(f"can only {only} of this type")
    if attributes.subresource:
        return _no_opinion("cannot read subresource" if len(verbs) > 1 else "cannot get subresource")
    if not attributes.namespace:
        return _no_opinion("can only read namespaced object of this type")
    return _through_graph(node, graph, attributes)


def _service_account_token(node: str, graph: NodeGraph, attributes: RequestAttributes) -> Decision:
    if attributes.verb != "create":
        return _no_opinion("can only create tokens for individual service accounts")
    if attributes.subresource != "token":
        return _no_opinion("can only create token subresource of serviceaccount")
    return _through_graph(node, graph, attributes)


def _lease(node: str, attributes: RequestAttributes) -> Decision:
    if attributes.verb not in ("get", "create", "update", "patch", "delete"):
        return _no_opinion("can only get, create, update, patch, or delete a node lease")
    if attributes.namespace != NODE_LEASE_NAMESPACE:
        return _no_opinion(f'can only access leases in the "{NODE_LEASE_NAMESPACE}" system namespace')
    if attributes.verb != "create" and attributes.name != node:  # create is checked by NodeRestriction
        return _no_opinion("can only access node lease with the same name as the requesting node")
    return Decision(True)


def _selects(field_selector: str, field: str, value: str) -> bool:
    """True when the selector has the term `field=value` (or `==`)."""
    for term in field_selector.split(","):
        key, found, wanted = term.partition("==") if "==" in term else term.partition("=")
        if found and not key.endswith("!") and key.strip() == field and wanted.strip() == value:
            return True
    return False


def _node(node: str, attributes: RequestAttributes) -> Decision:
    """AuthorizeNodeWithSelectors: write any Node (NodeRestriction narrows it), read only its own."""
    verb, name = attributes.verb, attributes.name
    if attributes.subresource == "" and verb in ("create", "update", "patch"):
        return Decision(True)
    if attributes.subresource == "" and verb in _READ:
        if name == node:
            return Decision(True)
        if not name:
            return _no_opinion(f"node '{node}' cannot read all nodes, only its own Node object")
        return _no_opinion(f"node '{node}' cannot read '{name}', only its own Node object")
    if attributes.subresource == "status" and verb in ("update", "patch"):
        return Decision(True)
    return _no_opinion("")


def _pod(node: str, graph: NodeGraph, attributes: RequestAttributes) -> Decision:
    """AuthorizeNodeWithSelectors: its own pods by name or by `spec.nodeName=NODE`; writes for NodeRestriction."""
    verb, subresource = attributes.verb, attributes.subresource
    if subresource == "" and verb == "get":
        return _read_namespaced(node, graph, attributes, ("get",))
    if subresource == "" and verb in ("list", "watch"):
        if _selects(attributes.field_selector, "spec.nodeName", node):
            return Decision(True)
        if attributes.name:
            return _through_graph(node, graph, attributes)
        return _no_opinion("can only list/watch pods with spec.nodeName field selector")
    allowed = {"": ("create", "delete"), "status": ("update", "patch"), "eviction": ("create",)}
    return Decision(True) if verb in allowed.get(subresource, ()) else _no_opinion("")


def _persistent_volume(node: str, graph: NodeGraph, attributes: RequestAttributes) -> Decision:
    """Get a volume of its pods' claims; list/watch its own local-path volumes; delete (NodeRestriction narrows)."""
    verb = attributes.verb
    if attributes.subresource:
        return _no_opinion("cannot get subresource")
    if verb == "get":
        return _through_graph(node, graph, attributes)
    if verb in ("list", "watch"):
        if _selects(attributes.label_selector, LOCAL_PATH_NODE_LABEL, node):
            return Decision(True)
        return _no_opinion(f"can only list/watch persistentvolumes with label selector {LOCAL_PATH_NODE_LABEL}={node}")
    if verb == "delete":
        return Decision(True)
    return _no_opinion("can only get, list/watch its local-path volumes, or delete persistentvolumes")


def authorize_node(attributes: RequestAttributes, graph: NodeGraph) -> Decision:
    """The Node authorizer: allowed, or not allowed meaning no opinion (never a deny)."""
    user = attributes.user
    if SYSTEM_NODES not in user.groups or not user.name.startswith(NODE_PREFIX):
        return _no_opinion("")  # not a node: someone else's request
    node = node_name_of(user)
    if node is None:
        return _no_opinion(f'unknown node for user "{user.name}"')
    if attributes.resource_request:
        group, resource = attributes.api_group, attributes.resource
        if group == "" and resource in (SECRET, CONFIG_MAP):
            return _read_namespaced(node, graph, attributes, _READ)
        if group == "" and resource == PVC:
            return _read_namespaced(node, graph, attributes, ("get",))
        if group == "" and resource == SERVICE_ACCOUNT:
            return _service_account_token(node, graph, attributes)
        if group == "coordination.k8s.io" and resource == "leases":
            return _lease(node, attributes)
        if group == "" and resource == "nodes":
            return _node(node, attributes)
        if group == "" and resource == POD:
            return _pod(node, graph, attributes)
        if group == "" and resource == PV:
            return _persistent_volume(node, graph, attributes)
    if any(rule_allows(attributes, rule) for rule in NODE_RULES):
        return Decision(True)
    return _no_opinion("")
