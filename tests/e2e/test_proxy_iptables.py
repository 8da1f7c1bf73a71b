"""The proxy's rule texts applied to the host's real iptables, and repaired after someone meddles.

Only chains named MINIK8S-TEST-<xy>-* are touched: nothing jumps to them, and they are removed
afterwards whatever happens. Needs root and iptables; with CI=true their absence fails the run.
"""

from __future__ import annotations

import os
import random
import shutil
import string
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from minik8s.proxy import iptables
from minik8s.proxy.iptables import Jump, drift
from minik8s.proxy.rules import ChainNames, render
from tests.support import builders
from tests.support.builders import POD_IPS, endpoints
from tests.support.requirements import unavailable

VIP = "10.96.0.10"


def service(name: str = "web", *, ip: str | None = VIP, **fields: Any) -> dict[str, Any]:
    return builders.service(name, cluster_ip=ip, **fields)


def require_iptables() -> None:
    """Root and iptables, or a skip; with CI=true their absence is a failure (`make install` provides them)."""
    if os.geteuid() == 0 and shutil.which("iptables-restore") is not None:
        return
    unavailable("these tests need root and iptables-restore")


@pytest.fixture
def test_prefix() -> Iterator[str]:
    require_iptables()
    prefix = "MINIK8S-TEST-" + "".join(random.choices(string.ascii_uppercase, k=2)) + "-"
    try:
        yield prefix
    finally:
        iptables.cleanup(prefix=prefix, service_cidr=None)
        assert prefix not in subprocess.run(["iptables-save"], capture_output=True, text=True, check=True).stdout


def test_rendered_texts_apply_and_stale_or_flushed_chains_are_repaired(test_prefix: str) -> None:
    names = ChainNames(test_prefix)
    web = [service(type="NodePort", ports=[{"port": 80, "nodePort": 30080}], sessionAffinity="ClientIP"),
           service("dns", ip="10.96.0.11", ports=[{"port": 53, "protocol": "UDP"}])]
    first = render(web, [endpoints()], prefix=test_prefix)
    iptables.restore(first.text)
    assert drift(first.declared, iptables.read_tables()) == []
    partial = render(web, [endpoints(ips=POD_IPS[:1])], prefix=test_prefix, changed={"default/web"},
                     existing_chains=first.chains, previous_dispatch=first.dispatch)
    iptables.restore(partial.text)
    tables = iptables.read_tables()
    assert len(partial.deleted) == 2 and not partial.deleted & iptables.chains_with_prefix(tables, test_prefix)
    expected: dict[Any, int] = {**first.declared, **partial.declared}
    for chain in partial.deleted:
        expected.pop(("nat", chain))
    assert drift(expected, tables) == []
    service_chain = names.service("default/web:80/tcp")
    subprocess.run(["iptables", "-t", "nat", "-F", service_chain], check=True)  # someone meddles
    assert drift(expected, iptables.read_tables()) == [f"nat/{service_chain} has 0 rules, not 3"]
    repaired = render(web, [endpoints(ips=POD_IPS[:1])], prefix=test_prefix,
                      existing_chains=iptables.chains_with_prefix(iptables.read_tables(), test_prefix))
    iptables.restore(repaired.text)
    assert drift(repaired.declared, iptables.read_tables()) == []


def test_jump_rules_are_kept_first_in_a_real_chain(test_prefix: str) -> None:
    hook = test_prefix + "HOOK"
    iptables.restore(render([], [], prefix=test_prefix).text)
    iptables.restore(f"*nat\n:{hook} - [0:0]\n-A {hook} -s 192.0.2.99/32 -j RETURN\nCOMMIT\n")
    wanted = [Jump("nat", hook, test_prefix + "SERVICES"), Jump("nat", hook, test_prefix + "POSTROUTING")]
    assert iptables.ensure_jumps(wanted=wanted) == [f"nat/{hook}"]
    assert iptables.ensure_jumps(wanted=wanted) == []
    assert iptables.ensure_jumps(wanted=[Jump("nat", test_prefix + "NONE", hook)]) == []  # logged, skipped
    subprocess.run(["iptables", "-t", "nat", "-I", hook, "1", "-s", "192.0.2.98/32", "-j", "RETURN"], check=True)
    assert iptables.ensure_jumps(wanted=wanted) == [f"nat/{hook}"]
    rules = iptables.read_tables(["nat"])["nat"][hook]
    assert [iptables.rule_target(rule) for rule in rules] == [test_prefix + "SERVICES",
                                                              test_prefix + "POSTROUTING", "RETURN", "RETURN"]
