"""Field tables of PodSpec and its parts (core/v1 generated.proto), shared by Pod and every workload.

A Deployment's, ReplicaSet's and DaemonSet's template is a PodTemplateSpec, so the pod's
messages are written once here. Rarely used parts (affinity, ephemeral containers, most volume
sources) are left out: their fields are skipped, not misread.
"""

from __future__ import annotations

from minik8s.apiserver.protobuf.meta_schema import LABEL_SELECTOR, OBJECT_META
from minik8s.apiserver.protobuf.schema import (
    boolean,
    int32,
    int64,
    int_or_string,
    message,
    nested,
    quantity,
    quantity_map,
    string,
    string_map,
)

LOCAL_OBJECT_REFERENCE = message("LocalObjectReference", {1: string("name")})

KEY_TO_PATH = message("KeyToPath", {
    1: string("key"), 2: string("path"), 3: int32("mode", keep_zero=True),
})

VOLUME_SOURCE = message("VolumeSource", {
    1: nested("hostPath", message("HostPathVolumeSource", {1: string("path"), 2: string("type", keep_zero=True)})),
    2: nested("emptyDir", message("EmptyDirVolumeSource", {1: string("medium"), 2: quantity("sizeLimit")})),
    6: nested("secret", message("SecretVolumeSource", {
        1: string("secretName"), 2: nested("items", KEY_TO_PATH, repeated=True),
        3: int32("defaultMode", keep_zero=True), 4: boolean("optional", keep_zero=True),
    })),
    10: nested("persistentVolumeClaim", message("PersistentVolumeClaimVolumeSource", {
        1: string("claimName"), 2: boolean("readOnly"),
    })),
    19: nested("configMap", message("ConfigMapVolumeSource", {
        1: nested("localObjectReference", LOCAL_OBJECT_REFERENCE, inline=True),
        2: nested("items", KEY_TO_PATH, repeated=True),
        3: int32("defaultMode", keep_zero=True), 4: boolean("optional", keep_zero=True),
    })),
})

VOLUME = message("Volume", {1: string("name"), 2: nested("volumeSource", VOLUME_SOURCE, inline=True)})

_KEY_SELECTOR_FIELDS = {
    1: nested("localObjectReference", LOCAL_OBJECT_REFERENCE, inline=True),
    2: string("key"), 3: boolean("optional", keep_zero=True),
}

ENV_VAR_SOURCE = message("EnvVarSource", {
    1: nested("fieldRef", message("ObjectFieldSelector", {1: string("apiVersion"), 2: string("fieldPath")})),
    2: nested("resourceFieldRef", message("ResourceFieldSelector", {
        1: string("containerName"), 2: string("resource"), 3: quantity("divisor"),
    })),
    3: nested("configMapKeyRef", message("ConfigMapKeySelector", _KEY_SELECTOR_FIELDS)),
    4: nested("secretKeyRef", message("SecretKeySelector", _KEY_SELECTOR_FIELDS)),
})

ENV_VAR = message("EnvVar", {1: string("name"), 2: string("value"), 3: nested("valueFrom", ENV_VAR_SOURCE)})

_ENV_SOURCE_FIELDS = {
    1: nested("localObjectReference", LOCAL_OBJECT_REFERENCE, inline=True), 2: boolean("optional", keep_zero=True),
}

ENV_FROM_SOURCE = message("EnvFromSource", {
    1: string("prefix"), 2: nested("configMapRef", message("ConfigMapEnvSource", _ENV_SOURCE_FIELDS)),
    3: nested("secretRef", message("SecretEnvSource", _ENV_SOURCE_FIELDS)),
})

CONTAINER_PORT = message("ContainerPort", {
    1: string("name"), 2: int32("hostPort"), 3: int32("containerPort", keep_zero=True), 4: string("protocol"),
    5: string("hostIP"),
})

RESOURCE_REQUIREMENTS = message("ResourceRequirements", {1: quantity_map("limits"), 2: quantity_map("requests")})

VOLUME_MOUNT = message("VolumeMount", {
    1: string("name"), 2: boolean("readOnly"), 3: string("mountPath"), 4: string("subPath"),
    5: string("mountPropagation", keep_zero=True), 6: string("subPathExpr"),
})

EXEC_ACTION = message("ExecAction", {1: string("command", repeated=True)})

HTTP_GET_ACTION = message("HTTPGetAction", {
    1: string("path"), 2: int_or_string("port"), 3: string("host"), 4: string("scheme"),
    5: nested("httpHeaders", message("HTTPHeader", {1: string("name"), 2: string("value")}), repeated=True),
})

TCP_SOCKET_ACTION = message("TCPSocketAction", {1: int_or_string("port"), 2: string("host")})

PROBE_HANDLER = message("ProbeHandler", {
    1: nested("exec", EXEC_ACTION), 2: nested("httpGet", HTTP_GET_ACTION), 3: nested("tcpSocket", TCP_SOCKET_ACTION),
    4: nested("grpc", message("GRPCAction", {1: int32("port", keep_zero=True), 2: string("service", keep_zero=True)})),
})

PROBE = message("Probe", {
    1: nested("handler", PROBE_HANDLER, inline=True), 2: int32("initialDelaySeconds"), 3: int32("timeoutSeconds"),
    4: int32("periodSeconds"), 5: int32("successThreshold"), 6: int32("failureThreshold"),
    7: int64("terminationGracePeriodSeconds", keep_zero=True),
})

