"""Field tables of the apps/v1 workloads (apps/v1 generated.proto): Deployment, ReplicaSet, DaemonSet."""

from __future__ import annotations

from minik8s.apiserver.protobuf.meta_schema import LABEL_SELECTOR, OBJECT_META
from minik8s.apiserver.protobuf.pod_schema import POD_TEMPLATE_SPEC
from minik8s.apiserver.protobuf.schema import boolean, int32, int_or_string, message, nested, string

_ROLLING_UPDATE_FIELDS = {1: int_or_string("maxUnavailable"), 2: int_or_string("maxSurge")}

DEPLOYMENT_SPEC = message("DeploymentSpec", {
    1: int32("replicas", keep_zero=True), 2: nested("selector", LABEL_SELECTOR),
    3: nested("template", POD_TEMPLATE_SPEC),
    4: nested("strategy", message("DeploymentStrategy", {
        1: string("type"), 2: nested("rollingUpdate", message("RollingUpdateDeployment", _ROLLING_UPDATE_FIELDS)),
    })),
    5: int32("minReadySeconds"), 6: int32("revisionHistoryLimit", keep_zero=True), 7: boolean("paused"),
    9: int32("progressDeadlineSeconds", keep_zero=True),
})

DEPLOYMENT = message("Deployment", {
    1: nested("metadata", OBJECT_META), 2: nested("spec", DEPLOYMENT_SPEC),
    3: nested("status", message("DeploymentStatus")),
})

REPLICA_SET = message("ReplicaSet", {
    1: nested("metadata", OBJECT_META),
    2: nested("spec", message("ReplicaSetSpec", {
        1: int32("replicas", keep_zero=True), 4: int32("minReadySeconds"), 2: nested("selector", LABEL_SELECTOR),
        3: nested("template", POD_TEMPLATE_SPEC),
    })),
    3: nested("status", message("ReplicaSetStatus")),
})

DAEMON_SET = message("DaemonSet", {
    1: nested("metadata", OBJECT_META),
    2: nested("spec", message("DaemonSetSpec", {
        1: nested("selector", LABEL_SELECTOR), 2: nested("template", POD_TEMPLATE_SPEC),
        3: nested("updateStrategy", message("DaemonSetUpdateStrategy", {
            1: string("type"), 2: nested("rollingUpdate", message("RollingUpdateDaemonSet", _ROLLING_UPDATE_FIELDS)),
        })),
        4: int32("minReadySeconds"), 6: int32("revisionHistoryLimit", keep_zero=True),
    })),
    3: nested("status", message("DaemonSetStatus")),
})
