"""The blocking Docker SDK calls behind `DockerRuntime`, each run in the runtime's thread pool.

Each function takes the SDK's low-level `APIClient` and does one engine operation the way the
agent needs it: idempotent where Docker is not (a network or sandbox that exists already, a
container removed twice), and with the engine's errors turned into the runtime's
(`engine_failure`): `RuntimeUnavailable` when the engine does not answer, a `RuntimeFailure`
with a Kubernetes waiting reason otherwise. Keeping them apart from the runtime class leaves
that class about scheduling work, not about Docker's quirks.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import time
from collections.abc import Sequence
from typing import Any

import docker
import docker.errors
import requests

from minik8s.node.docker import http_streams
from minik8s.node.docker.capabilities import missing_on_this_node
from minik8s.node.docker.wire import (
    container_arguments,
    container_info_from_inspect,
    resolv_conf_text,
    sandbox_arguments,
)
from minik8s.node.runtime import (
    LABEL_MANAGED,
    ContainerInfo,
    ContainerSpec,
    RuntimeFailure,
    RuntimeUnavailable,
    SandboxSpec,
)

logger = logging.getLogger(__name__)

SANDBOX_FAILURE = "CreatePodSandboxError"
CREATE_FAILURE = "CreateContainerError"
START_FAILURE = "RunContainerError"


def explain(exc: Exception) -> str:
    if isinstance(exc, docker.errors.APIError):
        return str(exc.explanation or exc)
    if isinstance(exc, http_streams.ResponseError):
        return exc.message
    return str(exc) or repr(exc)


def engine_failure(operation: str, exc: Exception, *, reason: str = START_FAILURE) -> RuntimeFailure:
    """The runtime error for an exception of the SDK (or of the HTTP layer under it)."""
    if isinstance(exc, RuntimeFailure):
        return exc
    if isinstance(exc, requests.exceptions.ConnectionError | requests.exceptions.Timeout):
        return RuntimeUnavailable(f"{operation}: the Docker engine does not answer: {exc}")
    if isinstance(exc, docker.errors.DockerException) and not isinstance(exc, docker.errors.APIError):
        return RuntimeUnavailable(f"{operation}: cannot reach the Docker engine: {exc}")
    return RuntimeFailure(f"{operation}: {explain(exc)}", reason=reason)


def _network_named(api: Any, name: str) -> dict[str, Any] | None:
    for network in api.networks(names=[name]):  # a name filter matches substrings too
        if network.get("Name") == name:
            return dict(network)
    return None


def ensure_network(api: Any, name: str, subnet: str, gateway: str) -> None:
    wanted = ipaddress.ip_network(subnet, strict=False)
    network = _network_named(api, name)
    if network is None:
        try:
            api.create_network(
                name, driver="bridge", check_duplicate=True, labels={LABEL_MANAGED: "true"},
                options={"com.docker.network.bridge.enable_ip_masquerade": "false"},
                ipam={"Driver": "default", "Config": [{"Subnet": str(wanted), "Gateway": gateway}]},
            )
            logger.info("created network %s (%s, gateway %s)", name, wanted, gateway)
            return
        except docker.errors.APIError as exc:
            network = _network_named(api, name) if exc.status_code == 409 else None  # lost a race
            if network is None:
                raise engine_failure(f"creating network {name} ({wanted})", exc) from exc
    configs = (network.get("IPAM") or {}).get("Config") or []
    subnets = [ipaddress.ip_network(config["Subnet"], strict=False) for config in configs if config.get("Subnet")]
    if wanted not in subnets:
        found = ", ".join(map(str, subnets)) or "no subnet"
        raise RuntimeFailure(f"network {name} exists with {found}, not {wanted}; remove it or pick another name")


NETWORK_REMOVAL_ATTEMPTS = 20
NETWORK_REMOVAL_PAUSE = 0.25  # seconds between attempts


def remove_network(api: Any, name: str) -> None:
    """Remove the network; gone already is fine. Right after its containers were removed the engine may
    still count their endpoints ("has active endpoints", seen on a loaded machine): those are disconnected
    by force and the removal tried again, a bounded number of times."""
    for attempt in range(NETWORK_REMOVAL_ATTEMPTS):
        try:
            api.remove_network(name)
            return
        except docker.errors.NotFound:
            return
        except docker.errors.APIError as error:
            if "active endpoints" not in str(error) or attempt == NETWORK_REMOVAL_ATTEMPTS - 1:
                raise
            logger.info("network %s still has endpoints; disconnecting them and trying again", name)
            _disconnect_everything(api, name)
            time.sleep(NETWORK_REMOVAL_PAUSE)


def _disconnect_everything(api: Any, name: str) -> None:
    with contextlib.suppress(docker.errors.NotFound):
        for endpoint in (api.inspect_network(name).get("Containers") or {}):
            with contextlib.suppress(docker.errors.APIError):
                api.disconnect_container_from_network(endpoint, name, force=True)


def image_id(api: Any, image: str) -> str | None:
    try:
        return str(api.inspect_image(image)["Id"])
    except docker.errors.NotFound:  # ImageNotFound is a NotFound
        return None


def image_user(api: Any, image: str) -> str:
    """The image's configured USER ("" for none); a missing image is a CreateContainerError."""
    try:
        config = api.inspect_image(image).get("Config") or {}
    except docker.errors.NotFound as exc:
        raise RuntimeFailure(f"image {image} is not present on this node", reason=CREATE_FAILURE) from exc
    return str(config.get("User") or "")


