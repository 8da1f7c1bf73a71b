"""Verified TLS end to end: a PKI made in tmp_path, HTTPS servers on loopback, every client we ship.

Our `ApiClient` (hence every daemon's `--kubeconfig` and the CLI), the official `kubernetes`
client and the real kubectl load a kubeconfig minted from the test CA, verify the server and
present their client certificate; a wrong CA or a missing client certificate fails at once
with a clear line; plain http:// works as before.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import ssl
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

from minik8s.api.kinds import NAMESPACES, PODS
from minik8s.client.api import ApiClient
from minik8s.client.command_line import add_client_flags, make_client
from minik8s.client.errors import ServerUnreachable, TlsFailure
from minik8s.client.kubeconfig import load_kubeconfig, write_kubeconfig
from minik8s.client.tls import ssl_context_for
from minik8s.pki.certificates import SubjectAltNames, make_ca
from minik8s.pki.ensure import Wanted, ensure_leaf
from minik8s.pki.files import PairFiles
from tests.support.serving import apiserver_serving
from tests.support.tls import ScratchPki, https_apiserver, make_pki, peer_echo_server


@pytest.fixture
def pki(tmp_path: Path) -> ScratchPki:
    return make_pki(tmp_path / "pki")


def names_of(listing: dict[str, Any]) -> set[str]:
    return {item["metadata"]["name"] for item in listing["items"]}


async def test_the_client_verifies_the_server_and_presents_its_certificate(pki: ScratchPki, tmp_path: Path) -> None:
    async with https_apiserver(pki, cert_reqs=ssl.CERT_REQUIRED) as url:
        kubeconfig = pki.kubeconfig(tmp_path / "admin.conf", [url])
        async with ApiClient.from_kubeconfig(str(kubeconfig)) as api:
            assert {"default", "kube-system"} <= names_of(await api.list(NAMESPACES))


async def test_the_server_sees_the_user_and_groups_of_the_client_certificate(pki: ScratchPki, tmp_path: Path) -> None:
    async with peer_echo_server(pki) as url:
        kubeconfig = pki.kubeconfig(tmp_path / "alice.conf", [url], user="alice", groups=("dev", "qa"))
        async with ApiClient.from_kubeconfig(str(kubeconfig)) as api:
            response = await api.request("GET", "/whoami")
    assert response.json() == {"subject": {"commonName": ["alice"], "organizationName": ["dev", "qa"]},
                               "authorization": []}


async def test_a_token_file_is_sent_along_with_the_certificate(pki: ScratchPki, tmp_path: Path) -> None:
    async with peer_echo_server(pki) as url:
        kubeconfig = pki.kubeconfig(tmp_path / "both.conf", [url], user="alice", groups=())
        (tmp_path / "token").write_text("s3cret\n")
        kubeconfig.write_text(kubeconfig.read_text().replace("    client-key-data:", "    tokenFile: token\n"
                                                              "    client-key-data:"))
        async with ApiClient.from_kubeconfig(str(kubeconfig)) as api:
            seen = (await api.request("GET", "/whoami")).json()
    assert seen == {"subject": {"commonName": ["alice"]}, "authorization": ["Bearer s3cret"]}


async def test_the_certificates_pass_openssls_strict_verification(pki: ScratchPki, tmp_path: Path) -> None:
    """Python 3.13's default context adds VERIFY_X509_STRICT (key identifiers, critical CA constraints)."""
    async with peer_echo_server(pki) as url:
        kubeconfig = pki.kubeconfig(tmp_path / "admin.conf", [url])
        context = ssl_context_for(load_kubeconfig(kubeconfig))
        context.verify_flags |= ssl.VERIFY_X509_STRICT
        async with ApiClient.from_kubeconfig(str(kubeconfig), verify=context) as api:
            assert (await api.request("GET", "/whoami")).status_code == 200


