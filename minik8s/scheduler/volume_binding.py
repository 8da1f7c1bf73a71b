"""The scheduler's volume binding, pure: may a pod's claims be served on this node, and how.

kube-scheduler's VolumeBinding plugin (pkg/scheduler/framework/plugins/volumebinding, binder.go):
PreFilter reads the pod's claims once (`read_pod_volumes`) and refuses the whole pod when one is
missing, lost, being deleted, or unbound though its class binds immediately (the PV controller binds
those), and — VolumeRestrictions — when a ReadWriteOncePod claim is used by another pod. Filter
(`PodVolumes.reasons`) checks each node, with kube-scheduler's reasons: a bound claim's volume must
accept the node (its node affinity); a claim waiting for its first consumer needs an Available volume
of its class that accepts the node, or a provisioner for its class whose allowed topologies include
the node, or — once a node was selected for it — that node. `PodVolumes.plan_for` says what PreBind
writes for the chosen node: volumes to pre-bind to claims, claims to annotate with the node for their
provisioner.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from minik8s.api.meta import JsonObject, is_deleting, name_of, namespace_of, spec_of, uid_of
from minik8s.api.persistent_volumes import (
    LOST,
    READ_WRITE_ONCE_POD,
    access_modes,
    claim_class,
    claim_names,
    find_matching_volume,
    is_delay_binding,
    is_fully_bound,
    phase_of,
    requested_storage,
    selected_node,
    volume_accepts_node,
    volume_class,
)
from minik8s.api.resource_lists import Quantity

REASON_NODE_CONFLICT = "node(s) had volume node affinity conflict"
REASON_BIND_CONFLICT = "node(s) didn't find available persistent volumes to bind"
REASON_PV_NOT_EXIST = "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)"
UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims"
READ_WRITE_ONCE_POD_CONFLICT = "node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode"
NOT_SUPPORTED_PROVISIONER = "kubernetes.io/no-provisioner"
Labels = Mapping[str, str]


def volume_fits_node(volume: Mapping[str, Any], node_name: str, labels: Labels) -> bool:
    return volume_accepts_node(volume, labels, node_name)


def _topology_allows(storage_class: Mapping[str, Any], labels: Labels) -> bool:
    """MatchTopologySelectorTerms: no terms allow every node; else some term's every label requirement holds."""
    terms = storage_class.get("allowedTopologies")
    if not isinstance(terms, list) or not terms:
        return True
    for term in terms:
        expressions = term.get("matchLabelExpressions") if isinstance(term, dict) else None
        if all(isinstance(e, dict) and labels.get(str(e.get("key"))) in (e.get("values") or [])
               for e in expressions or []):
            return True
    return False


@dataclass(frozen=True)
class DelayedClaim:
    """A claim waiting for its first consumer: the volumes of its class, and the class itself."""

    claim: JsonObject
    volumes: tuple[JsonObject, ...]
    storage_class: JsonObject | None


@dataclass(frozen=True)
class VolumePlan:
    """What PreBind writes for the chosen node."""

    bindings: tuple[tuple[JsonObject, JsonObject], ...] = ()  # (volume, claim): pre-bind the volume
    provisions: tuple[JsonObject, ...] = ()  # claims to annotate with the selected node

    @property
    def empty(self) -> bool:
        return not self.bindings and not self.provisions


