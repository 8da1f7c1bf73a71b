"""The real kubectl (v1.32) against Pod Security: the refusal it prints, and the warnings it prints.

The in-process apiserver runs as `minik8s up` starts it (`--pod-security-default baseline`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from minik8s.api.pod_security.admission import PodSecurityConfig
from minik8s.api.pod_security.levels import BASELINE, Policy
from tests.support.kubectl import Kubectl, kubectl_for
from tests.support.serving import ThreadedApiserver

ROOT_POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "root"}, "spec": {
    "volumes": [{"name": "root", "hostPath": {"path": "/"}}],
    "containers": [{"name": "c", "image": "busybox", "securityContext": {"privileged": True},
                    "volumeMounts": [{"name": "root", "mountPath": "/host"}]}]}}
ROOT_REFUSAL = ('violates PodSecurity "baseline:latest": hostPath volumes (volume "root"), '
                'privileged (container "c" must not set securityContext.privileged=true)')


@pytest.fixture(scope="module")
def apiserver() -> Iterator[ThreadedApiserver]:
    with ThreadedApiserver(pod_security=PodSecurityConfig(Policy.uniform(BASELINE))) as server:
        yield server


@pytest.fixture
def kubectl(apiserver: ThreadedApiserver, tmp_path: Path) -> Kubectl:
    return kubectl_for(apiserver.url, tmp_path / "cache")


def test_kubectl_prints_the_refusal_of_a_pod_mounting_the_hosts_root(kubectl: Kubectl, tmp_path: Path) -> None:
    manifest = tmp_path / "root.json"
    manifest.write_text(json.dumps(ROOT_POD))
    refused = kubectl("apply", "-f", str(manifest), check=False)
    assert refused.returncode == 1
    assert refused.stderr.strip() == (f'Error from server (Forbidden): error when creating "{manifest}": '
                                      f'pods "root" is forbidden: {ROOT_REFUSAL}')


def test_kubectl_prints_the_warnings_of_a_stricter_warn_level(kubectl: Kubectl) -> None:
    kubectl("create", "namespace", "team")
    labelled = kubectl("label", "namespace", "team", "pod-security.kubernetes.io/warn=restricted")
    assert labelled.stderr == ""
    run = kubectl("run", "web", "--image=nginx", "-n", "team")
    assert run.stdout.strip() == "pod/web created"
    assert run.stderr.strip() == (
        'Warning: would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "web" '
        'must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "web" must '
        'set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "web" must set '
        'securityContext.runAsNonRoot=true), seccompProfile (pod or container "web" must set '
        'securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")')
    tightened = kubectl("label", "namespace", "team", "pod-security.kubernetes.io/enforce=restricted")
    assert tightened.stderr.splitlines() == [
        'Warning: existing pods in namespace "team" violate the new PodSecurity enforce level "restricted:latest"',
        "Warning: web: allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, "
        "seccompProfile"]
