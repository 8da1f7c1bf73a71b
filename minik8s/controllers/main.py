"""The controller-manager process: every controller, in one process, behind one leader Lease.

Two copies may run; the one holding the `kube-controller-manager` Lease in kube-system works,
the other waits. Leading builds everything afresh (informers, caches, queues) and losing the
Lease cancels it all, so a deposed leader stops writing at once — and every write it might
still have in flight is guarded by a resourceVersion anyway.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from cryptography import x509

from minik8s.client.command_line import (
    add_client_flags,
    add_leader_flags,
    duration,
    lead_or_wait,
    make_client,
)
from minik8s.client.events import EventRecorder
from minik8s.controllers.common.context import (
    ControllerContext,
    ControllerOptions,
    InformerFactory,
    RunnableController,
)
from minik8s.controllers.manager import CONTROLLERS, ROOT_CA_PUBLISHER, load_controllers
from minik8s.daemon.entry import run_daemon
from minik8s.daemon.logs import add_logging_flags

log = logging.getLogger("minik8s.controller-manager")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="minik8s-controller-manager", description="minik8s controllers")
    add_client_flags(parser)
    add_leader_flags(parser)
    parser.add_argument("--controllers", default="*",
                        help=f"comma-separated, or * for all: {', '.join(CONTROLLERS)}")
    parser.add_argument("--node-monitor-grace-period", type=duration, default=40.0)
    parser.add_argument("--node-monitor-period", type=duration, default=5.0)
    parser.add_argument("--default-not-ready-toleration-seconds", type=int, default=300)
    parser.add_argument("--default-unreachable-toleration-seconds", type=int, default=300)
    parser.add_argument("--cluster-cidr", default="10.244.0.0/16")
    parser.add_argument("--node-cidr-mask-size", type=int, default=24)
    parser.add_argument("--concurrent-syncs", type=int, default=2, help="workers per controller")
    parser.add_argument("--resource-quota-sync-period", type=duration, default=300.0,
                        help="how often every ResourceQuota's usage is recounted from scratch (e.g. 5m)")
    parser.add_argument("--pvclaimbinder-sync-period", type=duration, default=15.0,
                        help="how often every PersistentVolume and claim is synced by the binder (e.g. 15s)")
    parser.add_argument("--root-ca-file", default="",
                        help="the cluster CA (PEM) published to every namespace as the kube-root-ca.crt ConfigMap; "
                             f"without it the {ROOT_CA_PUBLISHER} controller does not run")
    parser.add_argument("--job-backoff-base", type=duration, default=10.0,
                        help="the delay before a failed Job pod is replaced, doubled per failure up to 6m "
                             "(Kubernetes' fixed 10s; shorter for tests)")
    add_logging_flags(parser)
    args = parser.parse_args(argv)
    names = list(CONTROLLERS) if args.controllers == "*" else [n for n in args.controllers.split(",") if n]
    unknown = [n for n in names if n not in CONTROLLERS]
    if unknown:
        parser.error(f"unknown controllers: {', '.join(unknown)}")
    if not args.root_ca_file and ROOT_CA_PUBLISHER in names:
        if args.controllers != "*":
            parser.error(f"the {ROOT_CA_PUBLISHER} controller needs --root-ca-file")
        names.remove(ROOT_CA_PUBLISHER)
    args.root_ca = read_root_ca(parser, args.root_ca_file) if args.root_ca_file else ""
    args.controller_names = names
    return args


def read_root_ca(parser: argparse.ArgumentParser, path: str) -> str:
    """The CA bundle of --root-ca-file, checked to be PEM certificates (else exit 2, as a bad flag)."""
    try:
        pem = Path(path).read_bytes()
        x509.load_pem_x509_certificates(pem)
    except (OSError, ValueError) as error:
        parser.error(f"error parsing root-ca-file at {path}: {error}")
    return pem.decode()


async def serve(args: argparse.Namespace) -> None:
    client = make_client(args)
    options = ControllerOptions(
        node_monitor_grace_period=args.node_monitor_grace_period, node_monitor_period=args.node_monitor_period,
        default_not_ready_toleration_seconds=args.default_not_ready_toleration_seconds,
        default_unreachable_toleration_seconds=args.default_unreachable_toleration_seconds,
        cluster_cidr=args.cluster_cidr, node_cidr_mask_size=args.node_cidr_mask_size, workers=args.concurrent_syncs,
        root_ca=args.root_ca, resource_quota_sync_period=args.resource_quota_sync_period,
        pvclaimbinder_sync_period=args.pvclaimbinder_sync_period,
        job_backoff_base=args.job_backoff_base,
    )
    factories = load_controllers(args.controller_names)

    async def lead() -> None:
        informers = InformerFactory(client)
        context = ControllerContext(client, informers, EventRecorder(client, component="controller-manager"),
                                    options)
        controllers: list[RunnableController] = [factory(context) for factory in factories]
        log.info("leading: running %s", ", ".join(c.name for c in controllers))
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(informers.run())
            for controller in controllers:
                tasks.create_task(controller.run(), name=controller.name)

    await lead_or_wait(client, args, lease_name="kube-controller-manager", lead=lead)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_daemon(lambda: serve(args), args, name="controller-manager")


if __name__ == "__main__":
    sys.exit(main())
