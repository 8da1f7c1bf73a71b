"""A StatefulSet pod's identity: its ordinal, name, labels, hostname, and the claims it mounts.

What makes a StatefulSet stateful is that pod `web-1` is always `web-1`: a replacement gets the
same name, the same DNS name (`hostname` web-1, `subdomain` the governing Service) and the same
PersistentVolumeClaims (`<template>-web-1`), whichever node it lands on. These are Kubernetes'
stateful_set_utils.go rules as pure functions over plain JSON, shared by the plan and the tests:
the ordinal comes from the name (`(.*)-([0-9]+)$`), the pods are numbered from
`spec.ordinals.start`, and a new pod is the template plus identity, storage and revision label.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from typing import Any

from minik8s.api.meta import JsonObject, labels_of, mapping_at, metadata_of, name_of, namespace_of, spec_of
from minik8s.controllers.common.workload_objects import controller_reference

POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
REVISION_LABEL = "controller-revision-hash"
API_VERSION, KIND = "apps/v1", "StatefulSet"
_ORDINAL_NAME = re.compile(r"(.*)-([0-9]+)$", re.DOTALL)
_MAX_INT32 = 2**31 - 1


def parent_and_ordinal(pod: Mapping[str, Any]) -> tuple[str, int]:
    """getParentNameAndOrdinal: ("web", 1) for `web-1`; ("", -1) when the name has no ordinal."""
    match = _ORDINAL_NAME.match(name_of(pod))
    if match is None:
        return "", -1
    number = int(match.group(2))
    return match.group(1), number if number <= _MAX_INT32 else -1


def ordinal_of(pod: Mapping[str, Any]) -> int:
    return parent_and_ordinal(pod)[1]


def is_member(stateful_set: Mapping[str, Any], pod: Mapping[str, Any]) -> bool:
    """isMemberOf: the pod's name says it belongs to this set (`<set>-<ordinal>`)."""
    return parent_and_ordinal(pod)[0] == name_of(stateful_set)


def replicas_of(stateful_set: Mapping[str, Any]) -> int:
    value = spec_of(stateful_set).get("replicas")
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 1


def start_ordinal(stateful_set: Mapping[str, Any]) -> int:
    """spec.ordinals.start (0 when unset): the first ordinal the set runs."""
    start = mapping_at(spec_of(stateful_set), "ordinals").get("start")
    return start if isinstance(start, int) and not isinstance(start, bool) and start >= 0 else 0


def end_ordinal(stateful_set: Mapping[str, Any]) -> int:
    """The last ordinal the set runs (inclusive); start - 1 when it runs none."""
    return start_ordinal(stateful_set) + replicas_of(stateful_set) - 1


def in_ordinal_range(stateful_set: Mapping[str, Any], pod: Mapping[str, Any]) -> bool:
    return start_ordinal(stateful_set) <= ordinal_of(pod) <= end_ordinal(stateful_set)


def pod_name(stateful_set: Mapping[str, Any], ordinal: int) -> str:
    return f"{name_of(stateful_set)}-{ordinal}"


def revision_of_pod(pod: Mapping[str, Any]) -> str:
    """The ControllerRevision a pod was made from (its `controller-revision-hash` label)."""
    return str(labels_of(pod).get(REVISION_LABEL) or "")


def service_name_of(stateful_set: Mapping[str, Any]) -> str:
    return str(spec_of(stateful_set).get("serviceName") or "")


