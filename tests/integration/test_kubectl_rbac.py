"""The real kubectl (v1.32) with RBAC: `create role|clusterrole|rolebinding|clusterrolebinding`, the tables,
`auth can-i` (with `--list`), and its line for a 403 — against an in-process apiserver in RBAC mode.

kubectl names its user with `--as NAME [--as-group G]`, which the test-only middleware reads as the user.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from minik8s.apiserver.app import create_app
from minik8s.store.base import LocalStore
from tests.support.ports import free_port
from tests.support.users import ADMIN, TEST_USER_HEADER, TestUserMiddleware
from tests.support.waiting import wait_for

Kubectl = Callable[..., subprocess.CompletedProcess[str]]
ADMIN_USER = ("--as", "admin", "--as-group", "system:masters")


class RbacApiserver:
    """An RBAC apiserver over a LocalStore on its own event loop thread, so tests may block on kubectl."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server: uvicorn.Server | None = None
        self.thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)

    async def _serve(self) -> None:
        app = create_app(LocalStore(history=100), advertise=("127.0.0.1", self.port), authorization_mode="RBAC")
        app.add_middleware(TestUserMiddleware)
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="on"))
        await self.server.serve()

    def start(self) -> None:
        self.thread.start()
        wait_for("the apiserver to start",
                 lambda: httpx.get(f"{self.url}/api/v1/namespaces/kube-node-lease", timeout=1,
                                   headers={TEST_USER_HEADER: ADMIN}).status_code == 200,
                 timeout=10, interval=0.02)

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="module")
def apiserver() -> Iterator[RbacApiserver]:
    server = RbacApiserver()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def kubectl(apiserver: RbacApiserver, tmp_path: Path) -> Kubectl:
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
