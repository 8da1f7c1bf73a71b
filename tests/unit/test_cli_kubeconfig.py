"""`minik8s kubeconfig --user`: a kubeconfig for a person, minted from the cluster CA in the home."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from minik8s.cli.cluster_config import ClusterHome, plan_config, save_config
from minik8s.cli.cluster_pki import component_kubeconfigs, ensure_cluster_pki
from minik8s.cli.main import main
from minik8s.client.kubeconfig import load_kubeconfig
from minik8s.pki.certificates import facts_of, is_signed_by, load_certificate


@pytest.fixture
def home(tmp_path: Path) -> ClusterHome:
    cluster_home = ClusterHome(tmp_path / "home")
    config = plan_config(replicas=3, nodes=2, port_base=None, is_free=lambda port: True)
    save_config(cluster_home, config)
    ensure_cluster_pki(cluster_home, config)
    return cluster_home


def test_a_minted_kubeconfig_names_the_user_and_groups_and_trusts_the_ca(
        home: ClusterHome, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "alice.conf"
    code = main(["kubeconfig", "--user", "alice", "--group", "dev", "--group", "qa", "--output", str(output),
                 "--home", str(home.root), "--validity-period", "24h"])
    assert code == 0 and capsys.readouterr().out == ""
    assert stat.S_IMODE(output.stat().st_mode) == 0o600
    config = load_kubeconfig(output)
    assert config.servers == ["https://127.0.0.1:6443", "https://127.0.0.1:6444", "https://127.0.0.1:6445"]
    assert config.context_name == "alice@minik8s"
    assert config.client_certificate_data is not None and config.certificate_authority_data is not None
    certificate = load_certificate(config.client_certificate_data.encode())
    ca = load_certificate(config.certificate_authority_data.encode())
    assert ca == load_certificate((home.pki_dir / "ca.crt").read_bytes()) and is_signed_by(certificate, ca)
    facts = facts_of(certificate)
    assert (facts.common_name, facts.organizations, facts.client_auth) == ("alice", ("dev", "qa"), True)
    assert (facts.not_after - facts.not_before).total_seconds() <= 24 * 3600 + 600


def test_without_output_the_kubeconfig_goes_to_stdout(home: ClusterHome, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kubeconfig", "--user", "bob", "--home", str(home.root)]) == 0
    assert "current-context: bob@minik8s" in capsys.readouterr().out


def test_a_cluster_without_a_ca_says_so_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bare = ClusterHome(tmp_path / "bare")
    save_config(bare, plan_config(replicas=1, nodes=0, port_base=None, is_free=lambda port: True))
    assert main(["kubeconfig", "--user", "alice", "--home", str(bare.root)]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "has no certificate authority yet" in error


def test_no_cluster_at_all_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kubeconfig", "--user", "alice", "--home", str(tmp_path / "nothing")]) == 1
    assert "there is no cluster in" in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "message"), [
    (["--user", " "], "--user must name someone"),
    (["--user", "a", "--validity-period", "soon"], 'invalid argument "soon" for "validity-period"'),
    (["--user", "a", "--validity-period", "0s"], "--validity-period must be positive"),
])
def test_bad_flags(home: ClusterHome, capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    assert main(["kubeconfig", *argv, "--home", str(home.root)]) == 1
    assert message in capsys.readouterr().err


def test_the_home_pki_has_every_component_and_their_kubeconfigs(home: ClusterHome) -> None:
    config = plan_config(replicas=1, nodes=2, port_base=None, is_free=lambda port: True)
    pki = ensure_cluster_pki(home, config)
    assert stat.S_IMODE((home.pki_dir / "ca.key").stat().st_mode) == 0o600
    written = component_kubeconfigs(home, pki, ["https://127.0.0.1:6443"])
    assert set(written) == {"kubernetes-admin", "system:kube-scheduler", "system:kube-controller-manager",
                            "system:kube-proxy", "system:minik8s-dns", "kube-apiserver-kubelet-client",
                            "system:node:node-1", "system:node:node-2"}
    node = load_kubeconfig(written["system:node:node-2"])
    assert node.client_certificate_data is not None
    assert facts_of(load_certificate(node.client_certificate_data.encode())).organizations == ("system:nodes",)
    assert stat.S_IMODE(written["system:node:node-2"].stat().st_mode) == 0o600
