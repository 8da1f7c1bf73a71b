"""Pod fields the node agent cannot honour are refused in Kubernetes' words, never silently dropped."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from minik8s.api.defaults import apply_defaults
from minik8s.api.pod_unsupported import SUPPORTED_VOLUME_SOURCES, UNSUPPORTED, unsupported_fields
from minik8s.api.validation import validate
from minik8s.node.volumes import SUPPORTED_VOLUME_TYPES


def pod(**spec: Any) -> dict[str, Any]:
    body = {"metadata": {"name": "p", "namespace": "default"},
            "spec": {"containers": [{"name": "c", "image": "nginx"}], **spec}}
    apply_defaults("Pod", body)
    return body


def in_container(**fields: Any) -> dict[str, Any]:
    return pod(containers=[{"name": "c", "image": "nginx", **fields}])


def problems(body: dict[str, Any], kind: str = "Pod", old: dict[str, Any] | None = None) -> list[str]:
    return [str(error) for error in validate(kind, body, old=old)]


NOT_MINIK8S = "not supported by minik8s"
REFUSED = [
    (pod(hostUsers=False), 'spec.hostUsers: Unsupported value: false: not supported by minik8s: its node agent runs '
                           "no pod in a user namespace"),
    (pod(runtimeClassName="gvisor"), 'spec.runtimeClassName: Unsupported value: "gvisor": '),
    (pod(os={"name": "windows"}), 'spec.os.name: Unsupported value: "windows": supported values: "linux"'),
    (pod(ephemeralContainers=[{"name": "debug", "image": "busybox"}]), "spec.ephemeralContainers: Unsupported value:"),
    (pod(setHostnameAsFQDN=True), "spec.setHostnameAsFQDN: Unsupported value: true: "),
    (pod(resourceClaims=[{"name": "gpu"}]), "spec.resourceClaims: Unsupported value: "),
    (pod(securityContext={"seLinuxOptions": {"type": "spc_t"}}),
     'spec.securityContext.seLinuxOptions: Unsupported value: {"type":"spc_t"}: not supported by minik8s: its node '
     "agent applies no SELinux labels"),
    (pod(securityContext={"windowsOptions": {"runAsUserName": "admin"}}),
     "spec.securityContext.windowsOptions: Unsupported value: "),
    (pod(securityContext={"sysctls": [{"name": "net.ipv4.tcp_syncookies", "value": "1"}]}),
     "spec.securityContext.sysctls: Unsupported value: "),
    (pod(securityContext={"appArmorProfile": {"type": "Localhost", "localhostProfile": "p"}}),
     'spec.securityContext.appArmorProfile.type: Unsupported value: "Localhost": supported values: "RuntimeDefault", '
     '"Unconfined"'),
    (pod(securityContext={"supplementalGroupsPolicy": "Strict"}),
     'spec.securityContext.supplementalGroupsPolicy: Unsupported value: "Strict": supported values: "Merge"'),
    (in_container(lifecycle={"preStop": {"exec": {"command": ["sleep", "5"]}}}),
     'spec.containers[0].lifecycle.preStop: Unsupported value: {"exec":{"command":["sleep","5"]}}: not supported '
     "by minik8s: its node agent runs no lifecycle hooks"),
    (in_container(lifecycle={"postStart": {"exec": {"command": ["true"]}}}),
     "spec.containers[0].lifecycle.postStart: Unsupported value: "),
    (pod(initContainers=[{"name": "proxy", "image": "envoy", "restartPolicy": "Always"}]),
     'spec.initContainers[0].restartPolicy: Unsupported value: "Always": not supported by minik8s: it has no '
     "sidecar containers"),
    (in_container(volumeDevices=[{"name": "disk", "devicePath": "/dev/xvda"}]),
     "spec.containers[0].volumeDevices: Unsupported value: "),
    (in_container(resources={"claims": [{"name": "gpu"}]}), "spec.containers[0].resources.claims: Unsupported value: "),
    (in_container(livenessProbe={"grpc": {"port": 9000}}), "spec.containers[0].livenessProbe.grpc: Unsupported value:"),
    (in_container(readinessProbe={"grpc": {"port": 9000}}), "spec.containers[0].readinessProbe.grpc: Unsupported"),
    (in_container(startupProbe={"grpc": {"port": 9000}}), "spec.containers[0].startupProbe.grpc: Unsupported value:"),
    (in_container(securityContext={"seLinuxOptions": {"level": "s0:c1"}}),
     "spec.containers[0].securityContext.seLinuxOptions: Unsupported value: "),
    (in_container(securityContext={"windowsOptions": {"hostProcess": True}}),
     "spec.containers[0].securityContext.windowsOptions: Unsupported value: "),
    (in_container(securityContext={"procMount": "Unmasked"}),
     'spec.containers[0].securityContext.procMount: Unsupported value: "Unmasked": supported values: "Default"'),
    (in_container(securityContext={"appArmorProfile": {"type": "Localhost", "localhostProfile": "p"}}),
     'spec.containers[0].securityContext.appArmorProfile.type: Unsupported value: "Localhost": '),
    (pod(volumes=[{"name": "host", "hostPath": {"path": "/srv"}}],
         containers=[{"name": "c", "image": "nginx", "volumeMounts": [
             {"name": "host", "mountPath": "/srv", "mountPropagation": "Bidirectional"}]}]),
     'spec.containers[0].volumeMounts[0].mountPropagation: Unsupported value: "Bidirectional": supported values: '
     '"None"'),
    (pod(volumes=[{"name": "host", "hostPath": {"path": "/srv"}}],
         containers=[{"name": "c", "image": "nginx", "volumeMounts": [
             {"name": "host", "mountPath": "/srv", "readOnly": True, "recursiveReadOnly": "Enabled"}]}]),
     'spec.containers[0].volumeMounts[0].recursiveReadOnly: Unsupported value: "Enabled": '),
    (pod(volumes=[{"name": "data", "gcePersistentDisk": {"pdName": "data"}}]),
     'spec.volumes[0]: Unsupported value: "gcePersistentDisk": supported values: "configMap", "downwardAPI", '
     '"emptyDir", "hostPath", "persistentVolumeClaim", "projected", "secret"'),
    (pod(volumes=[{"name": "data", "nfs": {"server": "nas", "path": "/"}}]), 'spec.volumes[0]: Unsupported value: "nfs"'),
]


@pytest.mark.parametrize(("body", "message"), REFUSED, ids=[message.split(":")[0] for _, message in REFUSED])
def test_each_unsupported_field_is_refused_naming_the_field(body: dict[str, Any], message: str) -> None:
    [problem] = problems(body)
    assert problem.startswith(message)
    assert NOT_MINIK8S in problem or "supported values" in problem


def test_every_row_of_the_table_is_tried() -> None:
    refused_fields = [message.split(":")[0] for _, message in REFUSED]
    for row in UNSUPPORTED:
        assert any(field.endswith(f".{row.field}") and ("securityContext" in field) == ("securityContext" in row.scope)
                   for field in refused_fields), row


@pytest.mark.parametrize("body", [
    pod(hostUsers=True, shareProcessNamespace=True, setHostnameAsFQDN=False, os={"name": "linux"}),
    pod(securityContext={"seccompProfile": {"type": "RuntimeDefault"}, "appArmorProfile": {"type": "RuntimeDefault"},
                         "supplementalGroupsPolicy": "Merge", "runAsUser": 1000, "runAsNonRoot": True,
                         "fsGroup": 2000, "supplementalGroups": [3000], "sysctls": []}),
    in_container(securityContext={"procMount": "Default", "seccompProfile": {"type": "Unconfined"},
                                  "privileged": False, "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                  "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}}),
    in_container(livenessProbe={"exec": {"command": ["true"]}}, lifecycle={}),
    pod(volumes=[{"name": n, source: {}} for n, source in zip("abcd", ("emptyDir", "projected", "downwardAPI",
                                                                      "configMap"), strict=True)]),
])
def test_what_the_node_agent_honours_is_accepted(body: dict[str, Any]) -> None:
    assert [p for p in problems(body) if "Unsupported" in p] == []


def test_a_workload_template_is_refused_too() -> None:
    template = {"metadata": {"labels": {"app": "w"}},
                "spec": {"containers": [{"name": "c", "image": "nginx", "securityContext": {"procMount": "Unmasked"}}]}}
    deployment = {"metadata": {"name": "w", "namespace": "default"},
                  "spec": {"selector": {"matchLabels": {"app": "w"}}, "template": template}}
    apply_defaults("Deployment", deployment)
    assert problems(deployment, "Deployment") == [
        'spec.template.spec.containers[0].securityContext.procMount: Unsupported value: "Unmasked": '
        'supported values: "Default"']


def test_an_object_stored_with_an_unsupported_field_can_still_be_updated() -> None:
    """Objects stored before a field was refused keep working: only what an update adds is refused."""
    stored = pod(securityContext={"sysctls": [{"name": "kernel.msgmax", "value": "1"}]})
    relabelled = copy.deepcopy(stored)
    relabelled["metadata"]["labels"] = {"a": "b"}
    assert unsupported_fields("Pod", relabelled, stored) == []
    grown = copy.deepcopy(stored)
    grown["spec"]["securityContext"]["sysctls"].append({"name": "kernel.shmmax", "value": "1"})
    assert [error.field for error in unsupported_fields("Pod", grown, stored)] == ["spec.securityContext.sysctls"]


def test_the_table_knows_the_node_agents_volume_types() -> None:
    assert sorted(SUPPORTED_VOLUME_SOURCES) == sorted(SUPPORTED_VOLUME_TYPES)


@pytest.mark.parametrize("spec", [[], "x", {"containers": [None, {"securityContext": "x", "volumeMounts": 5}]},
                                  {"securityContext": {"seccompProfile": "x"}}, {"volumes": [{"name": "v"}]}])
def test_malformed_specs_yield_no_unsupported_errors_of_their_own(spec: Any) -> None:
    assert unsupported_fields("Pod", {"spec": spec}) == []