async def test_a_server_from_another_ca_is_refused_at_once(pki: ScratchPki, tmp_path: Path) -> None:
    async with https_apiserver(pki) as url:
        kubeconfig = pki.kubeconfig(tmp_path / "wrong.conf", [url], ca=make_ca(common_name="someone-else"))
        started = time.monotonic()
        async with ApiClient.from_kubeconfig(str(kubeconfig)) as api:
            with pytest.raises(TlsFailure) as refused:
                await api.list(NAMESPACES)
    assert time.monotonic() - started < 5  # not retried until the fail-over deadline
    assert "tls: failed to verify certificate" in refused.value.message
    assert url in refused.value.message


async def test_insecure_skip_tls_verify_accepts_any_server(pki: ScratchPki, tmp_path: Path) -> None:
    async with https_apiserver(pki) as url:
        kubeconfig = pki.kubeconfig(tmp_path / "wrong.conf", [url], ca=make_ca(common_name="someone-else"))
        text = kubeconfig.read_text().replace("    certificate-authority-data:", "    insecure-skip-tls-verify: true\n"
                                              "    x-unused-data:")
        kubeconfig.write_text(text)
        async with ApiClient.from_kubeconfig(str(kubeconfig)) as api:
            assert "default" in names_of(await api.list(NAMESPACES))


async def test_a_server_requiring_a_client_certificate_refuses_a_client_without_one(
        pki: ScratchPki, tmp_path: Path) -> None:
    async with peer_echo_server(pki) as url:
        kubeconfig = tmp_path / "anonymous.conf"
        write_kubeconfig(kubeconfig, servers=[url])
        kubeconfig.write_text(kubeconfig.read_text().replace(
            "    server:", f"    certificate-authority: {pki.ca_file}\n    server:"))
        async with ApiClient.from_kubeconfig(str(kubeconfig), failover_deadline=0.5) as api:
            # Python's asyncio TLS server resets the connection rather than sending an alert, so
            # the client sees a broken connection (a Go server's alert would be a TlsFailure).
            with pytest.raises(ServerUnreachable):
                await api.request("GET", "/whoami")
            with pytest.raises(ServerUnreachable):
                await api.request("POST", "/whoami", json={})


async def test_tls_server_name_checks_the_certificate_against_that_name(pki: ScratchPki, tmp_path: Path) -> None:
    named_only = PairFiles(pki.folder, "named-only")
    ensure_leaf(named_only, ca=pki.ca, wanted=Wanted("x", sans=SubjectAltNames.of(["kubernetes.default.svc"])))
    async with peer_echo_server(pki, serving=named_only) as url:
        kubeconfig = pki.kubeconfig(tmp_path / "by-ip.conf", [url])
        async with ApiClient.from_kubeconfig(str(kubeconfig)) as api:
            with pytest.raises(TlsFailure, match="failed to verify certificate"):
                await api.request("GET", "/whoami")
        kubeconfig.write_text(kubeconfig.read_text().replace(
            "    server:", "    tls-server-name: kubernetes.default.svc\n    server:"))
        async with ApiClient.from_kubeconfig(str(kubeconfig)) as api:
            assert (await api.request("GET", "/whoami")).status_code == 200


async def test_fail_over_between_https_replicas_is_kept(pki: ScratchPki, tmp_path: Path) -> None:
    async with https_apiserver(pki) as url:
        down = "https://127.0.0.1:9"  # nothing listens: connection refused
        kubeconfig = pki.kubeconfig(tmp_path / "two.conf", [down, url])
        async with ApiClient.from_kubeconfig(str(kubeconfig)) as api:
            assert "default" in names_of(await api.list(NAMESPACES))
            assert api.servers == [down, url]


