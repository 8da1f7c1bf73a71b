"""OpenAPI schemas of apps/v1 StatefulSet and ControllerRevision.

`kubectl explain statefulset.spec.updateStrategy` and the fuzzer read these, so every field the
apiserver accepts is here under its Kubernetes name. `volumeClaimTemplates` refer to the
PersistentVolumeClaim schema of openapi_storage.py.
"""

from __future__ import annotations

from minik8s.api.openapi_core import POD_TEMPLATE_SPEC
from minik8s.api.openapi_schema import (
    INT_OR_STRING,
    LABEL_SELECTOR,
    TIME,
    Schema,
    array,
    free_object,
    integer,
    kind_object,
    obj,
    ref,
    string,
)

PERSISTENT_VOLUME_CLAIM = "io.k8s.api.core.v1.PersistentVolumeClaim"
_RETENTION = ("Retain", "Delete")

_STATEFUL_SET_SPEC = obj("The desired state of a StatefulSet.", {
    "replicas": integer(), "selector": ref(LABEL_SELECTOR), "template": ref(POD_TEMPLATE_SPEC),
    "volumeClaimTemplates": array(ref(PERSISTENT_VOLUME_CLAIM),
                                  "Claims each pod gets, named <template>-<set>-<ordinal>."),
    "serviceName": string("The headless Service that gives each pod its DNS name."),
    "podManagementPolicy": string(enum=("OrderedReady", "Parallel")),
    "updateStrategy": obj("How pods are replaced when the template changes.", {
        "type": string(enum=("RollingUpdate", "OnDelete")),
        "rollingUpdate": obj("Rolling update options.", {
            "partition": integer("Pods with an ordinal below it keep the current revision."),
            "maxUnavailable": ref(INT_OR_STRING)})}),
    "revisionHistoryLimit": integer(), "minReadySeconds": integer(),
    "persistentVolumeClaimRetentionPolicy": obj("What happens to the claims on deletion and scale down.", {
        "whenDeleted": string(enum=_RETENTION), "whenScaled": string(enum=_RETENTION)}),
    "ordinals": obj("The numbering of the pods.", {"start": integer()})}, required=("selector", "template"))
_STATEFUL_SET_STATUS = obj("The observed state of a StatefulSet.", {
    "observedGeneration": integer(format="int64"), "replicas": integer(), "readyReplicas": integer(),
    "currentReplicas": integer(), "updatedReplicas": integer(), "availableReplicas": integer(),
    "currentRevision": string(), "updateRevision": string(), "collisionCount": integer(),
    "conditions": array(obj("A condition of the StatefulSet.", {
        "type": string(), "status": string(enum=("True", "False", "Unknown")), "reason": string(),
        "message": string(), "lastTransitionTime": ref(TIME)}, required=("type", "status")))},
    required=("replicas",))

KINDS: dict[tuple[str, str], Schema] = {
    ("apps", "StatefulSet"): kind_object("Pods with stable names, DNS names and storage, made and replaced in order.",
                                         "apps", "v1", "StatefulSet",
                                         {"spec": _STATEFUL_SET_SPEC, "status": _STATEFUL_SET_STATUS}),
    ("apps", "ControllerRevision"): kind_object("An immutable snapshot of a workload's template (its history).",
                                                "apps", "v1", "ControllerRevision", {
        "data": free_object("The state: a patch restoring the template."),
        "revision": integer("The revision's number.", format="int64")}, required=("revision",)),
}
LISTED = ("StatefulSet", "ControllerRevision")
