"""The columns of each kind's server-side Table, exactly as Kubernetes v1.32 defines them.

kubectl prints the column names the server sends, shows `priority: 1` columns only with `-o wide`, and
uses `format: name` to find the name column. The descriptions are the API's swagger docs, which
Kubernetes copies into every Table; they live here, apart from the cell logic in `tables.py`, because
they are long, pure data (pkg/printers/internalversion/printers.go, AddHandlers).
"""

from __future__ import annotations

from typing import Any

from minik8s.api.table_printers_disruption import COLUMNS as DISRUPTION_COLUMNS

__all__ = ["column_definitions"]

Column = dict[str, Any]


def _column(name: str, description: str, *, priority: int = 0, column_type: str = "string") -> Column:
    column_format = "name" if name == "Name" else ""
    return {"name": name, "type": column_type, "format": column_format, "description": description,
            "priority": priority}


_DOCS = {
    "name": "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
    "age": "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
    "containers": "Names of each container in the template.",
    "images": "Images referenced by each container in the template.",
    "podIP": "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.",
    "nodeName": "NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for scheduling by the scheduler defined in schedulerName. Once this field is set, the kubelet for this node becomes responsible for the lifecycle of this pod. This field should not be used to express a desire for the pod to be scheduled on a specific node. https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#nodename",
    "nominatedNodeName": "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.",
    "readinessGates": 'If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to "True" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates',
    "nodeSelector": "NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a node's labels for the pod to be scheduled on that node. More info: https://kubernetes.io/docs/concepts/configuration/assign-pod-node/",
    "serviceType": 'type determines how the Service is exposed. Defaults to ClusterIP. Valid options are ExternalName, ClusterIP, NodePort, and LoadBalancer. "ClusterIP" allocates a cluster-internal IP address for load-balancing to endpoints. Endpoints are determined by the selector or if that is not specified, by manual construction of an Endpoints object or EndpointSlice objects. If clusterIP is "None", no virtual IP is allocated and the endpoints are published as a set of endpoints rather than a virtual IP. "NodePort" builds on ClusterIP and allocates a port on every node which routes to the same endpoints as the clusterIP. "LoadBalancer" builds on NodePort and creates an external load-balancer (if supported in the current cloud) which routes to the same endpoints as the clusterIP. "ExternalName" aliases this service to the specified externalName. Several other fields do not apply to ExternalName services. More info: https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types',
    "clusterIP": 'clusterIP is the IP address of the service and is usually assigned randomly. If an address is specified manually, is in-range (as per system configuration), and is not in use, it will be allocated to the service; otherwise creation of the service will fail. This field may not be changed through updates unless the type field is also being changed to ExternalName (which requires this field to be blank) or the type field is being changed from ExternalName (in which case this field may optionally be specified, as describe above).  Valid values are "None", empty string (""), or a valid IP address. Setting this to "None" makes a "headless service" (no virtual IP), which is useful when direct endpoint connections are preferred and proxying is not required.  Only applies to types ClusterIP, NodePort, and LoadBalancer. If this field is specified when creating a Service of type ExternalName, creation will fail. This field will be wiped when updating a Service to type ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies',
    "externalIPs": "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.  These IPs are not managed by Kubernetes.  The user is responsible for ensuring that traffic arrives at a node with this IP.  A common example is external load-balancers that are not part of the Kubernetes system.",
    "servicePorts": "The list of ports that are exposed by this service. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies",
    "serviceSelector": "Route service traffic to pods with label keys and values matching this selector. If empty or not present, the service is assumed to have an external process managing its endpoints, which Kubernetes will not modify. Only applies to types ClusterIP, NodePort, and LoadBalancer. Ignored if type is ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/",
    "subsets": "The set of all endpoints is the union of all subsets. Addresses are placed into subsets according to the IPs they share. A single address with multiple ports, some of which are ready and some of which are not (because they come from different containers) will result in the address being displayed in different subsets for the different ports. No address will appear in both Addresses and NotReadyAddresses in the same subset. Sets of addresses and ports that comprise a service.",
    "kubeletVersion": "Kubelet Version reported by the node.",
    "osImage": "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
    "kernelVersion": "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
    "containerRuntimeVersion": "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).",
    "addresses": "List of addresses reachable to the node. Queried from cloud provider, if available. More info: https://kubernetes.io/docs/reference/node/node-status/#addresses Note: This field is declared as mergeable, but the merge key is not sufficiently unique, which can cause data corruption when it is merged. Callers should instead use a full-replacement patch. See https://pr.k8s.io/79391 for an example. Consumers should assume that addresses can change during the lifetime of a Node. However, there are some exceptions where this may not be possible, such as Pods that inherit a Node's address in its own status or consumers of the downward API (status.hostIP).",
    "lastTimestamp": "The time at which the most recent occurrence of this event was recorded.",
    "eventType": "Type of this event (Normal, Warning), new types could be added in the future",
    "reason": "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
    "involvedObject": "The object that this event is about.",
    "fieldPath": 'If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2]. For example, if the object reference is to a container within a pod, this would take on a value like: "spec.containers{name}" (where "name" refers to the name of the container that triggered the event) or if no container name is specified "spec.containers[2]" (container with index 2 in this pod). This syntax is chosen only to have some well-defined way of referencing a part of an object.',
    "source": "The component reporting this event. Should be a short machine understandable string.",
    "message": "A human-readable description of the status of this operation.",
    "firstTimestamp": "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)",
    "count": "The number of times this event has occurred.",
    "secretType": "Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types",
    "secretData": "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4",
    "serviceAccountSecrets": 'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use. Pods are only limited to this list if this service account has a "kubernetes.io/enforce-mountable-secrets" annotation set to "true". The "kubernetes.io/enforce-mountable-secrets" annotation is deprecated since v1.32. Prefer separate namespaces to isolate access to mounted secrets. This field should not be used to find auto-generated service account token secrets for use outside of pods. Instead, tokens can be requested directly using the TokenRequest API, or service account token secrets can be manually created. More info: https://kubernetes.io/docs/concepts/configuration/secret',
    "configMapData": "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process.",
    "rsReplicas": "Replicas is the number of desired replicas. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/#what-is-a-replicationcontroller",
    "rsStatusReplicas": "Replicas is the most recently observed number of replicas. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/#what-is-a-replicationcontroller",
    "rsReadyReplicas": "The number of ready replicas for this replica set.",
    "rsSelector": "Selector is a label query over pods that should match the replica count. If the selector is empty, it is defaulted to the labels present on the pod template. Label keys and values that must match in order to be controlled by this replica set. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
    "desiredNumberScheduled": "The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod). More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/",
    "currentNumberScheduled": "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod. More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/",
    "numberReady": "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.",
    "updatedNumberScheduled": "The total number of nodes that are running updated daemon pod",
    "numberAvailable": "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)",
    "dsSelector": "A label query over pods that are managed by the daemon set. Must match in order to be controlled. If empty, defaulted to labels on Pod template. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
    "updatedReplicas": "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
    "availableReplicas": "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
    "deploySelector": "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.",
    "holderIdentity": "holderIdentity contains the identity of the holder of a current lease. If Coordinated Leader Election is used, the holder identity must be equal to the elected LeaseCandidate.metadata.name field.",
}

