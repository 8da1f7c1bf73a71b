"""Who the cluster's components are, as certificates name them, and where the apiserver answers.

The names are Kubernetes' own (kubeadm's kubeconfig phase and the bootstrap RBAC policy in
plugin/pkg/auth/authorizer/rbac/bootstrappolicy): the scheduler is `system:kube-scheduler`,
the controller-manager `system:kube-controller-manager`, kube-proxy `system:kube-proxy`,
a node `system:node:<name>` in group `system:nodes`, the admin `kubernetes-admin` in
`system:masters`, the apiserver calling node agents `kube-apiserver-kubelet-client`. CoreDNS has no client certificate in kubeadm (it runs with a
ServiceAccount); our DNS daemon runs on the host, so it gets `system:minik8s-dns`.
The apiserver's SANs are kubeadm's GetAPIServerAltNames plus loopback, as for etcd.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from minik8s.api.user import NODE_PREFIX, SYSTEM_MASTERS, SYSTEM_NODES
from minik8s.pki.certificates import SubjectAltNames

ADMIN_USER = "kubernetes-admin"
SCHEDULER_USER = "system:kube-scheduler"
CONTROLLER_MANAGER_USER = "system:kube-controller-manager"
PROXY_USER = "system:kube-proxy"
DNS_USER = "system:minik8s-dns"
APISERVER_KUBELET_CLIENT_USER = "kube-apiserver-kubelet-client"
APISERVER_SERVICE_IP = "10.96.0.1"  # the first address of the service range: the `kubernetes` Service
CLUSTER_DOMAIN = "cluster.local"


@dataclass(frozen=True)
class Identity:
    """A client certificate's subject: the file name it is kept under, the user and the groups."""

    file_name: str
    user: str
    groups: tuple[str, ...] = ()


ADMIN = Identity("admin", ADMIN_USER, (SYSTEM_MASTERS,))
SCHEDULER = Identity("scheduler", SCHEDULER_USER)
CONTROLLER_MANAGER = Identity("controller-manager", CONTROLLER_MANAGER_USER)
PROXY = Identity("proxy", PROXY_USER)
DNS = Identity("dns", DNS_USER)
# The apiserver as a client of node agents (logs, exec); kubeadm's apiserver-kubelet-client.
APISERVER_KUBELET_CLIENT = Identity("apiserver-kubelet-client", APISERVER_KUBELET_CLIENT_USER, (SYSTEM_MASTERS,))


def node_identity(node_name: str) -> Identity:
    """A node agent: `system:node:<name>` in `system:nodes`, as the Node authorizer expects."""
    return Identity(f"kubelet-{node_name}", f"{NODE_PREFIX}{node_name}", (SYSTEM_NODES,))


def component_identities(node_names: Sequence[str]) -> tuple[Identity, ...]:
    """Every client certificate a cluster with these nodes needs, admin first."""
    return (ADMIN, SCHEDULER, CONTROLLER_MANAGER, PROXY, DNS, APISERVER_KUBELET_CLIENT, *(node_identity(name) for name in node_names))


def apiserver_sans(extra: Iterable[str] = (), *, cluster_domain: str = CLUSTER_DOMAIN) -> SubjectAltNames:
    """Every name a client may use for the apiserver: loopback, the Service's IP and DNS names, `extra`."""
    return SubjectAltNames.of([
        "127.0.0.1", "::1", APISERVER_SERVICE_IP, *extra,
        "localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
        f"kubernetes.default.svc.{cluster_domain}",
    ])
