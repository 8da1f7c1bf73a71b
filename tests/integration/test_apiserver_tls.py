"""`python -m minik8s.apiserver.main` with the TLS and authentication flags, driven by the real kubectl.

One replica process serves HTTPS with a throwaway CA's certificate; kubectl (v1.32) talks to it with
verification on, as a `system:masters` client certificate, as a static token and as a ServiceAccount
token it got from `kubectl create token`.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.support.certs import IssuedCert, TestCa
from tests.support.ports import free_ports
from tests.support.replicas import die_with_parent, kill_group, reap
from tests.support.waiting import wait_for

Kubectl = Callable[..., subprocess.CompletedProcess[str]]
pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")


def _kubeconfig(path: Path, url: str, ca: TestCa, *, cert: IssuedCert | None = None, token: str = "") -> Path:
    user: dict[str, str] = {"token": token} if token else {}
    if cert is not None:
        user = {"client-certificate": str(cert.cert_file), "client-key": str(cert.key_file)}
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "test",
        "clusters": [{"name": "test", "cluster": {"server": url, "certificate-authority": str(ca.cert_file)}}],
        "users": [{"name": "test", "user": user}],
        "contexts": [{"name": "test", "context": {"cluster": "test", "user": "test"}}],
    }))
    return path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, TestCa, Path]]:
    root = tmp_path_factory.mktemp("tls-apiserver")
    ca = TestCa(root)
    serving = ca.serving()
    signing_key = root / "sa.key"
    signing_key.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (root / "tokens.csv").write_text('static-token,carol,c-1,"devs"\n')
    http_port, raft_port = free_ports(2)
    argv = [sys.executable, "-m", "minik8s.apiserver.main", "--listen", f"127.0.0.1:{http_port}",
            "--raft-address", f"127.0.0.1:{raft_port}", "--data-dir", str(root / "data"),
            "--secret-file", str(root / "secret"), "--log-level", "warning",
            "--tls-cert-file", str(serving.cert_file), "--tls-private-key-file", str(serving.key_file),
            "--client-ca-file", str(ca.cert_file), "--token-auth-file", str(root / "tokens.csv"),
            "--service-account-signing-key-file", str(signing_key)]
    log = root / "apiserver.log"
    with log.open("ab") as output:
        process = subprocess.Popen(argv, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
                                   preexec_fn=die_with_parent)
    url = f"https://127.0.0.1:{http_port}"
    admin = ssl.create_default_context(cafile=str(ca.cert_file))
    admin.load_cert_chain(*ca.client("admin", "system:masters").pair)

    def ready() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"the apiserver exited:\n{log.read_text()[-3000:]}")
        try:
            return httpx.get(f"{url}/api/v1/namespaces/kube-node-lease", verify=admin, timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_for("the apiserver to serve HTTPS", ready, timeout=30, interval=0.1)
        yield url, ca, root
    finally:
        kill_group(process)
        reap(process)


def _kubectl(kubeconfig: Path) -> Kubectl:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig), *args], capture_output=True, text=True,
                              timeout=60, check=False)
    return run


def test_plain_http_is_not_served(served: tuple[str, TestCa, Path]) -> None:
    url, _, _ = served
    with pytest.raises(httpx.TransportError):
        httpx.get(url.replace("https", "http") + "/version", timeout=2)


def test_kubectl_with_a_client_certificate_sees_itself_and_impersonates(served: tuple[str, TestCa, Path]) -> None:
    url, ca, root = served
    kubectl = _kubectl(_kubeconfig(root / "admin.conf", url, ca, cert=ca.client("admin", "system:masters")))
    whoami = kubectl("auth", "whoami", "-o", "json")
    assert whoami.returncode == 0, whoami.stderr
    assert yaml.safe_load(whoami.stdout)["status"]["userInfo"] == {
        "username": "admin", "groups": ["system:masters", "system:authenticated"]}
    as_bob = kubectl("auth", "whoami", "--as", "bob", "--as-group", "devs", "-o", "json")
    assert yaml.safe_load(as_bob.stdout)["status"]["userInfo"]["username"] == "bob", as_bob.stderr


def test_kubectl_create_token_gives_a_token_kubectl_can_use(served: tuple[str, TestCa, Path]) -> None:
    url, ca, root = served
    admin = _kubectl(_kubeconfig(root / "admin.conf", url, ca, cert=ca.client("admin", "system:masters")))
    assert admin("create", "serviceaccount", "builder").returncode == 0
    listed = admin("get", "sa", "builder")
    assert listed.stdout.split("\n")[0].split() == ["NAME", "SECRETS", "AGE"], listed.stderr
    created = admin("create", "token", "builder", "--duration", "15m")
    assert created.returncode == 0, created.stderr
    robot = _kubectl(_kubeconfig(root / "robot.conf", url, ca, token=created.stdout.strip()))
    whoami = robot("auth", "whoami")
    assert whoami.returncode == 0, whoami.stderr
    assert "system:serviceaccount:default:builder" in whoami.stdout
    assert "[system:serviceaccounts system:serviceaccounts:default system:authenticated]" in whoami.stdout


def test_kubectl_with_a_static_token_and_a_bad_one(served: tuple[str, TestCa, Path]) -> None:
    url, ca, root = served
    carol = _kubectl(_kubeconfig(root / "carol.conf", url, ca, token="static-token"))
    assert "carol" in carol("auth", "whoami").stdout
    wrong = _kubectl(_kubeconfig(root / "wrong.conf", url, ca, token="wrong"))("get", "namespaces")
    assert wrong.returncode != 0
    assert "error: You must be logged in to the server (Unauthorized)" in wrong.stderr


@pytest.mark.parametrize(("flags", "code"), [
    (["--client-ca-file", "ca.crt"], 2),  # a client CA without serving TLS
    (["--tls-cert-file", "server.crt"], 2),  # a certificate without its key
    (["--tls-cert-file", "missing.crt", "--tls-private-key-file", "missing.key"], 1),  # unreadable files
    (["--token-auth-file", "bad.csv"], 1),  # a token file record with fewer than 3 columns
])
def test_bad_tls_and_authentication_flags_stop_the_apiserver(tmp_path: Path, flags: list[str], code: int) -> None:
    (tmp_path / "bad.csv").write_text("token,user\n")
    http_port, raft_port = free_ports(2)
    argv = [sys.executable, "-m", "minik8s.apiserver.main", "--listen", f"127.0.0.1:{http_port}",
            "--raft-address", f"127.0.0.1:{raft_port}", "--data-dir", str(tmp_path / "data"),
            "--secret-file", str(tmp_path / "secret"), *flags]
    finished = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert finished.returncode == code, finished.stderr
