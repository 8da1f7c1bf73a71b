"""The proxy process: `python -m minik8s.proxy.main --server URL[,URL]` (one per host, as root).

Started by `minik8s up`, or by hand:
    python -m minik8s.proxy.main --server http://127.0.0.1:6443 --cluster-cidr 10.244.0.0/16
    python -m minik8s.proxy.main --cleanup      # remove every MINIK8S chain, jump rule and the route

It refuses to start without root (it programs iptables and routes) and when another proxy already
runs on this host (two would fight over the same chains): a lock file held with flock names the
other one's pid. It serves only a health endpoint (kube-proxy's `/healthz` on 127.0.0.1:10256).
Rules stay in place when it exits, so services keep working across a restart; `--cleanup` is what
`minik8s down` runs.
"""

from __future__ import annotations

import argparse
import fcntl
import ipaddress
import logging
import os
import shutil
import sys

from minik8s.client.command_line import add_client_flags, duration, make_client
from minik8s.daemon.entry import StartupError, run_daemon
from minik8s.daemon.logs import add_logging_flags
from minik8s.proxy import iptables
from minik8s.proxy.commands import CommandError
from minik8s.proxy.health import serve_health
from minik8s.proxy.host import DEFAULT_SERVICE_CIDR
from minik8s.proxy.proxy import HostDataplane, ProxySettings, ServiceProxy
from minik8s.proxy.rules import DEFAULT_CLUSTER_CIDR

log = logging.getLogger("minik8s.proxy")

DEFAULT_LOCK_FILE = "/run/minik8s-proxy.lock"
REQUIRED_TOOLS = ("iptables", "iptables-restore", "iptables-save", "ip")


class AlreadyRunning(Exception):
    """Another proxy holds the lock file."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="minik8s-proxy", description="minik8s service proxy (iptables)")
    add_client_flags(parser)
    parser.add_argument("--cluster-cidr", default=DEFAULT_CLUSTER_CIDR, type=cidr, help="pod network of the cluster")
    parser.add_argument("--service-cidr", default=DEFAULT_SERVICE_CIDR, type=cidr,
                        help="virtual IPs of services, routed locally so they never leave the machine")
    parser.add_argument("--sync-period", type=duration, default=30.0, help="full resync period (e.g. 30s)")
    parser.add_argument("--min-sync-period", type=duration, default=0.05,
                        help="how long a burst of changes is coalesced before a sync (e.g. 50ms)")
    parser.add_argument("--healthz-bind-address", default="127.0.0.1:10256", help="host:port of /healthz")
    parser.add_argument("--lock-file", default=DEFAULT_LOCK_FILE, help="one proxy per host holds this lock")
    parser.add_argument("--cleanup", action="store_true", help="remove every rule, chain and route, and exit")
    add_logging_flags(parser)
    return parser.parse_args(argv)


def cidr(text: str) -> str:
    try:
        return str(ipaddress.IPv4Network(text, strict=False))
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not an IPv4 CIDR: {text!r}") from error


def hold_lock(path: str) -> int:
    """Take the one-proxy-per-host lock for the life of the process; AlreadyRunning names the holder."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(descriptor, 32, 0).decode(errors="replace").strip() or "unknown"
        os.close(descriptor)
        raise AlreadyRunning(f"another minik8s proxy (pid {holder}) is already running on this host "
                             f"(it holds {path}); stop it first") from None
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
    return descriptor


def missing_prerequisite() -> str | None:
    """Why this process cannot program the host, or None."""
    if os.geteuid() != 0:
        return "the minik8s proxy needs root (it programs iptables and routes): run it as root or with sudo"
    missing = [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]
    if missing:
        return f"the minik8s proxy needs {', '.join(missing)} (apt-get install iptables iproute2)"
    return None


async def serve(args: argparse.Namespace) -> None:
    """Program this host until stopped; or, with --cleanup, remove what a proxy programmed."""
    problem = missing_prerequisite()
    if problem:
        raise StartupError(problem)
    if args.cleanup:
        clean(args)
        return
    hold_lock(args.lock_file)
    settings = ProxySettings(cluster_cidr=args.cluster_cidr, service_cidr=args.service_cidr,
                             sync_period=args.sync_period, min_sync_interval=args.min_sync_period)
    client = make_client(args)
    proxy = ServiceProxy(client, HostDataplane(settings), settings)
    health_host, _, health_port = args.healthz_bind_address.rpartition(":")
    server = await serve_health(proxy.health, host=health_host or "127.0.0.1", port=int(health_port))
    log.info("proxy started: cluster CIDR %s, service CIDR %s, full sync every %.0f s",
             settings.cluster_cidr, settings.service_cidr, settings.sync_period)
    try:
        await proxy.run()
    finally:
        server.close()


def clean(args: argparse.Namespace) -> None:
    try:
        with open(args.lock_file, "rb") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        log.warning("a minik8s proxy is still running: it will put its rules back at its next sync")
    except OSError:
        pass
    iptables.cleanup(service_cidr=args.service_cidr)
    log.info("removed every MINIK8S chain and jump rule, and the local route of %s", args.service_cidr)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_daemon(lambda: serve(args), args, name="proxy",
                      fatal=(AlreadyRunning, OSError, CommandError, ValueError))


if __name__ == "__main__":
    sys.exit(main())
