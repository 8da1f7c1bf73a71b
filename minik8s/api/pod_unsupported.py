"""Pod fields Kubernetes' API accepts but minik8s's node agent cannot honour: refused, never ignored.

A pod that asks for an SELinux label, a sysctl, a shared process namespace or a preStop hook and
silently runs without it is worse than a refused one: it looks protected (or correct) and is not.
So every such field of a pod spec — a Pod's, or a workload's pod template — is one row of
`UNSUPPORTED`, and validation answers 422 Invalid in Kubernetes' field-error words:
`spec.securityContext.seLinuxOptions: Unsupported value: {"type":"spc_t"}: not supported by
minik8s: its node agent applies no SELinux labels`, or, where some values are honoured,
`spec.containers[0].securityContext.procMount: Unsupported value: "Unmasked": supported values: "Default"`.
Volume sources outside the node agent's (node/volumes.py SUPPORTED_VOLUME_TYPES) are refused the same way.

What the node agent does honour (runAsUser/runAsGroup/runAsNonRoot, supplementalGroups, fsGroup,
capabilities, privileged, readOnlyRootFilesystem, allowPrivilegeEscalation, seccomp RuntimeDefault
and Unconfined, host namespaces, ...) is not listed here. An object stored before a row existed
keeps working: only values the update brings (absent from the old object) are refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from minik8s.api.field_errors import NOT_SUPPORTED, FieldError, join_index, join_path, render_value

POD, POD_SECURITY, CONTAINER, CONTAINER_SECURITY, VOLUME_MOUNT = (
    "pod", "pod securityContext", "container", "container securityContext", "volumeMount")
# node/volumes.py SUPPORTED_VOLUME_TYPES (a unit test keeps the two equal; api may not import node).
SUPPORTED_VOLUME_SOURCES = ("configMap", "downwardAPI", "emptyDir", "hostPath", "persistentVolumeClaim", "projected",
                            "secret")
# Where each kind keeps its pod spec.
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "PodTemplate": ("template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Deployment": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}


def _set(value: Any) -> bool:
    return value not in (None, "", [], {})


def _true(value: Any) -> bool:
    return value is True


def _false(value: Any) -> bool:
    return value is False


@dataclass(frozen=True)
class Unsupported:
    """One field (a dotted path under `scope`) and the values of it the node agent cannot honour."""

    scope: str
    field: str
    refused: Callable[[Any], bool]
    supported: tuple[str, ...] = ()  # the values it honours, when it honours some
    reason: str = ""  # why not, when it honours none

    @classmethod
    def only(cls, scope: str, field: str, *supported: str) -> Unsupported:
        return cls(scope, field, lambda value: value is not None and value not in supported, supported)

    def error(self, path: str, value: Any) -> FieldError:
        if self.supported:
            return FieldError.not_supported(path, value, self.supported)
        return FieldError(path, NOT_SUPPORTED, f"Unsupported value: {render_value(value)}: "
                                               f"not supported by minik8s: {self.reason}")


_NO_SELINUX = "its node agent applies no SELinux labels"
_LINUX_ONLY = "it runs Linux containers only"
UNSUPPORTED: tuple[Unsupported, ...] = (
    Unsupported(POD, "hostUsers", _false, reason="its node agent runs no pod in a user namespace"),
    Unsupported(POD, "runtimeClassName", _set, reason="it has no RuntimeClasses: every pod runs on the node's Docker"),
    Unsupported.only(POD, "os.name", "linux"),
    Unsupported(POD, "ephemeralContainers", _set, reason="it serves no ephemeralcontainers subresource"),
    Unsupported(POD, "setHostnameAsFQDN", _true, reason="its node agent sets the pod's short hostname"),
    Unsupported(POD, "resourceClaims", _set, reason="it has no dynamic resource allocation"),
    Unsupported(POD_SECURITY, "seLinuxOptions", _set, reason=_NO_SELINUX),
    Unsupported(POD_SECURITY, "windowsOptions", _set, reason=_LINUX_ONLY),
    Unsupported(POD_SECURITY, "sysctls", _set, reason="its node agent sets no sysctls"),
    Unsupported.only(POD_SECURITY, "appArmorProfile.type", "RuntimeDefault", "Unconfined"),
    Unsupported.only(POD_SECURITY, "supplementalGroupsPolicy", "Merge"),
    Unsupported(CONTAINER, "lifecycle.postStart", _set, reason="its node agent runs no lifecycle hooks"),
    Unsupported(CONTAINER, "lifecycle.preStop", _set, reason="its node agent runs no lifecycle hooks"),
    Unsupported(CONTAINER, "restartPolicy", _set, reason="it has no sidecar containers"),
    Unsupported(CONTAINER, "volumeDevices", _set, reason="it has no block volumes"),
    Unsupported(CONTAINER, "resources.claims", _set, reason="it has no dynamic resource allocation"),
    Unsupported(CONTAINER, "livenessProbe.grpc", _set, reason="its node agent has no gRPC probes"),
    Unsupported(CONTAINER, "readinessProbe.grpc", _set, reason="its node agent has no gRPC probes"),
    Unsupported(CONTAINER, "startupProbe.grpc", _set, reason="its node agent has no gRPC probes"),
    Unsupported(CONTAINER_SECURITY, "seLinuxOptions", _set, reason=_NO_SELINUX),
    Unsupported(CONTAINER_SECURITY, "windowsOptions", _set, reason=_LINUX_ONLY),
    Unsupported.only(CONTAINER_SECURITY, "procMount", "Default"),
    Unsupported.only(CONTAINER_SECURITY, "appArmorProfile.type", "RuntimeDefault", "Unconfined"),
    Unsupported.only(VOLUME_MOUNT, "mountPropagation", "None"),
    Unsupported.only(VOLUME_MOUNT, "recursiveReadOnly", "Disabled", "IfPossible"),
)


def unsupported_fields(kind: str, obj: Mapping[str, Any], old: Mapping[str, Any] | None = None) -> list[FieldError]:
    """The unsupported fields `obj` (a `kind` object) sets that `old` (the stored object) did not."""
    path = POD_SPEC_PATHS.get(kind)
    if path is None:
        return []
    found = list(_pod_spec_errors(_at(obj, path), ".".join(path)))
    if old is None or not found:
        return found
    kept = set(_pod_spec_errors(_at(old, path), ".".join(path)))
    return [error for error in found if error not in kept]


def _pod_spec_errors(spec: Any, path: str) -> Iterator[FieldError]:
    if not isinstance(spec, Mapping):
        return
    yield from _scope_errors(POD, spec, path)
    yield from _scope_errors(POD_SECURITY, spec.get("securityContext"), join_path(path, "securityContext"))
    for field in ("initContainers", "containers", "ephemeralContainers"):
        for container_path, container in _objects(spec.get(field), join_path(path, field)):
            yield from _scope_errors(CONTAINER, container, container_path)
            yield from _scope_errors(CONTAINER_SECURITY, container.get("securityContext"),
                                     join_path(container_path, "securityContext"))
            for mount_path, mount in _objects(container.get("volumeMounts"), join_path(container_path, "volumeMounts")):
                yield from _scope_errors(VOLUME_MOUNT, mount, mount_path)
    for volume_path, volume in _objects(spec.get("volumes"), join_path(path, "volumes")):
        for source, value in volume.items():
            if source != "name" and value is not None and source not in SUPPORTED_VOLUME_SOURCES:
                yield FieldError.not_supported(volume_path, source, SUPPORTED_VOLUME_SOURCES)


def _scope_errors(scope: str, owner: Any, path: str) -> Iterator[FieldError]:
    if not isinstance(owner, Mapping):
        return
    for row in UNSUPPORTED:
        if row.scope == scope:
            value = _at(owner, tuple(row.field.split(".")))
            if row.refused(value):
                yield row.error(join_path(path, row.field), value)


def _objects(value: Any, path: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    if isinstance(value, list):
        for position, item in enumerate(value):
            if isinstance(item, Mapping):
                yield join_index(path, position), item


def _at(obj: Any, path: tuple[str, ...]) -> Any:
    for step in path:
        obj = obj.get(step) if isinstance(obj, Mapping) else None
    return obj
