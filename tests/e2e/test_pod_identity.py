"""A pod's own identity, end to end: its ServiceAccount token reaches the apiserver through the
`kubernetes` Service and gets what RBAC grants, nothing more; its node agent refuses it.

Runs curl inside the pod (the minik8s/curl image), verifying the apiserver against the CA the
pod was given, exactly as a client library in a pod does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import Cluster
from tests.support import builders

ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
CURL_IMAGE = "minik8s/curl:latest"


def list_pods(namespace: str) -> str:
    """curl listing pods with the token and CA where Kubernetes client libraries find them in a pod;
    prints the status code only."""
    return (f'curl -sS -o /dev/null -w "%{{http_code}}" --cacert {ACCOUNT_DIR}/ca.crt '
            f'-H "Authorization: Bearer $(cat {ACCOUNT_DIR}/token)" '
            f'https://kubernetes.default.svc/api/v1/namespaces/{namespace}/pods')


def curl_pod(name: str, *, account: str, **spec: Any) -> dict[str, Any]:
    container = builders.container("main", image=CURL_IMAGE, imagePullPolicy="IfNotPresent",
                                   command=["sleep", "3600"])
    return builders.pod(name, grace=1, containers=[container], serviceAccountName=account, **spec)


@pytest.fixture(scope="module")
def reader(cluster: Cluster) -> Iterator[tuple[str, str]]:
    """A running pod whose ServiceAccount may list pods in its namespace (and nowhere else)."""
    with cluster.namespace("identity-home") as home, cluster.namespace("identity-other") as other:
        cluster.kubectl("create", "serviceaccount", "lister", "-n", home)
        cluster.kubectl("create", "role", "pod-reader", "--verb", "get,list", "--resource", "pods", "-n", home)
        cluster.kubectl("create", "rolebinding", "lister", "--role", "pod-reader", "--serviceaccount",
                        f"{home}:lister", "-n", home)
        cluster.create_pod(curl_pod("reader", account="lister"), namespace=home)
        cluster.kubectl("wait", "--for=condition=Ready", "pod/reader", "-n", home, "--timeout=60s")
        yield home, other


def in_pod(cluster: Cluster, namespace: str, script: str) -> str:
    return cluster.kubectl("exec", "reader", "-n", namespace, "--", "sh", "-c", script).stdout.strip()


def test_the_token_volume_and_the_service_environment(cluster: Cluster, reader: tuple[str, str]) -> None:
    home, _ = reader
    assert in_pod(cluster, home, f"cat {ACCOUNT_DIR}/namespace") == home
    assert in_pod(cluster, home, f"ls {ACCOUNT_DIR}").split() == ["ca.crt", "namespace", "token"]
    environment = in_pod(cluster, home, "echo $KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT")
    assert environment == "10.96.0.1:443"


def test_the_pod_lists_pods_in_its_namespace_and_is_refused_elsewhere(cluster: Cluster,
                                                                     reader: tuple[str, str]) -> None:
    home, other = reader
    assert in_pod(cluster, home, list_pods(home)) == "200"
    assert in_pod(cluster, home, list_pods(other)) == "403"
    anonymous = (f'curl -sS -o /dev/null -w "%{{http_code}}" --cacert {ACCOUNT_DIR}/ca.crt '
                 f'https://kubernetes.default.svc/api/v1/namespaces/{home}/pods')
    assert in_pod(cluster, home, anonymous) == "403"


def test_the_pod_gets_401_from_its_node_agent(cluster: Cluster, reader: tuple[str, str]) -> None:
    home, _ = reader
    pod = cluster.pod("reader", home)
    assert pod is not None
    host = pod["status"]["hostIP"]
    for path in ("/healthz", f"/containerLogs/{home}/reader/main", "/exec/x/y/z?command=id"):
        probe = f'curl -sS -o /dev/null -w "%{{http_code}}" --cacert {ACCOUNT_DIR}/ca.crt https://{host}:10250{path}'
        assert in_pod(cluster, home, probe) == "401", path
    with_token = (f'curl -sS -o /dev/null -w "%{{http_code}}" --cacert {ACCOUNT_DIR}/ca.crt '
                  f'-H "Authorization: Bearer $(cat {ACCOUNT_DIR}/token)" '
                  f'https://{host}:10250/containerLogs/{home}/reader/main')
    assert in_pod(cluster, home, with_token) == "403"


def test_automount_false_leaves_the_pod_without_a_token(cluster: Cluster, reader: tuple[str, str]) -> None:
    home, _ = reader
    cluster.create_pod(curl_pod("tokenless", account="lister", automountServiceAccountToken=False), namespace=home)
    try:
        cluster.kubectl("wait", "--for=condition=Ready", "pod/tokenless", "-n", home, "--timeout=60s")
        listing = cluster.kubectl("exec", "tokenless", "-n", home, "--", "ls", ACCOUNT_DIR, check=False)
        assert listing.returncode != 0 and "No such file or directory" in listing.stderr
    finally:
        cluster.delete_pod("tokenless", home, grace=0)


def test_a_pod_naming_a_missing_service_account_is_refused(cluster: Cluster, reader: tuple[str, str]) -> None:
    home, _ = reader
    response = cluster.api.post(f"/api/v1/namespaces/{home}/pods", json=curl_pod("orphan", account="ghost"))
    assert response.status_code == 403
    assert response.json()["message"] == (f'pods "orphan" is forbidden: error looking up service account '
                                          f'{home}/ghost: serviceaccount "ghost" not found')
