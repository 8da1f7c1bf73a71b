"""Every daemon takes the shared logging flags; the node agent's `--cleanup` needs no pod network."""

from __future__ import annotations

import argparse
import importlib
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

DAEMONS = {
    "minik8s.apiserver.main": [],
    "minik8s.node.main": ["--node-name", "node-1", "--pod-cidr", "10.244.1.0/24"],
    "minik8s.scheduler.main": [],
    "minik8s.controllers.main": [],
    "minik8s.proxy.main": [],
    "minik8s.dns.main": [],
}


def parser_of(module: str) -> Callable[[list[str] | None], argparse.Namespace]:
    parse: Callable[[list[str] | None], argparse.Namespace] = importlib.import_module(module).parse_args
    return parse


@pytest.mark.parametrize(("module", "required"), DAEMONS.items())
def test_every_daemon_takes_the_logging_flags(module: str, required: list[str]) -> None:
    args = parser_of(module)([*required, "--v", "4", "--log-format", "json", "--log-level", "warning"])
    assert (args.v, args.log_format, args.log_level) == (4, "json", "WARNING")
    defaults = parser_of(module)(required)
    assert (defaults.v, defaults.log_format, defaults.log_level) == (0, "text", None)


def test_the_node_cleanup_needs_no_pod_network() -> None:
    parse = parser_of("minik8s.node.main")
    assert parse(["--node-name", "node-1", "--cleanup"]).cleanup
    with pytest.raises(SystemExit) as exit_info:
        parse(["--node-name", "node-1"])
    assert exit_info.value.code == 2


def test_the_apiserver_authorization_mode_defaults_to_always_allow() -> None:
    from minik8s.apiserver.main import parse_args

    assert parse_args([]).authorization_mode == "AlwaysAllow"
    assert parse_args(["--authorization-mode", "RBAC"]).authorization_mode == "RBAC"
    assert parse_args(["--authorization-mode=Node,RBAC"]).authorization_mode == "Node,RBAC"
    with pytest.raises(SystemExit):
        parse_args(["--authorization-mode", "Webhook"])


def test_the_root_ca_publisher_runs_only_with_a_root_ca_file(tmp_path: Path) -> None:
    from minik8s.controllers.main import parse_args
    from tests.support.certs import TestCa

    assert "root-ca-cert-publisher" not in parse_args([]).controller_names
    with pytest.raises(SystemExit):
        parse_args(["--controllers", "root-ca-cert-publisher"])
    ca = TestCa(tmp_path).cert_file
    args = parse_args(["--root-ca-file", str(ca)])
    assert "root-ca-cert-publisher" in args.controller_names and args.root_ca == ca.read_text()
    ca.write_text("not a certificate")
    with pytest.raises(SystemExit):
        parse_args(["--root-ca-file", str(ca)])


def test_the_apiserver_admission_plugins_are_kubernetes_defaults_and_service_account_by_name() -> None:
    from minik8s.apiserver.main import parse_args

    defaults = {"NamespaceLifecycle", "LimitRanger", "NodeRestriction", "PodSecurity", "Priority",
                "DefaultTolerationSeconds", "DefaultStorageClass", "StorageObjectInUseProtection",
                "PersistentVolumeClaimResize", "ResourceQuota"}
    assert parse_args([]).admission_plugins == defaults
    assert parse_args(["--enable-admission-plugins", "ServiceAccount"]).admission_plugins == {*defaults,
                                                                                              "ServiceAccount"}
    assert parse_args(["--disable-admission-plugins", "ResourceQuota,LimitRanger"]).admission_plugins == \
        defaults - {"ResourceQuota", "LimitRanger"}
    assert parse_args(["--disable-admission-plugins", "PodSecurity"]).admission_plugins == defaults - {"PodSecurity"}
    with pytest.raises(SystemExit) as exit_info:
        parse_args(["--enable-admission-plugins", "ServiceAccount,AlwaysPullImages"])
    assert exit_info.value.code == 2


def test_the_apiserver_pod_security_default_is_privileged_unless_given() -> None:
    from minik8s.api.pod_security.admission import PodSecurityConfig
    from minik8s.api.pod_security.levels import BASELINE, Policy
    from minik8s.apiserver.admission_pod_security import system_namespace_labels
    from minik8s.apiserver.main import parse_args

    assert parse_args([]).pod_security == PodSecurityConfig()
    assert system_namespace_labels(PodSecurityConfig()) == {}  # a hand-started apiserver labels nothing
    strict = parse_args(["--pod-security-default", "baseline", "--pod-security-exempt-namespaces", "ops, tools"])
    assert strict.pod_security == PodSecurityConfig(Policy.uniform(BASELINE), frozenset({"ops", "tools"}))
    assert system_namespace_labels(strict.pod_security) == {"kube-system": {
        "pod-security.kubernetes.io/enforce": "privileged", "pod-security.kubernetes.io/audit": "privileged",
        "pod-security.kubernetes.io/warn": "privileged"}}
    with pytest.raises(SystemExit) as exit_info:
        parse_args(["--pod-security-default", "strict"])
    assert exit_info.value.code == 2


def test_the_apiserver_refuses_to_start_without_a_cluster_secret(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """Without it, anyone reaching the Raft port could feed the replica pickles (issue #13)."""
    from minik8s.apiserver.main import main

    with socket.socket() as taken:  # were it to start anyway, it would stop at once, not serve
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["--listen", f"127.0.0.1:{port}", "--raft-address", f"127.0.0.1:{port}",
                     "--data-dir", str(tmp_path / "data")])
    assert code == 2
    assert "--secret-file is required" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()
