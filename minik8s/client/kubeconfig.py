"""Reading and writing kubeconfig files: where the cluster is and who we are.

`minik8s up` writes a standard kubeconfig so that the real kubectl, the official Python
client and our own CLI all find the cluster the same way. Several apiserver replicas fit
in the standard format through a cluster `extensions` entry named `minik8s` listing every
server (`{"servers": [...]}`); tools that do not know it use the one `server` field.

Credentials are the standard ones: `certificate-authority(-data)` and `tls-server-name` on the
cluster, `client-certificate(-data)`/`client-key(-data)` and `token`/`tokenFile` on the user.
Relative file paths are relative to the kubeconfig's folder, and embedded data wins over a
file (client-go's rule). `tls.ssl_context_for` turns them into one TLS context.
"""

from __future__ import annotations

import base64
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

EXTENSION_NAME = "minik8s"


class KubeConfigError(ValueError):
    """The kubeconfig exists but does not say how to reach a cluster."""


@dataclass(frozen=True)
class KubeConfig:
    """What a client needs from a kubeconfig's current context."""

    servers: list[str]
    token: str | None = None
    namespace: str = "default"
    context_name: str = ""
    cluster_name: str = ""
    insecure_skip_tls_verify: bool = False
    certificate_authority: str | None = None  # a file path
    certificate_authority_data: str | None = None  # PEM text
    tls_server_name: str | None = None
    client_certificate: str | None = None  # a file path
    client_certificate_data: str | None = None  # PEM text
    client_key: str | None = None  # a file path
    client_key_data: str | None = None  # PEM text


@dataclass(frozen=True)
class Credentials:
    """What a written kubeconfig embeds: the CA to trust and who the user is (PEM bytes)."""

    certificate_authority_pem: bytes | None = None
    client_certificate_pem: bytes | None = None
    client_key_pem: bytes | None = None
    token: str | None = None
    user_name: str | None = None  # the kubeconfig's name for the user entry


def default_kubeconfig_path(explicit: str | None = None) -> Path:
    """The kubeconfig to use: explicit, `$KUBECONFIG` (first entry), `$MINIK8S_HOME/kubeconfig`,
    then `~/.minik8s/kubeconfig`."""
    if explicit:
        return Path(explicit).expanduser()
    kubeconfig_env = os.environ.get("KUBECONFIG", "")
    entries = [entry for entry in kubeconfig_env.split(os.pathsep) if entry]
    if entries:
        return Path(entries[0]).expanduser()
    minik8s_home = os.environ.get("MINIK8S_HOME")
    if minik8s_home:
        return Path(minik8s_home).expanduser() / "kubeconfig"
    return Path.home() / ".minik8s" / "kubeconfig"


def load_kubeconfig(path: str | os.PathLike[str]) -> KubeConfig:
    """The current context of the kubeconfig at `path` (FileNotFoundError when absent)."""
    with open(path, encoding="utf-8") as stream:
        document = yaml.safe_load(stream)
    if not isinstance(document, dict):
        raise KubeConfigError(f"{path}: not a kubeconfig")
    context_name = str(document.get("current-context") or "")
    contexts = _named(document, "contexts", "context")
    if not context_name:
        if len(contexts) != 1:
            raise KubeConfigError(f"{path}: no current-context")
        context_name = next(iter(contexts))
    context = contexts.get(context_name)
    if context is None:
        raise KubeConfigError(f"{path}: context {context_name!r} not found")
    cluster_name = str(context.get("cluster") or "")
    cluster = _named(document, "clusters", "cluster").get(cluster_name)
    if cluster is None:
        raise KubeConfigError(f"{path}: cluster {cluster_name!r} not found")
    user = _named(document, "users", "user").get(str(context.get("user") or ""), {})
    base = Path(path).parent
    return KubeConfig(
        servers=_servers_of(cluster, path=path),
        token=_token_of(user, base=base),
        namespace=str(context.get("namespace") or "default"),
        context_name=context_name,
        cluster_name=cluster_name,
        insecure_skip_tls_verify=bool(cluster.get("insecure-skip-tls-verify", False)),
        certificate_authority=_relative_to(base, cluster.get("certificate-authority")),
        certificate_authority_data=_decoded(cluster.get("certificate-authority-data")),
        tls_server_name=str(cluster.get("tls-server-name") or "") or None,
        client_certificate=_relative_to(base, user.get("client-certificate")),
        client_certificate_data=_decoded(user.get("client-certificate-data")),
        client_key=_relative_to(base, user.get("client-key")),
        client_key_data=_decoded(user.get("client-key-data")),
    )


