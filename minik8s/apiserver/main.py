"""The apiserver process: one Raft replica of the store plus the HTTP API, in one event loop.

Started by `minik8s up`, or by hand on each machine of a cluster:
    minik8s-apiserver --name apiserver-1 --listen 127.0.0.1:6443 --raft-address 127.0.0.1:7001 \
        --peers 127.0.0.1:7002,127.0.0.1:7003 --data-dir /var/lib/minik8s/apiserver-1 \
        --secret-file /etc/minik8s/cluster-secret --encryption-provider-config /etc/minik8s/encryption.yaml

A data directory holding `seed.snapshot` (left by `minik8s snapshot restore`) is loaded into the store
before the replica serves (store/seeding.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
from pathlib import Path

from minik8s.api.snapshot_format import SEED_FILE_NAME
from minik8s.apiserver.admission import DEFAULT_PLUGINS, PLUGINS, enabled_plugins
from minik8s.apiserver.admission_pod_security import add_pod_security_flags, pod_security_from_flags
from minik8s.apiserver.app import create_app
from minik8s.apiserver.authentication_setup import (
    AuthenticationOptions,
    add_authentication_flags,
    options_from_flags,
)
from minik8s.apiserver.authorization import ALWAYS_ALLOW, MODES
from minik8s.apiserver.encryption_config import load_encryption_config
from minik8s.apiserver.kubelet_client import (
    KubeletConnection,
    add_kubelet_client_flags,
    kubelet_client_from_flags,
)
from minik8s.apiserver.load_limits import add_load_limit_flags, load_limits_from_flags
from minik8s.apiserver.snapshot_schedule import PeriodicSnapshots, SnapshotSchedule, parse_interval
from minik8s.daemon.entry import run_daemon
from minik8s.daemon.http import serve_http
from minik8s.daemon.logs import add_logging_flags
from minik8s.daemon.request_guard import host_policy, parse_host_list
from minik8s.daemon.tls import ServerTls
from minik8s.store.encryption import NO_ENCRYPTION
from minik8s.store.raft import RaftSettings, RaftStore, ensure_secret
from minik8s.store.seeding import seed_store
from minik8s.store.watch import DEFAULT_HISTORY_BYTES

log = logging.getLogger("minik8s.apiserver")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="minik8s-apiserver", description="minik8s API server + store replica")
    parser.add_argument("--name", default="apiserver-1", help="this replica's name (logs, status)")
    add_store_flags(parser)
    add_serving_flags(parser)
    parser.add_argument("--authorization-mode", default=ALWAYS_ALLOW, choices=MODES,
                        help="who may do what: AlwaysAllow (everyone everything), RBAC (Roles and bindings; "
                             "creates the bootstrap policy) or Node,RBAC (kubelets' Node authorizer and "
                             "NodeRestriction first, then RBAC)")
    add_authentication_flags(parser)
    add_kubelet_client_flags(parser)
    add_admission_flags(parser)
    add_load_limit_flags(parser)
    add_logging_flags(parser)
    args = parser.parse_args(argv)
    if bool(args.tls_cert_file) != bool(args.tls_private_key_file):
        parser.error("--tls-cert-file and --tls-private-key-file go together")
    if args.client_ca_file and not args.tls_cert_file:
        parser.error("--client-ca-file needs --tls-cert-file and --tls-private-key-file")
    args.snapshots = snapshot_schedule_from_flags(parser, args)
    args.kubelet_client = kubelet_client_from_flags(parser, args)
    args.load_limits = load_limits_from_flags(parser, args)
    try:
        args.admission_plugins = enabled_plugins(_names(args.enable_admission_plugins),
                                                 _names(args.disable_admission_plugins))
    except ValueError as error:
        parser.error(str(error))
    args.pod_security = pod_security_from_flags(args)
    return args


def add_store_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--raft-address", default="127.0.0.1:7001", help="this replica's Raft address host:port")
    parser.add_argument("--peers", default="", help="comma-separated Raft addresses of the other replicas")
    parser.add_argument("--data-dir", default="./data/apiserver-1", help="journal and snapshot directory")
    parser.add_argument("--secret-file", default="", help="required: the cluster secret (mode 0600) every "
                        "replica shares; it encrypts and authenticates Raft traffic; created (random) when missing")
    parser.add_argument("--encryption-provider-config", default="",
                        help="Kubernetes' EncryptionConfiguration file: the resources whose values are encrypted "
                        "in the store (aesgcm keys: the first provider encrypts, all decrypt; identity reads "
                        "values stored in the clear); every replica needs the same file (default: none, values "
                        "stored as they are)")
    parser.add_argument("--watch-history", type=int, default=10_000, help="watch events kept for resuming")
    parser.add_argument("--watch-history-bytes", type=int, default=DEFAULT_HISTORY_BYTES,
                        help="bytes of objects the watch history may keep (new and previous values); the oldest "
                             "events go first, and resuming from one is a 410")
    parser.add_argument("--snapshot-dir", default="", help="where the leader writes periodic snapshots of the store")
    parser.add_argument("--snapshot-interval", default="0", help="take a snapshot at every multiple of this "
                        "duration (UTC), e.g. 12h; 0 (the default): none")
    parser.add_argument("--snapshot-retention", type=int, default=5, help="periodic snapshots kept (the newest)")


def snapshot_schedule_from_flags(parser: argparse.ArgumentParser, args: argparse.Namespace) -> SnapshotSchedule | None:
    try:
        interval = parse_interval(args.snapshot_interval)
    except ValueError as error:
        parser.error(f"--snapshot-interval: {error}")
    if not interval:
        return None
    if not args.snapshot_dir:
        parser.error("--snapshot-interval needs --snapshot-dir")
    if args.snapshot_retention < 1:
        parser.error("--snapshot-retention must be at least 1")
    return SnapshotSchedule(Path(args.snapshot_dir), interval, args.snapshot_retention)


def add_serving_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--listen", default="127.0.0.1:6443", help="HTTP(S) address host:port; more, comma-"
                        "separated, are served too and may appear on this host later (a node network's gateway, "
                        "for pods)")
    parser.add_argument("--advertise-address", default="",
                        help="host:port listed in the `kubernetes` Endpoints (default: the first --listen address)")
    parser.add_argument("--tls-cert-file", default="", help="serving certificate (PEM); with "
                        "--tls-private-key-file, serve HTTPS instead of HTTP")
    parser.add_argument("--tls-private-key-file", default="", help="the serving certificate's private key (PEM)")
    parser.add_argument("--client-ca-file", default="", help="CA bundle client certificates are verified "
                        "against; a verified certificate authenticates its CN as user, its Os as groups")
    parser.add_argument("--allowed-hosts", default="",
                        help="comma-separated extra names clients may reach this server by (the Host header); IP "
                        "literals, localhost, kubernetes[.default[.svc[.cluster.local]]] and this machine's "
                        "hostname are always served; '*' serves any name (turns the DNS-rebinding check off)")


def add_admission_flags(parser: argparse.ArgumentParser) -> None:
    """The admission chain's flags: which plugins run, and the settings of those that have some."""
    parser.add_argument("--enable-admission-plugins", default="",
                        help=f"comma-separated admission plugins to run besides the default ones ({', '.join(PLUGINS)}; "
                             f"on by default: {', '.join(p for p in PLUGINS if p in DEFAULT_PLUGINS)}; ServiceAccount: "
                             "pods get a token volume and must name an existing ServiceAccount); they run in "
                             "Kubernetes' order whatever order they are named in")
    parser.add_argument("--disable-admission-plugins", default="",
                        help="comma-separated admission plugins not to run although they are default ones")
    parser.add_argument("--default-not-ready-toleration-seconds", type=int, default=300,
                        help="tolerationSeconds of the not-ready toleration DefaultTolerationSeconds adds to pods")
    parser.add_argument("--default-unreachable-toleration-seconds", type=int, default=300,
                        help="tolerationSeconds of the unreachable toleration DefaultTolerationSeconds adds to pods")
    add_pod_security_flags(parser)


