"""Which cluster a verb talks to, and running the verb there with kubectl's error lines.

Every kubectl-like verb starts the same way: find the servers (`--server`, else the kubeconfig
from `--kubeconfig`, `$KUBECONFIG`, `$MINIK8S_HOME/kubeconfig`, `~/.minik8s/kubeconfig`), the
namespace (`-n`, else the context's), open one `ApiClient` that fails over between the
replicas, run, close. And every verb fails the same way: the apiserver's Status becomes
kubectl's one line (`Error from server (NotFound): pods "x" not found`, `The Deployment "x" is
invalid: ...`), an unreachable cluster becomes `The connection to the server HOST:PORT was
refused - did you specify the right host or port?`, and Ctrl-C ends a watch quietly.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from minik8s.cli.errors import CliError
from minik8s.client.api import ApiClient
from minik8s.client.errors import ApiError, Invalid, ServerUnreachable, TlsFailure, Unauthorized
from minik8s.client.kubeconfig import (
    KubeConfigError,
    default_kubeconfig_path,
    load_kubeconfig,
)
from minik8s.client.tls import ssl_context_for

logger = logging.getLogger(__name__)

DEFAULT_FAILOVER_SECONDS = 1.5  # a leader change takes ~0.4 s; an unreachable cluster answers fast
USER_AGENT = "minik8s-cli"


@dataclass(frozen=True)
class Connection:
    """What the global flags say about the cluster."""

    kubeconfig: str | None = None
    server: str | None = None
    namespace: str | None = None
    request_timeout: float | None = None


@dataclass(frozen=True)
class Target:
    """The resolved cluster: servers, credentials and the namespace verbs default to."""

    servers: list[str]
    namespace: str
    explicit_namespace: bool
    token: str | None = None
    verify: ssl.SSLContext | bool = True
    tls_server_name: str | None = None


@dataclass(frozen=True)
class Session:
    """A verb's view of the cluster while it runs."""

    client: ApiClient
    namespace: str
    explicit_namespace: bool
    servers: list[str]


def resolve_target(connection: Connection) -> Target:
    """Servers and namespace from the flags and the kubeconfig; a missing kubeconfig is one line."""
    if connection.server:
        server = connection.server.rstrip("/")
        return Target([server], connection.namespace or "default", explicit_namespace=connection.namespace is not None,
                      verify=server.startswith("https://"))
    path = default_kubeconfig_path(connection.kubeconfig)
    try:
        config = load_kubeconfig(path)
    except FileNotFoundError:
        raise CliError(f'error: no cluster configured: the kubeconfig "{path}" does not exist (start a cluster '
                       "with `minik8s up`, or pass --kubeconfig or --server)", verbatim=True) from None
    except (KubeConfigError, OSError, ValueError) as error:
        raise CliError(f"error: cannot use the kubeconfig {path}: {error}", verbatim=True) from None
    verify: ssl.SSLContext | bool = False  # plain http: no certificates to load
    if any(server.startswith("https://") for server in config.servers):
        try:
            verify = ssl_context_for(config)
        except (OSError, ValueError) as error:  # ssl.SSLError is an OSError
            raise CliError(f"error: cannot use the credentials in {path}: {error}", verbatim=True) from None
    return Target(list(config.servers), connection.namespace or config.namespace,
                  explicit_namespace=connection.namespace is not None, token=config.token, verify=verify,
                  tls_server_name=config.tls_server_name)


def open_client(target: Target, connection: Connection) -> ApiClient:
    timeout = connection.request_timeout or 10.0
    deadline = connection.request_timeout or DEFAULT_FAILOVER_SECONDS
    return ApiClient(target.servers, timeout=timeout, token=target.token, verify=target.verify,
                     tls_server_name=target.tls_server_name, failover_deadline=deadline, max_connections=4, user_agent=USER_AGENT)


Action = Callable[[Session], Awaitable[int | None]]


def run_verb(connection: Connection, action: Action) -> int:
    """Run `action` against the cluster and return the exit code; API errors become kubectl's line."""
    target = resolve_target(connection)

    async def main() -> int:
        async with open_client(target, connection) as client:
            session = Session(client, target.namespace, target.explicit_namespace, target.servers)
            return await action(session) or 0

    try:
        return asyncio.run(main())
    except ApiError as error:
        raise CliError(error_line(error, target.servers), verbatim=True) from None
    except KeyboardInterrupt:
        return 130


def error_line(error: ApiError, servers: Sequence[str]) -> str:
    """kubectl's one line for an API failure."""
    if isinstance(error, TlsFailure):
        return f"Unable to connect to the server: {error.message}"
    if isinstance(error, ServerUnreachable):
        return unreachable_line(error, servers)
    if isinstance(error, Unauthorized):
        return f"error: You must be logged in to the server ({error.message})"
    if isinstance(error, Invalid):
        return invalid_line(error)
    if error.reason:
        return f"Error from server ({error.reason}): {error.message}"
    return f"Error from server: {error.message}"


def unreachable_line(error: ServerUnreachable, servers: Sequence[str]) -> str:
    host = urlsplit(servers[0]).netloc if servers else "?"
    others = f" (and {len(servers) - 1} more)" if len(servers) > 1 else ""
    if "ConnectError" in error.message or "refused" in error.message.lower():
        return (f"The connection to the server {host}{others} was refused - did you specify the right "
                "host or port?")
    detail = error.message.split("(last tried", 1)[-1].rstrip(")").strip() if "(last tried" in error.message \
        else error.message
    return f"Unable to connect to the server: {detail}"


def invalid_line(error: Invalid) -> str:
    """`The Deployment "x" is invalid: spec.replicas: Invalid value: ...` (causes joined on one line)."""
    details: dict[str, Any] = error.details
    kind, name = str(details.get("kind") or ""), str(details.get("name") or "")
    head = f'The {kind} "{name}" is invalid' if kind or name else "The request is invalid"
    causes: list[str] = []
    for cause in error.causes:
        text = f"{cause.get('field', '')}: {cause.get('message', '')}"
        if text not in causes:
            causes.append(text)
    if causes:
        return f"{head}: {', '.join(causes)}"
    return f"{head}: {error.message}" if not (kind or name) and error.message else head
