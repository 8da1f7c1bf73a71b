"""The default StorageClass every minik8s cluster starts with: `standard`, served by the built-in provisioner.

As kind and minikube ship a default class, a claim that names none (DefaultStorageClass admission) gets
`standard`: `minik8s.io/local-path` makes a directory for it on the node its first pod is scheduled to
(`WaitForFirstConsumer`), and deletes it with the claim (`Delete`). Created if absent when a replica
starts, like the system namespaces: a class deleted by hand comes back at the next apiserver start.
"""

from __future__ import annotations

from minik8s.api.kinds import STORAGE_CLASSES
from minik8s.api.meta import JsonObject
from minik8s.api.persistent_volumes import (
    DEFAULT_CLASS_ANNOTATION,
    DELETE,
    LOCAL_PATH_PROVISIONER,
    WAIT_FOR_FIRST_CONSUMER,
)
from minik8s.apiserver import errors
from minik8s.apiserver.operations import Operations

DEFAULT_STORAGE_CLASS_NAME = "standard"


def standard_storage_class() -> JsonObject:
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": DEFAULT_STORAGE_CLASS_NAME, "annotations": {DEFAULT_CLASS_ANNOTATION: "true"}},
            "provisioner": LOCAL_PATH_PROVISIONER, "reclaimPolicy": DELETE,
            "volumeBindingMode": WAIT_FOR_FIRST_CONSUMER}


async def create_default_storage_class(ops: Operations) -> None:
    if ops.objects.get(STORAGE_CLASSES, None, DEFAULT_STORAGE_CLASS_NAME) is not None:
        return
    try:
        await ops.create(STORAGE_CLASSES, None, standard_storage_class())
    except errors.StatusError as error:
        if error.reason != "AlreadyExists":
            raise