def claim_templates(stateful_set: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    templates = spec_of(stateful_set).get("volumeClaimTemplates")
    return [t for t in templates if isinstance(t, Mapping)] if isinstance(templates, list) else []


def claim_name(stateful_set: Mapping[str, Any], template: Mapping[str, Any], ordinal: int) -> str:
    """getPersistentVolumeClaimName: `<template>-<set>-<ordinal>` (`www-web-0`)."""
    return f"{name_of(template)}-{name_of(stateful_set)}-{ordinal}"


def claims_for(stateful_set: Mapping[str, Any], ordinal: int) -> dict[str, JsonObject]:
    """getPersistentVolumeClaims: template name -> the claim the pod of `ordinal` mounts (to be created
    as it is): the template renamed, in the set's namespace, labelled with the set's matchLabels."""
    claims: dict[str, JsonObject] = {}
    match_labels = mapping_at(spec_of(stateful_set), "selector").get("matchLabels") or {}
    for template in claim_templates(stateful_set):
        claim = copy.deepcopy(dict(template))
        metadata = {key: value for key, value in metadata_of(claim).items()
                    if key in ("labels", "annotations", "finalizers")}
        metadata.update(name=claim_name(stateful_set, template, ordinal),
                        namespace=namespace_of(stateful_set) or "default",
                        labels={**(metadata.get("labels") or {}), **match_labels})
        claim.update(apiVersion="v1", kind="PersistentVolumeClaim", metadata=metadata)
        claim.pop("status", None)
        claims[name_of(template)] = claim
    return claims


def identity_matches(stateful_set: Mapping[str, Any], pod: Mapping[str, Any]) -> bool:
    """identityMatches: name, namespace and the pod-name label are those of its ordinal in this set."""
    parent, ordinal = parent_and_ordinal(pod)
    return (ordinal >= 0 and parent == name_of(stateful_set) and name_of(pod) == pod_name(stateful_set, ordinal)
            and namespace_of(pod) == namespace_of(stateful_set)
            and labels_of(pod).get(POD_NAME_LABEL) == name_of(pod))


def storage_matches(stateful_set: Mapping[str, Any], pod: Mapping[str, Any]) -> bool:
    """storageMatches: every claim template is mounted as a volume of the pod's own claim."""
    ordinal = ordinal_of(pod)
    if ordinal < 0:
        return False
    volumes = {str(v.get("name")): v for v in spec_of(pod).get("volumes") or [] if isinstance(v, Mapping)}
    for template in claim_templates(stateful_set):
        source = volumes.get(name_of(template), {}).get("persistentVolumeClaim")
        if not isinstance(source, Mapping) or source.get("claimName") != claim_name(stateful_set, template, ordinal):
            return False
    return True


def with_identity(stateful_set: Mapping[str, Any], pod: JsonObject) -> JsonObject:
    """updateIdentity: the pod renamed after its ordinal, in the set's namespace, with its name and index labels."""
    ordinal = ordinal_of(pod)
    metadata: JsonObject = pod.setdefault("metadata", {})
    metadata["name"] = pod_name(stateful_set, ordinal)
    metadata["namespace"] = namespace_of(stateful_set) or "default"
    metadata["labels"] = {**(metadata.get("labels") or {}), POD_NAME_LABEL: metadata["name"],
                          POD_INDEX_LABEL: str(ordinal)}
    return pod


def with_storage(stateful_set: Mapping[str, Any], pod: JsonObject) -> JsonObject:
    """updateStorage: a `persistentVolumeClaim` volume per claim template (replacing a volume of that name)."""
    claims = claims_for(stateful_set, ordinal_of(pod))
    spec: JsonObject = pod.setdefault("spec", {})
    volumes: Sequence[Any] = spec.get("volumes") or []
    claim_volumes = [{"name": template, "persistentVolumeClaim": {"claimName": name_of(claim)}}
                     for template, claim in claims.items()]
    kept = [volume for volume in volumes if not (isinstance(volume, Mapping) and volume.get("name") in claims)]
    if claim_volumes or kept:
        spec["volumes"] = [*claim_volumes, *kept]
    return pod


def new_pod(stateful_set: Mapping[str, Any], ordinal: int, revision_name: str) -> JsonObject:
    """newStatefulSetPod + setPodRevision: the template's pod for `ordinal`, owned by the set, with its
    identity (name, labels, hostname = name, subdomain = the governing Service), storage and revision."""
    template = mapping_at(spec_of(stateful_set), "template")
    template_metadata = metadata_of(template)
    metadata: JsonObject = {
        "name": pod_name(stateful_set, ordinal), "generateName": f"{name_of(stateful_set)}-",
        "namespace": namespace_of(stateful_set) or "default",
        "labels": dict(template_metadata.get("labels") or {}),
        "ownerReferences": [controller_reference(stateful_set, api_version=API_VERSION, kind=KIND)],
    }
    for field in ("annotations", "finalizers"):
        if template_metadata.get(field):
            metadata[field] = copy.deepcopy(template_metadata[field])
    pod: JsonObject = {"apiVersion": "v1", "kind": "Pod", "metadata": metadata,
                       "spec": copy.deepcopy(dict(spec_of(template)))}
    with_identity(stateful_set, pod)
    pod["spec"]["hostname"] = metadata["name"]
    if service_name_of(stateful_set):
        pod["spec"]["subdomain"] = service_name_of(stateful_set)
    with_storage(stateful_set, pod)
    metadata["labels"][REVISION_LABEL] = revision_name
    return pod
