"""The baseline Pod Security checks: the known privilege escalations, each in Kubernetes' words.

One function per check and policy version of k8s.io/pod-security-admission/policy (v1.32),
`(pod metadata, pod spec) -> CheckResult`, over raw JSON (pod_view reads it). Which version of a
check a policy version runs, and in which order, is the registry's business.
"""

from __future__ import annotations

from collections.abc import Callable

from minik8s.api.pod_security.pod_view import (
    Json,
    containers,
    go_quote,
    integer,
    is_true,
    join_quote,
    name_of,
    obj,
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

APPARMOR_ANNOTATION_PREFIX = "container.apparmor.security.beta.kubernetes.io/"
SECCOMP_POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod"
SECCOMP_CONTAINER_ANNOTATION_PREFIX = "container.seccomp.security.alpha.kubernetes.io/"
BASELINE_CAPABILITIES = frozenset({
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP",
    "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
})
SELINUX_TYPES_1_0 = frozenset({"", "container_t", "container_init_t", "container_kvm_t"})
SELINUX_TYPES_1_31 = SELINUX_TYPES_1_0 | {"container_engine_t"}
SYSCTLS_1_0 = frozenset({"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
                         "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start"})
SYSCTLS_1_27 = SYSCTLS_1_0 | {"net.ipv4.ip_local_reserved_ports"}
SYSCTLS_1_29 = SYSCTLS_1_27 | {"net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
                               "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes"}
SYSCTLS_1_32 = SYSCTLS_1_29 | {"net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"}
SECCOMP_TYPES = ("Localhost", "RuntimeDefault")


def _containers_where(spec: Json, bad: Callable[[Json], bool]) -> list[str]:
    return [name_of(container) for container in containers(spec) if bad(container)]


def _containers_phrase(names: list[str]) -> str:
    return f"{pluralize('container', 'containers', len(names))} {join_quote(names)}"


def _annotations(metadata: Json) -> dict[str, str]:
    return {key: value for key, value in obj(metadata.get("annotations")).items() if isinstance(value, str)}


def app_armor_profile_1_0(metadata: Json, spec: Json) -> CheckResult:
    bad_values: set[str] = set()

    def bad_profile(owner: Json) -> bool:
        profile = pointer(security_context(owner), "appArmorProfile")
        if profile is None or text(profile, "type") in ("RuntimeDefault", "Localhost"):
            return False
        bad_values.add(text(profile, "type"))
        return True

    who = ["pod"] if bad_profile(spec) else []
    bad_containers = _containers_where(spec, bad_profile)
    if bad_containers:
        who.append(_containers_phrase(bad_containers))
    annotations = sorted(f"{key}={go_quote(value)}" for key, value in _annotations(metadata).items()
                         if key.startswith(APPARMOR_ANNOTATION_PREFIX)
                         and not (value in ("", "runtime/default") or value.startswith("localhost/")))
    values = sorted(bad_values) + annotations
    if annotations:
        who.append(pluralize("annotation", "annotations", len(annotations)))
    if not who:
        return ALLOWED
    return forbidden(pluralize("forbidden AppArmor profile", "forbidden AppArmor profiles", len(values)),
                     f"{' and '.join(who)} must not set AppArmor profile type to {join_quote(values)}")


def capabilities_baseline_1_0(metadata: Json, spec: Json) -> CheckResult:
    added: set[str] = set()

    def adds_non_default(container: Json) -> bool:
        capabilities = pointer(security_context(container), "capabilities")
        extra = {cap for cap in strings((capabilities or {}).get("add")) if cap not in BASELINE_CAPABILITIES}
        added.update(extra)
        return bool(extra)

    bad = _containers_where(spec, adds_non_default)
    if not bad:
        return ALLOWED
    return forbidden("non-default capabilities", f"{_containers_phrase(bad)} must not include "
                                                 f"{join_quote(sorted(added))} in securityContext.capabilities.add")


def host_namespaces_1_0(metadata: Json, spec: Json) -> CheckResult:
    shared = [f"{field}=true" for field in ("hostNetwork", "hostPID", "hostIPC") if is_true(spec, field)]
    return forbidden("host namespaces", ", ".join(shared)) if shared else ALLOWED


def host_path_volumes_1_0(metadata: Json, spec: Json) -> CheckResult:
    names = [text(volume, "name") for volume in objects(spec.get("volumes")) if present(volume, "hostPath")]
    if not names:
        return ALLOWED
    return forbidden("hostPath volumes", f"{pluralize('volume', 'volumes', len(names))} {join_quote(names)}")


def host_ports_1_0(metadata: Json, spec: Json) -> CheckResult:
    ports: set[str] = set()

    def uses_host_port(container: Json) -> bool:
        used = {str(port) for item in objects(container.get("ports")) if (port := integer(item, "hostPort"))}
        ports.update(used)
        return bool(used)

    bad = _containers_where(spec, uses_host_port)
    if not bad:
        return ALLOWED
    return forbidden("hostPort", f"{_containers_phrase(bad)} {pluralize('uses', 'use', len(bad))} "
                                 f"{pluralize('hostPort', 'hostPorts', len(ports))} {', '.join(sorted(ports))}")


def privileged_1_0(metadata: Json, spec: Json) -> CheckResult:
    bad = _containers_where(spec, lambda container: is_true(security_context(container), "privileged"))
    if not bad:
        return ALLOWED
    return forbidden("privileged", f"{_containers_phrase(bad)} must not set securityContext.privileged=true")


def proc_mount_1_0(metadata: Json, spec: Json) -> CheckResult:
    kinds: set[str] = set()

    def unmasked(container: Json) -> bool:
        proc_mount = security_context(container).get("procMount")
        if not isinstance(proc_mount, str) or proc_mount == "Default":
            return False
        kinds.add(proc_mount)
        return True

    bad = _containers_where(spec, unmasked)
    if not bad:
        return ALLOWED
    return forbidden("procMount", f"{_containers_phrase(bad)} must not set securityContext.procMount to "
                                  f"{join_quote(sorted(kinds))}")


def _se_linux_options(spec: Json, allowed_types: frozenset[str]) -> CheckResult:
    bad_types: set[str] = set()
    found = {"user": False, "role": False}

    def invalid(owner: Json) -> bool:
        options = pointer(security_context(owner), "seLinuxOptions")
        if options is None:
            return False
        wrong = False
        if text(options, "type") not in allowed_types:
            bad_types.add(text(options, "type"))
            wrong = True
        for field in found:
            if text(options, field):
                found[field] = wrong = True
        return wrong

    pod_bad = invalid(spec)
    bad = _containers_where(spec, invalid)
    if not (pod_bad or bad):
        return ALLOWED
    problems = [f"{pluralize('type', 'types', len(bad_types))} {join_quote(sorted(bad_types))}"] if bad_types else []
    problems += [f"{field} may not be set" for field, was_set in found.items() if was_set]
    return forbidden("seLinuxOptions", f"{setters(pod_bad, bad)} set forbidden securityContext.seLinuxOptions: "
                                       f"{'; '.join(problems)}")


def se_linux_options_1_0(metadata: Json, spec: Json) -> CheckResult:
    return _se_linux_options(spec, SELINUX_TYPES_1_0)


def se_linux_options_1_31(metadata: Json, spec: Json) -> CheckResult:
    return _se_linux_options(spec, SELINUX_TYPES_1_31)


def seccomp_profile_baseline_1_0(metadata: Json, spec: Json) -> CheckResult:
    """Before v1.19 seccomp was set by annotations: only runtime/default, docker/default, localhost/*."""
    annotations = _annotations(metadata)
    keys = [SECCOMP_POD_ANNOTATION, *(SECCOMP_CONTAINER_ANNOTATION_PREFIX + name_of(c) for c in containers(spec))]
    bad = sorted({f"{key}={go_quote(annotations[key])}" for key in keys if key in annotations
                  and annotations[key] not in ("runtime/default", "docker/default")
                  and not annotations[key].startswith("localhost/")})
    if not bad:
        return ALLOWED
    return forbidden("seccompProfile", f"forbidden {pluralize('annotation', 'annotations', len(bad))} "
                                       f"{', '.join(bad)}")


def seccomp_profile_baseline_1_19(metadata: Json, spec: Json) -> CheckResult:
    bad_values: set[str] = set()

    def unconfined(owner: Json) -> bool:
        profile = pointer(security_context(owner), "seccompProfile")
        if profile is None or text(profile, "type") in SECCOMP_TYPES:
            return False
        bad_values.add(text(profile, "type"))
        return True

    pod_bad = unconfined(spec)
    bad = _containers_where(spec, unconfined)
    if not (pod_bad or bad):
        return ALLOWED
    return forbidden("seccompProfile", f"{setters(pod_bad, bad)} must not set securityContext.seccompProfile.type "
                                       f"to {join_quote(sorted(bad_values))}")


def _sysctls(spec: Json, allowed: frozenset[str]) -> CheckResult:
    names = [text(sysctl, "name") for sysctl in objects(security_context(spec).get("sysctls"))]
    bad = [name for name in names if name not in allowed]
    return forbidden("forbidden sysctls", ", ".join(bad)) if bad else ALLOWED


def sysctls_1_0(metadata: Json, spec: Json) -> CheckResult:
    return _sysctls(spec, SYSCTLS_1_0)


def sysctls_1_27(metadata: Json, spec: Json) -> CheckResult:
    return _sysctls(spec, SYSCTLS_1_27)


def sysctls_1_29(metadata: Json, spec: Json) -> CheckResult:
    return _sysctls(spec, SYSCTLS_1_29)


def sysctls_1_32(metadata: Json, spec: Json) -> CheckResult:
    return _sysctls(spec, SYSCTLS_1_32)


def windows_host_process_1_0(metadata: Json, spec: Json) -> CheckResult:
    def host_process(owner: Json) -> bool:
        return is_true(obj(security_context(owner).get("windowsOptions")), "hostProcess")

    pod_bad = host_process(spec)
    bad = _containers_where(spec, host_process)
    if not (pod_bad or bad):
        return ALLOWED
    return forbidden("hostProcess", f"{setters(pod_bad, bad)} must not set "
                                    "securityContext.windowsOptions.hostProcess=true")