def _names(flag: str) -> list[str]:
    return [name.strip() for name in flag.split(",") if name.strip()]


def server_tls(args: argparse.Namespace) -> ServerTls | None:
    if not args.tls_cert_file:
        return None
    return ServerTls(args.tls_cert_file, args.tls_private_key_file, args.client_ca_file)


def host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host or "127.0.0.1", int(port)


MISSING_SECRET = ("--secret-file is required: the cluster secret authenticates and encrypts Raft traffic; "
                  "without it anyone reaching the Raft port could run code in this replica")


async def serve(args: argparse.Namespace) -> None:
    authentication = options_from_flags(args)  # bad key or token files stop the start before the store opens
    kubelet = KubeletConnection.of(args.kubelet_client)
    transformers = (load_encryption_config(Path(args.encryption_provider_config))
                    if args.encryption_provider_config else NO_ENCRYPTION)  # a bad file: exit 1, nothing made
    os.umask(0o077)  # journals, their metadata and dumps hold every object: owner-only, as etcd's files
    settings = RaftSettings(
        self_address=args.raft_address,
        peers=tuple(p for p in args.peers.split(",") if p),
        data_dir=Path(args.data_dir),
        password=ensure_secret(Path(args.secret_file)),
    )
    store = await RaftStore.open(settings, history=args.watch_history, history_bytes=args.watch_history_bytes,
                                 transformers=transformers)
    try:
        await serve_store(store, args, authentication=authentication, kubelet=kubelet)
    finally:
        await store.close()


