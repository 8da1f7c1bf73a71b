"""The proxy turns Services and Endpoints into the iptables rules users rely on, and keeps them there.

Rendering is checked on text, feature by feature; the iptables helpers on built `iptables-save`
texts; the sync loop with a fake dataplane. `tests/e2e/test_proxy_iptables.py` applies the same
texts to the host's real iptables.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from minik8s.api.registry import ResourceKind
from minik8s.client.watch import WatchEvent
from minik8s.proxy import iptables
from minik8s.proxy.commands import CommandError
from minik8s.proxy.health import Health, answer
from minik8s.proxy.host import bridges_in, enable_sysctls, tune_bridges
from minik8s.proxy.iptables import Jump, cleanup_text, drift, jump_repair_text, parse_save
from minik8s.proxy.main import AlreadyRunning, hold_lock, missing_prerequisite
from minik8s.proxy.proxy import ProxySettings, ServiceProxy
from minik8s.proxy.rules import ChainNames, render
from tests.support import builders
from tests.support.builders import POD_IPS, endpoints
from tests.support.waiting import eventually

VIP = "10.96.0.10"
NAMES = ChainNames()


def service(name: str = "web", *, ip: str | None = VIP, **fields: Any) -> dict[str, Any]:
    """A Service with the test's virtual IP unless `ip` says otherwise."""
    return builders.service(name, cluster_ip=ip, **fields)


def rules_of(text: str, chain: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(f"-A {chain} ")]


def section(text: str, table: str) -> str:
    """One table's part of a restore text."""
    return text.split(f"*{table}\n", 1)[1].split("COMMIT", 1)[0] if f"*{table}\n" in text else ""


def declared_chains(text: str) -> list[str]:
    return [line[1:].split(" ")[0] for line in text.splitlines() if line.startswith(":")]


def web_chains(port: int = 80, protocol: str = "tcp") -> tuple[str, list[str]]:
    identity = f"default/web:{port}/{protocol}"
    return NAMES.service(identity), [NAMES.endpoint(identity, ip, 8080) for ip in POD_IPS]


# -- rendering ------------------------------------------------------------------------------------


def test_a_cluster_ip_spreads_connections_evenly_over_every_ready_endpoint() -> None:
    text = render([service()], [endpoints()]).text
    service_chain, endpoint_chains = web_chains()
    assert rules_of(section(text, "nat"), "MINIK8S-SERVICES")[0] == (
        f"-A MINIK8S-SERVICES -d {VIP}/32 -p tcp -m comment --comment default/web:80/tcp -m tcp --dport 80 "
        f"-j {service_chain}")
    assert not rules_of(section(text, "filter"), "MINIK8S-SERVICES")
    assert rules_of(text, service_chain) == [
        f"-A {service_chain} ! -s 10.244.0.0/16 -d {VIP}/32 -p tcp -m tcp --dport 80 -j MINIK8S-MARK-MASQ",
        f"-A {service_chain} -m statistic --mode random --probability 0.3333333333 -j {endpoint_chains[0]}",
        f"-A {service_chain} -m statistic --mode random --probability 0.5000000000 -j {endpoint_chains[1]}",
        f"-A {service_chain} -j {endpoint_chains[2]}",
    ]
    for ip, chain in zip(POD_IPS, endpoint_chains, strict=True):
        assert rules_of(text, chain) == [f"-A {chain} -s {ip}/32 -j MINIK8S-MARK-MASQ",  # hairpin
                                         f"-A {chain} -p tcp -m tcp -j DNAT --to-destination {ip}:8080"]
    assert rules_of(text, "MINIK8S-SERVICES")[-1] == \
        "-A MINIK8S-SERVICES -m addrtype --dst-type LOCAL -j MINIK8S-NODEPORTS"


def test_a_node_port_reaches_the_service_marked_for_masquerade() -> None:
    ports = [{"port": 80, "nodePort": 30080}]
    text = render([service(type="NodePort", ports=ports)], [endpoints()]).text
    service_chain, _ = web_chains()
    external = NAMES.external("default/web:80/tcp")
    assert rules_of(text, "MINIK8S-NODEPORTS") == [
        f"-A MINIK8S-NODEPORTS -p tcp -m comment --comment default/web:80/tcp -m tcp --dport 30080 -j {external}"]
    assert rules_of(text, external) == [f"-A {external} -j MINIK8S-MARK-MASQ", f"-A {external} -j {service_chain}"]
    assert rules_of(text, "MINIK8S-SERVICES")[-1].endswith("--dst-type LOCAL -j MINIK8S-NODEPORTS")
    assert not rules_of(render([service(ports=ports)], [endpoints()]).text, "MINIK8S-NODEPORTS")  # ClusterIP type