_DOCS.update({  # batch/v1 (JobStatus, JobSpec, CronJobSpec, CronJobStatus)
    "jobSucceeded": "The number of pods which reached phase Succeeded. The value increases monotonically for a given spec. However, it may decrease in reaction to scale down of elastic indexed jobs.",
    "jobSelector": "A label query over pods that should match the pod count. Normally, the system sets this field for you. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
    "cronSchedule": "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.",
    "cronTimeZone": "The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones. If not specified, this will default to the time zone of the kube-controller-manager process. The set of valid time zone names and the time zone offset is loaded from the system-wide time zone database by the API server during CronJob validation and the controller manager during execution. If no system-wide time zone database can be found a bundled version of the database is used instead. If the time zone name becomes invalid during the lifetime of a CronJob or due to a change in host configuration, the controller will stop creating new new Jobs and will create a system event with the reason UnknownTimeZone. More information can be found in https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#time-zones",
    "cronSuspend": "This flag tells the controller to suspend subsequent executions, it does not apply to already started executions.  Defaults to false.",
    "cronActive": "A list of pointers to currently running jobs.",
    "cronLastScheduleTime": "Information when was the last time the job was successfully scheduled.",
})
_NAME = _column("Name", _DOCS["name"])
_AGE = _column("Age", _DOCS["age"])
_WIDE_TEMPLATE = [_column("Containers", _DOCS["containers"], priority=1),
                  _column("Images", _DOCS["images"], priority=1)]

