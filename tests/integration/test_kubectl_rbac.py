"""The real kubectl (v1.32) with RBAC: `create role|clusterrole|rolebinding|clusterrolebinding`, the tables,
`auth can-i` (with `--list`), and its line for a 403 — against an in-process apiserver in RBAC mode.

kubectl names its user with `--as NAME [--as-group G]`, which the test-only middleware reads as the user.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.serving import ThreadedApiserver

Kubectl = Callable[..., subprocess.CompletedProcess[str]]
ADMIN_USER = ("--as", "admin", "--as-group", "system:masters")


@pytest.fixture(scope="module")
def apiserver() -> Iterator[ThreadedApiserver]:
    with ThreadedApiserver(authorization_mode="RBAC") as server:
        yield server


@pytest.fixture
def kubectl(apiserver: ThreadedApiserver, tmp_path: Path) -> Kubectl:
    binary = shutil.which("kubectl")
    assert binary, "kubectl v1.32 is expected on this machine"

    def run(*args: str, user: str = "", check: bool = True) -> subprocess.CompletedProcess[str]:
        identity = ("--as", user) if user else ADMIN_USER
        argv = [binary, "--server", apiserver.url, *identity, "--cache-dir", str(tmp_path / "cache"), *args]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        if check:
            assert result.returncode == 0, f"kubectl {' '.join(args)} failed: {result.stderr}"
        return result

    return run


def test_create_rbac_objects_and_list_them(kubectl: Kubectl) -> None:
    assert kubectl("create", "role", "pod-reader", "--verb=get,list", "--resource=pods,pods/log").stdout.strip() \
        == "role.rbac.authorization.k8s.io/pod-reader created"
    assert kubectl("create", "clusterrole", "log-reader", "--verb=get", "--non-resource-url=/logs/*").stdout.strip() \
        == "clusterrole.rbac.authorization.k8s.io/log-reader created"
    assert kubectl("create", "rolebinding", "alice-reads", "--role=pod-reader", "--user=alice",
                   "--serviceaccount=default:robot").stdout.strip() \
        == "rolebinding.rbac.authorization.k8s.io/alice-reads created"
    assert kubectl("create", "clusterrolebinding", "devs-view", "--clusterrole=view", "--group=devs").stdout.strip() \
        == "clusterrolebinding.rbac.authorization.k8s.io/devs-view created"
    wide = kubectl("get", "rolebindings", "-o", "wide").stdout.splitlines()
    assert wide[0].split() == ["NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"]
    assert wide[1].split()[:2] == ["alice-reads", "Role/pod-reader"] and wide[1].split()[-2:] == ["alice",
                                                                                                  "default/robot"]
    roles = kubectl("get", "roles").stdout.splitlines()
    assert roles[0].split() == ["NAME", "CREATED", "AT"] and roles[1].startswith("pod-reader")


def test_auth_can_i_and_the_403_line(kubectl: Kubectl) -> None:
    kubectl("create", "rolebinding", "bob-view", "--clusterrole=view", "--user=bob")
    assert kubectl("auth", "can-i", "list", "pods", user="bob").stdout.strip() == "yes"
    denied = kubectl("auth", "can-i", "create", "pods", user="bob", check=False)
    assert (denied.returncode, denied.stdout.strip()) == (1, "no")
    listed = kubectl("auth", "can-i", "--list", user="bob").stdout
    assert "selfsubjectaccessreviews.authorization.k8s.io" in listed and "pods" in listed
    refused = kubectl("create", "configmap", "c", user="bob", check=False)
    assert refused.returncode == 1
    assert refused.stderr.strip() == ('error: failed to create configmap: configmaps is forbidden: User "bob" cannot '
                                      'create resource "configmaps" in API group "" in the namespace "default"')
    secrets = kubectl("get", "secrets", user="bob", check=False)
    assert secrets.stderr.strip() == ('Error from server (Forbidden): secrets is forbidden: User "bob" cannot list '
                                      'resource "secrets" in API group "" in the namespace "default"')
