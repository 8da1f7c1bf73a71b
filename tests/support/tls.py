"""A PKI made in a test's folder, and HTTPS servers on loopback that use it.

`make_pki` mints a CA, a serving pair for 127.0.0.1/localhost and an admin kubeconfig, the
way `minik8s kubeconfig` would. `https_apiserver` serves the real apiserver app over a
LocalStore with uvicorn's TLS options; `peer_echo_server` is a bare TLS socket server that
answers every request with the client certificate's subject as the server saw it (uvicorn
does not hand the peer certificate to the app), so a test can prove which identity the client
presented.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn

from minik8s.apiserver.app import create_app
from minik8s.client.kubeconfig import Credentials, write_kubeconfig
from minik8s.pki.certificates import KeyPair, issue_client
from minik8s.pki.ensure import APISERVER_NAME, Wanted, ensure_ca, ensure_leaf
from minik8s.pki.files import PairFiles, write_pair
from minik8s.pki.identities import apiserver_sans
from minik8s.store.base import LocalStore
from tests.support.ports import free_port
from tests.support.serving import START_SECONDS, STOP_SECONDS, system_namespaces_exist
from tests.support.waiting import eventually


@dataclass(frozen=True)
class ScratchPki:
    """A CA and the apiserver's serving pair, as files in a test's folder."""

    folder: Path
    ca: KeyPair
    serving: PairFiles

    @property
    def ca_file(self) -> Path:
        return self.folder / "ca.crt"

    def kubeconfig(self, path: Path, servers: Sequence[str], *, user: str = "kubernetes-admin",
                   groups: Sequence[str] = ("system:masters",), ca: KeyPair | None = None) -> Path:
        """A kubeconfig for `user` in `groups`, trusting `ca` (the test CA by default)."""
        pair = issue_client(self.ca, user=user, groups=tuple(groups))
        write_kubeconfig(path, servers=list(servers), credentials=Credentials(
            certificate_authority_pem=(ca or self.ca).certificate_pem, client_certificate_pem=pair.certificate_pem,
            client_key_pem=pair.key_pem, user_name=user))
        return path


def make_pki(folder: Path) -> ScratchPki:
    ca = ensure_ca(folder)
    serving = PairFiles(folder, APISERVER_NAME)
    ensure_leaf(serving, ca=ca, wanted=Wanted("kube-apiserver", sans=apiserver_sans()))
    return ScratchPki(folder, ca, serving)


@contextlib.asynccontextmanager
async def https_apiserver(pki: ScratchPki, *, cert_reqs: ssl.VerifyMode = ssl.CERT_OPTIONAL) -> AsyncIterator[str]:
    """The apiserver app over a LocalStore, on https://127.0.0.1:PORT; yields the URL once it serves."""
    port = free_port()
    app = create_app(LocalStore(history=100), advertise=("127.0.0.1", port))
    server = uvicorn.Server(uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
        ssl_certfile=str(pki.serving.certificate), ssl_keyfile=str(pki.serving.key),
        ssl_ca_certs=str(pki.ca_file), ssl_cert_reqs=cert_reqs))
    task = asyncio.create_task(server.serve())
    url = f"https://127.0.0.1:{port}"
    try:
        await eventually("uvicorn to listen", lambda: server.started or task.done(), timeout=START_SECONDS)
        if task.done():
            task.result()
        admin = _client_context(pki)
        async with httpx.AsyncClient(base_url=url, verify=admin, timeout=5) as client:
            await eventually("the system namespaces", lambda: system_namespaces_exist(client), timeout=START_SECONDS)
        yield url
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, STOP_SECONDS)


@contextlib.asynccontextmanager
async def peer_echo_server(pki: ScratchPki, *, serving: PairFiles | None = None) -> AsyncIterator[str]:
    """A TLS server that requires a client certificate and answers with its subject (and any
    Authorization header) as JSON.

    It serves `serving` (the PKI's apiserver pair by default)."""
    pair = serving or pki.serving
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki.ca_file))
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_cert_chain(str(pair.certificate), str(pair.key))

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            authorization = [line.split(":", 1)[1].strip() for line in head.split("\r\n")
                             if line.lower().startswith("authorization:")]
            body = json.dumps({"subject": _subject_of(writer.get_extra_info("peercert")),
                               "authorization": authorization}).encode()
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                         b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"https://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


def _subject_of(peer: object) -> dict[str, list[str]]:
    """`{"commonName": [...], "organizationName": [...]}` from `SSLSocket.getpeercert()`'s shape."""
    subject: dict[str, list[str]] = {}
    for relative_name in (peer or {}).get("subject", ()) if isinstance(peer, dict) else ():
        for key, value in relative_name:
            subject.setdefault(key, []).append(value)
    return subject


def _client_context(pki: ScratchPki) -> ssl.SSLContext:
    """The admin's TLS context, for the test's own readiness probe."""
    context = ssl.create_default_context(cafile=str(pki.ca_file))
    admin = PairFiles(pki.folder, "probe-admin")
    if not admin.exists():
        write_pair(admin, issue_client(pki.ca, user="kubernetes-admin", groups=("system:masters",)))
    context.load_cert_chain(str(admin.certificate), str(admin.key))
    return context
