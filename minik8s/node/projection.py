"""The files a configMap, secret, downwardAPI or projected volume holds, decided without I/O.

A projected volume is several of those in one directory plus ServiceAccount tokens: the
`kube-api-access-*` volume every pod gets (token, ca.crt, namespace) is one. Kubernetes'
pkg/volume/projected collectData: each source adds its files under the volume's `defaultMode`
(an item's `mode` wins); a missing ConfigMap or Secret fails the volume unless `optional`; a token
is the one the agent obtained for the pod (`TokenSource` says which, node/tokens.py fetches it).
Writing the files is volumes.py's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from minik8s.api.meta import spec_of
from minik8s.node.env import ConfigError, decode_secret_value, metadata_field_value, resource_field_value

DEFAULT_FILE_MODE = 0o644
PRIVATE_TOKEN_MODE = 0o600
DEFAULT_TOKEN_EXPIRATION_SECONDS = 3600

Lookup = Callable[[str, str, str], Mapping[str, Any] | None]


@dataclass(frozen=True)
class ProjectedFile:
    data: bytes
    mode: int
    owner: int | None = None  # a uid to own the file (a token for the pod's only runAsUser); None: the agent


@dataclass(frozen=True)
class TokenOwnership:
    """Who may read a projected token: the kubelet makes it 0600, owned by the pod's one runAsUser
    (FsUserFrom), as soon as the pod has a runAsUser common to all its containers or an fsGroup."""

    owner: int | None = None
    group: int | None = None

    def mode(self, default_mode: int) -> int:
        return PRIVATE_TOKEN_MODE if self.owner is not None or self.group is not None else default_mode


@dataclass(frozen=True)
class TokenSource:
    """What a `serviceAccountToken` projection asks for; the pod's ServiceAccount and binding are implied."""

    audience: str  # "" asks for the apiserver's own audiences
    expiration_seconds: int


def token_source(projection: Mapping[str, Any]) -> TokenSource:
    seconds = projection.get("expirationSeconds")
    return TokenSource(str(projection.get("audience") or ""),
                       seconds if isinstance(seconds, int) else DEFAULT_TOKEN_EXPIRATION_SECONDS)


def token_sources(pod: Mapping[str, Any]) -> set[TokenSource]:
    """Every token the pod's projected volumes hold."""
    return {token_source(source["serviceAccountToken"])
            for volume in spec_of(pod).get("volumes") or [] if isinstance(volume.get("projected"), dict)
            for source in volume["projected"].get("sources") or []
            if isinstance(source, dict) and isinstance(source.get("serviceAccountToken"), dict)}


def project_files(kind: str, source: Mapping[str, Any], obj: Mapping[str, Any], *, optional: bool,
                  default_mode: int | None = None) -> dict[str, ProjectedFile]:
    """The files of a ConfigMap or Secret: every key, or the `items` with their paths.

    `default_mode` is the projected volume's; a configMap or secret volume has its own."""
    data = _object_bytes(kind, obj)
    if default_mode is None:
        default_mode = file_mode(source.get("defaultMode"), DEFAULT_FILE_MODE)
    items = source.get("items") or []
    if not items:
        return {checked_path(key): ProjectedFile(data=value, mode=default_mode) for key, value in data.items()}
    files: dict[str, ProjectedFile] = {}
    for item in items:
        key = str(item.get("key") or "")
        if key not in data:
            if optional:
                continue
            noun = "config" if kind == "ConfigMap" else "secret"
            raise ConfigError(f"{kind.lower()} references non-existent {noun} key: {key}")
        path = checked_path(str(item.get("path") or key))
        files[path] = ProjectedFile(data=data[key], mode=file_mode(item.get("mode"), default_mode))
    return files


def object_files(kind: str, source: Mapping[str, Any], *, namespace: str, lookup: Lookup,
                 default_mode: int | None = None, name_field: str = "name") -> dict[str, ProjectedFile]:
    """A configMap or secret source, looked up: ConfigError when it is missing and not optional.

    A secret *volume* names its Secret in `secretName`; every other source in `name`."""
    name = str(source.get(name_field) or "")
    found = lookup(kind, namespace, name)
    optional = bool(source.get("optional"))
    if found is None and not optional:
        raise ConfigError(f'{kind.lower()} "{name}" not found')
    return project_files(kind, source, found or {}, optional=optional, default_mode=default_mode)


def downward_api_files(items: Any, pod: Mapping[str, Any], default_mode: int) -> dict[str, ProjectedFile]:
    """A downwardAPI source: each item's fieldRef (pod metadata) or resourceFieldRef (a container's resources)."""
    files: dict[str, ProjectedFile] = {}
    for item in items if isinstance(items, list) else []:
        if item.get("fieldRef"):
            value = metadata_field_value(pod, item["fieldRef"])
        elif item.get("resourceFieldRef"):
            value = resource_field_value(item["resourceFieldRef"], pod, {}, {})
        else:
            raise ConfigError(f"downwardAPI item {item.get('path')!r} names neither fieldRef nor resourceFieldRef")
        files[checked_path(str(item.get("path") or ""))] = ProjectedFile(value.encode(),
                                                                         file_mode(item.get("mode"), default_mode))
    return files


def projected_files(projected: Mapping[str, Any], pod: Mapping[str, Any], *, namespace: str, lookup: Lookup,
                    tokens: Mapping[TokenSource, str],
                    token_ownership: TokenOwnership = TokenOwnership()) -> dict[str, ProjectedFile]:
    """Every source of a projected volume, in order, in one directory."""
    mode = file_mode(projected.get("defaultMode"), DEFAULT_FILE_MODE)
    files: dict[str, ProjectedFile] = {}
    for source in projected.get("sources") or []:
        if isinstance(source.get("configMap"), dict):
            files.update(object_files("ConfigMap", source["configMap"], namespace=namespace, lookup=lookup,
                                      default_mode=mode))
        elif isinstance(source.get("secret"), dict):
            files.update(object_files("Secret", source["secret"], namespace=namespace, lookup=lookup,
                                      default_mode=mode))
        elif isinstance(source.get("downwardAPI"), dict):
            files.update(downward_api_files(source["downwardAPI"].get("items"), pod, mode))
        elif isinstance(source.get("serviceAccountToken"), dict):
            projection = source["serviceAccountToken"]
            token = tokens.get(token_source(projection))
            if token is None:
                raise ConfigError("no service account token was obtained for this pod")
            files[checked_path(str(projection.get("path") or ""))] = ProjectedFile(
                token.encode(), token_ownership.mode(mode), token_ownership.owner)
        else:
            raise ConfigError(f"projected volume source {sorted(source)} is not supported")
    return files


def _object_bytes(kind: str, obj: Mapping[str, Any]) -> dict[str, bytes]:
    if kind == "Secret":
        return {str(key): decode_secret_value(key, value) for key, value in (obj.get("data") or {}).items()}
    data = {str(key): str(value).encode() for key, value in (obj.get("data") or {}).items()}
    for key, value in (obj.get("binaryData") or {}).items():
        data.setdefault(str(key), decode_secret_value(key, value))
    return data


def file_mode(value: Any, default: int) -> int:
    return default if value is None else int(value) & 0o7777


def checked_path(path: str) -> str:
    """A relative path without `..` elements: a projected file must stay inside its volume."""
    pure = PurePosixPath(path)
    if not path or pure.is_absolute() or ".." in pure.parts:
        raise ConfigError(f"invalid path {path!r}: must be relative and may not contain '..'")
    return str(pure)
