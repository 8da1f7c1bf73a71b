"""Cluster DNS answers: what a pod gets for each kind of name, from built Services and Endpoints."""

from __future__ import annotations

from typing import Any, cast

import pytest

from minik8s.api.kinds import ENDPOINTS as ENDPOINTS_KIND
from minik8s.api.kinds import SERVICES as SERVICE_KIND
from minik8s.client.informer import Informer
from minik8s.dns.records import Answer, StaticCache, in_domain, resolve
from minik8s.dns.server import ClusterZone
from minik8s.dnswire.message import AAAA, CNAME, NS, SOA, SRV, TXT, A, Rcode


def service(name: str, namespace: str = "default", **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": namespace}, "spec": spec}


def endpoints(name: str, *subsets: dict[str, Any], namespace: str = "default") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": namespace}, "subsets": list(subsets)}


SERVICES = StaticCache.of([
    service("web", clusterIP="10.96.1.1", ports=[{"name": "http", "port": 80, "protocol": "TCP"},
                                                 {"name": "metrics", "port": 9090, "protocol": "TCP"}]),
    service("db", clusterIP="None", ports=[{"name": "pg", "port": 5432}]),
    service("lonely", clusterIP="None", ports=[{"name": "pg", "port": 5432}]),
    service("noports", clusterIP="None"),
    service("dual", clusterIP="10.96.1.2", clusterIPs=["10.96.1.2", "fd00::2"], ports=[{"port": 53, "protocol": "UDP"}]),
    service("ext", type="ExternalName", externalName="example.com"),
    service("alias", type="ExternalName", externalName="web.default.svc.cluster.local"),
    service("kube-dns", "kube-system", clusterIP="10.96.0.10",
            ports=[{"name": "dns", "port": 53, "protocol": "UDP"}, {"name": "dns-tcp", "port": 53, "protocol": "TCP"}]),
    service("api", "prod", clusterIP="10.96.7.7", ports=[{"name": "https", "port": 443}]),
])
ENDPOINTS = StaticCache.of([
    endpoints("web", {"addresses": [{"ip": "10.244.1.2"}], "ports": [{"name": "http", "port": 8080}]}),
    endpoints("db", {"addresses": [{"ip": "10.244.1.5", "hostname": "db-0"}, {"ip": "10.244.2.7"}],
                     "notReadyAddresses": [{"ip": "10.244.1.9"}],
                     "ports": [{"name": "pg", "port": 5432, "protocol": "TCP"}]}),
    endpoints("lonely", {"notReadyAddresses": [{"ip": "10.244.3.3"}], "ports": [{"name": "pg", "port": 5432}]}),
    endpoints("noports", {"addresses": [{"ip": "10.244.4.4"}]}),
])


def ask(name: str, qtype: str = "A", **options: Any) -> Answer:
    return resolve(name, qtype, services=SERVICES, endpoints=ENDPOINTS, **options)


def values(answer: Answer) -> list[object]:
    return [record.data for record in answer.records]


@pytest.mark.parametrize(("name", "qtype", "expected"), [
    ("web.default.svc.cluster.local", "A", [A("10.96.1.1")]),
    ("web.default.svc.cluster.local.", "A", [A("10.96.1.1")]),
    ("api.prod.svc.cluster.local", "A", [A("10.96.7.7")]),
    ("db.default.svc.cluster.local", "A", [A("10.244.1.5"), A("10.244.2.7")]),  # ready addresses only
    ("db-0.db.default.svc.cluster.local", "A", [A("10.244.1.5")]),  # endpoint by hostname
    ("10-244-2-7.db.default.svc.cluster.local", "A", [A("10.244.2.7")]),  # endpoint by dashed IP
    ("10-244-1-2.web.default.svc.cluster.local", "A", [A("10.244.1.2")]),  # endpoints of a ClusterIP service too
    ("noports.default.svc.cluster.local", "A", [A("10.244.4.4")]),
    ("dual.default.svc.cluster.local", "A", [A("10.96.1.2")]),
    ("dual.default.svc.cluster.local", "AAAA", [AAAA("fd00::2")]),
    ("dual.default.svc.cluster.local", "ANY", [A("10.96.1.2"), AAAA("fd00::2")]),
    ("_http._tcp.web.default.svc.cluster.local", "A", [A("10.96.1.1")]),  # as CoreDNS: SRV names have A too
    ("ns.dns.cluster.local", "A", [A("10.96.0.10")]),
    ("dns-version.cluster.local", "TXT", [TXT((b"1.1.0",))]),
])
def test_names_that_exist_resolve_to_their_addresses(name: str, qtype: str, expected: list[object]) -> None:
    answer = ask(name, qtype)
    assert answer.rcode == Rcode.NOERROR and answer.authoritative
    assert values(answer) == expected
    assert {record.name for record in answer.records} == {name.rstrip(".") + "."}


def test_srv_for_a_named_port_points_at_the_service_name_with_its_address_as_additional() -> None:
    answer = ask("_http._tcp.web.default.svc.cluster.local", "SRV")
    assert values(answer) == [SRV(0, 100, 80, "web.default.svc.cluster.local.")]
    assert [(r.name, r.data) for r in answer.additional] == [("web.default.svc.cluster.local.", A("10.96.1.1"))]


def test_srv_without_a_port_lists_every_port_and_splits_the_weight() -> None:
    answer = ask("web.default.svc.cluster.local", "SRV")
    assert values(answer) == [SRV(0, 50, 80, "web.default.svc.cluster.local."),
                              SRV(0, 50, 9090, "web.default.svc.cluster.local.")]
    assert len(answer.additional) == 1


def test_srv_of_a_headless_service_names_each_ready_endpoint() -> None:
    answer = ask("_pg._tcp.db.default.svc.cluster.local", "SRV")
    assert values(answer) == [SRV(0, 50, 5432, "db-0.db.default.svc.cluster.local."),
                              SRV(0, 50, 5432, "10-244-2-7.db.default.svc.cluster.local.")]
    assert [(r.name, r.data) for r in answer.additional] == [
        ("db-0.db.default.svc.cluster.local.", A("10.244.1.5")),
        ("10-244-2-7.db.default.svc.cluster.local.", A("10.244.2.7")),
    ]


@pytest.mark.parametrize(("name", "qtype"), [
    ("nope.default.svc.cluster.local", "A"),
    ("web.elsewhere.svc.cluster.local", "A"),
    ("10-244-1-9.db.default.svc.cluster.local", "A"),  # not ready
    ("lonely.default.svc.cluster.local", "A"),  # headless without ready endpoints, as CoreDNS
    ("_http._udp.web.default.svc.cluster.local", "SRV"),  # no such protocol
    ("_grpc._tcp.web.default.svc.cluster.local", "SRV"),  # no such port
    ("ghost.svc.cluster.local", "A"),  # a namespace without services
    ("a.b.c.d.e.default.svc.cluster.local", "A"),  # too many labels
    ("web.default.cluster.local", "A"),  # neither svc nor pod
    ("10-244-1-5.default.pod.cluster.local", "A"),  # pod records are off
    ("db-0.ext.default.svc.cluster.local", "A"),  # ExternalName has no endpoints
    ("web.default.svc.cluster.local.default.svc.cluster.local", "A"),  # a search-path expansion
])
def test_unknown_cluster_names_are_nxdomain_with_the_zone_soa(name: str, qtype: str) -> None:
    answer = ask(name, qtype)
    assert answer.rcode == Rcode.NXDOMAIN and answer.authoritative
    assert answer.records == ()
    assert [(r.name, type(r.data)) for r in answer.authority] == [("cluster.local.", SOA)]


@pytest.mark.parametrize(("name", "qtype"), [
    ("web.default.svc.cluster.local", "AAAA"),
    ("web.default.svc.cluster.local", "TXT"),
    ("web.default.svc.cluster.local", "MX"),
    ("web.default.svc.cluster.local", "TYPE65"),
    ("noports.default.svc.cluster.local", "SRV"),
    ("ext.default.svc.cluster.local", "SRV"),
    ("cluster.local", "A"),
    ("svc.cluster.local", "A"),
    ("default.svc.cluster.local", "A"),
    ("pod.cluster.local", "A"),
    ("dns-version.cluster.local", "A"),
])
def test_names_that_exist_without_that_type_answer_noerror_and_nothing(name: str, qtype: str) -> None:
    answer = ask(name, qtype)
    assert answer.rcode == Rcode.NOERROR and answer.records == ()
    assert [type(r.data) for r in answer.authority] == [SOA]


@pytest.mark.parametrize("name", [
    "example.com", "example.com.", "google.com", "local", "cluster", "localhost", ".",
    "cluster.local.example.com", "xcluster.local", "1.0.96.10.in-addr.arpa", "web.default.svc",
])
def test_every_name_outside_the_cluster_domain_is_refused(name: str) -> None:
    for qtype in ("A", "AAAA", "SRV", "PTR", "NS"):
        answer = ask(name, qtype)
        assert answer == Answer(Rcode.REFUSED)
        assert not answer.authoritative


def test_matching_ignores_case_and_answers_in_the_case_asked() -> None:
    answer = ask("WeB.DeFault.SVC.Cluster.LOCAL", "a")
    assert values(answer) == [A("10.96.1.1")]
    assert answer.records[0].name == "WeB.DeFault.SVC.Cluster.LOCAL."
    assert values(ask("_HTTP._TCP.web.default.svc.cluster.local", "SRV")) == [
        SRV(0, 100, 80, "web.default.svc.cluster.local.")]
    assert values(ask("DB-0.DB.default.svc.cluster.local")) == [A("10.244.1.5")]
    assert ask("EXAMPLE.COM").rcode == Rcode.REFUSED


def test_external_names_are_cnames_followed_only_inside_the_cluster() -> None:
    assert values(ask("ext.default.svc.cluster.local")) == [CNAME("example.com.")]
    assert values(ask("alias.default.svc.cluster.local")) == [CNAME("web.default.svc.cluster.local."),
                                                              A("10.96.1.1")]
    assert values(ask("alias.default.svc.cluster.local", "CNAME")) == [CNAME("web.default.svc.cluster.local.")]


def test_the_zone_apex_has_soa_and_ns() -> None:
    soa = ask("cluster.local", "SOA", serial=42, ttl=7)
    assert values(soa) == [SOA("ns.dns.cluster.local.", "hostmaster.cluster.local.", 42, 7200, 1800, 86400, 7)]
    ns = ask("cluster.local", "NS")
    assert values(ns) == [NS("ns.dns.cluster.local.")]
    assert [r.data for r in ns.additional] == [A("10.96.0.10")]


def test_ttl_and_domain_are_configurable() -> None:
    answer = ask("web.default.svc.corp.internal", domain="corp.internal", ttl=30)
    assert values(answer) == [A("10.96.1.1")] and answer.records[0].ttl == 30
    assert ask("web.default.svc.cluster.local", domain="corp.internal").rcode == Rcode.REFUSED
    assert ask("web.default.svc.cluster.local").records[0].ttl == 5
    assert ask("nope.default.svc.corp.internal", domain="corp.internal.").authority[0].name == "corp.internal."


def test_names_that_cannot_be_parsed_are_format_errors() -> None:
    assert ask("web..svc.cluster.local").rcode == Rcode.FORMERR
    assert ask("x" * 64 + ".cluster.local").rcode == Rcode.FORMERR


def test_malformed_objects_in_the_caches_never_break_answers() -> None:
    services = StaticCache.of([
        service("odd", clusterIP="not-an-ip", ports="many"),
        service("headless", clusterIP="None", ports=[{"name": "x", "port": "80"}]),
        {"metadata": {"name": "bare", "namespace": "default"}},
    ])
    broken = StaticCache.of([endpoints("headless", {"addresses": ["junk", {"hostname": "h"}], "ports": None}),
                             {"metadata": {"name": "bare", "namespace": "default"}, "subsets": "x"}])
    for name in ("odd", "headless", "bare"):
        for qtype in ("A", "SRV"):
            answer = resolve(f"{name}.default.svc.cluster.local", qtype, services=services, endpoints=broken)
            assert answer.rcode == Rcode.NXDOMAIN


@pytest.mark.parametrize(("name", "inside"), [
    ("cluster.local", True), ("CLUSTER.LOCAL.", True), ("a.b.cluster.local", True),
    ("local", False), ("xcluster.local", False), ("cluster.local.com", False), ("a..b", False),
])
def test_in_domain(name: str, inside: bool) -> None:
    assert in_domain(name) is inside


def test_before_the_caches_sync_cluster_names_fail_and_others_are_still_refused() -> None:
    services, endpoints = Informer(cast(Any, None), SERVICE_KIND), Informer(cast(Any, None), ENDPOINTS_KIND)
    zone = ClusterZone(services, endpoints)
    assert not zone.synced
    assert zone.answer("web.default.svc.cluster.local", "A") == Answer(Rcode.SERVFAIL)
    assert zone.answer("example.com", "A") == Answer(Rcode.REFUSED)
