"""The cluster PKI: what each certificate says, the files' modes, and when `ensure` re-issues."""

from __future__ import annotations

import datetime
import ipaddress
import os
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from minik8s.pki.certificates import (
    BACKDATE,
    CA_VALIDITY,
    LEAF_VALIDITY,
    KeyPair,
    SubjectAltNames,
    facts_of,
    is_signed_by,
    issue_client,
    issue_serving,
    make_ca,
)
from minik8s.pki.ensure import (
    PkiError,
    Wanted,
    ensure_ca,
    ensure_cluster_pki,
    ensure_leaf,
    leaf_problem,
    load_ca,
)
from minik8s.pki.files import PairFiles, read_pair, write_pair
from minik8s.pki.identities import ADMIN, apiserver_sans, component_identities, node_identity

NOW = datetime.datetime(2026, 6, 1, 12, 0, tzinfo=datetime.UTC)
CA = make_ca(now=NOW)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_ca_is_a_self_signed_p256_ca_that_only_signs() -> None:
    certificate = CA.certificate
    facts = facts_of(certificate)
    assert facts.is_ca and facts.common_name == "kubernetes"
    assert certificate.issuer == certificate.subject and is_signed_by(certificate, certificate)
    assert isinstance(CA.key.curve, ec.SECP256R1)
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign
    assert certificate.extensions.get_extension_for_class(x509.BasicConstraints).critical
    assert facts.not_before == NOW - BACKDATE and facts.not_after == NOW - BACKDATE + CA_VALIDITY


def test_a_serving_certificate_names_every_address_and_is_for_servers_only() -> None:
    sans = SubjectAltNames.of(["127.0.0.1", "::1", "localhost", "10.244.1.1", "localhost", "[::1]"])
    pair = issue_serving(CA, common_name="kube-apiserver", sans=sans, now=NOW)
    facts = facts_of(pair.certificate)
    assert facts.sans.ips == (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"),
                              ipaddress.ip_address("10.244.1.1"))
    assert facts.sans.dns_names == ("localhost",)
    assert facts.server_auth and not facts.client_auth and not facts.is_ca
    assert is_signed_by(pair.certificate, CA.certificate)
    assert facts.not_after == NOW + LEAF_VALIDITY
    usage = pair.certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and not usage.key_cert_sign
    assert pair.certificate.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)


@pytest.mark.parametrize(("user", "groups"), [
    ("alice", ()),
    ("kubernetes-admin", ("system:masters",)),
    ("system:node:node-1", ("system:nodes",)),
    ("bob", ("dev", "qa")),
])
def test_a_client_certificate_carries_the_user_as_cn_and_each_group_as_o(user: str, groups: tuple[str, ...]) -> None:
    facts = facts_of(issue_client(CA, user=user, groups=groups, now=NOW).certificate)
    assert facts.common_name == user and facts.organizations == groups
    assert facts.client_auth and not facts.server_auth and facts.sans == SubjectAltNames()


def test_a_leaf_never_outlives_its_ca() -> None:
    short_ca = make_ca(now=NOW, validity=datetime.timedelta(days=10))
    facts = facts_of(issue_client(short_ca, user="u", now=NOW).certificate)
    assert facts.not_after == short_ca.certificate.not_valid_after_utc


def test_a_serving_certificate_needs_a_name() -> None:
    with pytest.raises(ValueError, match="at least one"):
        issue_serving(CA, common_name="x", sans=SubjectAltNames())


def test_keys_are_written_0600_and_certificates_0644(tmp_path: Path) -> None:
    files = PairFiles(tmp_path / "pki", "admin")
    write_pair(files, issue_client(CA, user="u", now=NOW))
    assert mode_of(files.key) == 0o600 and mode_of(files.certificate) == 0o644
    assert mode_of(tmp_path / "pki") == 0o700
    assert read_pair(files).certificate == read_pair(files).certificate
    assert not [path for path in (tmp_path / "pki").iterdir() if path.name.startswith(".")]


