"""What a namespace's `kube-root-ca.crt` ConfigMap must become, decided without side effects.

Kubernetes' rootcacertpublisher (pkg/controller/certificates/rootcacertpublisher): the ConfigMap
holds exactly `ca.crt` — the CA that signed the apiserver's serving certificate, which pods read from
their token volume to verify `https://kubernetes.default.svc` — and a description annotation. A
missing ConfigMap is created (not in a namespace that is gone or terminating: nothing may be created
there); one whose data or annotation was edited is put back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from minik8s.api import meta
from minik8s.api.meta import JsonObject
from minik8s.api.service_account_admission import ROOT_CA_CONFIG_MAP, ROOT_CA_KEY
from minik8s.controllers.serviceaccount.plan import is_active

DESCRIPTION_ANNOTATION = "kubernetes.io/description"
DESCRIPTION = ("Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints "
               "such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across "
               "distributions of Kubernetes clusters.")


@dataclass(frozen=True)
class Publish:
    """One write: create the ConfigMap, or update it (guarded by the resourceVersion it carries)."""

    action: Literal["create", "update"]
    config_map: JsonObject


def new_config_map(namespace: str, root_ca: str) -> JsonObject:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": ROOT_CA_CONFIG_MAP, "namespace": namespace,
                         "annotations": {DESCRIPTION_ANNOTATION: DESCRIPTION}},
            "data": {ROOT_CA_KEY: root_ca}}


def plan(namespace: str, namespace_object: Mapping[str, Any] | None, config_map: Mapping[str, Any] | None,
         root_ca: str) -> Publish | None:
    """The write that makes `namespace`'s ConfigMap right, or None when it is right (or cannot be made)."""
    if config_map is None:
        if namespace_object is None or not is_active(namespace_object):
            return None
        return Publish("create", new_config_map(namespace, root_ca))
    data = {ROOT_CA_KEY: root_ca}
    if config_map.get("data") == data and meta.annotations_of(config_map).get(DESCRIPTION_ANNOTATION):
        return None
    metadata = dict(meta.metadata_of(config_map))
    metadata["annotations"] = {**meta.annotations_of(config_map), DESCRIPTION_ANNOTATION: DESCRIPTION}
    return Publish("update", {**config_map, "metadata": metadata, "data": data})