LIFECYCLE_HANDLER = message("LifecycleHandler", {
    1: nested("exec", EXEC_ACTION), 2: nested("httpGet", HTTP_GET_ACTION), 3: nested("tcpSocket", TCP_SOCKET_ACTION),
    4: nested("sleep", message("SleepAction", {1: int64("seconds", keep_zero=True)})),
})

LIFECYCLE = message("Lifecycle", {1: nested("postStart", LIFECYCLE_HANDLER), 2: nested("preStop", LIFECYCLE_HANDLER)})

SECURITY_CONTEXT = message("SecurityContext", {
    1: nested("capabilities", message("Capabilities", {
        1: string("add", repeated=True), 2: string("drop", repeated=True),
    })),
    2: boolean("privileged", keep_zero=True), 4: int64("runAsUser", keep_zero=True),
    8: int64("runAsGroup", keep_zero=True), 5: boolean("runAsNonRoot", keep_zero=True),
    6: boolean("readOnlyRootFilesystem", keep_zero=True), 7: boolean("allowPrivilegeEscalation", keep_zero=True),
    9: string("procMount", keep_zero=True),
})

CONTAINER = message("Container", {
    1: string("name", keep_zero=True), 2: string("image"), 3: string("command", repeated=True),
    4: string("args", repeated=True), 5: string("workingDir"), 6: nested("ports", CONTAINER_PORT, repeated=True),
    19: nested("envFrom", ENV_FROM_SOURCE, repeated=True), 7: nested("env", ENV_VAR, repeated=True),
    8: nested("resources", RESOURCE_REQUIREMENTS), 24: string("restartPolicy", keep_zero=True),
    9: nested("volumeMounts", VOLUME_MOUNT, repeated=True), 10: nested("livenessProbe", PROBE),
    11: nested("readinessProbe", PROBE), 22: nested("startupProbe", PROBE), 12: nested("lifecycle", LIFECYCLE),
    13: string("terminationMessagePath"), 20: string("terminationMessagePolicy"), 14: string("imagePullPolicy"),
    15: nested("securityContext", SECURITY_CONTEXT), 16: boolean("stdin"), 17: boolean("stdinOnce"),
    18: boolean("tty"),
})

POD_SECURITY_CONTEXT = message("PodSecurityContext", {
    2: int64("runAsUser", keep_zero=True), 6: int64("runAsGroup", keep_zero=True),
    3: boolean("runAsNonRoot", keep_zero=True), 4: int64("supplementalGroups", repeated=True),
    5: int64("fsGroup", keep_zero=True), 9: string("fsGroupChangePolicy", keep_zero=True),
})

TOLERATION = message("Toleration", {
    1: string("key"), 2: string("operator"), 3: string("value"), 4: string("effect"),
    5: int64("tolerationSeconds", keep_zero=True),
})

POD_DNS_CONFIG = message("PodDNSConfig", {
    1: string("nameservers", repeated=True), 2: string("searches", repeated=True),
    3: nested("options", message("PodDNSConfigOption", {1: string("name"), 2: string("value", keep_zero=True)}),
              repeated=True),
})

TOPOLOGY_SPREAD_CONSTRAINT = message("TopologySpreadConstraint", {
    1: int32("maxSkew", keep_zero=True), 2: string("topologyKey", keep_zero=True),
    3: string("whenUnsatisfiable", keep_zero=True), 4: nested("labelSelector", LABEL_SELECTOR),
    5: int32("minDomains", keep_zero=True), 6: string("nodeAffinityPolicy", keep_zero=True),
    7: string("nodeTaintsPolicy", keep_zero=True), 8: string("matchLabelKeys", repeated=True),
})

POD_SPEC = message("PodSpec", {
    1: nested("volumes", VOLUME, repeated=True), 20: nested("initContainers", CONTAINER, repeated=True),
    2: nested("containers", CONTAINER, repeated=True), 3: string("restartPolicy"),
    4: int64("terminationGracePeriodSeconds", keep_zero=True), 5: int64("activeDeadlineSeconds", keep_zero=True),
    6: string("dnsPolicy"), 7: string_map("nodeSelector"), 8: string("serviceAccountName"),
    9: string("serviceAccount"), 21: boolean("automountServiceAccountToken", keep_zero=True),
    10: string("nodeName"), 11: boolean("hostNetwork"), 12: boolean("hostPID"), 13: boolean("hostIPC"),
    27: boolean("shareProcessNamespace", keep_zero=True), 14: nested("securityContext", POD_SECURITY_CONTEXT),
    15: nested("imagePullSecrets", LOCAL_OBJECT_REFERENCE, repeated=True), 16: string("hostname"),
    17: string("subdomain"), 19: string("schedulerName"), 22: nested("tolerations", TOLERATION, repeated=True),
    23: nested("hostAliases", message("HostAlias", {1: string("ip"), 2: string("hostnames", repeated=True)}),
               repeated=True),
    24: string("priorityClassName"), 25: int32("priority", keep_zero=True), 26: nested("dnsConfig", POD_DNS_CONFIG),
    28: nested("readinessGates", message("PodReadinessGate", {1: string("conditionType")}), repeated=True),
    29: string("runtimeClassName", keep_zero=True), 30: boolean("enableServiceLinks", keep_zero=True),
    31: string("preemptionPolicy", keep_zero=True), 32: quantity_map("overhead"),
    33: nested("topologySpreadConstraints", TOPOLOGY_SPREAD_CONSTRAINT, repeated=True),
    35: boolean("setHostnameAsFQDN", keep_zero=True), 37: boolean("hostUsers", keep_zero=True),
})

POD_TEMPLATE_SPEC = message("PodTemplateSpec", {1: nested("metadata", OBJECT_META), 2: nested("spec", POD_SPEC)})
