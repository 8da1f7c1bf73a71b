"""Pod volumes as host paths, and the bind mounts that put them into containers.

Docker only knows bind mounts, so every supported volume becomes a path on the node:
`emptyDir` a directory under the pod's own directory, `hostPath` the host path itself,
`configMap`, `secret`, `downwardAPI` and `projected` a directory of files (projection.py says
which). Deciding what a volume should contain (`plan_volumes`, `plan_mount`) is pure and
separate from writing it (`apply_volume`, `write_files`), so both halves are tested on their own.

Differences from the kubelet, on purpose: an `emptyDir` with `medium: Memory` and
`secret` volumes are plain directories on disk (no tmpfs), and projected files are
replaced one by one (write to a temporary file, then rename) instead of through the
kubelet's `..data` symlink swap. Files are rewritten only when their content or mode
changed, so the agent's periodic refresh is cheap and a running container sees updates
(a ConfigMap edited, a token renewed).
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import tempfile
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from minik8s.api.meta import namespace_of, spec_of
from minik8s.node.env import ConfigError, Lookup, expand
from minik8s.node.projection import (
    DEFAULT_FILE_MODE,
    ProjectedFile,
    TokenSource,
    downward_api_files,
    file_mode,
    object_files,
    projected_files,
)
from minik8s.node.runtime import Mount

logger = logging.getLogger(__name__)

VolumeKind = Literal["emptyDir", "hostPath", "configMap", "secret", "downwardAPI", "projected"]

SUPPORTED_VOLUME_TYPES: tuple[VolumeKind, ...] = ("emptyDir", "hostPath", "configMap", "secret", "downwardAPI",
                                                  "projected")
# Kubernetes mounts these read-only whatever the volumeMount says.
READ_ONLY_VOLUME_TYPES: tuple[VolumeKind, ...] = ("configMap", "secret", "downwardAPI", "projected")
EMPTY_DIR_MODE = 0o777
PROJECTION_DIR_MODE = 0o755
_TEMP_PREFIX = ".tmp-"


@dataclass(frozen=True)
class VolumePlan:
    """What one volume must look like on the node."""

    name: str
    kind: VolumeKind
    path: Path
    host_path_type: str = ""  # hostPath only
    files: Mapping[str, ProjectedFile] = field(default_factory=dict)  # the file volumes: relative path → file


@dataclass(frozen=True)
class PlannedMount:
    """One volumeMount resolved to a host path; `sub_path` is created by the caller when missing."""

    source: Path
    target: str
    read_only: bool
    sub_path: str = ""


def volume_directory(pod_dir: Path, name: str) -> Path:
    return pod_dir / "volumes" / name


def volume_kind(volume: Mapping[str, Any]) -> VolumeKind:
    """The volume's source type; ConfigError for any type the agent cannot provide."""
    sources = [key for key, value in volume.items() if key != "name" and value is not None]
    if not sources:
        return "emptyDir"  # Kubernetes defaults a volume without a source to emptyDir
    for kind in SUPPORTED_VOLUME_TYPES:
        if kind in sources:
            return kind
    raise ConfigError(f"volume type {sources[0]} is not supported")


def plan_volumes(pod: Mapping[str, Any], *, pod_dir: Path, lookup: Lookup,
                 tokens: Mapping[TokenSource, str] | None = None) -> list[VolumePlan]:
    """The desired state of every volume of the pod; reads ConfigMaps and Secrets through lookup and
    projected ServiceAccount tokens from `tokens` (obtained beforehand: node/tokens.py)."""
    return [plan_volume(volume, pod, pod_dir=pod_dir, lookup=lookup, tokens=tokens or {})
            for volume in spec_of(pod).get("volumes") or []]


def plan_volume(volume: Mapping[str, Any], pod: Mapping[str, Any], *, pod_dir: Path, lookup: Lookup,
                tokens: Mapping[TokenSource, str]) -> VolumePlan:
    name = str(volume["name"])
    kind = volume_kind(volume)
    if kind == "hostPath":
        source = volume["hostPath"]
        host_path = str(source.get("path") or "")
        if not host_path.startswith("/"):
            raise ConfigError(f"hostPath {host_path!r} must be an absolute path")
        return VolumePlan(name=name, kind=kind, path=Path(host_path), host_path_type=str(source.get("type") or ""))
    namespace = namespace_of(pod) or "default"
    files: dict[str, ProjectedFile] = {}
    if kind == "configMap":
        files = object_files("ConfigMap", volume[kind], namespace=namespace, lookup=lookup)
    elif kind == "secret":
        files = object_files("Secret", volume[kind], namespace=namespace, lookup=lookup, name_field="secretName")
    elif kind == "downwardAPI":
        source = volume[kind]
        files = downward_api_files(source.get("items"), pod, file_mode(source.get("defaultMode"), DEFAULT_FILE_MODE))
    elif kind == "projected":
        files = projected_files(volume[kind], pod, namespace=namespace, lookup=lookup, tokens=tokens)
    return VolumePlan(name=name, kind=kind, path=volume_directory(pod_dir, name), files=files)


