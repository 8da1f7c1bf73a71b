"""The node's half of the local-path provisioner: deleting its released volumes and their directories.

The controller-manager makes local-path PersistentVolumes; only the node holds their directories. As
the external-provisioner deletes a volume it made once the PV controller marked it Released under the
`Delete` policy, each agent watches the volumes labelled `minik8s.io/local-path-node=<its name>` (the
only PersistentVolumes the Node authorizer lets it list) and, for each such volume, removes the
directory (`rm -rf`, as rancher's helper pod does), then deletes the volume object (precondition: its
uid; NodeRestriction lets a node delete only these). A directory is removed only if it lies inside
this node's local-path directory, never the directory itself: a volume object pointing elsewhere is
left alone. `Retain` volumes keep their directory and object until someone deletes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from minik8s.api.kinds import PERSISTENT_VOLUMES
from minik8s.api.meta import JsonObject, key_of, labels_of, name_of, spec_of, uid_of
from minik8s.api.persistent_volumes import (
    DELETE,
    LOCAL_PATH_NODE_LABEL,
    LOCAL_PATH_PROVISIONER,
    RELEASED,
    phase_of,
    provisioned_by,
)
from minik8s.client.api import ApiClient
from minik8s.client.controller import run_workers
from minik8s.client.errors import Conflict, NotFound
from minik8s.client.informer import Informer
from minik8s.client.workqueue import WorkQueue

log = logging.getLogger(__name__)


def directory_to_remove(volume: Mapping[str, Any], node_name: str, base: Path) -> Path | None:
    """The directory of a Released, Delete-policy local-path volume of this node, when it lies inside `base`."""
    if phase_of(volume) != RELEASED or spec_of(volume).get("persistentVolumeReclaimPolicy") != DELETE:
        return None
    if provisioned_by(volume) != LOCAL_PATH_PROVISIONER or labels_of(volume).get(LOCAL_PATH_NODE_LABEL) != node_name:
        return None
    host_path = spec_of(volume).get("hostPath")
    path = host_path.get("path") if isinstance(host_path, Mapping) else None
    if not isinstance(path, str) or not path.startswith("/"):
        return None
    target, root = Path(os.path.normpath(path)), Path(os.path.normpath(base))
    if target == root or root not in target.parents:
        return None
    return target


def remove_directory(path: Path) -> None:
    """`rm -rf path`: never following a symlink (rmtree does not; a link itself is unlinked)."""
    if path.is_symlink():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)
    elif os.path.lexists(path):
        path.unlink()


class LocalVolumeCleaner:
    def __init__(self, client: ApiClient, node_name: str, base: Path, *, workers: int = 1) -> None:
        self.client, self.node_name, self.base, self.workers = client, node_name, base, workers
        self.volumes = Informer(client, PERSISTENT_VOLUMES, label_selector=f"{LOCAL_PATH_NODE_LABEL}={node_name}")
        self.queue = WorkQueue(name=f"local-volumes@{node_name}")

    async def run(self) -> None:
        self.volumes.add_handler(on_add=self._enqueue, on_update=lambda _, new: self._enqueue(new))
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self.volumes.run())
            await self.volumes.wait_synced()
            tasks.create_task(run_workers(self.queue, self.reconcile, workers=self.workers,
                                          name=f"local-volumes {self.node_name}"))

    def _enqueue(self, volume: JsonObject) -> None:
        self.queue.add(key_of(volume))

    async def reconcile(self, key: str) -> None:
        volume = self.volumes.get(key)
        if volume is None:
            return
        directory = directory_to_remove(volume, self.node_name, self.base)
        if directory is None:
            return
        await asyncio.to_thread(remove_directory, directory)
        with contextlib.suppress(NotFound, Conflict):  # gone already, or a new volume of that name
            await self.client.delete(PERSISTENT_VOLUMES, name_of(volume), preconditions_uid=uid_of(volume))
            log.info("deleted local-path volume %s and its directory %s", name_of(volume), directory)
