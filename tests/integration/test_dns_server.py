"""The DNS server as pods meet it: a real apiserver, the daemon on loopback, raw UDP and TCP queries."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest

from minik8s.dns.main import DnsDaemon, parse_args
from minik8s.dnswire.message import SRV, A, Message, Question, Rcode, RecordType
from minik8s.dnswire.wire import decode_message, encode_message
from tests.support.serving import apiserver_serving
from tests.support.waiting import eventually

pytestmark = pytest.mark.timeout(60)
T = TypeVar("T")
# Where pods would reach the server (the kube-dns Endpoints may not hold loopback); the tests query its port.
ADVERTISED = "192.0.2.53"



@dataclass
class Cluster:
    api: httpx.AsyncClient
    daemon: DnsDaemon

    @property
    def dns_port(self) -> int:
        return self.daemon.dns.port


@pytest.fixture
async def cluster() -> AsyncIterator[Cluster]:
    async with apiserver_serving(history=200) as url, httpx.AsyncClient(base_url=url, timeout=5) as api:
        daemon = DnsDaemon(parse_args(["--server", url, "--listen", "127.0.0.1:0",
                                       "--advertise-address", ADVERTISED, "--health-port", "0"]))
        await daemon.start()
        running = asyncio.create_task(daemon.run())
        try:
            yield Cluster(api, daemon)
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)


async def answered(what: str, probe: Callable[[], Awaitable[T]], good: Callable[[T], bool]) -> T:
    """What `probe` returns once `good` holds for it; a server still starting or a lost datagram is "not yet"."""
    async def check() -> T | None:
        value = await probe()
        return value if good(value) else None
    return await eventually(what, check, timeout=10, retry_on=(httpx.TransportError, TimeoutError))


async def query_udp(port: int, name: str, qtype: int = RecordType.A) -> Message:
    loop = asyncio.get_running_loop()
    packet = encode_message(Message(id=0x2B2B, recursion_desired=True, questions=(Question(name, qtype),)))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        await loop.sock_sendto(sock, packet, ("127.0.0.1", port))
        async with asyncio.timeout(2):
            data, _ = await loop.sock_recvfrom(sock, 65535)
    reply = decode_message(data)
    assert reply.id == 0x2B2B
    return reply


async def query_tcp(port: int, name: str, qtype: int = RecordType.A) -> Message:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        replies = []
        for ident in (1, 2):  # two queries on one connection
            packet = encode_message(Message(id=ident, questions=(Question(name, qtype),)))
            writer.write(len(packet).to_bytes(2, "big") + packet)
            await writer.drain()
            async with asyncio.timeout(2):
                length = int.from_bytes(await reader.readexactly(2), "big")
                replies.append(decode_message(await reader.readexactly(length)))
        assert [reply.id for reply in replies] == [1, 2]
        return replies[0]
    finally:
        writer.close()
        await writer.wait_closed()


def addresses(reply: Message) -> list[str]:
    return sorted(record.data.address for record in reply.answers if isinstance(record.data, A))


async def create(api: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await api.post(path, json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_pods_resolve_services_and_nothing_else(cluster: Cluster) -> None:
    api, port = cluster.api, cluster.dns_port
    health = f"http://127.0.0.1:{cluster.daemon.health.port}/healthz"
    await answered("the DNS server's health check", lambda: api.get(health), lambda r: r.status_code == 200)

    web = await create(api, "/api/v1/namespaces/default/services", {
        "metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80}]}})
    await create(api, "/api/v1/namespaces/default/services", {
        "metadata": {"name": "db"}, "spec": {"clusterIP": "None", "selector": {"app": "db"},
                                             "ports": [{"name": "pg", "port": 5432}]}})
    await create(api, "/api/v1/namespaces/default/endpoints", {
        "metadata": {"name": "db"},
        "subsets": [{"addresses": [{"ip": "10.244.1.5", "hostname": "db-0"}, {"ip": "10.244.2.7"}],
                     "notReadyAddresses": [{"ip": "10.244.1.9"}], "ports": [{"name": "pg", "port": 5432}]}]})
    cluster_ip = web["spec"]["clusterIP"]

    reply = await answered("web to resolve to its ClusterIP", lambda: query_udp(port, "web.default.svc.cluster.local"),
                           lambda r: addresses(r) == [cluster_ip])
    assert reply.authoritative and reply.answers[0].ttl == 5
    headless = await answered("the headless db to resolve", lambda: query_udp(port, "db.default.svc.cluster.local"),
                              lambda r: r.rcode == Rcode.NOERROR)
    assert addresses(headless) == ["10.244.1.5", "10.244.2.7"]
    assert addresses(await query_udp(port, "db-0.db.default.svc.cluster.local")) == ["10.244.1.5"]

    srv = await query_udp(port, "_http._tcp.web.default.svc.cluster.local", RecordType.SRV)
    assert [r.data for r in srv.answers] == [SRV(0, 100, 80, "web.default.svc.cluster.local.")]
    assert [r.data for r in srv.additional] == [A(cluster_ip)]

    missing = await query_udp(port, "nope.default.svc.cluster.local")
    assert missing.rcode == Rcode.NXDOMAIN and missing.answers == () and len(missing.authority) == 1
    outside = await query_udp(port, "example.com")
    assert outside.rcode == Rcode.REFUSED and outside.answers == () and not outside.authoritative

    over_tcp = await query_tcp(port, "WEB.default.svc.cluster.local")
    assert addresses(over_tcp) == [cluster_ip] and over_tcp.answers[0].name == "WEB.default.svc.cluster.local."
    assert (await query_tcp(port, "example.com")).rcode == Rcode.REFUSED


async def test_a_large_headless_answer_is_truncated_on_udp_and_whole_on_tcp(cluster: Cluster) -> None:
    api, port = cluster.api, cluster.dns_port
    await create(api, "/api/v1/namespaces/default/services", {
        "metadata": {"name": "many"}, "spec": {"clusterIP": "None", "ports": [{"port": 80}]}})
    ips = [f"10.244.{i // 200}.{i % 200 + 1}" for i in range(80)]
    await create(api, "/api/v1/namespaces/default/endpoints", {
        "metadata": {"name": "many"}, "subsets": [{"addresses": [{"ip": ip} for ip in ips], "ports": [{"port": 80}]}]})
    over_udp = await answered("the headless many to resolve", lambda: query_udp(port, "many.default.svc.cluster.local"),
                              lambda r: r.rcode == Rcode.NOERROR)
    assert over_udp.truncated and 0 < len(over_udp.answers) < 80
    assert addresses(await query_tcp(port, "many.default.svc.cluster.local")) == sorted(ips)


async def test_the_server_keeps_kube_dns_pointing_at_itself(cluster: Cluster) -> None:
    api, port = cluster.api, cluster.dns_port
    service_path = "/api/v1/namespaces/kube-system/services/kube-dns"
    endpoints_path = "/api/v1/namespaces/kube-system/endpoints/kube-dns"
    service = (await answered("the kube-dns Service", lambda: api.get(service_path),
                              lambda r: r.status_code == 200)).json()
    assert service["spec"]["clusterIP"] == "10.96.0.10" and "selector" not in service["spec"]
    assert {(p["name"], p["protocol"], p["port"], p["targetPort"]) for p in service["spec"]["ports"]} == {
        ("dns", "UDP", 53, port), ("dns-tcp", "TCP", 53, port)}
    endpoints = (await answered("the kube-dns Endpoints", lambda: api.get(endpoints_path),
                                lambda r: r.status_code == 200)).json()
    assert endpoints["subsets"][0]["addresses"] == [{"ip": ADVERTISED}]
    assert {p["port"] for p in endpoints["subsets"][0]["ports"]} == {port}

    endpoints["subsets"][0]["addresses"] = [{"ip": "10.244.9.9"}]
    assert (await api.put(endpoints_path, json=endpoints)).status_code == 200
    await api.delete(service_path)
    await answered("the kube-dns Endpoints to point at the server again", lambda: api.get(endpoints_path),
                   lambda r: r.json()["subsets"][0]["addresses"] == [{"ip": ADVERTISED}])
    await answered("the kube-dns Service to be recreated", lambda: api.get(service_path),
                   lambda r: r.status_code == 200)
    answer = await answered("kube-dns to resolve", lambda: query_udp(port, "kube-dns.kube-system.svc.cluster.local"),
                            lambda r: r.rcode == Rcode.NOERROR)
    assert addresses(answer) == ["10.96.0.10"]