def apply_volume(plan: VolumePlan) -> bool:
    """Make the volume on disk match the plan; True when anything was created or rewritten."""
    if plan.kind == "hostPath":
        return ensure_host_path(plan.path, plan.host_path_type)
    if plan.kind == "emptyDir":
        return _ensure_directory(plan.path, EMPTY_DIR_MODE)
    created = _ensure_directory(plan.path, PROJECTION_DIR_MODE)
    return write_files(plan.path, plan.files) or created


def prepare_volumes(pod: Mapping[str, Any], *, pod_dir: Path, lookup: Lookup,
                    tokens: Mapping[TokenSource, str] | None = None) -> dict[str, Path]:
    """Materialise every volume of the pod; volume name → the host path to bind-mount."""
    plans = plan_volumes(pod, pod_dir=pod_dir, lookup=lookup, tokens=tokens)
    paths: dict[str, Path] = {}
    for plan in plans:
        if apply_volume(plan):
            logger.debug("volume %s (%s) updated at %s", plan.name, plan.kind, plan.path)
        paths[plan.name] = plan.path
    return paths


def read_only_volumes(pod: Mapping[str, Any]) -> frozenset[str]:
    """Volumes Kubernetes always mounts read-only (configMap, secret, downwardAPI, projected)."""
    return frozenset(
        str(volume["name"])
        for volume in spec_of(pod).get("volumes") or []
        if any(volume.get(kind) is not None for kind in READ_ONLY_VOLUME_TYPES)
    )


def ensure_host_path(path: Path, path_type: str) -> bool:
    """Check (or create) a hostPath as its `type` demands, with Kubernetes' messages."""
    if path_type == "DirectoryOrCreate" and not os.path.lexists(path):
        path.mkdir(mode=0o755, parents=True, exist_ok=True)
        return True
    if path_type == "FileOrCreate" and not os.path.lexists(path):
        if not path.parent.is_dir():
            raise ConfigError(f"hostPath type check failed: parent directory of {path} does not exist")
        path.touch(mode=0o644, exist_ok=True)
        return True
    checks = {
        "DirectoryOrCreate": (stat.S_ISDIR, "a directory"),
        "Directory": (stat.S_ISDIR, "a directory"),
        "FileOrCreate": (stat.S_ISREG, "a file"),
        "File": (stat.S_ISREG, "a file"),
        "Socket": (stat.S_ISSOCK, "a socket file"),
        "CharDevice": (stat.S_ISCHR, "a character device"),
        "BlockDevice": (stat.S_ISBLK, "a block device"),
    }
    if path_type == "":
        return False
    if path_type not in checks:
        raise ConfigError(f"{path_type} is an invalid volume type")
    is_kind, noun = checks[path_type]
    try:
        mode = path.stat().st_mode
    except OSError:
        mode = 0
    if not is_kind(mode):
        raise ConfigError(f"hostPath type check failed: {path} is not {noun}")
    return False


def _ensure_directory(path: Path, mode: int) -> bool:
    if path.is_dir():
        return False
    if os.path.lexists(path):
        path.unlink()
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(mode)  # not subject to the umask, unlike mkdir's mode
    return True


def write_files(directory: Path, files: Mapping[str, ProjectedFile]) -> bool:
    """Make `directory` hold exactly `files`: rewrite changed ones atomically, remove the rest."""
    changed = False
    for relative, projected in sorted(files.items()):
        changed = _write_file(directory, relative, projected) or changed
    return _remove_stale(directory, set(files)) or changed


def _write_file(directory: Path, relative: str, projected: ProjectedFile) -> bool:
    target = directory / relative
    if _is_current(target, projected):
        return False
    _ensure_parents(directory, target.parent)
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    descriptor, temporary = tempfile.mkstemp(prefix=_TEMP_PREFIX, dir=target.parent)
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(projected.data)
        os.chmod(temporary, projected.mode)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return True