def test_client_ip_affinity_sends_a_client_back_to_its_endpoint_until_the_timeout() -> None:
    spec: dict[str, Any] = {"sessionAffinity": "ClientIP",
                            "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 600}}}
    text = render([service(**spec)], [endpoints()]).text
    service_chain, endpoint_chains = web_chains()
    recent = "-m recent --mask 255.255.255.255 --rsource"
    assert rules_of(text, service_chain)[1:4] == [
        f"-A {service_chain} {recent} --name {chain} --rcheck --seconds 600 --reap -j {chain}"
        for chain in endpoint_chains]
    assert "--probability 0.3333333333" in rules_of(text, service_chain)[4]
    assert rules_of(text, endpoint_chains[0])[1] == (
        f"-A {endpoint_chains[0]} -p tcp {recent} --name {endpoint_chains[0]} --set -m tcp "
        f"-j DNAT --to-destination {POD_IPS[0]}:8080")
    default = render([service(sessionAffinity="ClientIP")], [endpoints()]).text
    assert "--seconds 10800 --reap" in default


@pytest.mark.parametrize("backends", [
    pytest.param([], id="no Endpoints object"),
    pytest.param([endpoints(ips=[])], id="no addresses"),
    pytest.param([endpoints(ips=[], not_ready=POD_IPS)], id="only not-ready addresses"),
    pytest.param([endpoints(ports=[{"name": "other", "port": 8080}])], id="port name no container defines"),
])
def test_a_service_without_ready_endpoints_refuses_connections_at_once(backends: list[dict[str, Any]]) -> None:
    text = render([service(type="NodePort", ports=[{"port": 80, "nodePort": 30080}])], backends).text
    assert rules_of(section(text, "filter"), "MINIK8S-SERVICES") == [
        f"-A MINIK8S-SERVICES -d {VIP}/32 -p tcp -m comment --comment default/web:80/tcp -m tcp --dport 80 "
        "-j REJECT --reject-with tcp-reset",
        "-A MINIK8S-SERVICES -m addrtype --dst-type LOCAL -p tcp -m comment --comment default/web:80/tcp "
        "-m tcp --dport 30080 -j REJECT --reject-with tcp-reset"]
    assert len(rules_of(section(text, "nat"), "MINIK8S-SERVICES")) == 1  # only the NODEPORTS jump
    assert not [chain for chain in declared_chains(text) if NAMES.is_service_chain(chain)]


def test_udp_services_get_udp_rules_and_an_icmp_refusal_without_endpoints() -> None:
    ports = [{"name": "dns", "port": 53, "protocol": "UDP"}]
    udp_endpoints = endpoints(ports=[{"name": "dns", "port": 5353, "protocol": "UDP"}])
    text = render([service(ports=ports)], [udp_endpoints]).text
    assert "-p udp -m comment --comment default/web:53/udp -m udp --dport 53" in text
    assert f"-p udp -m udp -j DNAT --to-destination {POD_IPS[0]}:5353" in text
    refused = render([service(ports=ports)], []).text
    assert "-m udp --dport 53 -j REJECT --reject-with icmp-port-unreachable" in refused


@pytest.mark.parametrize("obj", [
    pytest.param(service(ip="None"), id="headless"),
    pytest.param(service(ip=None, type="ExternalName", externalName="example.org"), id="ExternalName"),
    pytest.param(service(ip=None), id="no address allocated yet"),
    pytest.param(service(ports=[{"port": 80, "protocol": "SCTP"}]), id="SCTP"),
])
def test_services_without_a_virtual_ip_produce_no_rules(obj: dict[str, Any]) -> None:
    text = render([obj], [endpoints()]).text
    assert "default/web" not in text and "--to-destination" not in text


def test_named_target_ports_use_each_backends_own_port_number() -> None:
    ports = [{"name": "http", "port": 80, "targetPort": "web"}, {"name": "metrics", "port": 9090}]
    subsets = [{"addresses": [{"ip": "10.244.1.5"}], "ports": [{"name": "http", "port": 8080},
                                                               {"name": "metrics", "port": 9100}]},
               {"addresses": [{"ip": "10.244.1.6"}], "ports": [{"name": "http", "port": 8081}]}]
    obj = {"metadata": {"name": "web", "namespace": "default"}, "subsets": subsets}
    text = render([service(ports=ports)], [obj]).text
    targets = sorted(line.rsplit(" ", 1)[1] for line in text.splitlines() if "--to-destination" in line)
    assert targets == ["10.244.1.5:8080", "10.244.1.5:9100", "10.244.1.6:8081"]


def test_stale_chains_are_emptied_then_deleted_and_nobody_elses_are_touched() -> None:
    old = NAMES.service("default/gone:80/tcp")
    foreign = ["MINIK8S-TEST-AB-SVC-AAAAAAAA", "KUBE-SVC-AAAAAAAAAAAAAAAA", "MINIK8S-SERVICES", "DOCKER"]
    result = render([service()], [endpoints()], existing_chains={old, *foreign, *web_chains()[1]})
    lines = result.text.split("\n")
    assert f":{old} - [0:0]" in lines
    assert lines[-3:] == [f"-X {old}", "COMMIT", ""]
    assert result.deleted == {old}
    assert not any(chain in line for chain in foreign[:2] for line in lines)


def test_a_partial_render_rewrites_only_changed_services_but_keeps_every_dispatch_rule() -> None:
    services = [service("a", ip="10.96.0.1"), service("b", ip="10.96.0.2")]
    backends = [endpoints("a"), endpoints("b")]
    full = render([*services, service("c", ip="10.96.0.3")], [*backends, endpoints("c")])
    partial = render(services, backends, changed={"default/b", "default/c"}, existing_chains=full.chains)
    chains = declared_chains(partial.text)
    assert NAMES.service("default/b:80/tcp") in chains and NAMES.service("default/a:80/tcp") not in chains
    assert "MINIK8S-FORWARD" not in chains and "MINIK8S-POSTROUTING" not in chains
    assert len(rules_of(section(partial.text, "nat"), "MINIK8S-SERVICES")) == 3  # a, b, NODEPORTS jump
    assert partial.deleted == {NAMES.service("default/c:80/tcp"),
                               *(NAMES.endpoint("default/c:80/tcp", ip, 8080) for ip in POD_IPS)}


def test_a_partial_render_leaves_out_a_dispatch_chain_that_did_not_change() -> None:
    first = render([service()], [endpoints()])
    moved = render([service()], [endpoints(ips=POD_IPS[:2])], changed={"default/web"},
                   existing_chains=first.chains, previous_dispatch=first.dispatch)
    assert "MINIK8S-SERVICES" not in declared_chains(moved.text) and "*filter" not in moved.text
    assert moved.deleted == {web_chains()[1][2]}
    added = render([service(), service("new", ip="10.96.0.99")], [endpoints(), endpoints("new")],
                   changed={"default/new"}, existing_chains=moved.chains, previous_dispatch=moved.dispatch)
    assert len(rules_of(section(added.text, "nat"), "MINIK8S-SERVICES")) == 3  # rewritten whole


def test_declared_rule_counts_match_the_text() -> None:
    result = render([service(type="NodePort", ports=[{"port": 80, "nodePort": 30080}], sessionAffinity="ClientIP"),
                     service("down", ip="10.96.0.2")], [endpoints()])
    for (table, chain), count in result.declared.items():
        assert len(rules_of(section(result.text, table), chain)) == count, chain
    assert result.chains == {chain for _, chain in result.declared}


@pytest.mark.parametrize("prefix", ["MINIK8S-", "MINIK8S-TEST-AB-", "MINIK8S-BENCH-"])
def test_chain_names_fit_iptables_and_differ_per_port_and_endpoint(prefix: str) -> None:
    names = ChainNames(prefix)
    made = {names.service("default/web:80/tcp"), names.service("default/web:80/udp"),
            names.external("default/web:80/tcp"), names.endpoint("default/web:80/tcp", "10.244.1.1", 80),
            names.endpoint("default/web:80/tcp", "10.244.1.2", 80), names.service("other/web:80/tcp")}
    assert len(made) == 6 and all(len(name) <= 28 and names.is_service_chain(name) for name in made)
    if prefix == "MINIK8S-":
        assert {len(name) for name in made} == {28}
    with pytest.raises(ValueError, match="too long"):
        ChainNames("MINIK8S-FAR-TOO-LONG-")


def test_rendering_a_thousand_services_stays_fast() -> None:
    services = [service(f"s{i}", ip=f"10.96.{i // 250}.{i % 250 + 1}") for i in range(1000)]
    backends = [endpoints(f"s{i}", [f"10.244.{i % 250}.{j + 2}" for j in range(3)]) for i in range(1000)]
    started = time.perf_counter()
    result = render(services, backends)
    assert time.perf_counter() - started < 1.0  # ~40 ms on 2 cores; a loose bound against regressions
    assert len(result.chains) == 6 + 4000  # fixed chains (SERVICES in both tables) + 1,000 SVC + 3,000 SEP


# -- reading iptables back, jumps, cleanup --------------------------------------------------------

SAVED = """# Generated by iptables-save
*nat
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:MINIK8S-SERVICES - [0:0]
:MINIK8S-SVC-AAAAAAAAAAAAAAAA - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A PREROUTING -j MINIK8S-SERVICES
-A OUTPUT -j MINIK8S-SERVICES
-A MINIK8S-SERVICES -d 10.96.0.10/32 -p tcp -m comment --comment "default/web:80/tcp" -j MINIK8S-SVC-AAAAAAAAAAAAAAAA
COMMIT
*filter
:FORWARD DROP [0:0]
-A FORWARD -j DOCKER-USER
COMMIT
"""
NAT_JUMPS = [Jump("nat", "PREROUTING", "MINIK8S-SERVICES"), Jump("nat", "OUTPUT", "MINIK8S-SERVICES")]


def test_a_saved_table_is_read_chain_by_chain_with_each_rules_target() -> None:
    tables = parse_save(SAVED)
    assert tables["nat"]["MINIK8S-SVC-AAAAAAAAAAAAAAAA"] == [] and tables["filter"]["FORWARD"] == ["-A FORWARD -j DOCKER-USER"]
    assert [iptables.rule_target(rule) for rule in tables["nat"]["PREROUTING"]] == ["DOCKER", "MINIK8S-SERVICES"]
    assert iptables.chains_with_prefix(tables) == {"MINIK8S-SERVICES", "MINIK8S-SVC-AAAAAAAAAAAAAAAA"}


def test_jump_rules_pushed_down_by_docker_are_moved_back_to_the_top() -> None:
    text, repaired = jump_repair_text(parse_save(SAVED), NAT_JUMPS)
    assert repaired == ["nat/PREROUTING"]  # OUTPUT already starts with its jump
    assert text == "*nat\n-D PREROUTING -j MINIK8S-SERVICES\n-I PREROUTING 1 -j MINIK8S-SERVICES\nCOMMIT\n"
    fixed = SAVED.replace("-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER\n", "") + \
        "*nat\n-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER\nCOMMIT\n"
    assert jump_repair_text(parse_save(fixed), NAT_JUMPS) == ("", [])


def test_jumps_are_installed_in_order_once_and_docker_user_is_made_when_docker_has_not() -> None:
    tables = parse_save("*filter\n:OUTPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n"
                        "-A OUTPUT -j MINIK8S-FIREWALL\n-A OUTPUT -j MINIK8S-FIREWALL\nCOMMIT\n")
    wanted = [job for job in iptables.jumps() if job.table == "filter" and job.chain in ("OUTPUT", "DOCKER-USER")]
    text, repaired = jump_repair_text(tables, wanted)
    assert repaired == ["filter/DOCKER-USER", "filter/OUTPUT"]
    assert text.splitlines() == [
        "*filter", ":DOCKER-USER - [0:0]", "-I FORWARD 1 -j DOCKER-USER",
        "-I DOCKER-USER 1 -j MINIK8S-FORWARD", "-I DOCKER-USER 1 -j MINIK8S-SERVICES",
        "-D OUTPUT -j MINIK8S-FIREWALL", "-D OUTPUT -j MINIK8S-FIREWALL",
        "-I OUTPUT 1 -j MINIK8S-FIREWALL", "-I OUTPUT 1 -j MINIK8S-SERVICES", "COMMIT"]


def test_chains_flushed_or_deleted_by_someone_else_are_noticed() -> None:
    expected = {("nat", "MINIK8S-SERVICES"): 1, ("nat", "MINIK8S-SVC-AAAAAAAAAAAAAAAA"): 3,
                ("nat", "MINIK8S-SEP-AAAAAAAAAAAAAAAA"): 2}
    assert drift(expected, parse_save(SAVED)) == [
        "nat/MINIK8S-SEP-AAAAAAAAAAAAAAAA is missing", "nat/MINIK8S-SVC-AAAAAAAAAAAAAAAA has 0 rules, not 3"]


def test_cleanup_removes_every_chain_of_the_prefix_and_every_jump_into_one() -> None:
    text = cleanup_text(parse_save(SAVED))
    assert text.splitlines() == [
        "*nat", ":MINIK8S-SERVICES - [0:0]", ":MINIK8S-SVC-AAAAAAAAAAAAAAAA - [0:0]",
        "-D PREROUTING -j MINIK8S-SERVICES", "-D OUTPUT -j MINIK8S-SERVICES",
        "-X MINIK8S-SERVICES", "-X MINIK8S-SVC-AAAAAAAAAAAAAAAA", "COMMIT"]
    assert cleanup_text(parse_save(SAVED), "MINIK8S-TEST-") == ""


# -- the host: bridges, sysctls -------------------------------------------------------------------


def test_pod_bridges_get_hairpin_on_every_port_and_route_localnet(tmp_path: Path) -> None:
    addresses = [{"ifname": "eth0", "addr_info": [{"local": "192.0.2.2"}]},
                 {"ifname": "br-1a2b", "addr_info": [{"local": "10.244.1.1"}]},
                 {"ifname": "docker0", "addr_info": [{"local": "172.17.0.1"}]}]
    assert bridges_in(addresses, "10.244.0.0/16") == ["br-1a2b"]
    net, proc = tmp_path / "net", tmp_path / "proc"
    for port, value in (("veth1", "0"), ("veth2", "1")):
        (net / "br-1a2b" / "brif" / port).mkdir(parents=True)
        (net / "br-1a2b" / "brif" / port / "hairpin_mode").write_text(value + "\n")
    (proc / "net/ipv4/conf/br-1a2b").mkdir(parents=True)
    (proc / "net/ipv4/conf/br-1a2b/route_localnet").write_text("0\n")
    assert tune_bridges(["br-1a2b"], sys_class_net=net, proc_sys=proc) == ["br-1a2b route_localnet",
                                                                          "veth1 hairpin_mode"]
    assert (net / "br-1a2b/brif/veth1/hairpin_mode").read_text() == "1"
    assert tune_bridges(["br-1a2b", "br-gone"], sys_class_net=net, proc_sys=proc) == []


def test_sysctls_are_switched_on_only_when_off(tmp_path: Path) -> None:
    for name, value in (("net/ipv4/conf/all/route_localnet", "0"), ("net/ipv4/ip_forward", "1")):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(value + "\n")
    assert enable_sysctls(proc_sys=tmp_path) == ["net/ipv4/conf/all/route_localnet"]
    assert enable_sysctls(proc_sys=tmp_path) == []


# -- the process: health, lock --------------------------------------------------------------------


@pytest.mark.parametrize(("request_line", "healthy", "status"), [
    ("GET /healthz HTTP/1.1", True, b"200 OK"), ("GET /healthz HTTP/1.1", False, b"503 Service Unavailable"),
    ("GET /metrics HTTP/1.1", True, b"404 Not Found"), ("POST /healthz HTTP/1.1", True, b"405"),
])
def test_healthz_answers_like_kube_proxy(request_line: str, healthy: bool, status: bytes) -> None:
    response = answer(request_line, Health(healthy, None))
    assert response.startswith(b"HTTP/1.1 " + status)
    if status == b"200 OK":
        assert b'"lastUpdated": null' in response and b'"currentTime": "' in response


def test_a_second_proxy_on_the_host_is_refused_naming_the_first(tmp_path: Path) -> None:
    lock = str(tmp_path / "proxy.lock")
    descriptor = hold_lock(lock)
    try:
        with pytest.raises(AlreadyRunning, match=rf"another minik8s proxy \(pid {os.getpid()}\)"):
            hold_lock(lock)
    finally:
        os.close(descriptor)
    os.close(hold_lock(lock))  # free again once the first one is gone


def test_the_proxy_says_it_needs_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert "needs root" in (missing_prerequisite() or "")


# -- the sync loop, with a fake dataplane ---------------------------------------------------------


class FakeCluster:
    """Lists the objects given; watches replay what the test puts in `events[plural]`."""

    def __init__(self, services: list[dict[str, Any]], backends: list[dict[str, Any]]) -> None:
        self.items = {"services": services, "endpoints": backends}
        self.events: dict[str, asyncio.Queue[WatchEvent]] = {"services": asyncio.Queue(),
                                                             "endpoints": asyncio.Queue()}

    async def list(self, kind: ResourceKind, **_: Any) -> dict[str, Any]:
        return {"metadata": {"resourceVersion": "1"}, "items": [dict(item) for item in self.items[kind.plural]]}

    async def watch(self, kind: ResourceKind, **_: Any) -> AsyncIterator[WatchEvent]:
        while True:
            yield await self.events[kind.plural].get()


class FakeDataplane:
    def __init__(self) -> None:
        self.restored: list[str] = []
        self.fail_next = False

    def prepare(self) -> None: ...

    def read_tables(self) -> iptables.Tables:
        return {"filter": {}, "nat": {}}

    def restore(self, text: str) -> None:
        if self.fail_next:
            self.fail_next = False
            raise CommandError("iptables-restore: line 3 failed")
        self.restored.append(text)

    def ensure_jumps(self, tables: iptables.Tables | None) -> list[str]:
        return []

    def tune_bridges(self) -> list[str]:
        return []


@pytest.fixture
async def running_proxy() -> AsyncIterator[tuple[ServiceProxy, FakeCluster, FakeDataplane]]:
    cluster = FakeCluster([service("a", ip="10.96.0.1"), service("b", ip="10.96.0.2")],
                          [endpoints("a"), endpoints("b")])
    dataplane = FakeDataplane()
    proxy = ServiceProxy(cluster, dataplane, ProxySettings(sync_period=60.0, min_sync_interval=0.05))
    task = asyncio.create_task(proxy.run())
    await asyncio.wait_for(proxy.first_sync.wait(), 2.0)
    yield proxy, cluster, dataplane
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_the_proxy_syncs_everything_first_then_only_what_changed(running_proxy: Any) -> None:
    proxy, cluster, dataplane = running_proxy
    assert len(dataplane.restored) == 1 and ":MINIK8S-FORWARD - [0:0]" in dataplane.restored[0]
    assert proxy.health().healthy
    for count in (1, 3, 2):  # a burst of endpoint changes to one service
        cluster.events["endpoints"].put_nowait(WatchEvent("MODIFIED", endpoints("b", POD_IPS[:count])))
    service_b = NAMES.service("default/b:80/tcp")
    await eventually("a partial sync of service b",
                     lambda: len(rules_of(dataplane.restored[-1], service_b)) == 3, timeout=2.0)  # masq + 2 endpoints
    assert len(dataplane.restored) == 2  # the burst made one sync
    chains = declared_chains(dataplane.restored[1])
    assert service_b in chains and NAMES.service("default/a:80/tcp") not in chains
    assert "MINIK8S-FORWARD" not in chains


async def test_a_failed_sync_is_retried_in_full(running_proxy: Any) -> None:
    proxy, cluster, dataplane = running_proxy
    dataplane.fail_next = True
    cluster.events["services"].put_nowait(WatchEvent("DELETED", service("a", ip="10.96.0.1")))
    await eventually("a retried sync",
                     lambda: len(dataplane.restored) >= 2, timeout=5.0)  # after a backoff of ≤ 0.5 s
    retried = dataplane.restored[1]
    assert ":MINIK8S-FORWARD - [0:0]" in retried and "default/a" not in retried
    assert proxy.health().healthy  # one failure is not an outage