def write_kubeconfig(
    path: str | os.PathLike[str],
    *,
    servers: list[str],
    cluster_name: str = "minik8s",
    user_token: str | None = None,
    namespace: str | None = None,
    credentials: Credentials | None = None,
    tls_server_name: str | None = None,
) -> None:
    """Write `render_kubeconfig(...)` to `path`, readable by the owner only (0600)."""
    write_private_text(Path(path), render_kubeconfig(
        servers=servers, cluster_name=cluster_name, user_token=user_token, namespace=namespace,
        credentials=credentials, tls_server_name=tls_server_name))


def render_kubeconfig(
    *,
    servers: list[str],
    cluster_name: str = "minik8s",
    user_token: str | None = None,
    namespace: str | None = None,
    credentials: Credentials | None = None,
    tls_server_name: str | None = None,
) -> str:
    """A standard kubeconfig (YAML) whose current context is this cluster.

    The first server goes in `server`; all of them in the `minik8s` extension for fail-over.
    `credentials` embeds the CA and the user's client pair or token (`*-data`, base64 PEM);
    a named user gets kubeadm's context name `USER@CLUSTER`.
    """
    if not servers:
        raise ValueError("a kubeconfig needs at least one server")
    given = credentials or Credentials(token=user_token)
    user_name = given.user_name or f"{cluster_name}-admin"
    context_name = cluster_name if given.user_name is None else f"{given.user_name}@{cluster_name}"
    context: dict[str, Any] = {"cluster": cluster_name, "user": user_name}
    if namespace:
        context["namespace"] = namespace
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": cluster_name, "cluster": _cluster_entry(servers, given, tls_server_name)}],
        "contexts": [{"name": context_name, "context": context}],
        "current-context": context_name,
        "users": [{"name": user_name, "user": _user_entry(given)}],
    }
    return yaml.safe_dump(document, sort_keys=False)


def _cluster_entry(servers: list[str], credentials: Credentials, tls_server_name: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"server": servers[0]}
    if credentials.certificate_authority_pem:
        entry["certificate-authority-data"] = _encoded(credentials.certificate_authority_pem)
    if tls_server_name:
        entry["tls-server-name"] = tls_server_name
    entry["extensions"] = [{"name": EXTENSION_NAME, "extension": {"servers": list(servers)}}]
    return entry


def _user_entry(credentials: Credentials) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    if credentials.client_certificate_pem and credentials.client_key_pem:
        entry["client-certificate-data"] = _encoded(credentials.client_certificate_pem)
        entry["client-key-data"] = _encoded(credentials.client_key_pem)
    if credentials.token:
        entry["token"] = credentials.token
    return entry


def _named(document: dict[str, Any], section: str, body: str) -> dict[str, dict[str, Any]]:
    """`{name: body}` of a kubeconfig list such as `clusters: [{name, cluster: {...}}]`."""
    entries = document.get(section) or []
    named: dict[str, dict[str, Any]] = {}
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get(body), dict):
            named[str(entry.get("name") or "")] = entry[body]
    return named


def _servers_of(cluster: dict[str, Any], *, path: str | os.PathLike[str]) -> list[str]:
    servers: list[str] = []
    primary = cluster.get("server")
    if isinstance(primary, str) and primary:
        servers.append(primary)
    for extension in cluster.get("extensions") or []:
        if not isinstance(extension, dict) or extension.get("name") != EXTENSION_NAME:
            continue
        body = extension.get("extension")
        extra = body.get("servers") if isinstance(body, dict) else None
        for server in extra if isinstance(extra, list) else []:
            if isinstance(server, str) and server and server not in servers:
                servers.append(server)
    if not servers:
        raise KubeConfigError(f"{path}: the cluster names no server")
    return servers


def _token_of(user: dict[str, Any], *, base: Path) -> str | None:
    token = user.get("token")
    if isinstance(token, str) and token:
        return token
    token_file = user.get("tokenFile")
    if isinstance(token_file, str) and token_file:
        return (base / Path(token_file).expanduser()).read_text(encoding="utf-8").strip()
    return None


def _relative_to(base: Path, value: object) -> str | None:
    """A file path from a kubeconfig, which is relative to the kubeconfig's folder."""
    if not isinstance(value, str) or not value:
        return None
    return str(base / Path(value).expanduser())


def _encoded(pem: bytes) -> str:
    return base64.b64encode(pem).decode("ascii")


def _decoded(value: object) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    return base64.b64decode(value).decode("ascii")


def write_private_text(path: Path, text: str) -> None:
    """Write atomically, readable by the owner only, creating the folder (0700) if needed."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
