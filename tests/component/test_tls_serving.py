"""serve_http over TLS: each request and WebSocket sees its own connection's verified client certificate.

Real HTTPS on loopback with a throwaway CA, through both uvicorn HTTP protocols, with keep-alive (two
requests on one connection, two connections with different certificates) and a WebSocket upgrade.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from cryptography import x509
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from minik8s.daemon.http import HttpProtocol, serve_http
from minik8s.daemon.tls import TLS_EXTENSION, ServerTls
from tests.support.certs import TestCa
from tests.support.ports import free_port
from tests.support.serving import https_serving


def _common_name(extension: dict[str, Any] | None) -> str | None:
    if not extension or not extension["client_cert_chain"]:
        return None
    cert = x509.load_pem_x509_certificate(extension["client_cert_chain"][0].encode())
    return str(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


async def _whoami(request: Request) -> JSONResponse:
    extension = request.scope.get("extensions", {}).get(TLS_EXTENSION)
    return JSONResponse({"cn": _common_name(extension), "tls": extension is not None})


async def _socket(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(str(_common_name(websocket.scope.get("extensions", {}).get(TLS_EXTENSION))))
    await websocket.close()


APP = Starlette(routes=[Route("/whoami", _whoami), WebSocketRoute("/socket", _socket)])


@pytest.fixture
def ca(tmp_path: Path) -> TestCa:
    return TestCa(tmp_path)


def _server_tls(ca: TestCa) -> ServerTls:
    serving = ca.serving()
    return ServerTls(str(serving.cert_file), str(serving.key_file), str(ca.cert_file))


def _client_context(ca: TestCa, cert: tuple[str, str] | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca.cert_file))
    if cert:
        context.load_cert_chain(*cert)
    return context


@pytest.mark.parametrize("http", ["httptools", "h11"])
async def test_each_connection_sees_its_own_certificate_across_keep_alive(ca: TestCa, http: HttpProtocol) -> None:
    alice, bob = ca.client("alice", "devs").pair, ca.client("bob").pair
    async with https_serving(APP, _server_tls(ca), http=http) as port:
        url = f"https://127.0.0.1:{port}/whoami"
        async with httpx.AsyncClient(verify=_client_context(ca, alice)) as as_alice, \
                httpx.AsyncClient(verify=_client_context(ca, bob)) as as_bob, \
                httpx.AsyncClient(verify=_client_context(ca, None)) as nobody:
            answers = [(await client.get(url)).json()["cn"] for client in (as_alice, as_bob, as_alice, as_bob, nobody)]
    assert answers == ["alice", "bob", "alice", "bob", None]


@pytest.mark.parametrize("http", ["httptools", "h11"])
async def test_websocket_sees_the_certificate_of_the_connection_it_upgraded(ca: TestCa, http: HttpProtocol) -> None:
    async with https_serving(APP, _server_tls(ca), http=http) as port, websockets.connect(
            f"wss://127.0.0.1:{port}/socket", ssl=_client_context(ca, ca.client("carol").pair)) as socket:
        assert await socket.recv() == "carol"


async def test_a_certificate_from_another_ca_is_refused_in_the_handshake(ca: TestCa, tmp_path: Path) -> None:
    (tmp_path / "other").mkdir()
    other = TestCa(tmp_path / "other", "other-ca")
    async with https_serving(APP, _server_tls(ca), http="httptools") as port, \
            httpx.AsyncClient(verify=_client_context(ca, other.client("mallory").pair)) as client:
        with pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)):
            await client.get(f"https://127.0.0.1:{port}/whoami")


async def test_without_tls_it_serves_plain_http_and_no_tls_extension() -> None:
    async with https_serving(APP, None, http="httptools") as port, httpx.AsyncClient() as client:
        assert (await client.get(f"http://127.0.0.1:{port}/whoami")).json() == {"cn": None, "tls": False}


async def test_a_tls_1_2_client_is_served(ca: TestCa) -> None:
    context = _client_context(ca, ca.client("erin").pair)
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    async with https_serving(APP, _server_tls(ca), http="h11") as port, httpx.AsyncClient(verify=context) as client:
        assert (await client.get(f"https://127.0.0.1:{port}/whoami")).json() == {"cn": "erin", "tls": True}


async def test_a_missing_certificate_file_stops_serving_at_once(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        await serve_http(APP, host="127.0.0.1", port=free_port(),
                         tls=ServerTls(str(tmp_path / "none.crt"), str(tmp_path / "none.key")))
