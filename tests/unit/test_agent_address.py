"""The apiserver dials a node's agent only at an IP the Node reports for it and at its agent port."""

from __future__ import annotations

from typing import Any

import pytest

from minik8s.apiserver.agent_address import agent_address
from minik8s.apiserver.errors import StatusError


def node(addresses: Any, port: Any = 10250) -> dict[str, Any]:
    return {"metadata": {"name": "n1"},
            "status": {"addresses": addresses, "daemonEndpoints": {"kubeletEndpoint": {"Port": port}}}}


@pytest.mark.parametrize(("addresses", "expected"), [
    ([{"type": "Hostname", "address": "n1"}, {"type": "InternalIP", "address": "10.0.0.7"}], "10.0.0.7:10250"),
    ([{"type": "ExternalIP", "address": "203.0.113.9"}, {"type": "InternalIP", "address": "10.0.0.7"}],
     "10.0.0.7:10250"),
    ([{"type": "InternalIP", "address": "169.254.169.254"}, {"type": "ExternalIP", "address": "203.0.113.9"}],
     "203.0.113.9:10250"),
    ([{"type": "InternalIP", "address": "fd00::7"}], "[fd00::7]:10250"),
    ([{"type": "InternalIP", "address": "127.0.0.1"}], "127.0.0.1:10250"),  # a one-machine cluster's agents
])
def test_the_first_dialable_internal_or_external_ip_is_chosen(addresses: list[dict[str, str]],
                                                                expected: str) -> None:
    assert agent_address(node(addresses)) == expected


@pytest.mark.parametrize("status", [
    node([{"type": "Hostname", "address": "metadata.google.internal"}])["status"],
    node([{"type": "InternalIP", "address": "::ffff:169.254.169.254"}])["status"],
    node([{"type": "InternalIP", "address": "255.255.255.255"}])["status"],
    node([{"type": "InternalIP", "address": "::"}])["status"],
    node([{"type": "InternalIP", "address": "10.0.0.7"}], port=0)["status"],
    node([{"type": "InternalIP", "address": "10.0.0.7"}], port=65536)["status"],
    node([{"type": "InternalIP", "address": "10.0.0.7"}], port="10250")["status"],
    node([{"type": "InternalIP", "address": "10.0.0.7"}], port=True)["status"],
    node({"InternalIP": "10.0.0.7"})["status"],
    {"addresses": [{"type": "InternalIP", "address": "10.0.0.7"}], "daemonEndpoints": [10250]},
    [1],
])
def test_a_node_without_a_dialable_agent_gets_503(status: Any) -> None:
    with pytest.raises(StatusError) as refused:
        agent_address({"metadata": {"name": "n1"}, "status": status})
    assert (refused.value.code, refused.value.reason) == (503, "ServiceUnavailable")
