"""A throw-away 3-replica cluster as issue #12 runs it: HTTPS, client certificates, `--authorization-mode Node,RBAC`.

A figure over HTTPS only means something next to the same figure over plain HTTP, so the benchmarks
start this cluster beside `bench.host.replica_cluster`'s. The PKI is made in the cluster's temporary
folder with the product's own functions (`tests.support.tls.make_pki`: the CA and the apiserver's
serving pair, as `minik8s up` makes them), the replicas take the flags the product takes (serving
pair, client CA, a ServiceAccount signing key, Node,RBAC), and each client identity is a kubeconfig
turned into a TLS context by the real client's `ssl_context_for`:

- the admin, `kubernetes-admin` in `system:masters`, whom RBAC lets through before reading any rule;
- an editor, a person bound in one namespace by a RoleBinding to the `edit` ClusterRole, so every
  request of theirs goes through the RBAC decision a non-admin user gets.

Everything (keys included) lives in the temporary folder, removed on exit; the replicas are killed.
"""

from __future__ import annotations

import ssl
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import serialization

from minik8s.apiserver.authorization_node import NODE_RBAC
from minik8s.client.kubeconfig import load_kubeconfig
from minik8s.client.tls import ssl_context_for
from minik8s.pki.certificates import new_private_key
from minik8s.pki.files import PRIVATE_MODE, write_atomically
from minik8s.pki.identities import ADMIN
from tests.support.replicas import ReplicaSecurity, ReplicaSet
from tests.support.tls import ScratchPki, make_pki
from tests.support.waiting import wait_for

EDITOR_USER = "bench-editor"
EDITOR_NAMESPACE = "default"
_PROBE_CONFIG_MAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "editor-probe"}}


@dataclass(frozen=True)
class SecureCluster:
    """The running replicas and the TLS contexts of the identities that call them."""

    replicas: ReplicaSet
    admin: ssl.SSLContext
    editor: ssl.SSLContext


def apiserver_security_flags(pki: ScratchPki, *, signing_key: Path) -> tuple[str, ...]:
    """The flags of an apiserver that serves HTTPS, authenticates client certificates and tokens, and
    authorizes with the Node authorizer then RBAC."""
    return ("--tls-cert-file", str(pki.serving.certificate), "--tls-private-key-file", str(pki.serving.key),
            "--client-ca-file", str(pki.ca_file), "--service-account-signing-key-file", str(signing_key),
            "--authorization-mode", NODE_RBAC)


def identity_context(pki: ScratchPki, folder: Path, *, user: str, groups: tuple[str, ...] = ()) -> ssl.SSLContext:
    """The TLS context a client built from `user`'s kubeconfig uses (server verified, client certificate)."""
    path = pki.kubeconfig(folder / f"{user}.kubeconfig", ["https://127.0.0.1"], user=user, groups=groups)
    return ssl_context_for(load_kubeconfig(path))


def write_signing_key(path: Path) -> Path:
    """A fresh ServiceAccount token signing key (P-256, 0600), as the cluster PKI keeps `sa.key`."""
    pem = new_private_key().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption())
    write_atomically(path, pem, mode=PRIVATE_MODE)
    return path


def bind_editor(url: str, *, admin: ssl.SSLContext, editor: ssl.SSLContext) -> None:
    """As the admin, bind the editor to `edit` in its namespace; return once the leader lets it create."""
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": f"{EDITOR_USER}-edit"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
               "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": EDITOR_USER}]}
    namespaced = f"{url}/apis/rbac.authorization.k8s.io/v1/namespaces/{EDITOR_NAMESPACE}/rolebindings"
    httpx.post(namespaced, json=binding, verify=admin, timeout=10).raise_for_status()
    config_maps = f"{url}/api/v1/namespaces/{EDITOR_NAMESPACE}/configmaps"

    def editor_may_create() -> bool:
        return httpx.post(config_maps, json=_PROBE_CONFIG_MAP, verify=editor, timeout=5).status_code == 201

    wait_for(f"{EDITOR_USER} to create ConfigMaps through its RoleBinding", editor_may_create, timeout=10)


@contextmanager
def secure_replica_cluster(*, watch_history: int = 10_000) -> Iterator[SecureCluster]:
    """Three fresh HTTPS + Node,RBAC replicas with the editor bound; killed and removed on exit."""
    with tempfile.TemporaryDirectory(prefix="minik8s-bench-tls-") as root:
        folder = Path(root)
        pki = make_pki(folder / "pki")
        admin = identity_context(pki, folder, user=ADMIN.user, groups=ADMIN.groups)
        editor = identity_context(pki, folder, user=EDITOR_USER)
        flags = apiserver_security_flags(pki, signing_key=write_signing_key(folder / "pki" / "sa.key"))
        cluster = ReplicaSet(folder, watch_history=watch_history, security=ReplicaSecurity(flags, admin))
        try:
            cluster.start_all()
            bind_editor(cluster.replicas[cluster.leader_index()].url, admin=admin, editor=editor)
            yield SecureCluster(cluster, admin, editor)
        finally:
            cluster.stop_all()
