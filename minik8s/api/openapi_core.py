"""OpenAPI schemas of the core/v1 kinds (Pod, Service, Node, …), under Kubernetes' names.

Served in `/openapi/v3/api/v1` (see `minik8s.api.openapi_schema` for why and how); they list the
fields minik8s reads, validates or defaults — a pod's containers, probes, volumes, securityContext,
tolerations; a Service's ports; a Node's taints and status — with Kubernetes' types.
"""

from __future__ import annotations

from minik8s.api.openapi_schema import (
    INT_OR_STRING,
    LABEL_SELECTOR,
    MICRO_TIME,
    OBJECT_META,
    QUANTITY,
    TIME,
    Schema,
    array,
    boolean,
    free_object,
    integer,
    kind_object,
    list_of,
    map_of,
    obj,
    ref,
    string,
    string_map,
)

CORE = "io.k8s.api.core.v1"
POD_SPEC = f"{CORE}.PodSpec"
POD_TEMPLATE_SPEC = f"{CORE}.PodTemplateSpec"
CONTAINER = f"{CORE}.Container"
OBJECT_REFERENCE = f"{CORE}.ObjectReference"
PROTOCOLS = ("TCP", "UDP", "SCTP")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


def _condition(description: str) -> Schema:
    return obj(description, {
        "type": string(), "status": string(enum=("True", "False", "Unknown")),
        "lastProbeTime": ref(TIME), "lastHeartbeatTime": ref(TIME), "lastTransitionTime": ref(TIME),
        "reason": string(), "message": string()}, required=("type", "status"))


def _key_selector(description: str) -> Schema:
    return obj(description, {"name": string(), "key": string(), "optional": boolean()}, required=("key",))


def _key_to_path() -> Schema:
    return array(obj("A key projected to a file.", {"key": string(), "path": string(), "mode": integer()},
                     required=("key", "path")))


_RESOURCES = obj("Compute resources of a container.", {
    "limits": map_of(ref(QUANTITY), "The most the container may use."),
    "requests": map_of(ref(QUANTITY), "What the scheduler reserves for the container."),
})

_PROBE = obj("A check of a container's health.", {
    "exec": obj("Run a command in the container.", {"command": array(string())}),
    "httpGet": obj("An HTTP GET to the container.", {
        "path": string(), "port": ref(INT_OR_STRING), "host": string(), "scheme": string(enum=("HTTP", "HTTPS")),
        "httpHeaders": array(obj("An HTTP header.", {"name": string(), "value": string()},
                                 required=("name", "value")))}, required=("port",)),
    "tcpSocket": obj("A TCP connection to the container.", {"port": ref(INT_OR_STRING), "host": string()},
                     required=("port",)),
    "grpc": obj("A gRPC health check.", {"port": integer(), "service": string()}, required=("port",)),
    "initialDelaySeconds": integer(), "timeoutSeconds": integer(), "periodSeconds": integer(),
    "successThreshold": integer(), "failureThreshold": integer(),
    "terminationGracePeriodSeconds": integer(format="int64"),
})

_SECCOMP = obj("The seccomp profile.", {"type": string(enum=("RuntimeDefault", "Unconfined", "Localhost")),
                                        "localhostProfile": string()}, required=("type",))

_SECURITY_CONTEXT = obj("Security options of a container; they override the pod's.", {
    "runAsUser": integer(format="int64"), "runAsGroup": integer(format="int64"), "runAsNonRoot": boolean(),
    "privileged": boolean(), "readOnlyRootFilesystem": boolean(), "allowPrivilegeEscalation": boolean(),
    "capabilities": obj("Capabilities to add and drop.", {"add": array(string()), "drop": array(string())}),
    "seccompProfile": _SECCOMP, "procMount": string(),
})

_POD_SECURITY_CONTEXT = obj("Security options of every container of a pod.", {
    "runAsUser": integer(format="int64"), "runAsGroup": integer(format="int64"), "runAsNonRoot": boolean(),
    "fsGroup": integer(format="int64"), "supplementalGroups": array(integer(format="int64")),
    "seccompProfile": _SECCOMP,
})

