"""The node agent process: registration + heartbeat, the pod loop, and the logs/exec endpoint.

Started by `minik8s up` (one per node), or by hand on a machine with a Docker engine:
    minik8s-node --node-name node-1 --kubeconfig node-1.kubeconfig --pod-cidr 10.244.1.0/24 \
        --port 10250 --data-dir /var/lib/minik8s/node-1 \
        --tls-cert-file kubelet-serving-node-1.crt --tls-private-key-file kubelet-serving-node-1.key \
        --client-ca-file ca.crt
    minik8s-node --node-name node-1 --data-dir /var/lib/minik8s/node-1 --cleanup
        # what `minik8s down` runs: the node's containers and network go, its pods' mounts are unmounted
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import sys
from pathlib import Path
from typing import Any

from minik8s.api.persistent_volumes import LOCAL_PATH_DIR_ANNOTATION
from minik8s.client.command_line import add_client_flags, make_client
from minik8s.client.errors import ApiError
from minik8s.daemon.entry import run_daemon
from minik8s.daemon.http import serve_http
from minik8s.daemon.logs import add_logging_flags
from minik8s.daemon.request_guard import host_policy, parse_host_list
from minik8s.node.agent import NodeAgent
from minik8s.node.docker.runtime import DockerRuntime
from minik8s.node.executor import NodeSettings
from minik8s.node.mounts import HostMounter, unmount_all_under
from minik8s.node.node_labels import parse_node_labels
from minik8s.node.registration import Heartbeat, NodeIdentity, RuntimeProbe, read_host_facts
from minik8s.node.runtime import LABEL_MANAGED, LABEL_NODE, ContainerRuntime, RuntimeFailure
from minik8s.node.server import create_node_app
from minik8s.node.serving_options import add_serving_flags, agent_access, check_serving_flags, serving_options

log = logging.getLogger("minik8s.node")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="minik8s-node", description="minik8s node agent (kubelet)")
    parser.add_argument("--node-name", required=True)
    add_client_flags(parser)
    parser.add_argument("--pod-cidr", default="", help="this node's pod network, e.g. 10.244.1.0/24 (required)")
    parser.add_argument("--node-ip", default="", help="the node's address (default: the pod network's gateway)")
    parser.add_argument("--address", default="", help="listen address of the logs/exec endpoint (default: node IP)")
    parser.add_argument("--port", type=int, default=10250, help="port of the logs/exec endpoint")
    add_serving_flags(parser)
    parser.add_argument("--allowed-hosts", default="",
                        help="comma-separated extra names the apiserver may reach this agent by (the Host header); "
                        "IP literals, localhost, the node's name and addresses and this machine's hostname are always "
                        "served; '*' serves any name")
    parser.add_argument("--data-dir", default="./data/node",
                        help="volumes of this node's pods, and its local-path PersistentVolumes (under volumes/)")
    parser.add_argument("--node-labels", default="", type=_node_labels,
                        help="labels to register the node with, key=value pairs separated by commas "
                        "(e.g. topology.kubernetes.io/zone=zone-a); kubernetes.io keys only the kubelet's own")
    parser.add_argument("--node-status-update-frequency", type=float, default=10.0, help="seconds")
    parser.add_argument("--node-lease-duration-seconds", type=int, default=40)
    parser.add_argument("--lease-renew-interval", type=float, default=10.0, help="seconds")
    parser.add_argument("--crashloop-backoff-base", type=float, default=10.0,
                        help="first CrashLoopBackOff delay, doubling to 300 s (seconds)")
    parser.add_argument("--sync-frequency", type=float, default=10.0, help="resync of every pod (seconds)")
    parser.add_argument("--cluster-dns", default="", help="nameserver given to ClusterFirst pods")
    parser.add_argument("--cluster-domain", default="cluster.local")
    parser.add_argument("--pause-image", default="minik8s/pause:latest")
    parser.add_argument("--allowed-registries", default="",
                        help="registries images may be pulled from, comma-separated (default: none, never pull)")
    parser.add_argument("--cleanup", action="store_true",
                        help="unmount the pods' volumes under --data-dir, remove this node's pod containers and "
                        "network, print how many containers went, exit")
    add_logging_flags(parser)
    args = parser.parse_args(argv)
    check_serving_flags(parser, args)
    if not args.cleanup and not args.pod_cidr:
        parser.error("the following arguments are required: --pod-cidr")
    return args


def _node_labels(text: str) -> dict[str, str]:
    try:
        return parse_node_labels(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def gateway_of(pod_cidr: str) -> str:
    return str(next(ipaddress.ip_network(pod_cidr, strict=False).hosts()))


def runtime_probe(runtime: ContainerRuntime) -> RuntimeProbe:
    async def probe() -> tuple[str, str | None, list[dict[str, Any]]]:
        try:
            return await runtime.version(), None, []
        except RuntimeFailure as error:
            return "unknown", f"container runtime is down: {error}", []

    return probe


async def until_done(what: str, action: Any, *, pause: float = 1.0) -> Any:
    """Retry an async action until it succeeds: the control plane or Docker may come later."""
    attempt = 0
    while True:
        try:
            return await action()
        except (ApiError, RuntimeFailure, OSError) as error:
            if attempt % 10 == 0:
                log.warning("%s failed (%s); retrying", what, error)
            attempt += 1
            await asyncio.sleep(pause)


def network_of(node_name: str) -> str:
    return f"minik8s-{node_name}"


async def remove_node_resources(node_name: str, data_dir: Path) -> int:
    """What `--cleanup` does: agents leave their pods' containers for a restarted agent to adopt,
    as a kubelet does, so `minik8s down` removes them, and the node's network, this way. The pods'
    tmpfs volumes and subPath binds are unmounted first (Docker may be down), so that deleting the
    data directory afterwards deletes nothing through them."""
    left = await asyncio.to_thread(unmount_all_under, data_dir / "pods", HostMounter())
    if left:
        log.error("node %s: still mounted under %s: %s", node_name, data_dir / "pods", ", ".join(left))
    runtime = DockerRuntime()
    try:
        containers = await runtime.list_containers({LABEL_MANAGED: "true", LABEL_NODE: node_name})
        await asyncio.gather(*(runtime.remove_container(c.id) for c in containers))
        await runtime.remove_network(network_of(node_name))
    finally:
        await runtime.close()
    log.info("node %s: removed %d pod container(s) and network %s", node_name, len(containers),
             network_of(node_name))
    return len(containers)


async def serve(args: argparse.Namespace) -> None:
    if args.cleanup:
        print(await remove_node_resources(args.node_name, Path(args.data_dir)), flush=True)
        return
    client = make_client(args)
    runtime = DockerRuntime()
    node_ip = args.node_ip or gateway_of(args.pod_cidr)
    identity = NodeIdentity(args.node_name, node_ip, args.port, args.pod_cidr, args.node_labels)
    settings = NodeSettings(node_name=args.node_name, network=network_of(args.node_name), pod_cidr=args.pod_cidr,
                            node_ip=node_ip, data_dir=Path(args.data_dir), pause_image=args.pause_image,
                            cluster_dns=args.cluster_dns or None, cluster_domain=args.cluster_domain,
                            allowed_registries=tuple(r for r in args.allowed_registries.split(",") if r))
    heartbeat = Heartbeat(client, identity, read_host_facts(), lease_seconds=args.node_lease_duration_seconds,
                          lease_renew_interval=args.lease_renew_interval,
                          status_interval=args.node_status_update_frequency, probe_runtime=runtime_probe(runtime),
                          annotations={LOCAL_PATH_DIR_ANNOTATION: str(settings.local_path_dir)})
    agent = NodeAgent(client, runtime, settings, backoff_base=args.crashloop_backoff_base,
                      resync_seconds=args.sync_frequency)
    await until_done("registering the node", heartbeat.register)
    async with asyncio.TaskGroup() as tasks:
        tasks.create_task(heartbeat.run())
        await until_done("creating the pod network", lambda: runtime.ensure_network(
            settings.network, subnet=args.pod_cidr, gateway=settings.gateway))
        hosts = host_policy(parse_host_list(args.allowed_hosts), own=[args.node_name, node_ip, args.address])
        options = serving_options(args)
        app = create_node_app(resolve=agent.resolve_container, runtime=runtime, hosts=hosts,
                              access=agent_access(options, args.node_name, client))
        tasks.create_task(serve_http(app, host=args.address or node_ip, port=args.port, tls=options.tls))
        tasks.create_task(agent.run())
        log.info("node %s ready: pod network %s, endpoint %s://%s:%d", args.node_name, args.pod_cidr,
                 "https" if options.tls else "http", args.address or node_ip, args.port)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_daemon(lambda: serve(args), args, name=f"node {args.node_name}",
                      fatal=(OSError, ValueError, RuntimeFailure), fast_loop=True)


if __name__ == "__main__":
    sys.exit(main())
