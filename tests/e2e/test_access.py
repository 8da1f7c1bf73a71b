"""Who may do what, end to end over TLS: the real kubectl as the admin, as a `view` user and with a
ServiceAccount token; anonymous requests; the attacks of an open cluster, refused.

The cluster is `minik8s up`'s: HTTPS with the cluster CA, client certificates, Node,RBAC.
"""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from minik8s.client.kubeconfig import load_kubeconfig
from tests.e2e.conftest import Cluster

FORBIDDEN_CREATE = ('error: failed to create configmap: configmaps is forbidden: User "alice" cannot create resource '
                    '"configmaps" in API group "" in the namespace "{namespace}"')


def _ca_only(cluster: Cluster) -> ssl.SSLContext:
    """TLS that trusts the cluster CA and presents no client certificate: a stranger, or a bearer token."""
    return ssl.create_default_context(cadata=load_kubeconfig(cluster.home / "kubeconfig").certificate_authority_data)


@dataclass(frozen=True)
class Person:
    """A user with a kubeconfig minted by `minik8s kubeconfig`, and kubectl run with it."""

    name: str
    kubeconfig: Path
    cache: Path

    def kubectl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["kubectl", "--kubeconfig", str(self.kubeconfig), "--cache-dir", str(self.cache),
                               *args], capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def viewer(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Person, str]]:
    """alice, bound to `view` in a namespace of her own (and nothing else)."""
    folder = tmp_path_factory.mktemp("alice")
    cluster.cli("kubeconfig", "--user", "alice", "--group", "viewers", "--output", str(folder / "kubeconfig"))
    with cluster.namespace("access-view") as namespace:
        cluster.kubectl("create", "rolebinding", "alice-view", "--clusterrole", "view", "--user", "alice",
                        "-n", namespace)
        # A pod that never starts (no node matches): enough to be asked for exec.
        cluster.create_pod({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "idle"}, "spec": {
            "nodeSelector": {"no-such": "node"}, "containers": [{"name": "main", "image": "minik8s/busybox"}]}},
            namespace=namespace)
        yield Person("alice", folder / "kubeconfig", folder / "cache"), namespace


def test_a_view_user_reads_but_cannot_write_or_exec(cluster: Cluster, viewer: tuple[Person, str]) -> None:
    alice, namespace = viewer
    assert alice.kubectl("auth", "whoami", "-o", "jsonpath={.status.userInfo.username}").stdout == "alice"
    listed = alice.kubectl("get", "pods", "-n", namespace)
    assert listed.returncode == 0 and "idle" in listed.stdout
    refused = alice.kubectl("create", "configmap", "nope", "-n", namespace)
    assert refused.returncode == 1 and refused.stderr.strip() == FORBIDDEN_CREATE.format(namespace=namespace)
    elsewhere = alice.kubectl("get", "secrets", "-n", "kube-system")
    assert elsewhere.returncode == 1 and ('User "alice" cannot list resource "secrets" in API group "" in the '
                                          'namespace "kube-system"') in elsewhere.stderr
    exec_refused = alice.kubectl("exec", "-n", namespace, "idle", "--", "true")
    assert exec_refused.returncode == 1
    assert exec_refused.stderr.strip() == (f'Error from server (Forbidden): pods "idle" is forbidden: User "alice" '
                                           f'cannot create resource "pods/exec" in API group "" in the namespace '
                                           f'"{namespace}"')


def test_can_i_and_impersonation(cluster: Cluster, viewer: tuple[Person, str]) -> None:
    alice, namespace = viewer
    assert alice.kubectl("auth", "can-i", "list", "pods", "-n", namespace).stdout.strip() == "yes"
    assert alice.kubectl("auth", "can-i", "create", "pods", "-n", namespace).stdout.strip() == "no"
    rules = alice.kubectl("auth", "can-i", "--list", "-n", namespace).stdout
    assert "selfsubjectaccessreviews.authorization.k8s.io" in rules and "pods " in rules
    as_alice = cluster.kubectl("auth", "can-i", "delete", "pods", "-n", namespace, "--as", "alice", check=False)
    assert as_alice.stdout.strip() == "no"
    assert cluster.kubectl("get", "pods", "-n", namespace, "--as", "alice").returncode == 0
    impersonating = alice.kubectl("get", "pods", "-n", namespace, "--as", "kubernetes-admin")
    assert impersonating.returncode == 1 and 'cannot impersonate resource "users"' in impersonating.stderr
    whoami = cluster.kubectl("auth", "whoami", "-o", "jsonpath={.status.userInfo.groups}").stdout
    assert "system:masters" in whoami


def test_a_service_account_token_from_kubectl_create_token(cluster: Cluster, viewer: tuple[Person, str]) -> None:
    _, namespace = viewer
    cluster.kubectl("create", "serviceaccount", "robot", "-n", namespace)
    token = cluster.kubectl("create", "token", "robot", "-n", namespace, "--duration", "10m").stdout.strip()
    with httpx.Client(base_url=str(cluster.api.base_url), verify=_ca_only(cluster),
                      headers={"Authorization": f"Bearer {token}"}, timeout=10) as robot:
        review = robot.post("/apis/authentication.k8s.io/v1/selfsubjectreviews",
                            json={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
        assert review.status_code == 201
        assert review.json()["status"]["userInfo"]["username"] == f"system:serviceaccount:{namespace}:robot"
        refused = robot.get(f"/api/v1/namespaces/{namespace}/pods")
        assert refused.status_code == 403 and refused.json()["reason"] == "Forbidden"
    with httpx.Client(base_url=str(cluster.api.base_url), verify=_ca_only(cluster), timeout=10,
                      headers={"Authorization": "Bearer not-a-token"}) as stranger:
        rejected = stranger.get("/api/v1/namespaces")
        assert rejected.status_code == 401 and rejected.json()["reason"] == "Unauthorized"


def test_without_credentials_the_open_cluster_attacks_are_refused(cluster: Cluster) -> None:
    """What anyone who could reach the apiserver did before: read Secrets, patch nodes/status, run a
    privileged pod with the host's / mounted."""
    with httpx.Client(base_url=str(cluster.api.base_url), verify=_ca_only(cluster), timeout=10) as anonymous:
        assert anonymous.get("/version").status_code == 200  # system:public-info-viewer
        secrets = anonymous.get("/api/v1/secrets")
        assert secrets.status_code == 403 and 'User "system:anonymous"' in secrets.json()["message"]
        patched = anonymous.patch("/api/v1/nodes/node-1/status", json={"status": {"capacity": {"pods": "0"}}},
                                  headers={"Content-Type": "application/merge-patch+json"})
        assert patched.status_code == 403
        root = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "owned"}, "spec": {
            "volumes": [{"name": "root", "hostPath": {"path": "/"}}],
            "containers": [{"name": "c", "image": "minik8s/busybox", "securityContext": {"privileged": True},
                            "volumeMounts": [{"name": "root", "mountPath": "/host"}]}]}}
        assert anonymous.post("/api/v1/namespaces/default/pods", json=root).status_code == 403
