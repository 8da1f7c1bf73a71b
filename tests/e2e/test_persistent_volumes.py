"""A claim's data survives its pod on Docker: written by one pod, read by its replacement, gone with the claim.

The default class `standard` provisions a directory on the node the first pod is scheduled to; the
pod writes a file into it through a real bind mount; after the pod is deleted, a new pod on the same
claim (brought back to that node by the volume's node affinity) reads the file. Deleting the claim
(Delete reclaim) removes the volume and its directory from the node.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from minik8s.api.persistent_volumes import HOSTNAME_LABEL
from tests.e2e.conftest import Cluster, is_ready
from tests.support import builders
from tests.support.waiting import wait_for

NAMESPACE = "volumes-e2e"


def claim() -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "64Mi"}}}}


def claim_user(name: str, command: str) -> dict[str, Any]:
    """A busybox pod running `command` with claim `data` at /data (scheduled by the scheduler)."""
    container = builders.container("main", imagePullPolicy="IfNotPresent", command=["sh", "-c", command],
                                   volumeMounts=[{"name": "data", "mountPath": "/data"}])
    return builders.pod(name, grace=1, containers=[container],
                        volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}])


def object_at(cluster: Cluster, path: str) -> dict[str, Any] | None:
    response = cluster.api.get(path)
    return response.json() if response.status_code == 200 else None


def test_a_claims_data_survives_its_pod_and_goes_with_the_claim(cluster: Cluster) -> None:
    with cluster.namespace(NAMESPACE) as namespace:
        cluster.apply(namespace, claim(), claim_user("writer", "echo hello > /data/greeting && exec sleep 3600"))
        writer = cluster.wait_pod("writer", is_ready, what="Ready", timeout=90, namespace=namespace)
        node = writer["spec"]["nodeName"]
        claims = f"/api/v1/namespaces/{namespace}/persistentvolumeclaims"
        bound = wait_for("the claim to be Bound", lambda: (c := object_at(cluster, f"{claims}/data")) and
                         c["status"].get("phase") == "Bound" and c, timeout=30)
        volume = object_at(cluster, f"/api/v1/persistentvolumes/{bound['spec']['volumeName']}")
        assert volume is not None
        terms = volume["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"]
        assert terms == [{"matchExpressions": [{"key": HOSTNAME_LABEL, "operator": "In", "values": [node]}]}]
        directory = Path(volume["spec"]["hostPath"]["path"])
        assert cluster.kubectl("exec", "-n", namespace, "writer", "--", "cat", "/data/greeting").stdout == "hello\n"
        assert (directory / "greeting").read_text() == "hello\n"  # on the node's disk, through a real bind mount

        cluster.delete_pod("writer", namespace=namespace)
        cluster.wait_gone("writer", namespace=namespace, timeout=60)
        cluster.apply(namespace, claim_user("reader", "exec sleep 3600"))
        reader = cluster.wait_pod("reader", is_ready, what="Ready", timeout=90, namespace=namespace)
        assert reader["spec"]["nodeName"] == node  # the volume's node affinity brought it back
        assert cluster.kubectl("exec", "-n", namespace, "reader", "--", "cat", "/data/greeting").stdout == "hello\n"
        listed = cluster.kubectl("get", "-n", namespace, "pvc", "data").stdout
        assert "Bound" in listed and bound["spec"]["volumeName"] in listed

        cluster.delete_pod("reader", namespace=namespace)
        cluster.wait_gone("reader", namespace=namespace, timeout=60)
        cluster.kubectl("delete", "-n", namespace, "pvc", "data")
        wait_for("the volume to be deleted", lambda: object_at(
            cluster, f"/api/v1/persistentvolumes/{volume['metadata']['name']}") is None, timeout=60)
        assert not directory.exists()
