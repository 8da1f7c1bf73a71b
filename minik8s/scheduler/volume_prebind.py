"""The side of volume binding that talks to the apiserver: the storage informers, PreBind and its wait.

The pure decisions are volume_binding.py's. `VolumeBinder.read` gives PreFilter its input from the
informers (claims, volumes, classes). Once a node is chosen, `prebind` makes the writes
kube-scheduler's BindPodVolumes makes: each static match pre-binds its volume to its claim (claimRef,
bound-by-controller), each claim to provision gets `volume.kubernetes.io/selected-node`; then it waits
(polling the caches, at most `bind_timeout` seconds: kube-scheduler's 600) until the PV controller
has bound every claim of the pod. A provisioner that gives up removes the selected node (the pod is
retried elsewhere), and a volume whose claimRef was reset fails the binding the same way.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from minik8s.api.kinds import PERSISTENT_VOLUME_CLAIMS, PERSISTENT_VOLUMES, STORAGE_CLASSES
from minik8s.api.meta import name_of, namespace_of, resource_version_of
from minik8s.api.persistent_volumes import (
    ANN_SELECTED_NODE,
    claim_names,
    claim_ref,
    is_fully_bound,
    selected_node,
    volume_bound_to_claim,
)
from minik8s.client.api import ApiClient
from minik8s.client.informer import Informer
from minik8s.scheduler.volume_binding import PodVolumes, VolumePlan, read_pod_volumes

DEFAULT_BIND_TIMEOUT_SECONDS = 600.0
POLL_SECONDS = 0.2


class VolumeBindingFailed(Exception):
    """PreBind could not bind the pod's volumes (the message says why): schedule the pod again."""


class VolumeBinder:
    def __init__(self, client: ApiClient, *, bind_timeout: float = DEFAULT_BIND_TIMEOUT_SECONDS) -> None:
        self.client = client
        self.bind_timeout = bind_timeout
        self.claims = Informer(client, PERSISTENT_VOLUME_CLAIMS)
        self.volumes = Informer(client, PERSISTENT_VOLUMES)
        self.classes = Informer(client, STORAGE_CLASSES)

    @property
    def informers(self) -> tuple[Informer, ...]:
        return self.claims, self.volumes, self.classes

    def read(self, pod: Mapping[str, Any], other_pods: Callable[[], Iterable[Mapping[str, Any]]]
             ) -> PodVolumes | str | None:
        """PreFilter's view of the pod's claims (None: it has none; a string: why no node can take it)."""
        if not claim_names(pod):
            return None
        namespace = namespace_of(pod) or "default"
        claims = {f"{namespace}/{name}": claim for name in claim_names(pod)
                  if (claim := self.claims.get(f"{namespace}/{name}")) is not None}
        classes = {name_of(storage_class): storage_class for storage_class in self.classes.list()}
        return read_pod_volumes(pod, claims, self.volumes.list(), classes, other_pods)

    async def prebind(self, pod: Mapping[str, Any], node_name: str, plan: VolumePlan) -> None:
        """BindPodVolumes: the API writes, then the wait for every claim of the pod to be bound."""
        written_volumes: dict[str, int] = {}
        written_claims: dict[str, int] = {}
        for volume, claim in plan.bindings:
            edited = volume_bound_to_claim(volume, claim)
            if edited is not None:
                written_volumes[name_of(volume)] = _version(await self.client.update(PERSISTENT_VOLUMES, edited))
        for claim in plan.provisions:
            annotated = copy.deepcopy(claim)
            annotated.setdefault("metadata", {}).setdefault("annotations", {})[ANN_SELECTED_NODE] = node_name
            written = await self.client.update(PERSISTENT_VOLUME_CLAIMS, annotated)
            written_claims[name_of(claim)] = _version(written)
        deadline = asyncio.get_running_loop().time() + self.bind_timeout
        while not self._all_bound(pod, node_name, written_volumes, written_claims):
            if asyncio.get_running_loop().time() > deadline:
                raise VolumeBindingFailed("binding volumes: context deadline exceeded")
            await asyncio.sleep(POLL_SECONDS)

    def _all_bound(self, pod: Mapping[str, Any], node_name: str, volumes: Mapping[str, int],
                   claims: Mapping[str, int]) -> bool:
        """checkBindings on the caches, once they show what PreBind wrote: True when every claim of the pod
        is fully bound; raises when the binding must be retried."""
        namespace = namespace_of(pod) or "default"
        for name, version in volumes.items():
            current = self.volumes.get(name)
            if current is not None and _version(current) >= version and not (claim_ref(current) or {}).get("uid"):
                raise VolumeBindingFailed(f'binding volumes: ClaimRef got reset for pv "{name}"')
        for name, version in claims.items():
            current = self.claims.get(f"{namespace}/{name}")
            if current is not None and _version(current) >= version and not is_fully_bound(current) \
                    and selected_node(current) != node_name:
                raise VolumeBindingFailed(f'binding volumes: provisioning failed for PVC "{name}"')
        return all(self._claim_bound(namespace, name) for name in claim_names(pod))

    def _claim_bound(self, namespace: str, name: str) -> bool:
        claim = self.claims.get(f"{namespace}/{name}")
        return claim is not None and is_fully_bound(claim)


def _version(obj: Mapping[str, Any]) -> int:
    try:
        return int(resource_version_of(obj) or 0)
    except ValueError:
        return 0
