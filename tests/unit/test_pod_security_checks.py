"""The Pod Security Standards, check by check: each standard by each check, pods it allows and refuses.

Every expected message is Kubernetes' (k8s.io/pod-security-admission/policy, v1.32, its own tests):
a user reading a refusal from minik8s reads what a real cluster would print.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from minik8s.api.pod_security.levels import BASELINE, PRIVILEGED, RESTRICTED, LevelVersion, Version, v1
from minik8s.api.pod_security.registry import CHECKS, NEWEST, evaluate

Pod = dict[str, Any]


def restricted_pod() -> Pod:
    """A pod every level allows: the restricted profile's hardening, one container `c`."""
    return {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "nginx", "securityContext": {
        "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"}}}]}}


def detail(level: str, pod: Pod, version: Version | None = None) -> str:
    """The text after `violates PodSecurity "level:version": ` ("" when allowed)."""
    lv = LevelVersion(level) if version is None else LevelVersion(level, version)
    return evaluate(lv, pod["metadata"], pod["spec"]).forbidden_detail()


def container(pod: Pod) -> dict[str, Any]:
    c: dict[str, Any] = pod["spec"]["containers"][0]
    return c


def on_container(**fields: Any) -> Callable[[Pod], None]:
    return lambda pod: container(pod).update(fields)


def on_container_security(**fields: Any) -> Callable[[Pod], None]:
    return lambda pod: container(pod)["securityContext"].update(fields)


def on_pod_security(**fields: Any) -> Callable[[Pod], None]:
    return lambda pod: pod["spec"].setdefault("securityContext", {}).update(fields)


def on_spec(**fields: Any) -> Callable[[Pod], None]:
    return lambda pod: pod["spec"].update(fields)


def without_container_security(*fields: str) -> Callable[[Pod], None]:
    def change(pod: Pod) -> None:
        for field in fields:
            container(pod)["securityContext"].pop(field)

    return change


def both(*changes: Callable[[Pod], None]) -> Callable[[Pod], None]:
    def change(pod: Pod) -> None:
        for one in changes:
            one(pod)

    return change


def annotated(**annotations: str) -> Callable[[Pod], None]:
    return lambda pod: pod["metadata"].setdefault("annotations", {}).update(annotations)


