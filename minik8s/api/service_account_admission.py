"""The ServiceAccount admission plugin's decision: what a new pod gets from the account it runs as.

Kubernetes' plugin/pkg/admission/serviceaccount (BoundServiceAccountTokenVolume, always on since
v1.22). A pod names its ServiceAccount (`default` unless it names one: api/defaults.py), which must
exist; unless `automountServiceAccountToken` is false on the pod (or, when the pod leaves it unset,
on the account), the pod gets a projected volume `kube-api-access-<5 random characters>` — a bound
token refreshed by the node agent, the cluster CA from the `kube-root-ca.crt` ConfigMap and the
namespace — mounted read-only at /var/run/secrets/kubernetes.io/serviceaccount in every container
and init container that mounts nothing there. A pod that already has a `kube-api-access-*` volume
keeps it. Mirror pods are never changed and may reference no account, Secret or token.
Everything here is pure: the apiserver looks the account up and hands it in.
"""

from __future__ import annotations

from typing import Any

from minik8s.api.defaults import MIRROR_POD_ANNOTATION
from minik8s.api.meta import JsonObject, annotations_of, spec_of
from minik8s.api.node_authorization import SECRET, PodReferences

TOKEN_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
VOLUME_PREFIX = "kube-api-access-"
ROOT_CA_CONFIG_MAP = "kube-root-ca.crt"
ROOT_CA_KEY = "ca.crt"
# serviceaccount.WarnOnlyBoundTokenExpirationSeconds: an hour and seven seconds, so that the apiserver
# can tell the tokens of these volumes from others.
TOKEN_EXPIRATION_SECONDS = 3607
_DEFAULT_MODE = 0o644  # 420, the projected volume's defaultMode after defaulting


def should_automount(service_account: JsonObject, pod: JsonObject) -> bool:
    """The pod's `automountServiceAccountToken` wins, then the account's; true when neither says."""
    for setting in (spec_of(pod).get("automountServiceAccountToken"),
                    service_account.get("automountServiceAccountToken")):
        if isinstance(setting, bool):
            return setting
    return True


def token_volume(name: str) -> JsonObject:
    """The projected volume of `TokenVolumeSource()`, with the defaults Kubernetes reads back."""
    return {"name": name, "projected": {"defaultMode": _DEFAULT_MODE, "sources": [
        {"serviceAccountToken": {"expirationSeconds": TOKEN_EXPIRATION_SECONDS, "path": "token"}},
        {"configMap": {"name": ROOT_CA_CONFIG_MAP, "items": [{"key": ROOT_CA_KEY, "path": ROOT_CA_KEY}]}},
        {"downwardAPI": {"items": [
            {"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
    ]}}


def is_mirror_pod(pod: JsonObject) -> bool:
    return MIRROR_POD_ANNOTATION in annotations_of(pod)


def mirror_pod_refusal(pod: JsonObject) -> str | None:
    """Why a mirror pod may not be created (the plugin's Validate), or None."""
    spec = spec_of(pod)
    if spec.get("serviceAccountName"):
        return "a mirror pod may not reference service accounts"
    if any(kind == SECRET for kind, _ in PodReferences.of(pod).objects):
        return "a mirror pod may not reference secrets"
    for volume in _objects(spec.get("volumes")):
        projected = volume.get("projected")
        sources = projected.get("sources") if isinstance(projected, dict) else None
        if any(isinstance(source, dict) and source.get("serviceAccountToken") is not None
               for source in _objects(sources)):
            return "a mirror pod may not use ServiceAccountToken volume projections"
    return None


def admit_pod(pod: JsonObject, service_account: JsonObject, *, new_volume_name: str) -> None:
    """Mount the token volume (named `new_volume_name` unless the pod has one) unless automounting is off,
    and copy the account's imagePullSecrets into a pod that names none. Changes `pod` in place."""
    spec = pod.get("spec")
    if not isinstance(spec, dict):
        return  # validation answers for a pod without a spec
    if should_automount(service_account, pod):
        mount_token_volume(spec, new_volume_name)
    pull_secrets = [{"name": ref["name"]} for ref in _objects(service_account.get("imagePullSecrets"))
                    if isinstance(ref.get("name"), str)]
    if not spec.get("imagePullSecrets") and pull_secrets:
        spec["imagePullSecrets"] = pull_secrets


def mount_token_volume(spec: JsonObject, new_volume_name: str) -> None:
    """`mountServiceAccountToken`: every container and init container without a mount at the token path
    mounts the token volume; the volume is added when one mounts it and the pod has none yet."""
    existing = next((str(volume.get("name")) for volume in _objects(spec.get("volumes"))
                     if str(volume.get("name", "")).startswith(VOLUME_PREFIX)), None)
    volume_name = existing or new_volume_name
    mounted = False
    for field in ("initContainers", "containers"):
        for container in _objects(spec.get(field)):
            mounts = container.get("volumeMounts")
            if mounts is not None and not isinstance(mounts, list):
                continue  # malformed: validation reports it
            if any(isinstance(m, dict) and m.get("mountPath") == TOKEN_MOUNT_PATH for m in mounts or []):
                continue
            container["volumeMounts"] = [*(mounts or []),
                                         {"name": volume_name, "readOnly": True, "mountPath": TOKEN_MOUNT_PATH}]
            mounted = True
    volumes = spec.get("volumes")
    if existing is None and mounted and (volumes is None or isinstance(volumes, list)):
        spec["volumes"] = [*(volumes or []), token_volume(volume_name)]


def _objects(items: Any) -> list[dict[str, Any]]:
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []
