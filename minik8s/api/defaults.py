"""The defaults Kubernetes fills into objects before validating and storing them.

Manifests leave most fields out; every consumer (kubectl describe, the scheduler, the node
agent, rollout status) expects them filled exactly as Kubernetes fills them: container port
protocol TCP, restartPolicy Always, imagePullPolicy by tag, probe timings, Deployment
rolling-update 25%/25%, and so on (pkg/apis/core/v1/defaults.go, pkg/apis/apps/v1/defaults.go).
Two create-time steps that Kubernetes performs outside defaulting are here too, behind
`on_create`: the defaulting half of the ServiceAccount admission plugin (a pod names `default`
when it names no ServiceAccount) and the Namespace's `kubernetes` finalizer; the default
tolerations are the DefaultTolerationSeconds admission plugin's (api/default_tolerations.py).
Malformed parts are left untouched for validation to report.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from minik8s.api.batch_defaults import default_cron_job, default_job
from minik8s.api.meta import JsonObject
from minik8s.api.policy_defaults import default_limit_range, default_resource_quota
from minik8s.api.priority_class import default_priority_class
from minik8s.api.statefulset_defaults import default_stateful_set_spec
from minik8s.api.storage_defaults import (
    default_persistent_volume,
    default_persistent_volume_claim,
    default_storage_class,
)

DEFAULT_SERVICE_ACCOUNT = "default"
MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror"
_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
_PROBE_DEFAULTS = {"timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}
_FILE_MODE_DEFAULT = 0o644  # 420: secret, configMap, downwardAPI and projected volumes
_CLIENT_IP_TIMEOUT_SECONDS = 10800
_TOKEN_EXPIRATION_SECONDS = 3600  # a projected serviceAccountToken's expirationSeconds


def apply_defaults(kind: str, obj: JsonObject, *, on_create: bool = True) -> None:
    """Fill Kubernetes' defaults into `obj` (a `kind` object as JSON), in place.

    `on_create=False` skips what Kubernetes does only when an object is created (a Pod's
    ServiceAccount, the `kubernetes` finalizer of Namespaces), so that an update cannot
    bring back what a controller removed.
    """
    defaulter = _DEFAULTERS.get(kind)
    if defaulter is not None:
        defaulter(obj, on_create)


def apply_pod_spec_defaults(spec: JsonObject) -> None:
    """Defaults shared by a Pod's spec and every pod template (SetDefaults_PodSpec and below)."""
    _mirror_service_account(spec)
    _set_default(spec, "dnsPolicy", "ClusterFirst")
    _set_default(spec, "restartPolicy", "Always")
    _set_default(spec, "securityContext", {})
    _set_default(spec, "terminationGracePeriodSeconds", 30)
    _set_default(spec, "schedulerName", "default-scheduler")
    for volume in _list_objects(spec.get("volumes")):
        _default_volume(volume)
    for field in ("initContainers", "containers"):
        for container in _list_objects(spec.get(field)):
            _default_container(container)


def pick_image_pull_policy(image: str) -> str:
    """Always for an untagged or `:latest` image, else IfNotPresent (a digest pins the image)."""
    reference = image.split("@", 1)
    name, has_digest = reference[0], len(reference) == 2
    if not name:
        return "IfNotPresent"  # unparseable: Kubernetes finds no tag
    last_colon = name.rfind(":")
    tag = name[last_colon + 1 :] if last_colon > name.rfind("/") else ""
    if not tag and not has_digest:
        tag = "latest"
    return "Always" if tag == "latest" else "IfNotPresent"


def _default_pod(pod: JsonObject, on_create: bool) -> None:
    spec = _get_object(pod, "spec")
    if spec is None:
        return
    _default_requests_from_limits(spec)
    _set_default(spec, "enableServiceLinks", True)
    if spec.get("hostNetwork") is True:
        _default_host_ports(spec)
    if on_create:
        _admit_service_account(pod, spec)
    apply_pod_spec_defaults(spec)


def _admit_service_account(pod: JsonObject, spec: JsonObject) -> None:
    """The ServiceAccount admission plugin's defaulting: a new pod runs as `default` unless it names one.

    Mirror pods are left as they are (plugin/pkg/admission/serviceaccount/admission.go). The rest of
    the plugin (the account must exist, the token volume) is the apiserver's ServiceAccount admission
    plugin (apiserver/admission.py), which runs when enabled.
    """
    annotations = _get_object(_get_object(pod, "metadata") or {}, "annotations") or {}
    if MIRROR_POD_ANNOTATION in annotations:
        return
    if not spec.get("serviceAccountName") and not spec.get("serviceAccount"):
        spec["serviceAccountName"] = DEFAULT_SERVICE_ACCOUNT


def _mirror_service_account(spec: JsonObject) -> None:
    """`serviceAccount` is the deprecated alias of `serviceAccountName`: either fills the other.

    As the v1 conversion does: the name comes from `serviceAccount` when only that is given, and
    `serviceAccount` always repeats the name (left out when there is none).
    """
    name = spec.get("serviceAccountName") or spec.get("serviceAccount")
    if isinstance(name, str) and name:
        spec["serviceAccountName"] = spec["serviceAccount"] = name
    elif spec.get("serviceAccount") == "":
        del spec["serviceAccount"]


def _default_container(container: JsonObject) -> None:
    image = container.get("image")
    if not container.get("imagePullPolicy"):
        container["imagePullPolicy"] = pick_image_pull_policy(image if isinstance(image, str) else "")
    _set_default(container, "terminationMessagePath", "/dev/termination-log")
    _set_default(container, "terminationMessagePolicy", "File")
    _set_default(container, "resources", {})
    for port in _list_objects(container.get("ports")):
        _set_default(port, "protocol", "TCP")
    for variable in _list_objects(container.get("env")):
        field_ref = _get_object(_get_object(variable, "valueFrom") or {}, "fieldRef")
        if field_ref is not None:
            _set_default(field_ref, "apiVersion", "v1")
    for probe_name in _PROBES:
        probe = _get_object(container, probe_name)
        if probe is not None:
            for key, value in _PROBE_DEFAULTS.items():
                if not probe.get(key):  # plain int32 in Go: 0 means unset
                    probe[key] = value
            _default_http_get(probe)
    lifecycle = _get_object(container, "lifecycle") or {}
    for hook_name in ("postStart", "preStop"):
        hook = _get_object(lifecycle, hook_name)
        if hook is not None:
            _default_http_get(hook)


def _default_http_get(handler: JsonObject) -> None:
    http_get = _get_object(handler, "httpGet")
    if http_get is not None:
        _set_default(http_get, "path", "/")
        _set_default(http_get, "scheme", "HTTP")


def _default_volume(volume: JsonObject) -> None:
    if not any(key != "name" and value is not None for key, value in volume.items()):
        volume["emptyDir"] = {}
    host_path = _get_object(volume, "hostPath")
    if host_path is not None:
        _set_default(host_path, "type", "")
    for source_name in ("secret", "configMap", "downwardAPI", "projected"):
        source = _get_object(volume, source_name)
        if source is not None:
            _set_default(source, "defaultMode", _FILE_MODE_DEFAULT)
    downward_items = _list_objects((_get_object(volume, "downwardAPI") or {}).get("items"))
    for source in _list_objects((_get_object(volume, "projected") or {}).get("sources")):
        token = _get_object(source, "serviceAccountToken")
        if token is not None:
            _set_default(token, "expirationSeconds", _TOKEN_EXPIRATION_SECONDS)
        downward_items += _list_objects((_get_object(source, "downwardAPI") or {}).get("items"))
    for item in downward_items:
        field_ref = _get_object(item, "fieldRef")
        if field_ref is not None:
            _set_default(field_ref, "apiVersion", "v1")


def _default_requests_from_limits(spec: JsonObject) -> None:
    """A bare Pod's container that sets only limits requests the same (SetDefaults_Pod)."""
    for field in ("initContainers", "containers"):
        for container in _list_objects(spec.get(field)):
            resources = _get_object(container, "resources") or {}
            limits = _get_object(resources, "limits")
            if not limits:
                continue
            requests = _get_object(resources, "requests")
            if requests is None:
                if resources.get("requests") is not None:
                    continue
                requests = resources["requests"] = {}
            for name, quantity in limits.items():
                requests.setdefault(name, quantity)


def _default_host_ports(spec: JsonObject) -> None:
    for field in ("initContainers", "containers"):
        for container in _list_objects(spec.get(field)):
            for port in _list_objects(container.get("ports")):
                if not port.get("hostPort") and "containerPort" in port:
                    port["hostPort"] = port["containerPort"]


def _default_template_spec(workload: JsonObject) -> JsonObject | None:
    spec = _get_object(workload, "spec")
    if spec is None:
        return None
    template_spec = _get_object(_get_object(spec, "template") or {}, "spec")
    if template_spec is not None:
        apply_pod_spec_defaults(template_spec)
    return spec


def _default_deployment(deployment: JsonObject, on_create: bool) -> None:
    spec = _default_template_spec(deployment)
    if spec is None:
        return
    _set_default(spec, "replicas", 1)
    strategy = _set_default(spec, "strategy", {})
    if isinstance(strategy, dict):
        _set_default(strategy, "type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            rolling_update = _set_default(strategy, "rollingUpdate", {})
            if isinstance(rolling_update, dict):
                _set_default(rolling_update, "maxUnavailable", "25%")
                _set_default(rolling_update, "maxSurge", "25%")
    _set_default(spec, "revisionHistoryLimit", 10)
    _set_default(spec, "progressDeadlineSeconds", 600)


def _default_replica_set(replica_set: JsonObject, on_create: bool) -> None:
    spec = _default_template_spec(replica_set)
    if spec is not None:
        _set_default(spec, "replicas", 1)


def _default_daemon_set(daemon_set: JsonObject, on_create: bool) -> None:
    spec = _default_template_spec(daemon_set)
    if spec is None:
        return
    strategy = _set_default(spec, "updateStrategy", {})
    if isinstance(strategy, dict):
        _set_default(strategy, "type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            rolling_update = _set_default(strategy, "rollingUpdate", {})
            if isinstance(rolling_update, dict):
                _set_default(rolling_update, "maxUnavailable", 1)
                _set_default(rolling_update, "maxSurge", 0)
    _set_default(spec, "revisionHistoryLimit", 10)


def _default_stateful_set(stateful_set: JsonObject, on_create: bool) -> None:
    spec = _default_template_spec(stateful_set)
    if spec is not None:
        default_stateful_set_spec(spec)


def _default_service(service: JsonObject, on_create: bool) -> None:
    spec = _get_object(service, "spec")
    if spec is None:
        return
    _set_default(spec, "sessionAffinity", "None")
    if spec["sessionAffinity"] == "None":
        spec.pop("sessionAffinityConfig", None)
    elif spec["sessionAffinity"] == "ClientIP":
        _default_client_ip_config(spec)
    service_type = _set_default(spec, "type", "ClusterIP")
    for port in _list_objects(spec.get("ports")):
        _set_default(port, "protocol", "TCP")
        if port.get("targetPort") in (None, 0, "") and port.get("port") is not None:
            port["targetPort"] = port["port"]
    externally_accessible = service_type in ("NodePort", "LoadBalancer") or (
        service_type == "ClusterIP" and bool(spec.get("externalIPs"))
    )
    if externally_accessible:
        _set_default(spec, "externalTrafficPolicy", "Cluster")
    if service_type in ("ClusterIP", "NodePort", "LoadBalancer"):
        _set_default(spec, "internalTrafficPolicy", "Cluster")
    if service_type == "LoadBalancer":
        _set_default(spec, "allocateLoadBalancerNodePorts", True)


def _default_client_ip_config(spec: JsonObject) -> None:
    config = spec.get("sessionAffinityConfig")
    client_ip = config.get("clientIP") if isinstance(config, dict) else None
    if not isinstance(client_ip, dict) or client_ip.get("timeoutSeconds") is None:
        spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": _CLIENT_IP_TIMEOUT_SECONDS}}


def _default_secret(secret: JsonObject, on_create: bool) -> None:
    if not secret.get("type"):
        secret["type"] = "Opaque"


def _default_namespace(namespace: JsonObject, on_create: bool) -> None:
    metadata = _get_object(namespace, "metadata")
    name = metadata.get("name") if metadata is not None else None
    if metadata is not None and isinstance(name, str) and name:
        labels = _set_default(metadata, "labels", {})
        if isinstance(labels, dict):
            labels["kubernetes.io/metadata.name"] = name
    status = _set_default(namespace, "status", {})
    if isinstance(status, dict):
        _set_default(status, "phase", "Active")
    spec = _set_default(namespace, "spec", {})
    if on_create and isinstance(spec, dict):
        finalizers = spec.get("finalizers") or []
        if isinstance(finalizers, list) and "kubernetes" not in finalizers:
            spec["finalizers"] = [*finalizers, "kubernetes"]


def _default_node(node: JsonObject, on_create: bool) -> None:
    status = _get_object(node, "status")
    if status is not None and status.get("allocatable") is None and isinstance(status.get("capacity"), dict):
        status["allocatable"] = dict(status["capacity"])


def _default_endpoints(endpoints: JsonObject, on_create: bool) -> None:
    for subset in _list_objects(endpoints.get("subsets")):
        for port in _list_objects(subset.get("ports")):
            _set_default(port, "protocol", "TCP")


def _set_default(obj: JsonObject, key: str, value: Any) -> Any:
    """Set `obj[key]` when absent, null or empty-string; return the resulting value."""
    if obj.get(key) is None or obj.get(key) == "":
        obj[key] = value
    return obj[key]


def _get_object(obj: JsonObject, key: str) -> JsonObject | None:
    value = obj.get(key)
    return value if isinstance(value, dict) else None


def _list_objects(value: Any) -> list[JsonObject]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _default_rbac_binding(binding: JsonObject, _: bool) -> None:
    """SetDefaults_RoleBinding/Subject: roleRef and User/Group subjects name the RBAC group when blank."""
    role_ref = binding.get("roleRef")
    if isinstance(role_ref, dict) and not role_ref.get("apiGroup"):
        role_ref["apiGroup"] = "rbac.authorization.k8s.io"
    for subject in _list_objects(binding.get("subjects")):
        if not subject.get("apiGroup") and subject.get("kind") in ("User", "Group"):
            subject["apiGroup"] = "rbac.authorization.k8s.io"


_DEFAULTERS: dict[str, Callable[[JsonObject, bool], None]] = {
    "Pod": _default_pod,
    "Deployment": _default_deployment,
    "ReplicaSet": _default_replica_set,
    "DaemonSet": _default_daemon_set,
    "StatefulSet": _default_stateful_set,
    "Service": _default_service,
    "Secret": _default_secret,
    "Namespace": _default_namespace,
    "Node": _default_node,
    "Endpoints": _default_endpoints,
    "RoleBinding": _default_rbac_binding,
    "ClusterRoleBinding": _default_rbac_binding,
    "LimitRange": default_limit_range,
    "ResourceQuota": default_resource_quota,
    "PersistentVolume": default_persistent_volume,
    "PersistentVolumeClaim": default_persistent_volume_claim,
    "StorageClass": default_storage_class,
    "Job": default_job,
    "CronJob": default_cron_job,
    "PriorityClass": default_priority_class,
}