def test_a_key_is_never_readable_by_others_even_under_a_permissive_umask(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        write_pair(PairFiles(tmp_path, "x"), issue_client(CA, user="u", now=NOW))
    finally:
        os.umask(previous)
    assert mode_of(tmp_path / "x.key") == 0o600


def test_ensure_ca_makes_one_ca_and_keeps_it(tmp_path: Path) -> None:
    first = ensure_ca(tmp_path)
    again = ensure_ca(tmp_path)
    assert first.certificate == again.certificate
    assert mode_of(tmp_path / "ca.key") == 0o600 and mode_of(tmp_path / "ca.crt") == 0o644
    loaded = load_ca(tmp_path)
    assert loaded is not None and loaded.certificate == first.certificate
    assert load_ca(tmp_path / "empty") is None


def test_half_a_ca_is_refused_rather_than_replaced(tmp_path: Path) -> None:
    ensure_ca(tmp_path)
    (tmp_path / "ca.key").unlink()
    with pytest.raises(PkiError, match="half"):
        ensure_ca(tmp_path)


SERVING = Wanted("kube-apiserver", sans=SubjectAltNames.of(["127.0.0.1", "localhost"]))
CLIENT = Wanted("alice", ("dev",))


@pytest.mark.parametrize(("existing", "wanted", "at", "problem"), [
    (None, CLIENT, NOW, "missing"),
    (issue_client(CA, user="alice", groups=("dev",), now=NOW), CLIENT, NOW, None),
    (issue_client(CA, user="alice", groups=("dev",), now=NOW), CLIENT, NOW + LEAF_VALIDITY, "expired or about to expire"),
    (issue_client(CA, user="alice", groups=("dev",), now=NOW), CLIENT, NOW + LEAF_VALIDITY - datetime.timedelta(days=3),
     "expired or about to expire"),
    (issue_client(CA, user="alice", now=NOW), CLIENT, NOW, "its subject changed"),
    (issue_client(make_ca(now=NOW), user="alice", groups=("dev",), now=NOW), CLIENT, NOW, "not signed by the cluster CA"),
    (issue_serving(CA, common_name="alice", sans=SubjectAltNames.of(["a"]), now=NOW), Wanted("alice"), NOW,
     "not a client certificate"),
    (issue_serving(CA, common_name="kube-apiserver", sans=SubjectAltNames.of(["localhost", "127.0.0.1"]), now=NOW),
     SERVING, NOW, None),
    (issue_serving(CA, common_name="kube-apiserver", sans=SubjectAltNames.of(["127.0.0.1"]), now=NOW), SERVING, NOW,
     "its SANs changed"),
    (issue_client(CA, user="kube-apiserver", now=NOW), SERVING, NOW, "its SANs changed"),
])
def test_leaf_problem(existing: KeyPair | None, wanted: Wanted, at: datetime.datetime, problem: str | None) -> None:
    assert leaf_problem(existing, ca=CA, wanted=wanted, now=at) == problem


def test_a_key_that_does_not_match_its_certificate_is_replaced() -> None:
    mixed = KeyPair(issue_client(CA, user="alice", groups=("dev",), now=NOW).certificate, CA.key)
    assert leaf_problem(mixed, ca=CA, wanted=CLIENT, now=NOW) == "the key does not match the certificate"


def test_ensure_leaf_reissues_only_when_needed(tmp_path: Path) -> None:
    files = PairFiles(tmp_path, "apiserver")
    first = ensure_leaf(files, ca=CA, wanted=SERVING, now=NOW)
    assert ensure_leaf(files, ca=CA, wanted=SERVING, now=NOW).certificate == first.certificate
    wider = Wanted("kube-apiserver", sans=SubjectAltNames.of(["127.0.0.1", "localhost", "10.244.3.1"]))
    second = ensure_leaf(files, ca=CA, wanted=wider, now=NOW)
    assert second.certificate != first.certificate
    assert ipaddress.ip_address("10.244.3.1") in facts_of(read_pair(files).certificate).sans.ips
    files.certificate.write_text("garbage")
    assert facts_of(ensure_leaf(files, ca=CA, wanted=wider, now=NOW).certificate).server_auth


def test_the_apiserver_sans_cover_every_name_clients_use() -> None:
    sans = apiserver_sans(["10.244.1.1", "minik8s.example"])
    assert {str(ip) for ip in sans.ips} == {"127.0.0.1", "::1", "10.96.0.1", "10.244.1.1"}
    assert set(sans.dns_names) == {"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                                   "kubernetes.default.svc.cluster.local", "minik8s.example"}


def test_the_component_identities_are_kubernetes_names() -> None:
    subjects = {identity.user: identity.groups for identity in component_identities(["node-1", "node-2"])}
    assert subjects == {
        "kubernetes-admin": ("system:masters",),
        "system:kube-scheduler": (),
        "system:kube-controller-manager": (),
        "system:kube-proxy": (),
        "system:minik8s-dns": (),
        "kube-apiserver-kubelet-client": ("system:masters",),
        "system:node:node-1": ("system:nodes",),
        "system:node:node-2": ("system:nodes",),
    }
    assert node_identity("node-1").file_name == "kubelet-node-1" and ADMIN.file_name == "admin"


def test_ensure_cluster_pki_is_complete_and_idempotent(tmp_path: Path) -> None:
    folder = tmp_path / "pki"
    pki = ensure_cluster_pki(folder, apiserver_addresses=["10.244.1.1"], nodes=[("node-1", "10.244.1.1")])
    before = {path.name: path.read_bytes() for path in folder.iterdir()}
    ensure_cluster_pki(folder, apiserver_addresses=["10.244.1.1"], nodes=[("node-1", "10.244.1.1")])
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == before
    assert all(mode_of(folder / name) == (0o600 if name.endswith(".key") else 0o644) for name in before)
    ca = read_pair(pki.ca).certificate
    for files in [pki.apiserver, *pki.clients.values(), *pki.node_serving.values()]:
        assert is_signed_by(read_pair(files).certificate, ca)
    node = facts_of(read_pair(pki.clients["system:node:node-1"]).certificate)
    assert (node.common_name, node.organizations) == ("system:node:node-1", ("system:nodes",))
    serving = facts_of(read_pair(pki.node_serving["node-1"]).certificate)
    assert ipaddress.ip_address("10.244.1.1") in serving.sans.ips and serving.server_auth
    grown = ensure_cluster_pki(folder, apiserver_addresses=["10.244.1.1", "10.244.2.1"],
                               nodes=[("node-1", "10.244.1.1"), ("node-2", "10.244.2.1")])
    assert read_pair(grown.ca).certificate == ca
    assert (folder / "admin.crt").read_bytes() == before["admin.crt"]
    assert (folder / "apiserver.crt").read_bytes() != before["apiserver.crt"]
    assert "system:node:node-2" in grown.clients