_CONTAINER = obj("A container of a pod.", {
    "name": string("The container's name, unique in the pod (a DNS label)."),
    "image": string("The image to run."),
    "command": array(string(), "The entrypoint; the image's when empty."),
    "args": array(string(), "The entrypoint's arguments."),
    "workingDir": string(),
    "ports": array(obj("A port the container exposes.", {
        "name": string(), "containerPort": integer(), "hostPort": integer(), "hostIP": string(),
        "protocol": string(enum=PROTOCOLS)}, required=("containerPort",))),
    "env": array(obj("An environment variable.", {
        "name": string(), "value": string(),
        "valueFrom": obj("Where the value comes from.", {
            "fieldRef": obj("A field of the pod.", {"fieldPath": string(), "apiVersion": string()},
                            required=("fieldPath",)),
            "resourceFieldRef": obj("A resource of a container.", {
                "resource": string(), "containerName": string(), "divisor": ref(QUANTITY)}, required=("resource",)),
            "configMapKeyRef": _key_selector("A key of a ConfigMap."),
            "secretKeyRef": _key_selector("A key of a Secret."),
        })}, required=("name",))),
    "envFrom": array(obj("Every key of a ConfigMap or Secret as variables.", {
        "prefix": string(), "configMapRef": obj("A ConfigMap.", {"name": string(), "optional": boolean()}),
        "secretRef": obj("A Secret.", {"name": string(), "optional": boolean()})})),
    "resources": _RESOURCES,
    "volumeMounts": array(obj("A volume mounted into the container.", {
        "name": string(), "mountPath": string(), "subPath": string(), "readOnly": boolean()},
        required=("name", "mountPath"))),
    "livenessProbe": _PROBE, "readinessProbe": _PROBE, "startupProbe": _PROBE,
    "imagePullPolicy": string(enum=("Always", "IfNotPresent", "Never")),
    "terminationMessagePath": string(),
    "terminationMessagePolicy": string(enum=("File", "FallbackToLogsOnError")),
    "securityContext": _SECURITY_CONTEXT,
    "stdin": boolean(), "tty": boolean(),
}, required=("name",))

_VOLUME = obj("A volume the pod's containers may mount.", {
    "name": string("The volume's name, unique in the pod (a DNS label)."),
    "hostPath": obj("A file or directory of the node.", {"path": string(), "type": string()}, required=("path",)),
    "emptyDir": obj("A directory that lives as long as the pod.", {"medium": string(), "sizeLimit": ref(QUANTITY)}),
    "configMap": obj("The keys of a ConfigMap as files.", {
        "name": string(), "items": _key_to_path(), "defaultMode": integer(), "optional": boolean()}),
    "secret": obj("The keys of a Secret as files.", {
        "secretName": string(), "items": _key_to_path(), "defaultMode": integer(), "optional": boolean()}),
    "persistentVolumeClaim": obj("A claim.", {"claimName": string(), "readOnly": boolean()},
                                 required=("claimName",)),
    "projected": obj("Several sources in one directory.", {
        "sources": array(free_object("A ServiceAccount token, ConfigMap, Secret or downward API source.")),
        "defaultMode": integer()}),
}, required=("name",))

_TOLERATION = obj("Lets the pod run on a node with a matching taint.", {
    "key": string(), "operator": string(enum=("Exists", "Equal")), "value": string(),
    "effect": string(enum=TAINT_EFFECTS), "tolerationSeconds": integer(format="int64"),
})

_TOPOLOGY_SPREAD_CONSTRAINT = obj("How the pods a selector matches are spread over the values of a node label.", {
    "maxSkew": integer("How far apart the matching pods of two domains may be; more than 0."),
    "topologyKey": string("The node label whose values are the domains (kubernetes.io/hostname, a zone)."),
    "whenUnsatisfiable": string("DoNotSchedule filters nodes out; ScheduleAnyway only prefers the emptier.",
                                enum=("DoNotSchedule", "ScheduleAnyway")),
    "labelSelector": ref(LABEL_SELECTOR),
    "minDomains": integer("While fewer domains exist, the minimum count is taken as 0 (DoNotSchedule only)."),
    "matchLabelKeys": array(string(), "Pod label keys whose values (this pod's) are ANDed to labelSelector."),
    "nodeAffinityPolicy": string("Whether nodes the pod's node affinity excludes count (default Honor).",
                                 enum=("Honor", "Ignore")),
    "nodeTaintsPolicy": string("Whether nodes with taints the pod does not tolerate count (default Ignore).",
                               enum=("Honor", "Ignore")),
}, required=("maxSkew", "topologyKey", "whenUnsatisfiable"))