def _is_current(target: Path, projected: ProjectedFile) -> bool:
    try:
        status = target.lstat()
    except OSError:
        return False
    if not stat.S_ISREG(status.st_mode) or stat.S_IMODE(status.st_mode) != projected.mode:
        return False
    return target.read_bytes() == projected.data


def _ensure_parents(directory: Path, parent: Path) -> None:
    """Create the directories between `directory` and `parent`, replacing files in the way."""
    current = directory
    for part in parent.relative_to(directory).parts:
        current = current / part
        if current.is_symlink() or (current.exists() and not current.is_dir()):
            current.unlink()
        if not current.exists():
            current.mkdir()
            current.chmod(PROJECTION_DIR_MODE)


def _remove_stale(directory: Path, wanted: set[str]) -> bool:
    """Remove files not in `wanted` and directories left empty; True when anything went."""
    removed = False
    for root, directories, names in os.walk(directory, topdown=False):
        root_path = Path(root)
        for name in names:
            path = root_path / name
            if str(path.relative_to(directory)) not in wanted:
                path.unlink()
                removed = True
        for name in directories:
            path = root_path / name
            if path.is_symlink():
                path.unlink()
                removed = True
            elif not any(path.iterdir()):
                path.rmdir()
                removed = True
    return removed


def plan_mount(
    volume_mount: Mapping[str, Any],
    volume_path: Path,
    *,
    read_only_volume: bool = False,
    env: Mapping[str, str] | None = None,
) -> PlannedMount:
    """One volumeMount as a host source and container target; validates subPath / subPathExpr."""
    sub_path = str(volume_mount.get("subPath") or "")
    if volume_mount.get("subPathExpr"):
        sub_path = expand(str(volume_mount["subPathExpr"]), env or {})
    source = volume_path
    if sub_path:
        pure = PurePosixPath(sub_path)
        if pure.is_absolute():
            raise ConfigError(f"error SubPath `{sub_path}` must not be an absolute path")
        if ".." in pure.parts:
            raise ConfigError(f"unable to provision SubPath `{sub_path}`: must not contain '..'")
        source = volume_path / pure
        sub_path = str(pure)
    target = str(volume_mount.get("mountPath") or "")
    if not target.startswith("/"):
        target = "/" + target
    read_only = bool(volume_mount.get("readOnly")) or read_only_volume
    return PlannedMount(source=source, target=target, read_only=read_only, sub_path=sub_path)


def container_mounts(
    container: Mapping[str, Any],
    volume_paths: Mapping[str, Path],
    *,
    read_only_volumes: Collection[str] = frozenset(),
    env: Mapping[str, str] | None = None,
) -> list[Mount]:
    """The bind mounts of a container, in volumeMounts order; creates missing subPath directories."""
    container_name = str(container.get("name") or "")
    mounts: list[Mount] = []
    for volume_mount in container.get("volumeMounts") or []:
        name = str(volume_mount.get("name") or "")
        if name not in volume_paths:
            raise ConfigError(f'cannot find volume "{name}" to mount into container "{container_name}"')
        planned = plan_mount(
            volume_mount,
            volume_paths[name],
            read_only_volume=name in read_only_volumes,
            env=env,
        )
        if planned.sub_path:
            _ensure_sub_path(volume_paths[name], planned, mount_name=name, container_name=container_name)
        mounts.append(Mount(source=str(planned.source), target=planned.target, read_only=planned.read_only))
    return mounts


def _ensure_sub_path(volume_path: Path, planned: PlannedMount, *, mount_name: str, container_name: str) -> None:
    """Create a missing subPath as a directory, refusing one that escapes the volume by a symlink."""
    root = volume_path.resolve()
    if not planned.source.resolve().is_relative_to(root):
        raise ConfigError(f'failed to prepare subPath for volumeMount "{mount_name}" of container "{container_name}"')
    if os.path.lexists(planned.source):
        return
    try:
        planned.source.mkdir(parents=True, exist_ok=True)
        planned.source.chmod(stat.S_IMODE(volume_path.stat().st_mode))
    except OSError as error:
        logger.warning("cannot create subPath %s: %s", planned.source, error)
        raise ConfigError(
            f'failed to create subPath directory for volumeMount "{mount_name}" of container "{container_name}"'
        ) from error
