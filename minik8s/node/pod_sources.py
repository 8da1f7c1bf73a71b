"""What the node agent reads from the API to run a pod besides the pod: objects, Services, tokens.

- ConfigMaps and Secrets by name: a GET when a container is made (what it starts with is current),
  and for the periodic refresh of volumes a copy at most `ttl` seconds old, shared by every pod that
  names the object (each pod's `kube-root-ca.crt` is one GET per namespace per `ttl`, not one per pod).
- Services, for the variables every container gets (service_env.py): an informer, so starting a
  container costs no request; it must have synced before containers start, as the kubelet waits.
- ServiceAccount tokens for projected volumes (tokens.py).
- The claims of `persistentVolumeClaim` volumes, their PersistentVolumes and this node's own Node
  (its labels, for a volume's node affinity), by name through the same `lookup`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from minik8s.api.kinds import (
    CONFIG_MAPS,
    NODES,
    PERSISTENT_VOLUME_CLAIMS,
    PERSISTENT_VOLUMES,
    SECRETS,
    SERVICES,
)
from minik8s.api.meta import JsonObject, namespace_of, spec_of
from minik8s.client.api import ApiClient
from minik8s.client.errors import NotFound
from minik8s.client.informer import Informer
from minik8s.node.projection import TokenSource, token_sources
from minik8s.node.service_env import service_env
from minik8s.node.tokens import TokenManager

_KINDS = {"ConfigMap": CONFIG_MAPS, "Secret": SECRETS, "PersistentVolumeClaim": PERSISTENT_VOLUME_CLAIMS,
          "PersistentVolume": PERSISTENT_VOLUMES, "Node": NODES}


class PodSources:
    def __init__(self, client: ApiClient, *, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.client, self.ttl, self.clock = client, ttl, clock
        self.services = Informer(client, SERVICES)
        self.tokens = TokenManager(self._create_token)
        self._objects: dict[tuple[str, str, str], tuple[float, Mapping[str, Any] | None]] = {}

    async def _create_token(self, namespace: str, service_account: str, request: JsonObject) -> JsonObject:
        return await self.client.create_token(namespace, service_account, request)

    async def lookup(self, kind: str, namespace: str, name: str, *, cached: bool = False) -> Mapping[str, Any] | None:
        """The object (a ConfigMap, Secret, claim, volume or Node), or None when it does not exist; `cached`
        accepts a copy `ttl` old."""
        key = (kind, namespace, name)
        if cached and key in self._objects and self.clock() - self._objects[key][0] < self.ttl:
            return self._objects[key][1]
        try:
            found: Mapping[str, Any] | None = await self.client.get(_KINDS[kind], name, namespace=namespace or None)
        except NotFound:
            found = None
        self._objects[key] = (self.clock(), found)
        return found

    def service_env(self, pod: Mapping[str, Any]) -> dict[str, str]:
        links = spec_of(pod).get("enableServiceLinks")
        return service_env(self.services.list(), namespace_of(pod) or "default",
                           enable_service_links=links is not False)

    async def tokens_for(self, pod: Mapping[str, Any]) -> dict[TokenSource, str]:
        """Every token the pod's projected volumes hold (renewed when due)."""
        return {source: await self.tokens.token(pod, source) for source in token_sources(pod)}

    def forget_pod(self, pod_uid: str) -> None:
        self.tokens.forget_pod(pod_uid)

    def tidy(self) -> None:
        """Drop what has gone stale: expired tokens, objects not read for a while."""
        self.tokens.drop_expired()
        now = self.clock()
        for key in [key for key, (read, _) in self._objects.items() if now - read > 10 * self.ttl]:
            del self._objects[key]