_POD_SPEC = obj("The desired state of a pod.", {
    "containers": array(ref(CONTAINER), "The containers of the pod; at least one."),
    "initContainers": array(ref(CONTAINER), "Containers run to completion, in order, before the others."),
    "volumes": array(ref(f"{CORE}.Volume")),
    "restartPolicy": string(enum=("Always", "OnFailure", "Never")),
    "terminationGracePeriodSeconds": integer(format="int64"),
    "activeDeadlineSeconds": integer(format="int64"),
    "dnsPolicy": string(enum=("ClusterFirst", "ClusterFirstWithHostNet", "Default", "None")),
    "nodeSelector": string_map("Labels a node must have to run the pod."),
    "serviceAccountName": string(), "serviceAccount": string("Deprecated: use serviceAccountName."),
    "automountServiceAccountToken": boolean(),
    "nodeName": string("The node the pod is bound to."),
    "hostNetwork": boolean(), "hostPID": boolean(), "hostIPC": boolean(),
    "securityContext": _POD_SECURITY_CONTEXT,
    "hostname": string(), "subdomain": string(), "schedulerName": string(),
    "tolerations": array(_TOLERATION),
    "topologySpreadConstraints": array(_TOPOLOGY_SPREAD_CONSTRAINT),
    "enableServiceLinks": boolean(),
    "imagePullSecrets": array(obj("A Secret's name.", {"name": string()})),
    "priority": integer(), "priorityClassName": string(),
}, required=("containers",))

_POD_STATUS = obj("The observed state of a pod.", {
    "phase": string(enum=("Pending", "Running", "Succeeded", "Failed", "Unknown")),
    "conditions": array(_condition("A condition of the pod.")),
    "message": string(), "reason": string(), "nominatedNodeName": string(),
    "hostIP": string(), "podIP": string(), "podIPs": array(obj("A pod IP.", {"ip": string()})),
    "startTime": ref(TIME), "qosClass": string(),
    "containerStatuses": array(free_object("The state of one container.")),
    "initContainerStatuses": array(free_object("The state of one init container.")),
})

_SERVICE_SPEC = obj("The desired state of a Service.", {
    "type": string(enum=("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")),
    "selector": string_map("The pods the Service sends traffic to."),
    "ports": array(obj("A port of the Service.", {
        "name": string(), "protocol": string(enum=PROTOCOLS), "port": integer(), "targetPort": ref(INT_OR_STRING),
        "nodePort": integer(), "appProtocol": string()}, required=("port",))),
    "clusterIP": string(), "clusterIPs": array(string()), "externalIPs": array(string()),
    "externalName": string(), "sessionAffinity": string(enum=("ClientIP", "None")),
    "sessionAffinityConfig": obj("Session affinity options.", {"clientIP": obj("ClientIP options.", {
        "timeoutSeconds": integer()})}),
    "externalTrafficPolicy": string(enum=("Cluster", "Local")),
    "internalTrafficPolicy": string(enum=("Cluster", "Local")),
    "ipFamilies": array(string()), "ipFamilyPolicy": string(),
})

_ENDPOINT_ADDRESS = obj("One address of an endpoint.", {
    "ip": string(), "hostname": string(), "nodeName": string(), "targetRef": ref(OBJECT_REFERENCE)},
    required=("ip",))

_NODE_SPEC = obj("The desired state of a node.", {
    "podCIDR": string(), "podCIDRs": array(string()), "unschedulable": boolean(), "providerID": string(),
    "taints": array(obj("Keeps pods without a matching toleration off the node.", {
        "key": string(), "value": string(), "effect": string(enum=TAINT_EFFECTS), "timeAdded": ref(TIME)},
        required=("key", "effect"))),
})

_NODE_STATUS = obj("The observed state of a node.", {
    "capacity": map_of(ref(QUANTITY)), "allocatable": map_of(ref(QUANTITY)),
    "conditions": array(_condition("A condition of the node.")),
    "addresses": array(obj("An address of the node.", {"type": string(), "address": string()},
                           required=("type", "address"))),
    "daemonEndpoints": obj("Ports of the node agent.", {"kubeletEndpoint": obj("The agent's endpoint.", {
        "Port": integer()}, required=("Port",))}),
    "nodeInfo": string_map("What the node runs (kernel, OS, runtime …)."),
    "phase": string(),
})


