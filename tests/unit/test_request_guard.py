"""Table tests of the browser rules shared by the apiserver and the node agent (daemon.request_guard)."""

from __future__ import annotations

import socket

import pytest

from minik8s.daemon.request_guard import (
    cross_site_websocket,
    from_browser,
    host_name,
    host_policy,
    parse_host_list,
    same_origin,
)


@pytest.mark.parametrize(("header", "name"), [
    ("127.0.0.1:6443", "127.0.0.1"), ("[::1]:6443", "::1"), ("[::1]", "::1"), ("LocalHost:80", "localhost"),
    ("kubernetes.default.svc.", "kubernetes.default.svc"), ("evil.example", "evil.example"), ("", ""),
])
def test_host_name_drops_port_brackets_case_and_trailing_dot(header: str, name: str) -> None:
    assert host_name(header) == name


@pytest.mark.parametrize(("header", "allowed"), [
    ("127.0.0.1:6443", True), ("10.244.1.1:10250", True), ("172.31.250.11:6443", True), ("[::1]:6443", True),
    ("localhost:6443", True), ("kubernetes", True), ("kubernetes.default:443", True),
    ("kubernetes.default.svc", True), ("kubernetes.default.svc.cluster.local", True),
    ("", True),  # HTTP/1.0: no Host, no browser
    ("evil.example:6443", False), ("127.0.0.1.evil.example", False), ("kubernetes.default.svc.evil.example", False),
    ("localhost.evil.example", False), ("api.example.com", False),
])
def test_default_policy_serves_addresses_and_the_clusters_own_names(header: str, allowed: bool) -> None:
    assert host_policy().allows(header) is allowed


def test_the_policy_serves_this_machine_its_own_addresses_and_configured_names() -> None:
    policy = host_policy(["api.example.com", " API2.example.com "], own=["node-1", ""])
    assert policy.allows(f"{socket.gethostname()}:6443") and policy.allows("node-1:10250")
    assert policy.allows("api.example.com:6443") and policy.allows("api2.example.com")
    assert not policy.allows("evil.example")


def test_a_star_turns_the_host_check_off() -> None:
    assert host_policy(parse_host_list("a.example,*")).allows("evil.example:6443")
    assert parse_host_list(" a, ,b ") == ["a", "b"]


@pytest.mark.parametrize(("origin", "host", "same"), [
    ("http://127.0.0.1:6443", "127.0.0.1:6443", True),  # the official Python client's websocket-client
    ("https://LOCALHOST:6443", "localhost:6443", True),
    ("http://evil.example", "127.0.0.1:6443", False), ("http://127.0.0.1:6444", "127.0.0.1:6443", False),
    ("null", "127.0.0.1:6443", False), ("http://[::1", "[::1]:6443", False),
])
def test_same_origin_is_gorillas_rule(origin: str, host: str, same: bool) -> None:
    assert same_origin(origin, host) is same


@pytest.mark.parametrize(("headers", "refused"), [
    ({}, False),  # kubectl, the apiserver relaying to an agent
    ({"host": "127.0.0.1:6443", "origin": "http://127.0.0.1:6443"}, False),
    ({"host": "127.0.0.1:6443", "origin": "http://evil.example"}, True),
    ({"host": "127.0.0.1:6443", "origin": "null"}, True),
    ({"host": "127.0.0.1:6443", "origin": "http://evil.example", "authorization": "Bearer abc"}, False),
    ({"host": "127.0.0.1:6443", "origin": "http://evil.example", "authorization": "Basic dTpw"}, True),
    ({"host": "127.0.0.1:6443", "origin": "http://evil.example", "authorization": "Bearer "}, True),
])
def test_a_cross_site_websocket_needs_a_bearer_token(headers: dict[str, str], refused: bool) -> None:
    refusal = cross_site_websocket(headers)
    assert (refusal is not None) is refused
    if refusal:
        assert headers["origin"] in refusal


@pytest.mark.parametrize(("headers", "browser"), [
    ({}, False), ({"user-agent": "kubectl/v1.32"}, False), ({"origin": "http://evil.example"}, True),
    ({"sec-fetch-mode": "no-cors"}, True), ({"sec-fetch-site": "cross-site"}, True),
])
def test_browser_marks(headers: dict[str, str], browser: bool) -> None:
    assert from_browser(headers) is browser
