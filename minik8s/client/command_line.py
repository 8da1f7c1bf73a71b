"""What the daemons' command lines share on the client side: reaching the apiservers, leader election.

The scheduler and the controller-manager take Kubernetes' own flag names
(`--leader-elect-lease-duration 15s`, …) and the same `--server`/`--kubeconfig` pair as the
node agent, so `minik8s up` and a person starting daemons by hand use one vocabulary.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable

from minik8s.client.api import ApiClient
from minik8s.client.leader import LeaderElector

log = logging.getLogger(__name__)


def duration(text: str) -> float:
    """Kubernetes-style durations: `40s`, `2m`, `1m30s`, `500ms`, or plain seconds."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    total, number = 0.0, ""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    index = 0
    while index < len(text):
        char = text[index]
        if char.isdigit() or char == ".":
            number += char
            index += 1
            continue
        unit = "ms" if text.startswith("ms", index) else char
        if unit not in units or not number:
            raise argparse.ArgumentTypeError(f"invalid duration {text!r}")
        total += float(number) * units[unit]
        number, index = "", index + len(unit)
    if number:
        raise argparse.ArgumentTypeError(f"invalid duration {text!r} (a unit is missing)")
    return total


def add_client_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", default="", help="apiserver URLs, comma-separated (fail-over in order)")
    parser.add_argument("--kubeconfig", default=None, help="kubeconfig to find the apiservers (instead of --server)")


def add_leader_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--leader-elect", default="true", choices=("true", "false"))
    parser.add_argument("--leader-elect-lease-duration", type=duration, default=15.0)
    parser.add_argument("--leader-elect-renew-deadline", type=duration, default=10.0)
    parser.add_argument("--leader-elect-retry-period", type=duration, default=2.0)
    parser.add_argument("--identity", default="", help="leader-election identity (default: host_pid_random)")


def make_client(args: argparse.Namespace) -> ApiClient:
    if args.server:
        return ApiClient([s for s in args.server.split(",") if s])
    return ApiClient.from_kubeconfig(args.kubeconfig)


def identity(args: argparse.Namespace) -> str:
    return args.identity or f"{socket.gethostname()}_{os.getpid()}_{uuid.uuid4().hex[:6]}"


async def lead_or_wait(client: ApiClient, args: argparse.Namespace, *, lease_name: str,
                       lead: Callable[[], Awaitable[None]]) -> None:
    """Run `lead` while holding the Lease (or at once with --leader-elect=false)."""
    if args.leader_elect == "false":
        await lead()
        return
    elector = LeaderElector(client, lease_name=lease_name, namespace="kube-system", identity=identity(args),
                            lease_duration=args.leader_elect_lease_duration,
                            renew_deadline=args.leader_elect_renew_deadline,
                            retry_period=args.leader_elect_retry_period)
    log.info("%s: waiting to lead (lease kube-system/%s)", elector.identity, lease_name)
    await elector.run(lead)
