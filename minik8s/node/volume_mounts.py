"""How a pod's volumes reach one container: its volumeMounts as Docker bind mounts.

Each volumeMount names a volume (already on the node: volumes.py) and where it goes; configMap,
secret, downwardAPI and projected volumes are always read-only, as in Kubernetes. A `subPath`
(or `subPathExpr`, expanded with the container's environment) mounts a part of the volume,
created as a directory when missing; it must stay inside the volume, and it is opened and
bind-mounted without the race between that check and Docker's mount (sub_path.py). A node that
mounts nothing (`binds` None: the simulated nodes) hands Docker the checked path itself.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from minik8s.node.env import ConfigError, expand
from minik8s.node.mounts import Mounter, MountError
from minik8s.node.runtime import Mount
from minik8s.node.sub_path import SubPathEscape, bind_sub_path, open_sub_path, sub_path_target, within

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlannedMount:
    """One volumeMount resolved to a host path; `sub_path` is prepared by the caller."""

    source: Path
    target: str
    read_only: bool
    sub_path: str = ""


@dataclass(frozen=True)
class SubPathBinds:
    """Where a node binds subPaths: under the pod's directory, with this mounter."""

    pod_dir: Path
    mounter: Mounter


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
    binds: SubPathBinds | None = None,
) -> list[Mount]:
    """The bind mounts of a container, in volumeMounts order; prepares each subPath."""
    container_name = str(container.get("name") or "")
    mounts: list[Mount] = []
    for index, volume_mount in enumerate(container.get("volumeMounts") or []):
        name = str(volume_mount.get("name") or "")
        if name not in volume_paths:
            raise ConfigError(f'cannot find volume "{name}" to mount into container "{container_name}"')
        planned = plan_mount(volume_mount, volume_paths[name], read_only_volume=name in read_only_volumes, env=env)
        source = planned.source
        if planned.sub_path:
            target = sub_path_target(binds.pod_dir, name, container_name, index) if binds else None
            source = prepare_sub_path(volume_paths[name], planned.sub_path, target=target,
                                      mounter=binds.mounter if binds else None,
                                      what=f'volumeMount "{name}" of container "{container_name}"')
        mounts.append(Mount(source=str(source), target=planned.target, read_only=planned.read_only))
    return mounts


def prepare_sub_path(volume_path: Path, sub_path: str, *, target: Path | None, mounter: Mounter | None,
                     what: str) -> Path:
    """The host path Docker mounts for a subPath: `target` bound to it, or (no mounter) the checked path.

    Missing directories are created with the volume's own mode, as the kubelet does."""
    root = volume_path.resolve()
    try:
        create_mode = stat.S_IMODE(root.stat().st_mode)
        if target is not None and mounter is not None:
            bind_sub_path(root, sub_path, target, mounter, create_mode=create_mode)
            return target
        descriptor = open_sub_path(root, sub_path, create_mode=create_mode)
        os.close(descriptor)
        return root / within(root, sub_path)
    except (SubPathEscape, MountError) as error:
        logger.warning("subPath %r of %s: %s", sub_path, what, error)
        raise ConfigError(f"failed to prepare subPath for {what}") from error
    except OSError as error:
        logger.warning("cannot create subPath %r of %s: %s", sub_path, what, error)
        raise ConfigError(f"failed to create subPath directory for {what}") from error
