"""The restricted Pod Security checks: current pod hardening, each in Kubernetes' words.

One function per check and policy version of k8s.io/pod-security-admission/policy (v1.32); the
restricted level runs these and the baseline checks they do not override (registry).
"""

from __future__ import annotations

from minik8s.api.pod_security.checks_baseline import SECCOMP_TYPES
from minik8s.api.pod_security.pod_view import (
    Json,
    containers,
    integer,
    join_quote,
    name_of,
    objects,
    pluralize,
    pointer,
    present,
    security_context,
    setters,
    strings,
    text,
)
from minik8s.api.pod_security.results import ALLOWED, CheckResult, forbidden

# Volume sources the restricted level allows: the core types and those backed by PersistentVolumes.
ALLOWED_VOLUME_SOURCES = ("configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image",
                          "persistentVolumeClaim", "projected", "secret")
# The restricted sources, in the order upstream names the first one a volume has.
RESTRICTED_VOLUME_SOURCES = (
    "hostPath", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "nfs", "iscsi", "glusterfs", "rbd",
    "flexVolume", "cinder", "cephfs", "flocker", "fc", "azureFile", "vsphereVolume", "quobyte", "azureDisk",
    "photonPersistentDisk", "portworxVolume", "scaleIO", "storageos",
)


def _containers_phrase(names: list[str]) -> str:
    return f"{pluralize('container', 'containers', len(names))} {join_quote(names)}"


def allow_privilege_escalation_1_8(metadata: Json, spec: Json) -> CheckResult:
    bad = [name_of(c) for c in containers(spec) if security_context(c).get("allowPrivilegeEscalation") is not False]
    if not bad:
        return ALLOWED
    return forbidden("allowPrivilegeEscalation != false",
                     f"{_containers_phrase(bad)} must set securityContext.allowPrivilegeEscalation=false")


def capabilities_restricted_1_22(metadata: Json, spec: Json) -> CheckResult:
    missing_drop_all: list[str] = []
    adding: list[str] = []
    added: set[str] = set()
    for container in containers(spec):
        capabilities = pointer(security_context(container), "capabilities")
        if capabilities is None:
            missing_drop_all.append(name_of(container))
            continue
        if "ALL" not in strings(capabilities.get("drop")):
            missing_drop_all.append(name_of(container))
        extra = {cap for cap in strings(capabilities.get("add")) if cap != "NET_BIND_SERVICE"}
        if extra:
            adding.append(name_of(container))
            added.update(extra)
    details = []
    if missing_drop_all:
        details.append(f'{_containers_phrase(missing_drop_all)} must set securityContext.capabilities.drop=["ALL"]')
    if adding:
        details.append(f"{_containers_phrase(adding)} must not include {join_quote(sorted(added))} "
                       "in securityContext.capabilities.add")
    return forbidden("unrestricted capabilities", "; ".join(details)) if details else ALLOWED


def restricted_volumes_1_0(metadata: Json, spec: Json) -> CheckResult:
    bad: list[str] = []
    kinds: set[str] = set()
    for volume in objects(spec.get("volumes")):
        if any(present(volume, source) for source in ALLOWED_VOLUME_SOURCES):
            continue
        bad.append(text(volume, "name"))
        kinds.add(next((source for source in RESTRICTED_VOLUME_SOURCES if present(volume, source)), "unknown"))
    if not bad:
        return ALLOWED
    return forbidden("restricted volume types",
                     f"{pluralize('volume', 'volumes', len(bad))} {join_quote(bad)} {pluralize('uses', 'use', len(bad))} "
                     f"{pluralize('restricted volume type', 'restricted volume types', len(kinds))} "
                     f"{join_quote(sorted(kinds))}")


def run_as_non_root_1_0(metadata: Json, spec: Json) -> CheckResult:
    pod_setting = security_context(spec).get("runAsNonRoot")
    pod_false, pod_true = pod_setting is False, pod_setting is True
    explicitly_bad: list[str] = []
    implicitly_bad: list[str] = []
    for container in containers(spec):
        setting = security_context(container).get("runAsNonRoot")
        if isinstance(setting, bool):
            if not setting:
                explicitly_bad.append(name_of(container))
        elif not pod_true:
            implicitly_bad.append(name_of(container))
    if pod_false or explicitly_bad:
        return forbidden("runAsNonRoot != true", f"{setters(pod_false, explicitly_bad)} "
                                                 "must not set securityContext.runAsNonRoot=false")
    if implicitly_bad:
        return forbidden("runAsNonRoot != true", f"pod or {_containers_phrase(implicitly_bad)} "
                                                 "must set securityContext.runAsNonRoot=true")
    return ALLOWED


def run_as_user_1_23(metadata: Json, spec: Json) -> CheckResult:
    pod_root = integer(security_context(spec), "runAsUser") == 0
    bad = [name_of(c) for c in containers(spec) if integer(security_context(c), "runAsUser") == 0]
    if not (pod_root or bad):
        return ALLOWED
    return forbidden("runAsUser=0", f"{setters(pod_root, bad)} must not set runAsUser=0")


def seccomp_profile_restricted_1_19(metadata: Json, spec: Json) -> CheckResult:
    bad_values: set[str] = set()
    pod_profile = pointer(security_context(spec), "seccompProfile")
    pod_bad = pod_profile is not None and text(pod_profile, "type") not in SECCOMP_TYPES
    if pod_bad and pod_profile is not None:
        bad_values.add(text(pod_profile, "type"))
    pod_set = pod_profile is not None and not pod_bad
    explicitly_bad: list[str] = []
    implicitly_bad: list[str] = []
    for container in containers(spec):
        profile = pointer(security_context(container), "seccompProfile")
        if profile is None:
            if not pod_set:
                implicitly_bad.append(name_of(container))
        elif text(profile, "type") not in SECCOMP_TYPES:
            explicitly_bad.append(name_of(container))
            bad_values.add(text(profile, "type"))
    if pod_bad or explicitly_bad:
        return forbidden("seccompProfile", f"{setters(pod_bad, explicitly_bad)} must not set "
                                           f"securityContext.seccompProfile.type to {join_quote(sorted(bad_values))}")
    if implicitly_bad:
        return forbidden("seccompProfile", f"pod or {_containers_phrase(implicitly_bad)} must set "
                                           'securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"')
    return ALLOWED
