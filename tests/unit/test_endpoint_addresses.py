"""Traffic for a Service goes only to addresses a backend can have: never this host or its node-local services.

Kubernetes refuses loopback, link-local, unspecified and link-local multicast addresses in Endpoints and
a Service's externalIPs (ValidateNonSpecialIP); the proxy skips any such address an older object still
holds, and the apiserver never writes one into the `kubernetes` Endpoints.
"""

from __future__ import annotations

import argparse

import pytest

from minik8s.api.defaults import apply_defaults
from minik8s.api.formats import check_non_special_ip
from minik8s.api.validation import validate
from minik8s.apiserver.bootstrap import usable_subsets, with_address
from minik8s.apiserver.endpoint_slices import slices_of
from minik8s.dns.main import endpoint_address
from minik8s.proxy.services import backends_for
from tests.support import builders

LOOPBACK = "may not be in the loopback range (127.0.0.0/8, ::1/128)"
LINK_LOCAL = "may not be in the link-local range (169.254.0.0/16, fe80::/10)"
LINK_LOCAL_MULTICAST = "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"


@pytest.mark.parametrize(("ip", "problems"), [
    ("127.0.0.1", [LOOPBACK]),
    ("127.255.0.9", [LOOPBACK]),
    ("::1", [LOOPBACK]),
    ("::ffff:127.0.0.1", [LOOPBACK]),  # an IPv4-mapped address is the IPv4 address, as in Go
    ("0.0.0.0", ["may not be unspecified (0.0.0.0)"]),
    ("::", ["may not be unspecified (::)"]),
    ("169.254.169.254", [LINK_LOCAL]),  # the cloud metadata server
    ("fe80::1", [LINK_LOCAL]),
    ("224.0.0.251", [LINK_LOCAL_MULTICAST]),
    ("ff02::fb", [LINK_LOCAL_MULTICAST]),
    ("fe80::1%eth0", ["must be a valid IP address"]),  # a zone is no address Go parses
    ("10.244.1.5", []),
    ("192.168.1.1", []),
    ("2001:db8::5", []),
    ("239.1.2.3", []),  # global multicast passes, as upstream (documented there as probably a bug)
])
def test_special_addresses_are_named_as_kubernetes_names_them(ip: str, problems: list[str]) -> None:
    assert check_non_special_ip(ip) == problems


@pytest.mark.parametrize("field", ["addresses", "notReadyAddresses"])
@pytest.mark.parametrize("ip", ["127.0.0.1", "169.254.169.254", "0.0.0.0", "fe80::1", "224.0.0.1"])
def test_endpoints_may_not_point_at_the_node_itself(field: str, ip: str) -> None:
    endpoints = builders.endpoints("web", [], ports=[{"port": 80, "protocol": "TCP"}])
    endpoints["subsets"][0][field] = [{"ip": "10.244.1.5"}, {"ip": ip}]
    errors = validate("Endpoints", endpoints)
    assert [(e.field, e.reason) for e in errors] == [(f"subsets[0].{field}[1].ip", "FieldValueInvalid")]
    assert errors[0].message.startswith(f'Invalid value: "{ip}": may not be')


def test_external_ips_may_not_be_special_either() -> None:
    service = builders.service("web", externalIPs=["192.0.2.7", "127.0.0.1", "not-an-ip"])
    apply_defaults("Service", service)
    errors = validate("Service", service)
    assert [(e.field, e.message) for e in errors] == [
        ("spec.externalIPs[1]", f'Invalid value: "127.0.0.1": {LOOPBACK}'),
        ("spec.externalIPs[2]", 'Invalid value: "not-an-ip": must be a valid IP address, (e.g. 10.9.8.7 or '
                                "2001:db8::ffff)"),
    ]


def test_the_proxy_skips_special_addresses_an_older_object_still_holds() -> None:
    stored = builders.endpoints("web", ["10.244.1.5", "127.0.0.1", "169.254.169.254", "0.0.0.0"])
    assert [b.ip for b in backends_for(stored, port_name="", protocol="TCP")] == ["10.244.1.5"]


def test_the_endpoint_slice_view_leaves_out_what_validation_now_refuses() -> None:
    stored = builders.endpoints("web", ["10.244.1.5", "127.0.0.1"], not_ready=["169.254.169.254", "10.244.1.6"])
    [mirrored] = slices_of(stored)
    assert [(e["addresses"], e["conditions"]["ready"]) for e in mirrored["endpoints"]] == [
        (["10.244.1.5"], True), (["10.244.1.6"], False)]


def test_registering_an_apiserver_drops_addresses_no_endpoint_may_have() -> None:
    stored = [{"addresses": [{"ip": "127.0.0.1"}], "ports": [{"name": "https", "port": 6443}]},
              {"addresses": [{"ip": "127.0.0.1"}, {"ip": "10.0.0.2"}], "ports": [{"name": "https", "port": 6444}]}]
    registered = with_address(usable_subsets(stored), "10.0.0.3", 6443)
    assert registered == [
        {"addresses": [{"ip": "10.0.0.2"}], "ports": [{"name": "https", "port": 6444}]},
        {"addresses": [{"ip": "10.0.0.3"}], "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]},
    ]
    assert with_address(usable_subsets(registered), "10.0.0.2", 6444) == registered  # nothing to write


@pytest.mark.parametrize("address", ["127.0.0.1", "0.0.0.0", "169.254.1.1"])
def test_the_dns_server_refuses_to_advertise_an_address_pods_cannot_reach(address: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="kube-dns Endpoints"):
        endpoint_address(address)
    assert endpoint_address("10.244.0.1") == "10.244.0.1"
