"""Many simulated nodes in one process: real node agents over the in-memory fake runtime.

For scale tests and benchmarks (100 nodes on a 2-core machine): each simulated node is the
real `NodeAgent` + `Heartbeat` — registration, leases, pod sync, status — with
`FakeRuntime` in place of Docker, so everything above the runtime seam is the real thing.
`minik8s up` never uses this; it always runs Docker nodes.

    python -m minik8s.node.fake.simulated_nodes --nodes 100 --server http://127.0.0.1:6443 --prefix sim-
    python -m minik8s.node.fake.simulated_nodes --nodes 4 --server ... --zones zone-a,zone-b
        # nodes labelled topology.kubernetes.io/zone in turn: sim-1 zone-a, sim-2 zone-b, sim-3 zone-a, ...
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import ssl
import sys
import tempfile
from pathlib import Path

from minik8s.api.persistent_volumes import LOCAL_PATH_DIR_ANNOTATION
from minik8s.client.api import ApiClient
from minik8s.daemon.entry import run_daemon
from minik8s.daemon.logs import add_logging_flags
from minik8s.node.agent import NodeAgent
from minik8s.node.executor import NodeSettings
from minik8s.node.fake.runtime import FakeRuntime
from minik8s.node.node_labels import ZONE_LABEL
from minik8s.node.registration import Heartbeat, HostFacts, NodeIdentity

log = logging.getLogger("minik8s.node.fake.simulated_nodes")

SIMULATED_HOST = HostFacts(cpu_count=4, memory_bytes=8 * 1024**3, kernel="simulated", os_image="minik8s simulated",
                           machine_id="simulated", boot_id="simulated", hostname="simulated",
                           architecture="amd64")


def pod_cidr(index: int, *, first_octet: int) -> str:
    """Node i of the simulation: 10.<first_octet + i // 256>.<i % 256>.0/24."""
    return f"10.{first_octet + index // 256}.{index % 256}.0/24"


async def run_node(servers: list[str], name: str, cidr: str, data_dir: Path, *, tls: ssl.SSLContext, cpu: int,
                   memory_bytes: int, lease_seconds: int, status_interval: float, zone: str = "") -> None:
    # A client of its own, as every real node has: one pool shared by 100 busy agents queues their
    # requests behind each other, and httpcore's pool costs O(queued x connections) per request.
    async with ApiClient(servers, verify=tls) as client:
        runtime = FakeRuntime()
        gateway = cidr.rsplit(".", 1)[0] + ".1"
        facts = HostFacts(**{**SIMULATED_HOST.__dict__, "cpu_count": cpu, "memory_bytes": memory_bytes,
                             "hostname": name})
        settings = NodeSettings(node_name=name, network=f"sim-{name}", pod_cidr=cidr, node_ip=gateway,
                                data_dir=data_dir / name, allowed_registries=("docker.io",),  # the fake pulls locally
                                host_mounts=False)  # simulated pods keep their volumes on disk
        identity = NodeIdentity(name, gateway, 0, cidr, {ZONE_LABEL: zone} if zone else {})
        heartbeat = Heartbeat(client, identity, facts, lease_seconds=lease_seconds,
                              lease_renew_interval=max(1.0, lease_seconds / 4), status_interval=status_interval,
                              annotations={LOCAL_PATH_DIR_ANNOTATION: str(settings.local_path_dir)})
        await runtime.ensure_network(settings.network, subnet=cidr, gateway=gateway)
        await heartbeat.register()
        agent = NodeAgent(client, runtime, settings, backoff_base=1.0, resync_seconds=30.0, workers=2)
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(heartbeat.run())
            tasks.create_task(agent.run())

async def serve(args: argparse.Namespace) -> None:
    servers = [server for server in args.server.split(",") if server]
    tls = ssl.create_default_context()  # loaded once: each load of the CA bundle costs ~40 ms
    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="minik8s-simulated-"))
    zones = [zone for zone in args.zones.split(",") if zone]
    async with asyncio.TaskGroup() as tasks:
        for index in range(args.nodes):
            name = f"{args.prefix}{index + 1}"
            tasks.create_task(run_node(servers, name, pod_cidr(index, first_octet=args.cidr_first_octet), data_dir,
                                       tls=tls, cpu=args.cpu, memory_bytes=args.memory_mib * 1024 * 1024,
                                       lease_seconds=args.lease_seconds, status_interval=args.status_interval,
                                       zone=zones[index % len(zones)] if zones else ""))
        log.info("%d simulated node(s) starting", args.nodes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="minik8s-simulated-nodes", description=__doc__)
    parser.add_argument("--nodes", type=int, default=10)
    parser.add_argument("--server", required=True, help="apiserver URLs, comma-separated")
    parser.add_argument("--prefix", default="sim-")
    parser.add_argument("--cpu", type=int, default=4)
    parser.add_argument("--memory-mib", type=int, default=8192)
    parser.add_argument("--cidr-first-octet", type=int, default=200, help="pod CIDRs 10.<this>.<i>.0/24 (fake)")
    parser.add_argument("--lease-seconds", type=int, default=40)
    parser.add_argument("--status-interval", type=float, default=10.0)
    parser.add_argument("--data-dir", default="")
    parser.add_argument("--zones", default="", help="zones to label the nodes with in turn, comma-separated")
    add_logging_flags(parser, default_level="warning")
    args = parser.parse_args(argv)
    return run_daemon(lambda: serve(args), args, name="simulated-nodes")


if __name__ == "__main__":
    sys.exit(main())