async def test_a_daemons_kubeconfig_flag_gets_tls_and_its_client_certificate(pki: ScratchPki, tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    add_client_flags(parser)
    async with https_apiserver(pki, cert_reqs=ssl.CERT_REQUIRED) as url:
        kubeconfig = pki.kubeconfig(tmp_path / "scheduler.conf", [url], user="system:kube-scheduler", groups=())
        async with make_client(parser.parse_args(["--kubeconfig", str(kubeconfig)])) as api:
            assert "kube-system" in names_of(await api.list(NAMESPACES))


async def test_plain_http_works_unchanged(tmp_path: Path) -> None:
    async with apiserver_serving(history=50) as url:
        kubeconfig = tmp_path / "plain.conf"
        write_kubeconfig(kubeconfig, servers=[url])
        async with ApiClient.from_kubeconfig(str(kubeconfig)) as api:
            assert "default" in names_of(await api.list(NAMESPACES))


async def test_the_official_python_client_verifies_and_authenticates(pki: ScratchPki, tmp_path: Path) -> None:
    async with https_apiserver(pki, cert_reqs=ssl.CERT_REQUIRED) as url:
        kubeconfig = pki.kubeconfig(tmp_path / "admin.conf", [url])

        def list_namespaces() -> tuple[bool, set[str]]:
            api_client = k8s_config.new_client_from_config(config_file=str(kubeconfig))
            try:
                listing: Any = k8s_client.CoreV1Api(api_client).list_namespace()
                return bool(api_client.configuration.verify_ssl), {str(item.metadata.name) for item in listing.items}
            finally:
                api_client.close()

        verified, names = await asyncio.to_thread(list_namespaces)
    assert verified and {"default", "kube-system"} <= names


async def run(*argv: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.PIPE, env={**os.environ, "NO_COLOR": "1"})
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    return int(process.returncode or 0), stdout.decode(), stderr.decode()


async def test_our_cli_reads_the_minted_kubeconfig(pki: ScratchPki, tmp_path: Path) -> None:
    async with https_apiserver(pki, cert_reqs=ssl.CERT_REQUIRED) as url:
        good = pki.kubeconfig(tmp_path / "admin.conf", [url])
        code, out, err = await run(sys.executable, "-m", "minik8s.cli.main", "get", "namespaces", "--kubeconfig",
                                   str(good))
        assert code == 0 and "kube-system" in out, err
        wrong = pki.kubeconfig(tmp_path / "wrong.conf", [url], ca=make_ca())
        code, out, err = await run(sys.executable, "-m", "minik8s.cli.main", "get", "namespaces", "--kubeconfig",
                                   str(wrong))
    assert code == 1 and err.startswith("Unable to connect to the server: tls: failed to verify certificate"), err


KUBECTL = shutil.which("kubectl")


@pytest.mark.skipif(KUBECTL is None, reason="the real kubectl is not installed")
async def test_the_real_kubectl_verifies_and_authenticates(pki: ScratchPki, tmp_path: Path) -> None:
    assert KUBECTL is not None
    async with https_apiserver(pki, cert_reqs=ssl.CERT_REQUIRED) as url:
        good = pki.kubeconfig(tmp_path / "admin.conf", [url])
        cache = str(tmp_path / "kubectl-cache")
        code, out, err = await run(KUBECTL, "--kubeconfig", str(good), "--cache-dir", cache, "get", "--raw", "/version")
        assert code == 0, err
        assert "gitVersion" in json.loads(out)
        code, out, err = await run(KUBECTL, "--kubeconfig", str(good), "--cache-dir", cache, "get", "namespaces",
                                   "-o", "name")
        assert code == 0 and "namespace/kube-system" in out.split(), err
        wrong = pki.kubeconfig(tmp_path / "wrong.conf", [url], ca=make_ca())
        code, out, err = await run(KUBECTL, "--kubeconfig", str(wrong), "--cache-dir", cache, "get", "--raw",
                                   "/version")
    assert code != 0 and "certificate signed by unknown authority" in err, err


async def test_our_cli_exec_opens_its_websocket_over_verified_tls(pki: ScratchPki, tmp_path: Path) -> None:
    async with https_apiserver(pki, cert_reqs=ssl.CERT_REQUIRED) as url:
        good = pki.kubeconfig(tmp_path / "admin.conf", [url])
        async with ApiClient.from_kubeconfig(str(good)) as api:
            await api.create(PODS, {"metadata": {"name": "unbound"}, "spec": {"containers": [
                {"name": "main", "image": "minik8s/busybox:latest"}]}}, namespace="default")
        command = [sys.executable, "-m", "minik8s.cli.main", "exec", "unbound", "--kubeconfig"]
        code, _out, err = await run(*command, str(good), "--", "true")
    # The apiserver's own refusal, sent over the wss:// handshake: TLS and the client certificate passed.
    assert code == 1 and err.strip() == "Error from server (BadRequest): pod unbound does not have a host assigned", err