def _core(kind: str, description: str, properties: dict[str, Schema], *, required: tuple[str, ...] = ()) -> Schema:
    return kind_object(description, "", "v1", kind, properties, required=required)


_KINDS: dict[str, Schema] = {
    "Pod": _core("Pod", "A group of containers scheduled together on one node.", {
        "spec": ref(POD_SPEC), "status": ref(f"{CORE}.PodStatus")}),
    "Service": _core("Service", "A stable address for a set of pods.", {
        "spec": ref(f"{CORE}.ServiceSpec"), "status": obj("The observed state of a Service.", {
            "loadBalancer": obj("The load balancer's state.", {"ingress": array(free_object())})})}),
    "Endpoints": _core("Endpoints", "The addresses behind a Service.", {
        "subsets": array(obj("Addresses sharing the same ports.", {
            "addresses": array(_ENDPOINT_ADDRESS), "notReadyAddresses": array(_ENDPOINT_ADDRESS),
            "ports": array(obj("A port of the endpoints.", {
                "name": string(), "port": integer(), "protocol": string(enum=PROTOCOLS)}, required=("port",)))}))}),
    "Event": _core("Event", "A report of something that happened to an object.", {
        "involvedObject": ref(OBJECT_REFERENCE), "reason": string(), "message": string(),
        "type": string(enum=("Normal", "Warning")), "count": integer(),
        "source": obj("Who reported the event.", {"component": string(), "host": string()}),
        "firstTimestamp": ref(TIME), "lastTimestamp": ref(TIME), "eventTime": ref(MICRO_TIME),
        "reportingComponent": string(), "reportingInstance": string(), "action": string()},
        required=("metadata", "involvedObject")),
    "ConfigMap": _core("ConfigMap", "Configuration data for pods.", {
        "data": string_map("UTF-8 values."), "binaryData": map_of(string(format="byte"), "Base64 values."),
        "immutable": boolean()}),
    "Secret": _core("Secret", "Sensitive data for pods.", {
        "data": map_of(string(format="byte"), "Base64 values."),
        "stringData": string_map("Plain values, merged into data on write."),
        "type": string("How the data is used (e.g. `Opaque`, `kubernetes.io/basic-auth`)."), "immutable": boolean()}),
    "ServiceAccount": _core("ServiceAccount", "An identity for the processes of pods.", {
        "secrets": array(ref(OBJECT_REFERENCE)), "imagePullSecrets": array(obj("A Secret's name.", {"name": string()})),
        "automountServiceAccountToken": boolean()}),
    "Namespace": _core("Namespace", "A scope for names.", {
        "spec": obj("The desired state of a namespace.", {"finalizers": array(string())}),
        "status": obj("The observed state of a namespace.", {
            "phase": string(enum=("Active", "Terminating")), "conditions": array(_condition("A condition."))})}),
    "Node": _core("Node", "A machine that runs pods.", {
        "spec": ref(f"{CORE}.NodeSpec"), "status": ref(f"{CORE}.NodeStatus")}),
    "Binding": _core("Binding", "Binds a pod to a node (what the scheduler posts).", {
        "target": ref(OBJECT_REFERENCE)}, required=("target",)),
}

CORE_SCHEMAS: dict[str, Schema] = {
    **{f"{CORE}.{kind}": schema for kind, schema in _KINDS.items()},
    **{f"{CORE}.{kind}List": list_of(f"{CORE}.{kind}", "", "v1", f"{kind}List") for kind in _KINDS
       if kind != "Binding"},
    POD_SPEC: _POD_SPEC,
    f"{CORE}.PodStatus": _POD_STATUS,
    POD_TEMPLATE_SPEC: obj("The pods a workload creates.", {"metadata": ref(OBJECT_META), "spec": ref(POD_SPEC)}),
    CONTAINER: _CONTAINER,
    f"{CORE}.Volume": _VOLUME,
    f"{CORE}.ServiceSpec": _SERVICE_SPEC,
    f"{CORE}.NodeSpec": _NODE_SPEC,
    f"{CORE}.NodeStatus": _NODE_STATUS,
    OBJECT_REFERENCE: obj("A reference to an object.", {
        "kind": string(), "namespace": string(), "name": string(), "uid": string(), "apiVersion": string(),
        "resourceVersion": string(), "fieldPath": string()}),
}
