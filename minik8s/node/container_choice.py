"""Which runtime container `kubectl logs` and `kubectl exec` mean, refused with Kubernetes' wording.

A request names a pod, maybe a container name, and for logs maybe `--previous`. The answer is
one container of the runtime: the newest attempt of that name, or the one before it. A pod
with several containers needs the name; a container that never started, or has no previous
attempt, is a `BadRequest` whose message `kubectl` shows as is — the kubelet's own words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from minik8s.api.meta import name_of, spec_of
from minik8s.client.errors import BadRequest
from minik8s.node.pod_sync import attempt_of
from minik8s.node.runtime import LABEL_CONTAINER, LABEL_ROLE, ContainerInfo


def choose_container(pod: Mapping[str, Any], containers: Sequence[ContainerInfo], container: str | None, *,
                     previous: bool) -> str:
    """The id of the container meant among the pod's `containers`; BadRequest when there is none."""
    pod_name = name_of(pod)
    spec = spec_of(pod)
    names = [c.get("name") for c in spec.get("containers") or []]
    names += [c.get("name") for c in spec.get("initContainers") or []]
    if container is None:
        if len(spec.get("containers") or []) != 1:
            raise BadRequest(400, "BadRequest", f"a container name must be specified for pod {pod_name}, "
                             f"choose one of: [{' '.join(str(n) for n in names)}]")
        container = str(names[0])
    if container not in names:
        raise BadRequest(400, "BadRequest", f"container {container} is not valid for pod {pod_name}")
    history = [c for c in containers if c.labels.get(LABEL_CONTAINER) == container
               and c.labels.get(LABEL_ROLE) != "sandbox"]
    history.sort(key=attempt_of)
    chosen = history[-2:-1] if previous else history[-1:]
    if not chosen:
        if previous:
            raise BadRequest(400, "BadRequest",
                             f'previous terminated container "{container}" in pod "{pod_name}" not found')
        raise BadRequest(400, "BadRequest", f'container "{container}" in pod "{pod_name}" '
                         "is waiting to start: ContainerCreating")
    return chosen[0].id
