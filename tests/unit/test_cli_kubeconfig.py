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


def test_certs_makes_a_pki_and_kubeconfigs_for_daemons_started_by_hand(tmp_path: Path) -> None:
    """`minik8s certs` (the compose demo's PKI): kept on a second run, every component's kubeconfig
    names every apiserver, the apiserver's certificate their hosts, the node agents' their addresses."""
    folder = tmp_path / "pki-home"
    servers = ["https://172.31.250.11:6443", "https://172.31.250.12:6443"]
    argv = ["certs", "--dir", str(folder), "--server", servers[0], "--server", servers[1],
            "--node", "node-1=172.31.250.31", "--apiserver-san", "api.example.com"]
    assert main(argv) == 0
    ca_before = (folder / "pki" / "ca.crt").read_bytes()
    assert main(argv) == 0 and (folder / "pki" / "ca.crt").read_bytes() == ca_before
    admin = load_kubeconfig(folder / "kubeconfig")
    assert admin.servers == servers and admin.client_certificate_data is not None
    assert facts_of(load_certificate(admin.client_certificate_data.encode())).organizations == ("system:masters",)
    node = load_kubeconfig(folder / "kubeconfigs" / "kubelet-node-1.conf")
    assert node.servers == servers and node.client_certificate_data is not None
    assert facts_of(load_certificate(node.client_certificate_data.encode())).common_name == "system:node:node-1"
    serving = facts_of(load_certificate((folder / "pki" / "kubelet-serving-node-1.crt").read_bytes()))
    assert "172.31.250.31" in {str(address) for address in serving.sans.ips}
    apiserver = facts_of(load_certificate((folder / "pki" / "apiserver.crt").read_bytes()))
    assert {"172.31.250.11", "172.31.250.12"} <= {str(address) for address in apiserver.sans.ips}  # the servers
    assert "api.example.com" in apiserver.sans.dns_names
    assert stat.S_IMODE((folder / "pki" / "sa.key").stat().st_mode) == 0o600


def test_certs_refuses_a_node_without_its_address(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["certs", "--dir", str(tmp_path), "--server", "https://10.0.0.1:6443", "--node", "node-1"]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "expected NAME=ADDRESS" in error