async def serve_store(store: RaftStore, args: argparse.Namespace, *, authentication: AuthenticationOptions,
                      kubelet: KubeletConnection) -> None:
    """Seed the store if this is a restored cluster's first start, then serve the API (and take snapshots)."""
    seed = Path(args.data_dir) / SEED_FILE_NAME
    if seed.exists():
        await seed_store(store, seed)
    snapshots = PeriodicSnapshots(store, args.snapshots) if args.snapshots is not None else None
    (host, port), *also_on = [host_port(address) for address in args.listen.split(",") if address]
    tolerations = {"node.kubernetes.io/not-ready": args.default_not_ready_toleration_seconds,
                   "node.kubernetes.io/unreachable": args.default_unreachable_toleration_seconds}
    advertise = host_port(args.advertise_address) if args.advertise_address else (host, port)
    hosts = host_policy(parse_host_list(args.allowed_hosts), own=[host, advertise[0], *(h for h, _ in also_on)])
    app = create_app(store, name=args.name, toleration_seconds=tolerations, advertise=advertise, hosts=hosts,
                     authentication=authentication, authorization_mode=args.authorization_mode,
                     kubelet=kubelet, admission_plugins=args.admission_plugins, pod_security=args.pod_security,
                     load_limits=args.load_limits, snapshots=snapshots)
    tls = server_tls(args)
    log.info("%s serving on %s://%s:%d, raft %s, peers %s", args.name, "https" if tls else "http", host, port,
             args.raft_address, args.peers or "none")
    schedule = asyncio.create_task(snapshots.run()) if snapshots is not None else None
    try:
        await serve_http(app, host=host, port=port, lifespan="on", graceful_seconds=2, tls=tls,
                         also_on=also_on)
    finally:
        if schedule is not None:
            schedule.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await schedule


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.secret_file:  # checked here, not in parse_args, so flag tests need no secret
        print(f"minik8s-apiserver: error: {MISSING_SECRET}", file=sys.stderr)
        return 2
    return run_daemon(lambda: serve(args), args, name=args.name, fatal=(OSError, ValueError), fast_loop=True)


if __name__ == "__main__":
    sys.exit(main())
