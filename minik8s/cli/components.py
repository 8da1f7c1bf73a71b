"""The processes a local cluster is made of, described as data.

`up`, `status` and `down` do the same few things to every process: start it detached,
find out whether it runs, ask whether it is healthy, stop it. So each process is one
`ComponentSpec` (name, kind, command line, URL, how to recognise it), and the commands
loop over the list. A later part of the cluster (scheduler, controller-manager, node
agents, proxy, dns) joins by adding its specs in `component_specs`, nothing else.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field

from minik8s.cli.cluster_config import (
    NODE_AGENT_PORT,
    ApiserverLayout,
    ClusterConfig,
    ClusterHome,
    NodeLayout,
)
from minik8s.cli.cluster_pki import kubeconfig_path
from minik8s.pki import identities
from minik8s.pki.ensure import node_serving_files
from minik8s.pki.files import PairFiles

APISERVER = "apiserver"
NODE_AGENT = "node-agent"
SCHEDULER = "scheduler"
CONTROLLER_MANAGER = "controller-manager"
PROXY = "proxy"
DNS = "dns"
PROXY_HEALTH_URL = "http://127.0.0.1:10256"
DNS_HEALTH_PORT = 8181
CLUSTER_DNS_IP = "10.96.0.10"


@dataclass(frozen=True)
class ComponentSpec:
    """One process of the cluster.

    `markers` are command-line arguments that only this process of this cluster has: a pid
    whose command line holds all of them is this component, not a stranger reusing the pid.
    `ready_path` is the URL path answering 200 once the component serves. `status_fields`
    are extra fields `status -o json` shows for it (e.g. `{"node": "node-1"}`).
    """

    name: str
    kind: str
    argv: tuple[str, ...]
    markers: tuple[str, ...]
    url: str | None = None
    ready_path: str = "/healthz"
    status_fields: Mapping[str, str] = field(default_factory=dict)


def component_specs(config: ClusterConfig, home: ClusterHome) -> list[ComponentSpec]:
    """Every process of the cluster, in start order (apiservers first)."""
    specs = [apiserver_spec(layout, config=config, home=home) for layout in config.apiservers]
    specs.append(daemon_spec("controller-manager", CONTROLLER_MANAGER, "minik8s.controllers.main",
                             identities.CONTROLLER_MANAGER, config=config, home=home,
                             extra=("--root-ca-file", str(pki_pair(home, "ca").certificate))))
    specs.append(daemon_spec("scheduler", SCHEDULER, "minik8s.scheduler.main", identities.SCHEDULER, config=config,
                             home=home))
    if config.nodes:
        specs.append(daemon_spec("proxy", PROXY, "minik8s.proxy.main", identities.PROXY, config=config, home=home,
                                 url=PROXY_HEALTH_URL))
        # Pods reach cluster DNS at 10.96.0.10 (the proxy's rules) → node-1's gateway, where it listens.
        dns_args = ("--listen", f"{config.node_layouts[0].node_ip}:53",
                    "--advertise-address", config.node_layouts[0].node_ip,
                    "--health-port", str(DNS_HEALTH_PORT))
        specs.append(daemon_spec("dns", DNS, "minik8s.dns.main", identities.DNS, config=config, home=home,
                                 url=f"http://127.0.0.1:{DNS_HEALTH_PORT}", extra=dns_args))
    specs += [node_agent_spec(node, config=config, home=home) for node in config.node_layouts]
    return specs


def pki_pair(home: ClusterHome, name: str) -> PairFiles:
    return PairFiles(home.pki_dir, name)


def daemon_spec(name: str, kind: str, module: str, identity: identities.Identity, *, config: ClusterConfig,
                home: ClusterHome, url: str | None = None, extra: tuple[str, ...] = ()) -> ComponentSpec:
    """A control-plane daemon talking to every apiserver replica (fail-over in order) as its own identity."""
    kubeconfig = str(kubeconfig_path(home, identity))
    argv = [sys.executable, "-m", module, "--kubeconfig", kubeconfig, *extra, *config.args_for(kind)]
    return ComponentSpec(name=name, kind=kind, argv=tuple(argv), markers=(module, kubeconfig), url=url,
                         ready_path="/healthz")


def apiserver_spec(layout: ApiserverLayout, *, config: ClusterConfig, home: ClusterHome) -> ComponentSpec:
    """An apiserver replica, joined to the Raft group of all the others."""
    module = "minik8s.apiserver.main"
    data_dir = str(home.root / layout.data_dir)
    peers = ",".join(other.raft_address for other in config.apiservers if other.name != layout.name)
    listen, advertise = [layout.listen_address], []
    if config.nodes:  # pods reach the `kubernetes` Service's endpoints on node-1's gateway, not on loopback
        pod_facing = f"{config.node_layouts[0].node_ip}:{layout.http_port}"
        listen.append(pod_facing)
        advertise = ["--advertise-address", pod_facing]
    argv = [sys.executable, "-m", module, "--name", layout.name, "--listen", ",".join(listen), *advertise,
            "--raft-address", layout.raft_address]
    if peers:
        argv += ["--peers", peers]
    argv += ["--data-dir", data_dir, "--secret-file", str(home.secret_file),
             "--encryption-provider-config", str(home.encryption_config_file), *security_args(home),
             *snapshot_args(config, home), *config.args_for(APISERVER)]
    return ComponentSpec(name=layout.name, kind=APISERVER, argv=tuple(argv), markers=(module, layout.name, data_dir),
                         url=layout.url, ready_path="/readyz")


def snapshot_args(config: ClusterConfig, home: ClusterHome) -> list[str]:
    """Periodic snapshots into `HOME/snapshots`, taken by whichever replica leads when one is due."""
    if not config.snapshot_interval:
        return []
    return ["--snapshot-dir", str(home.snapshots_dir), "--snapshot-interval", f"{config.snapshot_interval:g}s",
            "--snapshot-retention", str(config.snapshot_retention)]


def security_args(home: ClusterHome) -> list[str]:
    """HTTPS with the cluster's certificate, clients verified against its CA, ServiceAccount tokens signed
    with its key, Node,RBAC deciding who may do what, pods given their ServiceAccount's token (admission)
    and held to the baseline Pod Security Standard, and node agents reached over verified HTTPS."""
    serving, ca, accounts = pki_pair(home, "apiserver"), pki_pair(home, "ca"), home.pki_dir / "sa"
    kubelet_client = pki_pair(home, identities.APISERVER_KUBELET_CLIENT.file_name)
    return ["--tls-cert-file", str(serving.certificate), "--tls-private-key-file", str(serving.key),
            "--client-ca-file", str(ca.certificate),
            "--service-account-signing-key-file", f"{accounts}.key", "--service-account-key-file", f"{accounts}.pub",
            "--authorization-mode", "Node,RBAC", "--enable-admission-plugins", "ServiceAccount",
            "--pod-security-default", "baseline",
            "--kubelet-client-certificate", str(kubelet_client.certificate), "--kubelet-client-key",
            str(kubelet_client.key), "--kubelet-certificate-authority", str(ca.certificate)]


def node_agent_spec(node: NodeLayout, *, config: ClusterConfig, home: ClusterHome) -> ComponentSpec:
    """A node agent: its own pod network (a /24 of 10.244.0.0/16) on this machine's Docker engine."""
    module = "minik8s.node.main"
    data_dir = str(home.root / node.data_dir)
    kubeconfig = str(kubeconfig_path(home, identities.node_identity(node.name)))
    serving = node_serving_files(home.pki_dir, node.name)
    argv = [sys.executable, "-m", module, "--node-name", node.name, "--kubeconfig", kubeconfig,
            "--pod-cidr", node.pod_cidr, "--port", str(NODE_AGENT_PORT), "--data-dir", data_dir,
            "--cluster-dns", CLUSTER_DNS_IP, "--tls-cert-file", str(serving.certificate),
            "--tls-private-key-file", str(serving.key), "--client-ca-file", str(pki_pair(home, "ca").certificate),
            *config.args_for("node")]
    return ComponentSpec(name=node.name, kind=NODE_AGENT, argv=tuple(argv), markers=(module, node.name, data_dir),
                         url=node.url, ready_path="/healthz", status_fields={"node": node.name})


def apiserver_urls(specs: list[ComponentSpec]) -> list[str]:
    return [spec.url for spec in specs if spec.kind == APISERVER and spec.url]
