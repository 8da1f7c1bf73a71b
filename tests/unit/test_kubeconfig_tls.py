"""Kubeconfig credentials: what is read, what is written, and the one TLS context built from them."""

from __future__ import annotations

import base64
import ssl
import stat
from pathlib import Path

import httpx
import pytest
import yaml

from minik8s.cli.errors import CliError
from minik8s.cli.kubeconfig_context import Connection, resolve_target
from minik8s.client.api import ApiClient
from minik8s.client.kubeconfig import Credentials, load_kubeconfig, render_kubeconfig, write_kubeconfig
from minik8s.client.tls import ssl_context_for, tls_failure_of
from minik8s.pki.certificates import issue_client, make_ca

CA = make_ca()
ALICE = issue_client(CA, user="alice", groups=("dev",))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def kubeconfig_file(tmp_path: Path, cluster: dict[str, object], user: dict[str, object]) -> Path:
    document = {
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "k", "cluster": {"server": "https://127.0.0.1:6443", **cluster}}],
        "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
        "users": [{"name": "u", "user": user}],
    }
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(document))
    return path


def test_embedded_credentials_are_read(tmp_path: Path) -> None:
    config = load_kubeconfig(kubeconfig_file(
        tmp_path, {"certificate-authority-data": b64(CA.certificate_pem), "tls-server-name": "kubernetes"},
        {"client-certificate-data": b64(ALICE.certificate_pem), "client-key-data": b64(ALICE.key_pem)}))
    assert config.certificate_authority_data == CA.certificate_pem.decode()
    assert config.client_certificate_data == ALICE.certificate_pem.decode()
    assert config.client_key_data == ALICE.key_pem.decode()
    assert config.tls_server_name == "kubernetes"


def test_file_credentials_are_relative_to_the_kubeconfig(tmp_path: Path) -> None:
    (tmp_path / "pki").mkdir()
    for name, data in {"ca.crt": CA.certificate_pem, "alice.crt": ALICE.certificate_pem,
                       "alice.key": ALICE.key_pem}.items():
        (tmp_path / "pki" / name).write_bytes(data)
    (tmp_path / "token").write_text("s3cret\n")
    config = load_kubeconfig(kubeconfig_file(
        tmp_path, {"certificate-authority": "pki/ca.crt"},
        {"client-certificate": "pki/alice.crt", "client-key": "pki/alice.key", "tokenFile": "token"}))
    assert config.certificate_authority == str(tmp_path / "pki" / "ca.crt")
    assert config.client_certificate == str(tmp_path / "pki" / "alice.crt")
    assert config.client_key == str(tmp_path / "pki" / "alice.key")
    assert config.token == "s3cret"
    context = ssl_context_for(config)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert len(context.get_ca_certs()) == 1


def test_embedded_data_wins_over_a_file(tmp_path: Path) -> None:
    config = load_kubeconfig(kubeconfig_file(
        tmp_path, {"certificate-authority": "missing.crt", "certificate-authority-data": b64(CA.certificate_pem)},
        {"client-certificate": "missing.crt", "client-key": "missing.key",
         "client-certificate-data": b64(ALICE.certificate_pem), "client-key-data": b64(ALICE.key_pem)}))
    context = ssl_context_for(config)  # would raise if it opened the missing files
    assert [entry["subject"] for entry in context.get_ca_certs()] == [((("commonName", "kubernetes"),),)]


def test_verification_is_on_by_default_and_off_only_when_asked(tmp_path: Path) -> None:
    default = ssl_context_for(load_kubeconfig(kubeconfig_file(tmp_path, {}, {})))
    assert default.verify_mode == ssl.CERT_REQUIRED and default.check_hostname
    insecure = ssl_context_for(load_kubeconfig(kubeconfig_file(tmp_path, {"insecure-skip-tls-verify": True}, {})))
    assert insecure.verify_mode == ssl.CERT_NONE and not insecure.check_hostname


def test_a_certificate_without_its_key_is_an_error(tmp_path: Path) -> None:
    config = load_kubeconfig(kubeconfig_file(tmp_path, {}, {"client-certificate-data": b64(ALICE.certificate_pem)}))
    with pytest.raises(ValueError, match="no client key"):
        ssl_context_for(config)