def remove_container(api: Any, container_id: str) -> None:
    try:
        api.remove_container(container_id, v=True, force=True)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as exc:
        if exc.status_code != 409 or "in progress" not in explain(exc):
            raise engine_failure(f"removing container {container_id[:12]}", exc) from exc


def run_sandbox(api: Any, spec: SandboxSpec) -> ContainerInfo:
    create_arguments, host_arguments = sandbox_arguments(spec)

    def create() -> str:
        networks = {} if spec.namespaces.host_network else {spec.network: api.create_endpoint_config()}
        return str(api.create_container(
            **create_arguments, host_config=api.create_host_config(**host_arguments),
            networking_config=api.create_networking_config(networks) if networks else None,
        )["Id"])

    try:
        try:
            container_id = create()
        except docker.errors.APIError as exc:
            if exc.status_code != 409:
                raise
            logger.info("sandbox %s exists already: replacing it", spec.name)
            remove_container(api, spec.name)
            container_id = create()
    except docker.errors.APIError as exc:
        raise engine_failure(f"creating sandbox {spec.name}", exc, reason=SANDBOX_FAILURE) from exc
    try:
        api.start(container_id)
        details = api.inspect_container(container_id)
    except docker.errors.APIError as exc:
        remove_container(api, container_id)
        raise engine_failure(f"starting sandbox {spec.name}", exc, reason=SANDBOX_FAILURE) from exc
    _write_resolv_conf(str(details.get("ResolvConfPath") or ""), spec)
    return container_info_from_inspect(details)


def _write_resolv_conf(path: str, spec: SandboxSpec) -> None:
    """Point the pod straight at its DNS servers, as the kubelet's dockershim did.

    On a user-defined network Docker writes `nameserver 127.0.0.11` (its embedded resolver,
    which forwards to the servers asked for). The pod's containers share the sandbox's file,
    so rewriting it in place (same inode: it is bind-mounted) once is enough. Possible only
    when the engine's files are on this machine; otherwise the embedded resolver stays.
    """
    if not spec.dns_servers or not path or not os.path.isfile(path):
        return
    try:
        with open(path, "w", encoding="utf-8") as resolv_conf:
            resolv_conf.write(resolv_conf_text(spec))
    except OSError as exc:
        logger.warning("sandbox %s: cannot rewrite %s (%s); Docker's resolver forwards instead", spec.name, path, exc)


def create_container(api: Any, spec: ContainerSpec) -> str:
    create_arguments, host_arguments = container_arguments(spec, missing_on_this_node())
    try:
        created = api.create_container(**create_arguments, host_config=api.create_host_config(**host_arguments))
    except docker.errors.ImageNotFound as exc:
        raise RuntimeFailure(f"creating container {spec.name}: image {spec.image} is not present on this node",
                             reason=CREATE_FAILURE) from exc
    except docker.errors.APIError as exc:
        raise engine_failure(f"creating container {spec.name}", exc, reason=CREATE_FAILURE) from exc
    return str(created["Id"])


def inspect_container(api: Any, container_id: str) -> ContainerInfo | None:
    try:
        return container_info_from_inspect(api.inspect_container(container_id))
    except docker.errors.NotFound:
        return None


def inspect_containers(api: Any, container_ids: Sequence[str]) -> list[ContainerInfo]:
    """Those still there; one that fails to inspect is left to what the listing says."""
    found: list[ContainerInfo] = []
    for container_id in container_ids:
        try:
            info = inspect_container(api, container_id)
        except docker.errors.APIError as exc:
            logger.warning("inspecting container %s failed: %s", container_id[:12], explain(exc))
            continue
        if info is not None:
            found.append(info)
    return found


