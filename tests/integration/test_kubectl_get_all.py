"""`kubectl get all` and `kubectl api-resources` (the real kubectl v1.32) against an in-process apiserver.

kubectl expands `all` from discovery: every resource whose `categories` holds "all", group-version by
group-version, in the order the server lists them. So what a user sees — which kinds, in which order,
with which columns — is decided by the registry's categories and discovery's order; the `minik8s` CLI
expands `all` offline from the same registry and must print the same tables.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.kubectl import Kubectl, kubectl_for
from tests.support.serving import ThreadedApiserver

pytestmark = pytest.mark.timeout(120)

REPO = Path(__file__).resolve().parents[2]
NAMESPACE = "everything"
POD_TEMPLATE = """
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: minik8s/busybox:latest}]}"""
MANIFEST = f"""apiVersion: v1
kind: Pod
metadata: {{name: solo, namespace: {NAMESPACE}}}
spec: {{containers: [{{name: main, image: minik8s/busybox:latest}}]}}
---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: {NAMESPACE}}}
spec: {{selector: {{app: web}}, ports: [{{port: 80}}]}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {NAMESPACE}}}
spec:
  replicas: 0
  selector: {{matchLabels: {{app: web}}}}
  template:{POD_TEMPLATE}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {{name: web-1, namespace: {NAMESPACE}}}
spec:
  replicas: 0
  selector: {{matchLabels: {{app: web}}}}
  template:{POD_TEMPLATE}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: agent, namespace: {NAMESPACE}}}
spec:
  selector: {{matchLabels: {{app: web}}}}
  template:{POD_TEMPLATE}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: settings, namespace: {NAMESPACE}}}
"""
# The tables `kubectl get all` prints, in order: the first row's NAME and the header of each.
EXPECTED_TABLES = [
    ("pod/solo", ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]),
    ("service/web", ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]),
    ("daemonset.apps/agent", ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR",
                              "AGE"]),
    ("deployment.apps/web", ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]),
    ("replicaset.apps/web-1", ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]),
]


@pytest.fixture(scope="module")
def apiserver() -> Iterator[ThreadedApiserver]:
    with ThreadedApiserver() as server:
        yield server


@pytest.fixture(scope="module")
def kubectl(apiserver: ThreadedApiserver, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    run = kubectl_for(apiserver.url, tmp_path_factory.mktemp("kubectl-cache"))
    run("create", "namespace", NAMESPACE)
    manifest = tmp_path_factory.mktemp("manifests") / "everything.yaml"
    manifest.write_text(MANIFEST)
    run("apply", "-f", str(manifest))
    return run


def tables(output: str) -> list[tuple[str, list[str]]]:
    """Each table of `output` (separated by blank lines) as (first row's NAME, header cells)."""
    found = []
    for block in output.strip().split("\n\n"):
        header, first, *_ = block.splitlines()
        found.append((first.split()[0], _cells(header)))
    return found


def _cells(header: str) -> list[str]:
    """Header cells, split on the runs of 2+ spaces kubectl's tabwriter leaves between columns."""
    return [cell.strip() for cell in header.split("  ") if cell.strip()]


def test_get_all_lists_the_all_category_in_kubernetes_order(kubectl: Kubectl) -> None:
    result = kubectl("get", "all", "-n", NAMESPACE)
    assert tables(result.stdout) == EXPECTED_TABLES  # no ConfigMap: it is not in the category


def test_the_minik8s_cli_prints_the_same_tables(kubectl: Kubectl, apiserver: ThreadedApiserver) -> None:
    environment = {key: value for key, value in os.environ.items() if key not in ("MINIK8S_HOME", "KUBECONFIG")}
    environment["PYTHONPATH"] = str(REPO)
    result = subprocess.run([sys.executable, "-m", "minik8s.cli.main", "get", "all", "-n", NAMESPACE,
                             "--server", apiserver.url], capture_output=True, text=True, timeout=60, env=environment)
    assert result.returncode == 0, result.stderr
    assert tables(result.stdout) == EXPECTED_TABLES


def test_api_resources_lists_the_category_and_every_served_kind(kubectl: Kubectl) -> None:
    in_all = kubectl("api-resources", "--categories=all", "-o", "name").stdout.split()
    assert in_all == ["pods", "services", "daemonsets.apps", "deployments.apps", "replicasets.apps",
                      "statefulsets.apps", "cronjobs.batch", "jobs.batch"]
    wide = {line.split()[0]: line for line in kubectl("api-resources", "-o", "wide").stdout.splitlines()[1:]}
    assert wide["namespaces"].split()[-1] == "create,delete,get,list,patch,update,watch"
    assert wide["deployments"].split()[-2:] == ["create,delete,deletecollection,get,list,patch,update,watch", "all"]
    assert wide["selfsubjectaccessreviews"].split()[-1] == "create"
    assert {"configmaps", "leases", "roles", "serviceaccounts", "tokenreviews"} <= set(wide)


def test_namespaces_are_not_deleted_all_at_once(kubectl: Kubectl) -> None:
    refused = kubectl("delete", "--raw", "/api/v1/namespaces", check=False)
    assert refused.returncode == 1
    assert refused.stderr == ("Error from server (MethodNotAllowed): the server does not allow this method on the "
                              "requested resource\n")
    assert NAMESPACE in kubectl("get", "namespaces", "-o", "name").stdout