@dataclass(frozen=True)
class PodVolumes:
    """A pod's claims as PreFilter read them; `reasons` and `plan_for` judge one node."""

    bound: tuple[JsonObject | None, ...]  # the volumes of bound claims (None: the volume does not exist)
    delayed: tuple[DelayedClaim, ...]

    def reasons(self, node_name: str, labels: Labels) -> tuple[str, ...]:
        return self._find(node_name, labels)[0]

    def plan_for(self, node_name: str, labels: Labels) -> VolumePlan:
        return self._find(node_name, labels)[1]

    def _find(self, node_name: str, labels: Labels) -> tuple[tuple[str, ...], VolumePlan]:
        """FindPodVolumes, with its reasons in its order."""
        node_conflict = any(v is not None and not volume_fits_node(v, node_name, labels) for v in self.bound)
        missing = any(v is None for v in self.bound)
        bindings, provisions, satisfied = self._find_unbound(node_name, labels)
        reasons = [reason for reason, refused in ((REASON_NODE_CONFLICT, node_conflict),
                                                  (REASON_BIND_CONFLICT, not satisfied),
                                                  (REASON_PV_NOT_EXIST, missing)) if refused]
        return tuple(reasons), VolumePlan(tuple(bindings), tuple(provisions))

    def _find_unbound(self, node_name: str, labels: Labels) -> tuple[list[tuple[JsonObject, JsonObject]],
                                                                      list[JsonObject], bool]:
        bindings: list[tuple[JsonObject, JsonObject]] = []
        provisions: list[JsonObject] = []
        chosen: set[str] = set()
        by_size = sorted(self.delayed, key=lambda d: (requested_storage(d.claim) or Quantity.of(0)).value)
        for delayed in by_size:
            picked = selected_node(delayed.claim)
            if picked is not None and picked != node_name:
                return [], [], False  # fast path: another node was selected for it
            if picked is None:
                match = find_matching_volume(delayed.claim, delayed.volumes, delay_binding=True, excluded=chosen,
                                             node_fits=lambda v: volume_fits_node(v, node_name, labels))
                if match is not None:
                    chosen.add(name_of(match))
                    bindings.append((dict(match), delayed.claim))
                    continue
            if not _can_provision(delayed, labels):
                return [], [], False
            provisions.append(delayed.claim)
        return bindings, provisions, True


def _can_provision(delayed: DelayedClaim, labels: Labels) -> bool:
    """checkVolumeProvisions: a class with a provisioner whose allowed topologies include the node."""
    storage_class = delayed.storage_class
    if storage_class is None or not claim_class(delayed.claim):
        return False
    provisioner = str(storage_class.get("provisioner") or "")
    return provisioner not in ("", NOT_SUPPORTED_PROVISIONER) and _topology_allows(storage_class, labels)


def read_pod_volumes(pod: Mapping[str, Any], claims: Mapping[str, JsonObject], volumes: Iterable[JsonObject],
                     classes: Mapping[str, JsonObject],
                     other_pods: Callable[[], Iterable[Mapping[str, Any]]] = tuple) -> PodVolumes | str | None:
    """PreFilter: the pod's claims (None when it has none), or why no node can take the pod; `other_pods`
    (the pods the scheduler knows) is read only for a ReadWriteOncePod claim."""
    names = claim_names(pod)
    if not names:
        return None
    namespace = namespace_of(pod) or "default"
    found = []
    for name in names:
        claim = claims.get(f"{namespace}/{name}")
        if claim is None:
            return f'persistentvolumeclaim "{name}" not found'
        if phase_of(claim) == LOST:
            return (f'persistentvolumeclaim "{name}" bound to non-existent persistentvolume '
                    f'"{spec_of(claim).get("volumeName") or ""}"')
        if is_deleting(claim):
            return f'persistentvolumeclaim "{name}" is being deleted'
        found.append(claim)
    if _read_write_once_pod_taken(pod, found, other_pods):
        return READ_WRITE_ONCE_POD_CONFLICT
    return _classify(found, list(volumes), classes)


def _classify(claims: list[JsonObject], volumes: list[JsonObject], classes: Mapping[str, JsonObject]
              ) -> PodVolumes | str:
    by_name = {name_of(volume): volume for volume in volumes}
    bound: list[JsonObject | None] = []
    delayed: list[DelayedClaim] = []
    for claim in claims:
        if is_fully_bound(claim):
            bound.append(by_name.get(str(spec_of(claim).get("volumeName"))))
        elif is_delay_binding(claim, classes) and not spec_of(claim).get("volumeName"):
            wanted = claim_class(claim)
            delayed.append(DelayedClaim(claim, tuple(v for v in volumes if volume_class(v) == wanted),
                                        classes.get(wanted)))
        else:
            return UNBOUND_IMMEDIATE
    return PodVolumes(tuple(bound), tuple(delayed))


def _read_write_once_pod_taken(pod: Mapping[str, Any], claims: list[JsonObject],
                               other_pods: Callable[[], Iterable[Mapping[str, Any]]]) -> bool:
    """VolumeRestrictions: a ReadWriteOncePod claim another scheduled, unfinished pod of the namespace uses."""
    exclusive = {name_of(c) for c in claims if READ_WRITE_ONCE_POD in access_modes(spec_of(c).get("accessModes"))}
    if not exclusive:
        return False
    namespace = namespace_of(pod)
    for other in other_pods():
        if uid_of(other) == uid_of(pod) or namespace_of(other) != namespace or not spec_of(other).get("nodeName"):
            continue
        if (other.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        if exclusive & set(claim_names(other)):
            return True
    return False