def test_written_credentials_round_trip_and_stay_private(tmp_path: Path) -> None:
    path = tmp_path / "out" / "alice.conf"
    write_kubeconfig(path, servers=["https://127.0.0.1:6443", "https://127.0.0.1:6444"], credentials=Credentials(
        certificate_authority_pem=CA.certificate_pem, client_certificate_pem=ALICE.certificate_pem,
        client_key_pem=ALICE.key_pem, user_name="alice"), tls_server_name="kubernetes")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    config = load_kubeconfig(path)
    assert config.servers == ["https://127.0.0.1:6443", "https://127.0.0.1:6444"]
    assert config.context_name == "alice@minik8s" and config.cluster_name == "minik8s"
    assert config.client_key_data == ALICE.key_pem.decode() and config.tls_server_name == "kubernetes"
    client = ApiClient.from_kubeconfig(str(path))
    assert client.servers == config.servers


def test_a_kubeconfig_without_credentials_is_written_as_before() -> None:
    document = yaml.safe_load(render_kubeconfig(servers=["http://127.0.0.1:6443"], user_token="t0k"))
    assert document["users"] == [{"name": "minik8s-admin", "user": {"token": "t0k"}}]
    assert document["current-context"] == "minik8s"
    assert list(document["clusters"][0]["cluster"]) == ["server", "extensions"]
    assert yaml.safe_load(render_kubeconfig(servers=["http://x"]))["users"][0]["user"] == {}


def chained(error: BaseException) -> httpx.ConnectError:
    try:
        try:
            raise error
        except BaseException as cause:
            raise httpx.ConnectError("handshake failed") from cause
    except httpx.ConnectError as wrapped:
        return wrapped


def alert(reason: str) -> ssl.SSLError:
    error = ssl.SSLError(1, f"[SSL: {reason}] alert")
    error.reason = reason
    return error


def verification_failed() -> ssl.SSLCertVerificationError:
    error = ssl.SSLCertVerificationError(1, "certificate verify failed")
    error.verify_message = "unable to get local issuer certificate"
    return error


@pytest.mark.parametrize(("error", "problem"), [
    (verification_failed(), "tls: failed to verify certificate: unable to get local issuer certificate"),
    (alert("TLSV13_ALERT_CERTIFICATE_REQUIRED"),
     "tls: the server refused the client certificate (TLSV13_ALERT_CERTIFICATE_REQUIRED)"),
    (alert("SSLV3_ALERT_BAD_CERTIFICATE"), "tls: the server refused the client certificate (SSLV3_ALERT_BAD_CERTIFICATE)"),
    (alert("UNEXPECTED_EOF_WHILE_READING"), None),  # a replica going away: fail over
    (ConnectionRefusedError(111, "refused"), None),
])
def test_tls_failures_that_retrying_cannot_fix(error: BaseException, problem: str | None) -> None:
    assert tls_failure_of(chained(error)) == problem


def test_a_key_that_is_not_the_certificates_is_one_cli_line(tmp_path: Path) -> None:
    other = issue_client(CA, user="bob")
    path = kubeconfig_file(tmp_path, {"certificate-authority-data": b64(CA.certificate_pem)},
                           {"client-certificate-data": b64(ALICE.certificate_pem), "client-key-data": b64(other.key_pem)})
    with pytest.raises(ssl.SSLError):
        ssl_context_for(load_kubeconfig(path))
    with pytest.raises(CliError, match=r"^error: cannot use the credentials in .*config: "):
        resolve_target(Connection(kubeconfig=str(path)))


def test_the_cli_target_carries_the_tls_context_and_server_name(tmp_path: Path) -> None:
    path = kubeconfig_file(tmp_path, {"certificate-authority-data": b64(CA.certificate_pem),
                                      "tls-server-name": "kubernetes.default.svc"},
                           {"client-certificate-data": b64(ALICE.certificate_pem), "client-key-data": b64(ALICE.key_pem)})
    target = resolve_target(Connection(kubeconfig=str(path)))
    assert isinstance(target.verify, ssl.SSLContext) and target.verify.verify_mode == ssl.CERT_REQUIRED
    assert target.tls_server_name == "kubernetes.default.svc"
