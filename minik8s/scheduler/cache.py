"""The scheduler's picture of the cluster: nodes, the pods on them, and the pods it has just placed.

Decisions must see every pod already placed, including the ones this scheduler bound a moment
ago whose binding the pod informer has not shown yet: otherwise two pods in a row would both
be given the last free slot of a node. So, as kube-scheduler's cache does, a pod is *assumed*
on its node the moment it is chosen, before the bind request is even sent; the informer's
event of the bound pod confirms the assumption. A bind that fails forgets it at once; one
that succeeded but never shows up in the informer expires after `assume_ttl` seconds (counted
from the end of binding), so a lost event cannot hold resources forever.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from minik8s.api.meta import JsonObject, labels_of, name_of, namespaced_key_of, spec_of, status_of
from minik8s.api.selectors import LabelSelector
from minik8s.scheduler.node_info import ClusterView, NodeInfo, no_default_spread
from minik8s.scheduler.pod_facts import PodFacts, pod_facts

log = logging.getLogger(__name__)

TERMINAL_PHASES = frozenset({"Succeeded", "Failed"})


@dataclass
class _Assumption:
    node_name: str
    deadline: float | None  # None while the bind is in flight


class SchedulerCache:
    def __init__(self, *, assume_ttl: float = 30.0, clock: Callable[[], float] = time.monotonic,
                 default_spread_selector: Callable[[PodFacts], LabelSelector | None] = no_default_spread) -> None:
        self._assume_ttl = assume_ttl
        self._default_spread_selector = default_spread_selector
        self._clock = clock
        self._infos: dict[str, NodeInfo] = {}
        self._pod_nodes: dict[str, str] = {}  # pod key → node it is counted on
        self._assumed: dict[str, _Assumption] = {}
        self._image_nodes: Counter[str] = Counter()
        self._namespace_labels: dict[str, dict[str, str]] = {}
        self._view: ClusterView | None = None  # rebuilt when the set of nodes changes

    # -- reading ----------------------------------------------------------------------------------

    def view(self) -> ClusterView:
        """The schedulable picture now: every node whose Node object is known, in name order.

        The NodeInfos in it are live: they follow pod changes until the next call."""
        if self._view is None:
            nodes = [info for _, info in sorted(self._infos.items()) if info.node is not None]
            self._view = ClusterView(nodes, self._image_nodes, self._namespace_labels, self._default_spread_selector)
        return self._view

    def node_info(self, name: str) -> NodeInfo | None:
        return self._infos.get(name)

    def node_of(self, pod_key: str) -> str | None:
        """Where the pod is counted (bound or assumed), if anywhere."""
        return self._pod_nodes.get(pod_key)

    def is_assumed(self, pod_key: str) -> bool:
        return pod_key in self._assumed

    # -- nodes ------------------------------------------------------------------------------------

    def add_or_update_node(self, node: JsonObject) -> bool:
        """Take in a Node; True when it is new or changed in a way that may let a waiting pod fit."""
        name = name_of(node)
        info = self._infos.get(name)
        if info is None:
            info = self._infos[name] = NodeInfo(name)
        before = info.signature if info.node is not None else None
        self._view = None
        self._count_images(info, -1)
        info.set_node(node)
        self._count_images(info, 1)
        return before != info.signature

    def remove_node(self, name: str) -> None:
        info = self._infos.get(name)
        if info is None or info.node is None:
            return
        self._view = None
        self._count_images(info, -1)
        info.clear_node()
        if not info.pods:
            del self._infos[name]

    def _count_images(self, info: NodeInfo, sign: int) -> None:
        if info.node is None:
            return
        for image in info.images:
            self._image_nodes[image] += sign
            if self._image_nodes[image] <= 0:
                del self._image_nodes[image]

    # -- namespaces -------------------------------------------------------------------------------

    def set_namespace(self, namespace: JsonObject) -> None:
        self._namespace_labels[name_of(namespace)] = labels_of(namespace)

    def remove_namespace(self, name: str) -> None:
        self._namespace_labels.pop(name, None)

    # -- pods seen by the informer ----------------------------------------------------------------

    def add_or_update_pod(self, pod: JsonObject) -> PodFacts | None:
        """Count a pod seen by the informer; returns its facts when it is (now) counted on a node.

        A bound pod replaces its assumption; a pod that finished stops counting; a pod still
        unbound leaves an assumption in place (the informer is behind our own bind).
        """
        key = namespaced_key_of(pod)
        node_name = str(spec_of(pod).get("nodeName") or "")
        if not node_name:
            return None
        if str(status_of(pod).get("phase") or "") in TERMINAL_PHASES:
            self.remove_pod(key)
            return None
        try:
            facts = pod_facts(pod)
        except ValueError as error:
            log.warning("pod %s on %s cannot be read (%s); counting nothing of it", key, node_name, error)
            self.remove_pod(key)
            return None
        self._assumed.pop(key, None)
        self._place(facts)
        return facts

    def remove_pod(self, key: str) -> bool:
        """Stop counting a pod (deleted, finished, or an assumption dropped); True if it was counted."""
        self._assumed.pop(key, None)
        node_name = self._pod_nodes.pop(key, None)
        if node_name is None:
            return False
        info = self._infos.get(node_name)
        if info is not None:
            info.remove_pod(key)
            if info.node is None and not info.pods:
                del self._infos[node_name]
        return True

    def _place(self, facts: PodFacts) -> None:
        previous = self._pod_nodes.get(facts.key)
        if previous is not None and previous != facts.node_name:
            self.remove_pod(facts.key)
        info = self._infos.get(facts.node_name)
        if info is None:
            info = self._infos[facts.node_name] = NodeInfo(facts.node_name)
        info.add_pod(facts)
        self._pod_nodes[facts.key] = facts.node_name

    # -- assumptions ------------------------------------------------------------------------------

    def assume(self, facts: PodFacts, node_name: str) -> None:
        """Count `facts` on `node_name` now, before the bind is sent."""
        self._place(facts.with_node(node_name))
        self._assumed[facts.key] = _Assumption(node_name, None)

    def finish_binding(self, key: str) -> None:
        """The bind was accepted: the informer should confirm within `assume_ttl` seconds."""
        assumption = self._assumed.get(key)
        if assumption is not None:
            assumption.deadline = self._clock() + self._assume_ttl

    def forget(self, key: str) -> None:
        """The bind failed: stop counting the assumed pod."""
        if key in self._assumed:
            self.remove_pod(key)

    def expire(self) -> list[str]:
        """Drop assumptions the informer never confirmed in time; returns their pod keys."""
        now = self._clock()
        expired = [key for key, assumption in self._assumed.items()
                   if assumption.deadline is not None and assumption.deadline <= now]
        for key in expired:
            log.warning("assumed pod %s on %s expired without being seen bound", key, self._assumed[key].node_name)
            self.remove_pod(key)
        return expired