# (what, change to the restricted pod, baseline's detail, restricted's detail); "" means allowed.
CASES: list[tuple[str, Callable[[Pod], None], str, str]] = [
    # hostNamespaces (baseline)
    ("host network", on_spec(hostNetwork=True), "host namespaces (hostNetwork=true)", "host namespaces (hostNetwork=true)"),
    ("all host namespaces", on_spec(hostNetwork=True, hostPID=True, hostIPC=True),
     "host namespaces (hostNetwork=true, hostPID=true, hostIPC=true)",
     "host namespaces (hostNetwork=true, hostPID=true, hostIPC=true)"),
    ("host namespaces off", on_spec(hostNetwork=False, hostPID=False, hostIPC=False), "", ""),
    # privileged (baseline)
    ("privileged", on_container_security(privileged=True),
     'privileged (container "c" must not set securityContext.privileged=true)',
     'privileged (container "c" must not set securityContext.privileged=true)'),
    ("not privileged", on_container_security(privileged=False), "", ""),
    # capabilities_baseline, overridden by capabilities_restricted
    ("NET_RAW added", on_container_security(capabilities={"drop": ["ALL"], "add": ["NET_RAW"]}),
     'non-default capabilities (container "c" must not include "NET_RAW" in securityContext.capabilities.add)',
     'unrestricted capabilities (container "c" must not include "NET_RAW" in securityContext.capabilities.add)'),
    ("a default capability added", on_container_security(capabilities={"drop": ["ALL"], "add": ["CHOWN"]}), "",
     'unrestricted capabilities (container "c" must not include "CHOWN" in securityContext.capabilities.add)'),
    ("NET_BIND_SERVICE added", on_container_security(capabilities={"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}),
     "", ""),
    # capabilities_restricted
    ("nothing dropped", on_container_security(capabilities={}), "",
     'unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"])'),
    ("no capabilities", without_container_security("capabilities"), "",
     'unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"])'),
    # hostPathVolumes, overridden by restrictedVolumes
    ("hostPath", on_spec(volumes=[{"name": "root", "hostPath": {"path": "/"}}]),
     'hostPath volumes (volume "root")',
     'restricted volume types (volume "root" uses restricted volume type "hostPath")'),
    # restrictedVolumes
    ("nfs", on_spec(volumes=[{"name": "n", "nfs": {"server": "s", "path": "/"}}]), "",
     'restricted volume types (volume "n" uses restricted volume type "nfs")'),
    ("core volumes", on_spec(volumes=[{"name": "a", "emptyDir": {}}, {"name": "b", "configMap": {"name": "x"}},
                                      {"name": "c", "secret": {"secretName": "x"}}, {"name": "d", "projected": {}},
                                      {"name": "e", "downwardAPI": {}},
                                      {"name": "f", "persistentVolumeClaim": {"claimName": "x"}}]), "", ""),
    # hostPorts (baseline)
    ("hostPort", on_container(ports=[{"containerPort": 80, "hostPort": 8080}]),
     'hostPort (container "c" uses hostPort 8080)', 'hostPort (container "c" uses hostPort 8080)'),
    ("container port only", on_container(ports=[{"containerPort": 80}]), "", ""),
    # appArmorProfile (baseline)
    ("AppArmor unconfined", on_container_security(appArmorProfile={"type": "Unconfined"}),
     'forbidden AppArmor profile (container "c" must not set AppArmor profile type to "Unconfined")',
     'forbidden AppArmor profile (container "c" must not set AppArmor profile type to "Unconfined")'),
    ("AppArmor on the pod", on_pod_security(appArmorProfile={"type": "Unconfined"}),
     'forbidden AppArmor profile (pod must not set AppArmor profile type to "Unconfined")',
     'forbidden AppArmor profile (pod must not set AppArmor profile type to "Unconfined")'),
    ("AppArmor annotation", annotated(**{"container.apparmor.security.beta.kubernetes.io/c": "unconfined"}),
     'forbidden AppArmor profile (annotation must not set AppArmor profile type to '
     '"container.apparmor.security.beta.kubernetes.io/c="unconfined"")',
     'forbidden AppArmor profile (annotation must not set AppArmor profile type to '
     '"container.apparmor.security.beta.kubernetes.io/c="unconfined"")'),
    ("AppArmor localhost", on_container_security(appArmorProfile={"type": "Localhost"}), "", ""),
    # procMount (baseline)
    ("proc unmasked", on_container_security(procMount="Unmasked"),
     'procMount (container "c" must not set securityContext.procMount to "Unmasked")',
     'procMount (container "c" must not set securityContext.procMount to "Unmasked")'),
    ("proc default", on_container_security(procMount="Default"), "", ""),
    # seLinuxOptions (baseline)
    ("SELinux type", on_container_security(seLinuxOptions={"type": "spc_t"}),
     'seLinuxOptions (container "c" set forbidden securityContext.seLinuxOptions: type "spc_t")',
     'seLinuxOptions (container "c" set forbidden securityContext.seLinuxOptions: type "spc_t")'),
    ("SELinux user and role", on_pod_security(seLinuxOptions={"user": "u", "role": "r"}),
     "seLinuxOptions (pod set forbidden securityContext.seLinuxOptions: user may not be set; role may not be set)",
     "seLinuxOptions (pod set forbidden securityContext.seLinuxOptions: user may not be set; role may not be set)"),
    ("SELinux container types", on_container_security(seLinuxOptions={"type": "container_engine_t", "level": "s0"}),
     "", ""),
    # seccompProfile_baseline, overridden by seccompProfile_restricted
    ("seccomp unconfined", on_pod_security(seccompProfile={"type": "Unconfined"}),
     'seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")',
     'seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")'),
    ("seccomp localhost", on_container_security(seccompProfile={"type": "Localhost", "localhostProfile": "p.json"}),
     "", ""),
    # seccompProfile_restricted
    ("no seccomp profile", without_container_security("seccompProfile"), "",
     'seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or '
     '"Localhost")'),
    ("seccomp on the pod only", both(without_container_security("seccompProfile"),
                                     on_pod_security(seccompProfile={"type": "RuntimeDefault"})), "", ""),
    # sysctls (baseline)
    ("unsafe sysctl", on_pod_security(sysctls=[{"name": "kernel.msgmax", "value": "1"},
                                               {"name": "net.ipv4.tcp_syncookies", "value": "1"}]),
     "forbidden sysctls (kernel.msgmax)", "forbidden sysctls (kernel.msgmax)"),
    ("safe sysctls", on_pod_security(sysctls=[{"name": "net.ipv4.ip_local_port_range", "value": "1024 65535"},
                                              {"name": "net.ipv4.tcp_rmem", "value": "4096 87380 6291456"}]), "", ""),
    # windowsHostProcess (baseline)
    ("host process", on_pod_security(windowsOptions={"hostProcess": True}),
     "hostProcess (pod must not set securityContext.windowsOptions.hostProcess=true)",
     "hostProcess (pod must not set securityContext.windowsOptions.hostProcess=true)"),
    # allowPrivilegeEscalation (restricted)
    ("escalation allowed", on_container_security(allowPrivilegeEscalation=True), "",
     'allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false)'),
    ("escalation unset", without_container_security("allowPrivilegeEscalation"), "",
     'allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false)'),
    # runAsNonRoot (restricted)
    ("runAsNonRoot false", on_container_security(runAsNonRoot=False), "",
     'runAsNonRoot != true (container "c" must not set securityContext.runAsNonRoot=false)'),
    ("runAsNonRoot unset", without_container_security("runAsNonRoot"), "",
     'runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true)'),
    ("runAsNonRoot on the pod", both(without_container_security("runAsNonRoot"), on_pod_security(runAsNonRoot=True)),
     "", ""),
    # runAsUser (restricted)
    ("root user", on_pod_security(runAsUser=0), "", "runAsUser=0 (pod must not set runAsUser=0)"),
    ("non-root user", on_container_security(runAsUser=1000), "", ""),
]


@pytest.mark.parametrize(("what", "change", "baseline", "restricted"), CASES, ids=[case[0] for case in CASES])
def test_each_level_allows_or_refuses_each_pod_shape(what: str, change: Callable[[Pod], None], baseline: str,
                                                     restricted: str) -> None:
    pod = restricted_pod()
    change(pod)
    assert detail(PRIVILEGED, pod) == ""
    assert detail(BASELINE, pod) == baseline
    assert detail(RESTRICTED, pod) == restricted


def test_every_check_is_exercised_by_the_table() -> None:
    """Each of the 17 checks refuses at least one pod of the table at the newest version."""
    refused_by: set[str] = set()
    for _, change, _, _ in CASES:
        pod = restricted_pod()
        change(pod)
        for check in CHECKS:
            implementation = check.at(NEWEST)
            assert implementation is not None
            if not implementation(pod["metadata"], pod["spec"]).allowed:
                refused_by.add(check.id)
    assert refused_by == {check.id for check in CHECKS}


def test_the_messages_of_several_checks_come_in_kubernetes_order() -> None:
    pod = {"metadata": {"name": "x"}, "spec": {
        "volumes": [{"name": "root", "hostPath": {"path": "/"}}],
        "containers": [{"name": "c", "image": "busybox", "securityContext": {"privileged": True},
                        "volumeMounts": [{"name": "root", "mountPath": "/host"}]}]}}
    assert detail(BASELINE, pod) == ('hostPath volumes (volume "root"), '
                                     'privileged (container "c" must not set securityContext.privileged=true)')
    plain = {"metadata": {"name": "web"}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
    assert detail(BASELINE, plain) == ""
    assert detail(RESTRICTED, plain) == (
        'allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), '
        'unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), '
        'runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), '
        'seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or '
        '"Localhost")')


def test_every_container_is_checked_and_named_in_the_plural() -> None:
    pod = restricted_pod()
    pod["spec"]["initContainers"] = [{"name": "init", "image": "busybox", "securityContext": {"privileged": True}}]
    pod["spec"]["containers"].append({"name": "side", "image": "busybox", "securityContext": {"privileged": True},
                                      "ports": [{"containerPort": 1, "hostPort": 9090}, {"containerPort": 2,
                                                                                          "hostPort": 10000}]})
    container(pod)["ports"] = [{"containerPort": 3, "hostPort": 9090}]
    assert detail(BASELINE, pod) == (
        'hostPort (containers "c", "side" use hostPorts 10000, 9090), '
        'privileged (containers "init", "side" must not set securityContext.privileged=true)')


@pytest.mark.parametrize(("version", "pod_change", "level", "expected"), [
    # seccomp: annotations until v1.19, the field since
    (v1(18), on_pod_security(seccompProfile={"type": "Unconfined"}), BASELINE, ""),
    (v1(18), annotated(**{"seccomp.security.alpha.kubernetes.io/pod": "unconfined"}), BASELINE,
     'seccompProfile (forbidden annotation seccomp.security.alpha.kubernetes.io/pod="unconfined")'),
    (v1(19), annotated(**{"seccomp.security.alpha.kubernetes.io/pod": "unconfined"}), BASELINE, ""),
    # runAsUser=0 is refused from v1.23
    (v1(22), on_pod_security(runAsUser=0), RESTRICTED, ""),
    (v1(23), on_pod_security(runAsUser=0), RESTRICTED, "runAsUser=0 (pod must not set runAsUser=0)"),
    # before v1.22 restricted keeps the baseline capability list instead of requiring drop ALL
    (v1(21), on_container_security(capabilities={"add": ["NET_RAW"]}), RESTRICTED,
     'non-default capabilities (container "c" must not include "NET_RAW" in securityContext.capabilities.add)'),
    (v1(7), on_container_security(allowPrivilegeEscalation=True), RESTRICTED, ""),
    # the safe sysctls grew in v1.27, v1.29 and v1.32
    (v1(26), on_pod_security(sysctls=[{"name": "net.ipv4.ip_local_reserved_ports"}]), BASELINE,
     "forbidden sysctls (net.ipv4.ip_local_reserved_ports)"),
    (v1(27), on_pod_security(sysctls=[{"name": "net.ipv4.ip_local_reserved_ports"}]), BASELINE, ""),
    (v1(28), on_pod_security(sysctls=[{"name": "net.ipv4.tcp_keepalive_time"}]), BASELINE,
     "forbidden sysctls (net.ipv4.tcp_keepalive_time)"),
    (v1(29), on_pod_security(sysctls=[{"name": "net.ipv4.tcp_keepalive_time"}]), BASELINE, ""),
    (v1(31), on_pod_security(sysctls=[{"name": "net.ipv4.tcp_wmem"}]), BASELINE,
     "forbidden sysctls (net.ipv4.tcp_wmem)"),
    (v1(32), on_pod_security(sysctls=[{"name": "net.ipv4.tcp_wmem"}]), BASELINE, ""),
    # container_engine_t from v1.31
    (v1(30), on_container_security(seLinuxOptions={"type": "container_engine_t"}), BASELINE,
     'seLinuxOptions (container "c" set forbidden securityContext.seLinuxOptions: type "container_engine_t")'),
    (v1(31), on_container_security(seLinuxOptions={"type": "container_engine_t"}), BASELINE, ""),
    # a version newer than any check knows runs the newest checks
    (v1(99), on_pod_security(sysctls=[{"name": "kernel.msgmax"}]), BASELINE, "forbidden sysctls (kernel.msgmax)"),
])
def test_a_policy_version_runs_the_checks_as_they_were_then(version: Version, pod_change: Callable[[Pod], None],
                                                           level: str, expected: str) -> None:
    pod = restricted_pod()
    if level == RESTRICTED and version.older_than(v1(22)):
        container(pod)["securityContext"].pop("capabilities")
    pod_change(pod)
    assert detail(level, pod, version) == expected


@pytest.mark.parametrize("spec", [
    [], {"containers": "c"}, {"containers": [None, 5, {"securityContext": "x"}]}, {"securityContext": []},
    {"volumes": {"a": 1}}, {"containers": [{"name": "c", "ports": [{"hostPort": "80"}, {"hostPort": True}]}]},
    {"containers": [{"name": "c", "securityContext": {"capabilities": {"add": "NET_RAW"}, "privileged": "true"}}]},
])
def test_malformed_specs_are_evaluated_without_failing(spec: Any) -> None:
    """Admission runs before validation: whatever a field holds, the checks answer (validation refuses it later)."""
    pod = {"metadata": {"name": "p", "annotations": [1]}, "spec": copy.deepcopy(spec)}
    for level in (BASELINE, RESTRICTED):
        evaluate(LevelVersion(level), pod["metadata"], pod["spec"] if isinstance(pod["spec"], dict) else {})
