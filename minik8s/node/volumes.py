"""Pod volumes as host paths, and the files they hold.

Docker only knows bind mounts, so every supported volume becomes a path on the node:
`emptyDir` a directory under the pod's own directory, `hostPath` the host path itself,
`persistentVolumeClaim` the directory of the claim's volume (claims.py resolves it; a local-path
volume's directory is made on first use), `configMap`, `secret`, `downwardAPI` and `projected` a
directory of files (projection.py says which). Deciding what a volume should contain (`plan_volumes`) is pure and separate from
writing it (`apply_volume`, `write_files`), so both halves are tested on their own; how a
volume reaches a container (subPath included) is volume_mounts.py's.

As the kubelet: `secret`, `downwardAPI` and `projected` volumes, and an `emptyDir` with
`medium: Memory` (its `sizeLimit` the tmpfs size), are a tmpfs each (mounts.py), so a Secret
never reaches the disk; a pod's `fsGroup` owns every volume but hostPath (SetVolumeOwnership:
group fsGroup, group read (and write for emptyDir), setgid directories). Unlike the kubelet,
projected files are replaced one by one (write to a temporary file, then rename) instead of
through its `..data` symlink swap. Files are rewritten only when their content, mode or owner
changed, so the agent's periodic refresh is cheap and a running container sees updates
(a ConfigMap edited, a token renewed).
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from minik8s.api.meta import namespace_of, spec_of
from minik8s.api.quantity import memory_bytes
from minik8s.node.claims import ClaimVolume, claim_volumes
from minik8s.node.env import ConfigError, Lookup
from minik8s.node.mounts import Mounter, MountError, ensure_tmpfs
from minik8s.node.projection import (
    DEFAULT_FILE_MODE,
    ProjectedFile,
    TokenOwnership,
    TokenSource,
    downward_api_files,
    file_mode,
    object_files,
    projected_files,
)
from minik8s.node.security_context import fs_group, fs_user

logger = logging.getLogger(__name__)

VolumeKind = Literal["emptyDir", "hostPath", "configMap", "secret", "downwardAPI", "projected",
                     "persistentVolumeClaim"]

SUPPORTED_VOLUME_TYPES: tuple[VolumeKind, ...] = ("emptyDir", "hostPath", "configMap", "secret", "downwardAPI",
                                                  "projected", "persistentVolumeClaim")
# Kubernetes mounts these read-only whatever the volumeMount says.
READ_ONLY_VOLUME_TYPES: tuple[VolumeKind, ...] = ("configMap", "secret", "downwardAPI", "projected")
# Kubernetes keeps these in memory (a tmpfs), never on disk.
MEMORY_VOLUME_TYPES: tuple[VolumeKind, ...] = ("secret", "downwardAPI", "projected")
EMPTY_DIR_MODE = 0o777
PROJECTION_DIR_MODE = 0o755
# SetVolumeOwnership: group read-write (emptyDir) or read-only (the rest), setgid and search on directories.
GROUP_READ_WRITE = 0o660
GROUP_READ_ONLY = 0o440
GROUP_SEARCH = 0o110
_TEMP_PREFIX = ".tmp-"

Medium = Literal["disk", "memory"]


@dataclass(frozen=True)
class VolumePlan:
    """What one volume must look like on the node."""

    name: str
    kind: VolumeKind
    path: Path
    host_path_type: str = ""  # hostPath only
    files: Mapping[str, ProjectedFile] = field(default_factory=dict)  # the file volumes: relative path → file
    medium: Medium = "disk"
    size_bytes: int | None = None  # a memory volume's limit (emptyDir sizeLimit); None: the tmpfs default
    group: int | None = None  # the pod's fsGroup: owns the volume (never a hostPath)
    claim: ClaimVolume | None = None  # persistentVolumeClaim only: the directory its volume is (claims.py)


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
                 tokens: Mapping[TokenSource, str] | None = None,
                 claims: Mapping[str, ClaimVolume] | None = None) -> list[VolumePlan]:
    """The desired state of every volume of the pod; reads ConfigMaps and Secrets through lookup,
    projected ServiceAccount tokens from `tokens` (obtained beforehand: node/tokens.py) and the
    directories of its claims from `claims` (resolved beforehand: node/claims.py)."""
    return [plan_volume(volume, pod, pod_dir=pod_dir, lookup=lookup, tokens=tokens or {}, claims=claims or {})
            for volume in spec_of(pod).get("volumes") or []]


def plan_volume(volume: Mapping[str, Any], pod: Mapping[str, Any], *, pod_dir: Path, lookup: Lookup,
                tokens: Mapping[TokenSource, str], claims: Mapping[str, ClaimVolume] | None = None) -> VolumePlan:
    name = str(volume["name"])
    kind = volume_kind(volume)
    if kind == "persistentVolumeClaim":
        claim = (claims or {}).get(name)
        if claim is None:
            raise ConfigError(f'volume "{name}": its claim has not been resolved to a volume of this node')
        return VolumePlan(name=name, kind=kind, path=claim.path, host_path_type=claim.host_path_type, claim=claim)
    if kind == "hostPath":
        source = volume["hostPath"]
        host_path = str(source.get("path") or "")
        if not host_path.startswith("/"):
            raise ConfigError(f"hostPath {host_path!r} must be an absolute path")
        return VolumePlan(name=name, kind=kind, path=Path(host_path), host_path_type=str(source.get("type") or ""))
    path, group = volume_directory(pod_dir, name), fs_group(pod)
    if kind == "emptyDir":
        source = volume.get(kind) or {}
        if source.get("medium") != "Memory":
            return VolumePlan(name=name, kind=kind, path=path, group=group)
        limit = source.get("sizeLimit")
        return VolumePlan(name=name, kind=kind, path=path, medium="memory", group=group,
                          size_bytes=memory_bytes(limit) if limit is not None else None)
    files = _volume_files(kind, volume[kind], pod, lookup=lookup, tokens=tokens)
    return VolumePlan(name=name, kind=kind, path=path, files=files, group=group,
                      medium="memory" if kind in MEMORY_VOLUME_TYPES else "disk")


def _volume_files(kind: VolumeKind, source: Mapping[str, Any], pod: Mapping[str, Any], *, lookup: Lookup,
                  tokens: Mapping[TokenSource, str]) -> dict[str, ProjectedFile]:
    namespace = namespace_of(pod) or "default"
    if kind == "configMap":
        return object_files("ConfigMap", source, namespace=namespace, lookup=lookup)
    if kind == "secret":
        return object_files("Secret", source, namespace=namespace, lookup=lookup, name_field="secretName")
    if kind == "downwardAPI":
        return downward_api_files(source.get("items"), pod, file_mode(source.get("defaultMode"), DEFAULT_FILE_MODE))
    ownership = TokenOwnership(owner=fs_user(pod), group=fs_group(pod))
    return projected_files(source, pod, namespace=namespace, lookup=lookup, tokens=tokens, token_ownership=ownership)


def apply_volume(plan: VolumePlan, mounter: Mounter | None = None) -> bool:
    """Make the volume on the node match the plan; True when anything was created or rewritten.

    `mounter` None keeps memory volumes on disk (the fake runtime's simulated nodes mount nothing)."""
    if plan.kind == "hostPath":
        return ensure_host_path(plan.path, plan.host_path_type)
    if plan.claim is not None:
        return ensure_claim_volume(plan.claim)
    mode = EMPTY_DIR_MODE if plan.kind == "emptyDir" else PROJECTION_DIR_MODE
    created = _ensure_directory(plan.path, mode)
    if plan.medium == "memory" and mounter is not None:
        try:
            if ensure_tmpfs(plan.path, mounter, size_bytes=plan.size_bytes):
                plan.path.chmod(mode)
                created = True
        except MountError as error:
            raise ConfigError(f"cannot keep volume {plan.name!r} in memory: {error}") from error
    if created and plan.group is not None:
        set_directory_ownership(plan.path, plan.group, read_only=plan.kind != "emptyDir")
    if plan.kind == "emptyDir":
        return created
    return write_files(plan.path, plan.files, group=plan.group) or created


def set_directory_ownership(path: Path, group: int, *, read_only: bool) -> None:
    """SetVolumeOwnership on a volume's directory: group `group`, group access, setgid so new files inherit it."""
    os.chown(path, -1, group)
    mask = (GROUP_READ_ONLY if read_only else GROUP_READ_WRITE) | GROUP_SEARCH | stat.S_ISGID
    path.chmod(stat.S_IMODE(path.stat().st_mode) | mask)


def file_mode_with_group(projected: ProjectedFile, group: int | None) -> int:
    """A volume file's mode: its own, plus group read when an fsGroup owns the volume."""
    return projected.mode | GROUP_READ_ONLY if group is not None else projected.mode


def prepare_volumes(pod: Mapping[str, Any], *, pod_dir: Path, lookup: Lookup,
                    tokens: Mapping[TokenSource, str] | None = None,
                    mounter: Mounter | None = None, claims: Mapping[str, ClaimVolume] | None = None) -> dict[str, Path]:
    """Materialise every volume of the pod; volume name → the host path to bind-mount."""
    plans = plan_volumes(pod, pod_dir=pod_dir, lookup=lookup, tokens=tokens, claims=claims)
    paths: dict[str, Path] = {}
    for plan in plans:
        if apply_volume(plan, mounter):
            logger.debug("volume %s (%s) updated at %s", plan.name, plan.kind, plan.path)
        paths[plan.name] = plan.path
    return paths


def refreshed_volumes(pod: Mapping[str, Any]) -> frozenset[str]:
    """Volumes whose files follow their sources (configMap, secret, downwardAPI, projected): always read-only."""
    return frozenset(
        str(volume["name"])
        for volume in spec_of(pod).get("volumes") or []
        if any(volume.get(kind) is not None for kind in READ_ONLY_VOLUME_TYPES)
    )


def read_only_volumes(pod: Mapping[str, Any]) -> frozenset[str]:
    """Volumes mounted read-only whatever the volumeMount says: the refreshed ones and `readOnly` claims."""
    return refreshed_volumes(pod) | {name for name, _, read_only in claim_volumes(pod) if read_only}


def ensure_claim_volume(claim: ClaimVolume) -> bool:
    """A claim's directory: a provisioned one made when missing; a hostPath checked as its type says; a local
    volume's path must exist (MountVolume.NewMounter's message)."""
    if claim.create_mode is not None:
        if claim.path.is_dir():
            return False
        if os.path.lexists(claim.path):
            raise ConfigError(f"hostPath type check failed: {claim.path} is not a directory")
        claim.path.mkdir(parents=True, exist_ok=True)
        claim.path.chmod(claim.create_mode)  # not subject to the umask, unlike mkdir's mode
        return True
    if claim.source == "hostPath":
        return ensure_host_path(claim.path, claim.host_path_type)
    if not os.path.exists(claim.path):
        raise ConfigError(f'MountVolume.NewMounter initialization failed for volume "{claim.volume_name}" : '
                          f'path "{claim.path}" does not exist')
    return False


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


def write_files(directory: Path, files: Mapping[str, ProjectedFile], *, group: int | None = None) -> bool:
    """Make `directory` hold exactly `files`: rewrite changed ones atomically, remove the rest.

    With `group` (the pod's fsGroup) every file and directory belongs to it and is group-readable."""
    changed = False
    for relative, projected in sorted(files.items()):
        changed = _write_file(directory, relative, projected, group) or changed
    return _remove_stale(directory, set(files)) or changed


def _write_file(directory: Path, relative: str, projected: ProjectedFile, group: int | None) -> bool:
    target = directory / relative
    if _is_current(target, projected, group):
        return False
    _ensure_parents(directory, target.parent, group)
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    descriptor, temporary = tempfile.mkstemp(prefix=_TEMP_PREFIX, dir=target.parent)
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(projected.data)
        if projected.owner is not None or group is not None:
            os.chown(temporary, -1 if projected.owner is None else projected.owner, -1 if group is None else group)
        os.chmod(temporary, file_mode_with_group(projected, group))
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return True


def _is_current(target: Path, projected: ProjectedFile, group: int | None) -> bool:
    try:
        status = target.lstat()
    except OSError:
        return False
    if not stat.S_ISREG(status.st_mode) or stat.S_IMODE(status.st_mode) != file_mode_with_group(projected, group):
        return False
    if (projected.owner is not None and status.st_uid != projected.owner) or (
            group is not None and status.st_gid != group):
        return False
    return target.read_bytes() == projected.data


def _ensure_parents(directory: Path, parent: Path, group: int | None) -> None:
    """Create the directories between `directory` and `parent`, replacing files in the way."""
    current = directory
    for part in parent.relative_to(directory).parts:
        current = current / part
        if current.is_symlink() or (current.exists() and not current.is_dir()):
            current.unlink()
        if not current.exists():
            current.mkdir()
            current.chmod(PROJECTION_DIR_MODE)
            if group is not None:
                set_directory_ownership(current, group, read_only=True)


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
