"""Removing a node's network right after its containers: the engine may still count their endpoints."""

from __future__ import annotations

from typing import Any

import docker.errors
import pytest

from minik8s.node.docker import engine_calls


class _Engine:
    """A Docker API whose network keeps `stale` endpoints until they are disconnected."""

    def __init__(self, stale: list[str], *, exists: bool = True) -> None:
        self.stale, self.exists, self.removals = list(stale), exists, 0

    def remove_network(self, name: str) -> None:
        self.removals += 1
        if not self.exists:
            raise docker.errors.NotFound("network not found")
        if self.stale:
            raise docker.errors.APIError(f"error while removing network: network {name} id abc has active endpoints")
        self.exists = False

    def inspect_network(self, name: str) -> dict[str, Any]:
        return {"Containers": {endpoint: {} for endpoint in self.stale}}

    def disconnect_container_from_network(self, container: str, name: str, *, force: bool) -> None:
        assert force
        self.stale.remove(container)


@pytest.fixture(autouse=True)
def no_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_calls, "NETWORK_REMOVAL_PAUSE", 0.0)


def test_leftover_endpoints_are_disconnected_and_the_network_removed() -> None:
    engine = _Engine(["c1", "c2"])
    engine_calls.remove_network(engine, "minik8s-node-2")
    assert not engine.exists and engine.removals == 2


def test_a_network_already_gone_is_fine() -> None:
    engine_calls.remove_network(_Engine([], exists=False), "minik8s-node-2")


def test_another_error_is_raised_at_once() -> None:
    class Refusing(_Engine):
        def remove_network(self, name: str) -> None:
            raise docker.errors.APIError("permission denied")

    with pytest.raises(docker.errors.APIError, match="permission denied"):
        engine_calls.remove_network(Refusing([]), "minik8s-node-2")
