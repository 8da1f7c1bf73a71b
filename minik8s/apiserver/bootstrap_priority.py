"""The two system PriorityClasses, created by every apiserver replica when it starts.

Kubernetes' `scheduling/bootstrap-system-priority-classes` post-start hook: `system-node-critical`
(2000001000) and `system-cluster-critical` (2000000000) are created when absent, so critical pods can
name them on any cluster. Replicas racing each other end with one copy (AlreadyExists is fine).
"""

from __future__ import annotations

import copy
import logging

from minik8s.api.kinds import PRIORITY_CLASSES
from minik8s.api.meta import name_of
from minik8s.api.priority_class import SYSTEM_PRIORITY_CLASSES
from minik8s.apiserver import errors
from minik8s.apiserver.operations import Operations

log = logging.getLogger(__name__)


async def create_system_priority_classes(ops: Operations) -> None:
    for system_class in SYSTEM_PRIORITY_CLASSES:
        if ops.objects.get(PRIORITY_CLASSES, None, name_of(system_class)) is not None:
            continue
        try:
            await ops.create(PRIORITY_CLASSES, None, copy.deepcopy(system_class))
            log.info("created PriorityClass %s with value %s", name_of(system_class), system_class["value"])
        except errors.StatusError as error:
            if error.reason != "AlreadyExists":
                raise
