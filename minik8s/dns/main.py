"""The cluster DNS process: `python -m minik8s.dns.main --server URL --advertise-address IP`.

It watches Services and Endpoints, answers `*.svc.cluster.local` over UDP and TCP from those
caches and refuses every other name, keeps `kube-system/kube-dns` (clusterIP 10.96.0.10)
pointing at itself so pods reach it through the proxy, and reports ready on
`http://127.0.0.1:<health-port>/healthz` once its caches have synced. It needs no leader:
every copy answers alike from its own caches.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import sys

from minik8s.api.formats import check_non_special_ip
from minik8s.api.kinds import ENDPOINTS, SERVICES
from minik8s.client.command_line import add_client_flags, make_client
from minik8s.client.informer import Informer
from minik8s.daemon.entry import run_daemon
from minik8s.daemon.logs import add_logging_flags
from minik8s.dns.health import HealthServer
from minik8s.dns.records import DEFAULT_DOMAIN, DEFAULT_TTL
from minik8s.dns.registration import DEFAULT_CLUSTER_IP, DnsRegistration, Registrar
from minik8s.dns.server import ClusterZone, DnsServer
from minik8s.dnswire.message import name_labels

log = logging.getLogger("minik8s.dns")

DEFAULT_HEALTH_PORT = 8181  # CoreDNS's `ready` plugin: 200 once the kubernetes plugin has synced


def host_and_port(text: str) -> tuple[str, int]:
    """`0.0.0.0:53`, `[::]:53`, `127.0.0.1:0` → (host, port)."""
    host, separator, port_text = text.rpartition(":")
    if not separator or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    host = host.removeprefix("[").removesuffix("]")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{host!r} is not an IP address") from None
    return host, int(port_text)


def ip_address(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an IP address") from None


def endpoint_address(text: str) -> str:
    """An IP the kube-dns Endpoints may hold: the API refuses loopback, link-local and unspecified ones."""
    address = ip_address(text)
    problems = check_non_special_ip(address)
    if problems:
        raise argparse.ArgumentTypeError(f"{text!r} {'; '.join(problems)}: pods reach the server through the "
                                         "kube-dns Endpoints, which may not hold such an address")
    return address


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="minik8s-dns", description="minik8s cluster DNS")
    add_client_flags(parser)
    parser.add_argument("--listen", type=host_and_port, default=("0.0.0.0", 53),
                        help="address of the UDP and TCP listeners (default 0.0.0.0:53)")
    parser.add_argument("--cluster-domain", default=DEFAULT_DOMAIN)
    parser.add_argument("--ttl", type=int, default=DEFAULT_TTL, help="TTL of the answers, in seconds")
    parser.add_argument("--advertise-address", type=endpoint_address, default=None,
                        help="the address pods reach this server at; kube-system/kube-dns is kept pointing there "
                             "(without it the Service and Endpoints are left alone)")
    parser.add_argument("--cluster-ip", type=ip_address, default=DEFAULT_CLUSTER_IP,
                        help="clusterIP of the kube-dns Service")
    parser.add_argument("--health-port", type=int, default=DEFAULT_HEALTH_PORT,
                        help="port of GET http://127.0.0.1:PORT/healthz (0: any free port)")
    add_logging_flags(parser)
    args = parser.parse_args(argv)
    if not 0 <= args.ttl <= 2**31 - 1:
        parser.error("--ttl must be between 0 and 2147483647")
    try:
        if not name_labels(args.cluster_domain):
            parser.error("--cluster-domain may not be the root")
    except ValueError as error:
        parser.error(f"--cluster-domain: {error}")
    return args


class DnsDaemon:
    """The whole process as an object: `start` binds the sockets, `run` serves until cancelled."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.client = make_client(args)
        self.services, self.endpoints = Informer(self.client, SERVICES), Informer(self.client, ENDPOINTS)
        self.zone = ClusterZone(self.services, self.endpoints, domain=args.cluster_domain, ttl=args.ttl)
        host, port = args.listen
        self.dns = DnsServer(self.zone.answer, host=host, port=port)
        self.health = HealthServer(lambda: self.zone.synced, port=args.health_port)

    async def start(self) -> None:
        """Bind the DNS and health sockets (OSError if one is taken or privileged)."""
        try:
            await self.dns.start()
            await self.health.start()
        except BaseException:
            await self.close()
            raise

    async def run(self) -> None:
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self.services.run(), name="services")
                tasks.create_task(self.endpoints.run(), name="endpoints")
                if self.args.advertise_address:
                    tasks.create_task(self._registrar().run(), name="registration")
                else:
                    log.info("no --advertise-address: leaving kube-system/kube-dns alone")
        finally:
            await self.close()

    async def close(self) -> None:
        await self.health.close()
        await self.dns.close()
        await self.client.aclose()

    def _registrar(self) -> Registrar:
        registration = DnsRegistration(self.args.cluster_ip, self.args.advertise_address, self.dns.port)
        registrar = Registrar(self.client, registration)
        for informer in (self.services, self.endpoints):
            informer.add_handler(on_add=registrar.note, on_update=registrar.note_update, on_delete=registrar.note)
        return registrar


async def serve(args: argparse.Namespace) -> None:
    daemon = DnsDaemon(args)
    await daemon.start()
    await daemon.run()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_daemon(lambda: serve(args), args, name="dns", fatal=(OSError,))


if __name__ == "__main__":
    sys.exit(main())
