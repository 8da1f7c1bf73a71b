"""`kubectl logs|exec` reach the container the kubelet would pick, or a BadRequest in its words."""

from __future__ import annotations

from typing import Any

import pytest

from minik8s.client.errors import BadRequest
from minik8s.node.container_choice import choose_container
from minik8s.node.runtime import LABEL_ATTEMPT, LABEL_CONTAINER, LABEL_ROLE, ContainerInfo


def pod(*names: str, init: tuple[str, ...] = ()) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": name, "image": "busybox"} for name in names]}
    if init:
        spec["initContainers"] = [{"name": name, "image": "busybox"} for name in init]
    return {"metadata": {"name": "web", "namespace": "default", "uid": "u1"}, "spec": spec}


def container(name: str, attempt: int, *, role: str = "app") -> ContainerInfo:
    labels = {LABEL_ROLE: role, LABEL_CONTAINER: name, LABEL_ATTEMPT: str(attempt)}
    return ContainerInfo(id=f"{name}-{attempt}", name=f"{name}-{attempt}", labels=labels, state="exited",
                         image="busybox", image_id="sha")


SANDBOX = container("", 0, role="sandbox")


@pytest.mark.parametrize(("name", "previous", "expected"), [
    (None, False, "app-2"),  # the only container, newest attempt (attempts sorted by number, not listing order)
    ("app", False, "app-2"),
    ("app", True, "app-1"),  # `--previous`: the attempt before the newest
    ("setup", False, "setup-0"),  # an init container is a valid target
])
def test_the_newest_attempt_or_the_one_before(name: str | None, previous: bool, expected: str) -> None:
    containers = [SANDBOX, container("app", 2), container("app", 1), container("setup", 0, role="init")]
    assert choose_container(pod("app", init=("setup",)), containers, name, previous=previous) == expected


@pytest.mark.parametrize(("spec", "containers", "name", "previous", "message"), [
    (pod("app", "sidecar", init=("setup",)), [], None, False,
     "a container name must be specified for pod web, choose one of: [app sidecar setup]"),
    (pod("app"), [], "other", False, "container other is not valid for pod web"),
    (pod("app"), [SANDBOX], "app", False, 'container "app" in pod "web" is waiting to start: ContainerCreating'),
    (pod("app"), [container("app", 0)], "app", True, 'previous terminated container "app" in pod "web" not found'),
])
def test_refusals_in_the_kubelets_words(spec: dict[str, Any], containers: list[ContainerInfo], name: str | None,
                                        previous: bool, message: str) -> None:
    with pytest.raises(BadRequest) as refused:
        choose_container(spec, containers, name, previous=previous)
    assert refused.value.code == 400
    assert refused.value.message == message
