"""One probe run: exec, httpGet or tcpSocket, with the kubelet's rules and messages.

Kept apart from the workers that repeat it (`probes.py`) so each is small and tested on its
own: the httpGet and tcpSocket checks against a tiny local server, the exec check against a
fake exec session.

Safety: an httpGet or tcpSocket probe connects to the pod IP, or to a loopback address if
its `host` says so — never to any other host a manifest names, so a pod cannot make the
agent reach arbitrary addresses.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from minik8s.node.env import expand_command
from minik8s.node.runtime import ContainerRuntime, ExecSession, RuntimeFailure

logger = logging.getLogger(__name__)

MAX_OUTPUT_BYTES = 10 * 1024  # the kubelet keeps at most 10 KiB of a probe's output
USER_AGENT = "kube-probe/1.32"


@dataclass(frozen=True)
class ProbeResult:
    success: bool
    message: str


async def run_probe(
    probe: Mapping[str, Any], *, pod_ip: str, container: Mapping[str, Any], container_id: str,
    runtime: ContainerRuntime,
) -> ProbeResult:
    """Run the probe once, bounded by its timeoutSeconds (default 1 s)."""
    timeout = float(probe.get("timeoutSeconds") or 1)
    if probe.get("exec"):
        command = expand_command(probe["exec"].get("command") or [], static_env(container))
        return await exec_probe(command, container_id=container_id, runtime=runtime, timeout=timeout)
    if probe.get("httpGet") or probe.get("tcpSocket"):
        handler = probe.get("httpGet") or probe["tcpSocket"]
        try:
            host = probe_host(handler.get("host"), pod_ip=pod_ip)
            port = resolve_port(handler.get("port"), container)
        except ValueError as error:
            return ProbeResult(False, str(error))
        if probe.get("httpGet"):
            return await http_probe(probe_url(handler, host=host, port=port), headers=probe_headers(handler),
                                    timeout=timeout)
        return await tcp_probe(host, port, timeout=timeout)
    if probe.get("grpc"):
        return ProbeResult(False, "grpc probes are not supported")
    return ProbeResult(False, "the probe has no handler (exec, httpGet or tcpSocket)")


def static_env(container: Mapping[str, Any]) -> dict[str, str]:
    """The container's plain `env` values: what the kubelet expands in an exec probe's command."""
    return {str(item["name"]): str(item["value"]) for item in container.get("env") or [] if item.get("value")}


async def exec_probe(command: list[str], *, container_id: str, runtime: ContainerRuntime,
                     timeout: float) -> ProbeResult:
    """Run `command` in the container: exit code 0 is success; the output is the message."""
    if not command:
        return ProbeResult(False, "exec probe has no command")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    timed_out = ProbeResult(False, f'command "{" ".join(command)}" timed out')
    try:
        async with asyncio.timeout_at(deadline):
            session = await runtime.exec(container_id, command, stdin=False, tty=False)
    except TimeoutError:
        return timed_out
    except RuntimeFailure as error:
        return ProbeResult(False, str(error))
    try:
        async with asyncio.timeout_at(deadline):
            output = await _collect_output(session)
            exit_code = await session.wait()
    except TimeoutError:
        return timed_out
    except RuntimeFailure as error:
        return ProbeResult(False, str(error))
    finally:
        await _close_quietly(session)
    return ProbeResult(exit_code == 0, output.decode("utf-8", "replace"))


async def _collect_output(session: ExecSession) -> bytes:
    collected = bytearray()
    async for _stream, data in session.output():
        collected += data[: max(0, MAX_OUTPUT_BYTES - len(collected))]
    return bytes(collected)


async def _close_quietly(session: ExecSession) -> None:
    try:
        await session.close()
    except Exception as error:  # the probe's verdict stands; a leaked exec session is only logged
        logger.warning("closing an exec probe session failed: %s", error)


def probe_host(host: Any, *, pod_ip: str) -> str:
    """The address to probe: the pod IP, or a loopback address; raises ValueError for anything else."""
    if not host or host == pod_ip:
        if not pod_ip:
            raise ValueError("the pod has no IP address yet")
        return pod_ip
    text = str(host)
    if text == "localhost":
        return "127.0.0.1"
    try:
        if ipaddress.ip_address(text).is_loopback:
            return text
    except ValueError:
        pass
    raise ValueError(f'probe host "{text}" is not allowed: only the pod IP or a loopback address may be probed')


def resolve_port(port: Any, container: Mapping[str, Any]) -> int:
    """A probe's port: a number, or the name of one of the container's ports."""
    if isinstance(port, str) and not port.isdigit():
        for declared in container.get("ports") or []:
            if declared.get("name") == port:
                return int(declared["containerPort"])
        raise ValueError(f"couldn't find port: {port} in container {container.get('name')}")
    try:
        number = int(port)
    except (TypeError, ValueError):
        raise ValueError(f"invalid port number: {port}") from None
    if not 0 < number < 65536:
        raise ValueError(f"invalid port number: {number}")
    return number


def probe_url(http_get: Mapping[str, Any], *, host: str, port: int) -> str:
    scheme = str(http_get.get("scheme") or "HTTP").lower()
    path = str(http_get.get("path") or "")
    if not path.startswith("/"):
        path = "/" + path
    host_port = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return f"{scheme}://{host_port}{path}"


def probe_headers(http_get: Mapping[str, Any]) -> dict[str, str]:
    headers = {str(item.get("name")): str(item.get("value", "")) for item in http_get.get("httpHeaders") or []}
    lowered = {name.lower() for name in headers}
    if "user-agent" not in lowered:
        headers["User-Agent"] = USER_AGENT
    if "accept" not in lowered:
        headers["Accept"] = "*/*"
    return headers


async def http_probe(url: str, *, headers: Mapping[str, str], timeout: float) -> ProbeResult:
    """GET `url`: a status from 200 to 399 is success. Redirects are not followed (3xx is success)."""
    try:
        async with (
            asyncio.timeout(timeout),
            httpx.AsyncClient(verify=False, follow_redirects=False, trust_env=False, timeout=timeout) as client,
            client.stream("GET", url, headers=dict(headers)) as response,
        ):
            body = await _read_limited(response)
    except TimeoutError:
        return ProbeResult(False, f'Get "{url}": context deadline exceeded (Client.Timeout exceeded)')
    except httpx.HTTPError as error:
        return ProbeResult(False, f'Get "{url}": {str(error) or type(error).__name__}')
    if 200 <= response.status_code < 400:
        return ProbeResult(True, body.decode("utf-8", "replace"))
    return ProbeResult(False, f"HTTP probe failed with statuscode: {response.status_code}")


async def _read_limited(response: httpx.Response) -> bytes:
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk[: max(0, MAX_OUTPUT_BYTES - len(body))]
        if len(body) >= MAX_OUTPUT_BYTES:
            break
    return bytes(body)


async def tcp_probe(host: str, port: int, *, timeout: float) -> ProbeResult:
    """Open a TCP connection within the timeout, then close it."""
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        async with asyncio.timeout(timeout):
            _reader, writer = await asyncio.open_connection(host, port)
    except TimeoutError:
        return ProbeResult(False, f"dial tcp {address}: i/o timeout")
    except OSError as error:
        return ProbeResult(False, f"dial tcp {address}: connect: {error.strerror or error}")
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return ProbeResult(True, "")
