"""The Node authorizer over the apiserver's store, and the `Node,RBAC` chain it runs in.

`PodGraph` keeps a `NodeGraph` (which pods are bound to which node, what each references, and the
claim each PersistentVolume is bound to) up to date from one watch subscription on the pods prefix
and one on the PersistentVolumes prefix: before each node decision it drains the events already
queued, without waiting, and applies them one by one; only when a watch expired does it list again. Requests from users who are not nodes never touch it.

`NodeThenRBAC` is Kubernetes' union authorizer for `--authorization-mode=Node,RBAC`: the first
authorizer that allows wins; when none does, the 403 carries every reason given, one a line,
as Kubernetes' union authorizer joins them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from minik8s.api.kinds import PERSISTENT_VOLUMES, PODS
from minik8s.api.node_authorization import NodeGraph, authorize_node
from minik8s.api.rbac import Binding, Decision, PolicyRule, RequestAttributes
from minik8s.api.user import UserInfo
from minik8s.apiserver.storage import decode, decode_value
from minik8s.store.base import Store
from minik8s.store.watch import Subscription, WatchExpired

if TYPE_CHECKING:
    from minik8s.apiserver.authorization import Authorizer

NODE_RBAC = "Node,RBAC"
_WATCHED = (PODS.storage_prefix(), PERSISTENT_VOLUMES.storage_prefix())


class PodGraph:
    """The store's pods and PersistentVolumes as a `NodeGraph`, updated from a watch on each prefix."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._graph: NodeGraph | None = None
        self._subscriptions: dict[str, Subscription] = {}
        self.rebuilds = 0

    def graph(self) -> NodeGraph:
        if self._graph is None or len(self._subscriptions) != len(_WATCHED):
            return self._rebuild()
        try:
            drained = {prefix: subscription.drain() for prefix, subscription in self._subscriptions.items()}
        except WatchExpired:
            return self._rebuild()
        for event in drained[PODS.storage_prefix()]:
            if event.type == "DELETED":
                self._graph.remove(event.key)
            else:
                self._graph.put(event.key, decode_value(event.value, event.revision))
        for event in drained[PERSISTENT_VOLUMES.storage_prefix()]:
            if event.type == "DELETED":
                self._graph.remove_volume(event.key.rsplit("/", 1)[-1])
            else:
                self._graph.put_volume(decode_value(event.value, event.revision))
        return self._graph

    def _rebuild(self) -> NodeGraph:
        self.close()
        listed = {prefix: self.store.list(prefix) for prefix in _WATCHED}
        pods, volumes = listed[PODS.storage_prefix()], listed[PERSISTENT_VOLUMES.storage_prefix()]
        self._graph = NodeGraph(((key, decode(entry)) for key, entry in pods[1]),
                                (decode(entry) for _, entry in volumes[1]))
        try:
            for prefix, (revision, _) in listed.items():
                self._subscriptions[prefix] = self.store.watch(prefix, revision)
        except WatchExpired:  # history already trimmed: list again on the next decision
            self.close()
        self.rebuilds += 1
        return self._graph

    def close(self) -> None:
        for subscription in self._subscriptions.values():
            subscription.close()
        self._subscriptions.clear()


class NodeThenRBAC:
    """`--authorization-mode=Node,RBAC`: the Node authorizer first, RBAC for what it does not allow."""

    mode = NODE_RBAC

    def __init__(self, store: Store, rbac: Authorizer) -> None:
        self.pods = PodGraph(store)
        self.rbac = rbac

    def authorize(self, attributes: RequestAttributes) -> Decision:
        node = authorize_node(attributes, self.pods.graph()) if _maybe_node(attributes.user) else Decision(False)
        if node.allowed:
            return node
        decision = self.rbac.authorize(attributes)
        if decision.allowed or not node.reason:
            return decision
        return Decision(False, "\n".join(reason for reason in (node.reason, decision.reason) if reason))

    def rules_for(self, user: UserInfo, namespace: str) -> tuple[list[PolicyRule], list[str]]:
        return self.rbac.rules_for(user, namespace)

    def role_rules(self, binding: Binding) -> tuple[PolicyRule, ...] | None:
        return self.rbac.role_rules(binding)

    def close(self) -> None:
        self.pods.close()
        self.rbac.close()


def _maybe_node(user: UserInfo) -> bool:
    return user.name.startswith("system:node:")