_COLUMNS: dict[str, list[Column]] = {
    "Namespace": [_NAME, _column("Status", "The status of the namespace"), _AGE],
    "Node": [
        _NAME, _column("Status", "The status of the node"), _column("Roles", "The roles of the node"), _AGE,
        _column("Version", _DOCS["kubeletVersion"]),
        _column("Internal-IP", _DOCS["addresses"], priority=1),
        _column("External-IP", _DOCS["addresses"], priority=1),
        _column("OS-Image", _DOCS["osImage"], priority=1),
        _column("Kernel-Version", _DOCS["kernelVersion"], priority=1),
        _column("Container-Runtime", _DOCS["containerRuntimeVersion"], priority=1),
    ],
    "Pod": [
        _NAME,
        _column("Ready", "The aggregate readiness state of this pod for accepting traffic."),
        _column("Status", "The aggregate status of the containers in this pod."),
        _column("Restarts", "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
        _AGE,
        _column("IP", _DOCS["podIP"], priority=1),
        _column("Node", _DOCS["nodeName"], priority=1),
        _column("Nominated Node", _DOCS["nominatedNodeName"], priority=1),
        _column("Readiness Gates", _DOCS["readinessGates"], priority=1),
    ],
    "Service": [
        _NAME, _column("Type", _DOCS["serviceType"]), _column("Cluster-IP", _DOCS["clusterIP"]),
        _column("External-IP", _DOCS["externalIPs"]), _column("Port(s)", _DOCS["servicePorts"]), _AGE,
        _column("Selector", _DOCS["serviceSelector"], priority=1),
    ],
    "Endpoints": [_NAME, _column("Endpoints", _DOCS["subsets"]), _AGE],
    "Event": [
        _column("Last Seen", _DOCS["lastTimestamp"]), _column("Type", _DOCS["eventType"]),
        _column("Reason", _DOCS["reason"]), _column("Object", _DOCS["involvedObject"]),
        _column("Subobject", _DOCS["fieldPath"], priority=1), _column("Source", _DOCS["source"], priority=1),
        _column("Message", _DOCS["message"]), _column("First Seen", _DOCS["firstTimestamp"], priority=1),
        _column("Count", _DOCS["count"], priority=1), _column("Name", _DOCS["name"], priority=1),
    ],
    "ConfigMap": [_NAME, _column("Data", _DOCS["configMapData"]), _AGE],
    "Secret": [_NAME, _column("Type", _DOCS["secretType"]), _column("Data", _DOCS["secretData"]), _AGE],
    "ServiceAccount": [_NAME, _column("Secrets", _DOCS["serviceAccountSecrets"]), _AGE],
    "Deployment": [
        _NAME, _column("Ready", "Number of the pod with ready state"),
        _column("Up-to-date", _DOCS["updatedReplicas"]), _column("Available", _DOCS["availableReplicas"]), _AGE,
        *_WIDE_TEMPLATE, _column("Selector", _DOCS["deploySelector"], priority=1),
    ],
    "ReplicaSet": [
        _NAME, _column("Desired", _DOCS["rsReplicas"], column_type="integer"),
        _column("Current", _DOCS["rsStatusReplicas"], column_type="integer"),
        _column("Ready", _DOCS["rsReadyReplicas"], column_type="integer"), _AGE,
        *_WIDE_TEMPLATE, _column("Selector", _DOCS["rsSelector"], priority=1),
    ],
    "DaemonSet": [
        _NAME, _column("Desired", _DOCS["desiredNumberScheduled"], column_type="integer"),
        _column("Current", _DOCS["currentNumberScheduled"], column_type="integer"),
        _column("Ready", _DOCS["numberReady"], column_type="integer"),
        _column("Up-to-date", _DOCS["updatedNumberScheduled"], column_type="integer"),
        _column("Available", _DOCS["numberAvailable"], column_type="integer"),
        _column("Node Selector", _DOCS["nodeSelector"]), _AGE,
        *_WIDE_TEMPLATE, _column("Selector", _DOCS["dsSelector"], priority=1),
    ],
    "Lease": [_NAME, _column("Holder", _DOCS["holderIdentity"]), _AGE],
    "StatefulSet": [_NAME, _column("Ready", "Number of the pod with ready state"), _AGE, *_WIDE_TEMPLATE],
    "ControllerRevision": [
        _NAME, _column("Controller", "Controller of the object"),
        _column("Revision", "Revision indicates the revision of the state represented by Data."), _AGE,
    ],
    "Job": [
        _NAME, _column("Status", "Status of the job."), _column("Completions", _DOCS["jobSucceeded"]),
        _column("Duration", "Time required to complete the job."), _AGE, *_WIDE_TEMPLATE,
        _column("Selector", _DOCS["jobSelector"], priority=1),
    ],
    "CronJob": [
        _NAME, _column("Schedule", _DOCS["cronSchedule"]), _column("Timezone", _DOCS["cronTimeZone"]),
        _column("Suspend", _DOCS["cronSuspend"], column_type="boolean"),
        _column("Active", _DOCS["cronActive"], column_type="integer"),
        _column("Last Schedule", _DOCS["cronLastScheduleTime"]), _AGE, *_WIDE_TEMPLATE,
        _column("Selector", _DOCS["jobSelector"], priority=1),
    ],
}
_CREATED_AT = [_NAME, _column("Created At", _DOCS["age"], column_type="date")]
_ROLE_REF_DOCS = {
    "RoleBinding": "RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace. "
                   "If the RoleRef cannot be resolved, the Authorizer must return an error.",
    "ClusterRoleBinding": "RoleRef can only reference a ClusterRole in the global namespace. If the RoleRef cannot be "
                          "resolved, the Authorizer must return an error.",
}
_COLUMNS["Role"] = _COLUMNS["ClusterRole"] = _COLUMNS["LimitRange"] = _CREATED_AT
_COLUMNS["ResourceQuota"] = [
    _NAME, _AGE, _column("Request", "Request represents a minimum amount of cpu/memory that a container may consume."),
    _column("Limit", "Limits control the maximum amount of cpu/memory that a container may use independent of "
                     "contention on the node."),
]
for _binding, _scope in (("RoleBinding", "roleBinding"), ("ClusterRoleBinding", "clusterRoleBinding")):
    _COLUMNS[_binding] = [
        _NAME, _column("Role", _ROLE_REF_DOCS[_binding]), _AGE,
        _column("Users", f"Users in the {_scope}", priority=1),
        _column("Groups", f"Groups in the {_scope}", priority=1),
        _column("ServiceAccounts", f"ServiceAccounts in the {_scope}", priority=1),
    ]
_STORAGE_DOCS = {
    "pvCapacity": "capacity is the description of the persistent volume's resources and capacity. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#capacity",
    "pvAccessModes": "accessModes contains all ways the volume can be mounted. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#access-modes",
    "pvReclaimPolicy": "persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim. Valid options are Retain (default for manually created PersistentVolumes), Delete (default for dynamically provisioned PersistentVolumes), and Recycle (deprecated). Recycle must be supported by the volume plugin underlying this PersistentVolume. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#reclaiming",
    "pvPhase": "phase indicates if a volume is available, bound to a claim, or released by a claim. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#phase",
    "pvClaimRef": "claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim. Expected to be non-nil when bound. claim.VolumeName is the authoritative bind between PV and PVC. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#binding",
    "pvReason": "reason is a brief CamelCase string that describes any failure and is meant for machine parsing and tidy display in the CLI.",
    "pvVolumeMode": "volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state. Value of Filesystem is implied when not included in spec.",
    "pvcPhase": "phase represents the current phase of PersistentVolumeClaim.",
    "pvcVolumeName": "volumeName is the binding reference to the PersistentVolume backing this claim.",
    "pvcCapacity": "capacity represents the actual resources of the underlying volume.",
    "pvcAccessModes": "accessModes contains the actual access modes the volume backing the PVC has. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#access-modes-1",
    "pvcVolumeMode": "volumeMode defines what type of volume is required by the claim. Value of Filesystem is implied when not included in claim spec.",
    "scProvisioner": "provisioner indicates the type of the provisioner.",
    "scReclaimPolicy": "reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class. Defaults to Delete.",
    "scVolumeBindingMode": "volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.  When unset, VolumeBindingImmediate is used. This field is only honored by servers that enable the VolumeScheduling feature.",
    "scAllowVolumeExpansion": "allowVolumeExpansion shows whether the storage class allow volume expand.",
}
_COLUMNS["PersistentVolume"] = [
    _NAME, _column("Capacity", _STORAGE_DOCS["pvCapacity"]), _column("Access Modes", _STORAGE_DOCS["pvAccessModes"]),
    _column("Reclaim Policy", _STORAGE_DOCS["pvReclaimPolicy"]), _column("Status", _STORAGE_DOCS["pvPhase"]),
    _column("Claim", _STORAGE_DOCS["pvClaimRef"]), _column("StorageClass", "StorageClass of the pv"),
    _column("VolumeAttributesClass", "VolumeAttributesClass of the pv"), _column("Reason", _STORAGE_DOCS["pvReason"]),
    _AGE, _column("VolumeMode", _STORAGE_DOCS["pvVolumeMode"], priority=1),
]
_COLUMNS["PersistentVolumeClaim"] = [
    _NAME, _column("Status", _STORAGE_DOCS["pvcPhase"]), _column("Volume", _STORAGE_DOCS["pvcVolumeName"]),
    _column("Capacity", _STORAGE_DOCS["pvcCapacity"]), _column("Access Modes", _STORAGE_DOCS["pvcAccessModes"]),
    _column("StorageClass", "StorageClass of the pvc"), _column("VolumeAttributesClass", "VolumeAttributesClass of the pvc"),
    _AGE, _column("VolumeMode", _STORAGE_DOCS["pvcVolumeMode"], priority=1),
]
_COLUMNS["StorageClass"] = [
    _NAME, _column("Provisioner", _STORAGE_DOCS["scProvisioner"]),
    _column("ReclaimPolicy", _STORAGE_DOCS["scReclaimPolicy"]),
    _column("VolumeBindingMode", _STORAGE_DOCS["scVolumeBindingMode"]),
    _column("AllowVolumeExpansion", _STORAGE_DOCS["scAllowVolumeExpansion"]), _AGE,
]
_COLUMNS.update(DISRUPTION_COLUMNS)
_DEFAULT_COLUMNS = [_NAME, _AGE]


def column_definitions(kind: str) -> list[dict[str, Any]]:
    """The Table columns Kubernetes sends for `kind` (Name + Age for a kind without a printer)."""
    return [dict(column) for column in _COLUMNS.get(kind, _DEFAULT_COLUMNS)]
