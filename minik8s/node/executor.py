"""Carrying out the steps `pod_sync.decide` chose: sandboxes, images, containers, kills.

The thin side of the agent: each method turns one step into runtime calls and Events. A
failure never escapes as an exception; it becomes the container's waiting reason
(ErrImagePull, CreateContainerConfigError, RunContainerError) so the status shows it and the
next sync retries after a back-off.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from minik8s.api.meta import name_of, namespace_of, spec_of, uid_of
from minik8s.api.quantity import cpu_millis, memory_bytes
from minik8s.client.errors import ApiError
from minik8s.client.events import EventRecorder
from minik8s.node.claims import ClaimError, ClaimVolume, claim_volumes, resolve
from minik8s.node.env import ConfigError, expand_command, resolve_env
from minik8s.node.mounts import HostMounter, Mounter, remove_pod_directory
from minik8s.node.pod_sources import PodSources
from minik8s.node.pod_sync import LABEL_SANDBOX_ATTEMPT, Step, spec_hash
from minik8s.node.projection import TokenSource
from minik8s.node.runtime import (
    LABEL_ATTEMPT,
    LABEL_CONTAINER,
    LABEL_MANAGED,
    LABEL_NODE,
    LABEL_POD_NAME,
    LABEL_POD_NAMESPACE,
    LABEL_POD_UID,
    LABEL_ROLE,
    LABEL_SPEC_HASH,
    ContainerInfo,
    ContainerRuntime,
    ContainerSpec,
    ImagePullError,
    RuntimeFailure,
)
from minik8s.node.sandbox_config import SandboxSettings, pod_ip, sandbox_spec
from minik8s.node.security_context import namespace_options, security_options
from minik8s.node.volume_mounts import SubPathBinds, container_mounts
from minik8s.node.volumes import prepare_volumes, read_only_volumes, refreshed_volumes

log = logging.getLogger(__name__)

Lookup = Callable[[str, str, str], Awaitable[Mapping[str, Any] | None]]


@dataclass(frozen=True)
class NodeSettings:
    node_name: str
    network: str  # the node's Docker network
    pod_cidr: str
    node_ip: str
    data_dir: Path
    pause_image: str = "minik8s/pause:latest"
    cluster_dns: str | None = None  # nameserver for dnsPolicy ClusterFirst (None: the engine's default)
    cluster_domain: str = "cluster.local"
    # Registries the engine may pull from. Empty: never pull (nothing may leave the machine);
    # a missing image then fails at once with ErrImagePull and a message saying why.
    allowed_registries: tuple[str, ...] = ()
    # Mount tmpfs volumes (secret, projected, downwardAPI, emptyDir Memory) and subPath binds, as the
    # kubelet does (needs root). Off only for the fake runtime's simulated nodes, which keep them on disk.
    host_mounts: bool = True

    @property
    def gateway(self) -> str:
        return str(next(ipaddress.ip_network(self.pod_cidr, strict=False).hosts()))

    @property
    def sandbox(self) -> SandboxSettings:
        return SandboxSettings(network=self.network, node_ip=self.node_ip, pause_image=self.pause_image,
                               cluster_dns=self.cluster_dns, cluster_domain=self.cluster_domain)

    @property
    def local_path_dir(self) -> Path:
        """Where the directories of this node's local-path volumes are (published on its Node)."""
        return (self.data_dir / "volumes").absolute()

    @property
    def seccomp_dir(self) -> Path:
        """Where Localhost seccomp profiles are looked up (the kubelet's <root-dir>/seccomp)."""
        return self.data_dir / "seccomp"


@dataclass
class Failure:
    reason: str
    message: str


@dataclass
class PodContext:
    """What one sync of a pod needs besides the step."""

    pod: Mapping[str, Any]
    sandbox: ContainerInfo | None
    sandbox_attempt: int
    failures: dict[str, Failure] = field(default_factory=dict)


def pod_labels(settings: NodeSettings, pod: Mapping[str, Any]) -> dict[str, str]:
    return {LABEL_MANAGED: "true", LABEL_NODE: settings.node_name, LABEL_POD_UID: uid_of(pod),
            LABEL_POD_NAME: name_of(pod), LABEL_POD_NAMESPACE: namespace_of(pod)}


def docker_name(pod: Mapping[str, Any], container: str, attempt: int) -> str:
    return f"k8s_{container}_{name_of(pod)}_{namespace_of(pod)}_{uid_of(pod)[:8]}_{attempt}"


def registry_of(image: str) -> str:
    """The registry host of an image reference, normalised as Docker does (docker.io by default)."""
    first, _, rest = image.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


def find_container(pod: Mapping[str, Any], name: str, role: str) -> Mapping[str, Any]:
    spec = spec_of(pod)
    for container in spec.get("initContainers" if role == "init" else "containers") or []:
        if container.get("name") == name:
            return container  # type: ignore[no-any-return]
    raise KeyError(name)


class Executor:
    def __init__(self, runtime: ContainerRuntime, settings: NodeSettings, events: EventRecorder,
                 sources: PodSources) -> None:
        self.runtime, self.settings, self.events, self.sources = runtime, settings, events, sources
        self.mounter: Mounter | None = HostMounter() if settings.host_mounts else None
        self._background: set[asyncio.Task[None]] = set()
        self._claims: dict[str, dict[str, ClaimVolume]] = {}  # pod uid -> its claims' directories, once resolved

    def note(self, pod: Mapping[str, Any], reason: str, message: str, *, field_path: str) -> None:
        """A Normal event recorded in the background: off the pod's critical path."""
        task = asyncio.get_running_loop().create_task(
            self.events.record(dict(pod), "Normal", reason, message, field_path=field_path))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def pod_dir(self, pod: Mapping[str, Any]) -> Path:
        return self.settings.data_dir / "pods" / (uid_of(pod) or "unknown")

    async def run_sandbox(self, context: PodContext, attempt: int) -> None:
        pod = context.pod
        labels = {**pod_labels(self.settings, pod), LABEL_ROLE: "sandbox", LABEL_CONTAINER: "",
                  LABEL_ATTEMPT: str(attempt), LABEL_SANDBOX_ATTEMPT: str(attempt)}
        try:
            sandbox = sandbox_spec(pod, self.settings.sandbox, name=docker_name(pod, "POD", attempt), labels=labels)
            context.sandbox = await self.runtime.run_sandbox(sandbox)
            context.sandbox_attempt = attempt
        except (ConfigError, RuntimeFailure) as error:
            context.failures["POD"] = Failure("CreatePodSandboxError", str(error))
            await self.events.record(dict(pod), "Warning", "FailedCreatePodSandBox",
                                     f"Failed to create pod sandbox: {error}")

    async def start(self, context: PodContext, step: Step) -> None:
        """Create (unless it exists) and start one container; failures become waiting reasons."""
        pod, name = context.pod, step.container
        container = find_container(pod, name, step.role)
        field_path = f"spec.{'initContainers' if step.role == 'init' else 'containers'}{{{name}}}"
        container_id = step.container_id
        try:
            if not container_id:
                if not await self.ensure_image(pod, container, field_path):
                    context.failures[name] = Failure("ErrImagePull", f'failed to pull image "{container["image"]}"')
                    return
                container_id = await self.runtime.create_container(await self._container_spec(context, step,
                                                                                             container))
                self.note(pod, "Created", f"Created container {name}", field_path=field_path)
            await self.runtime.start_container(container_id)
            self.note(pod, "Started", f"Started container {name}", field_path=field_path)
        except (ConfigError, OSError) as error:  # OSError: the node could not lay out a volume or mount
            context.failures[name] = Failure("CreateContainerConfigError", str(error))
            await self.events.record(dict(pod), "Warning", "Failed", f"Error: {error}", field_path=field_path)
        except ImagePullError as error:
            context.failures[name] = Failure("ErrImagePull", str(error))
            await self.events.record(dict(pod), "Warning", "Failed", f"Error: {error}", field_path=field_path)
        except RuntimeFailure as error:
            context.failures[name] = Failure(error.reason if error.reason != "RunContainerError" and
                                             not container_id else "RunContainerError", str(error))
            await self.events.record(dict(pod), "Warning", "Failed", f"Error: {error}", field_path=field_path)

    async def ensure_image(self, pod: Mapping[str, Any], container: Mapping[str, Any], field_path: str) -> bool:
        image = str(container.get("image", ""))
        policy = container.get("imagePullPolicy", "IfNotPresent")
        present = await self.runtime.image_id(image)
        if present and policy != "Always":
            return True
        if policy == "Never":
            raise ImagePullError(f'Container image "{image}" is not present with pull policy of Never')
        registry = registry_of(image)
        if registry not in self.settings.allowed_registries:
            raise ImagePullError(
                f'pulling "{image}" from {registry} is not allowed on this node (allowed registries: '
                f'{", ".join(self.settings.allowed_registries) or "none"}); load the image locally '
                f'(docker load, deploy/images/build.sh) or use imagePullPolicy: IfNotPresent')
        await self.events.record(dict(pod), "Normal", "Pulling", f'Pulling image "{image}"', field_path=field_path)
        started = asyncio.get_running_loop().time()
        try:
            await self.runtime.pull_image(image)
        except ImagePullError as error:
            await self.events.record(dict(pod), "Warning", "Failed", f'Failed to pull image "{image}": {error}',
                                     field_path=field_path)
            raise
        took = asyncio.get_running_loop().time() - started
        await self.events.record(dict(pod), "Normal", "Pulled",
                                 f'Successfully pulled image "{image}" in {took:.3f}s', field_path=field_path)
        return True

    async def _container_spec(self, context: PodContext, step: Step,
                              container: Mapping[str, Any]) -> ContainerSpec:
        pod = context.pod
        if context.sandbox is None:
            raise RuntimeFailure("the pod sandbox is not running")
        image = str(container["image"])
        security = security_options(pod, container, image_user=await self.runtime.image_user(image),
                                    read_seccomp_profile=self._read_seccomp_profile)
        env = await resolve_env_async(pod, container, pod_ip=pod_ip(pod, context.sandbox.ip, self.settings.node_ip)
                                      or "", host_ip=self.settings.node_ip, node_name=self.settings.node_name,
                                      lookup=self.sources.lookup, service_env=self.sources.service_env(pod))
        volume_paths = await self.prepare_volumes(pod)
        binds = SubPathBinds(self.pod_dir(pod), self.mounter) if self.mounter is not None else None
        mounts = await asyncio.to_thread(container_mounts, container, volume_paths, env=env, binds=binds,
                                         read_only_volumes=read_only_volumes(pod))
        limits = (container.get("resources") or {}).get("limits") or {}
        command, args = container.get("command"), container.get("args")
        return ContainerSpec(
            name=docker_name(pod, step.container, step.attempt), image=image,
            labels={**pod_labels(self.settings, pod), LABEL_ROLE: step.role, LABEL_CONTAINER: step.container,
                    LABEL_ATTEMPT: str(step.attempt), LABEL_SANDBOX_ATTEMPT: str(context.sandbox_attempt),
                    LABEL_SPEC_HASH: spec_hash(container)},
            sandbox_id=context.sandbox.id,
            entrypoint=expand_command(command, env) if command else None,
            args=expand_command(args, env) if args else None,
            env=env, working_dir=container.get("workingDir") or None, mounts=mounts,
            cpu_millis=cpu_millis(limits["cpu"]) if "cpu" in limits else None,
            memory_bytes=memory_bytes(limits["memory"]) if "memory" in limits else None,
            stdin=bool(container.get("stdin")), tty=bool(container.get("tty")),
            security=security, namespaces=namespace_options(pod),
        )

    def _read_seccomp_profile(self, name: str) -> str:
        """A Localhost seccomp profile from the node's seccomp directory (a relative path inside it)."""
        path = self.settings.seccomp_dir / name
        if not name or PurePosixPath(name).is_absolute() or ".." in PurePosixPath(name).parts:
            raise ConfigError(f"invalid localhostProfile {name!r}: must be a relative path without '..'")
        try:
            return path.read_text(encoding="utf-8")
        except OSError as error:
            raise RuntimeFailure(f'failed to generate seccomp spec opts: cannot load seccomp profile "{path}": '
                                 f"{error.strerror}", reason="CreateContainerError") from error

    async def resolve_claims(self, pod: Mapping[str, Any]) -> dict[str, ClaimVolume]:
        """The directories of the pod's claims (ClaimError: not mountable yet). Once resolved they stay the
        pod's for its life, as the kubelet keeps a mounted volume whatever later happens to its claim."""
        uid = uid_of(pod)
        if uid in self._claims:
            return self._claims[uid]
        namespace = namespace_of(pod) or "default"
        node = await self.sources.lookup("Node", "", self.settings.node_name, cached=True) or {
            "metadata": {"name": self.settings.node_name}}
        resolved: dict[str, ClaimVolume] = {}
        for volume_name, claim_name, read_only in claim_volumes(pod):
            claim = await self.sources.lookup("PersistentVolumeClaim", namespace, claim_name)
            bound_to = str(((claim or {}).get("spec") or {}).get("volumeName") or "")
            volume = await self.sources.lookup("PersistentVolume", "", bound_to) if bound_to else None
            resolved[volume_name] = resolve(namespace, claim_name, read_only, claim, volume, node)
        self._claims[uid] = resolved
        return resolved

    async def prepare_volumes(self, pod: Mapping[str, Any], *, cached: bool = False) -> dict[str, Path]:
        """Every volume of the pod on the node, its tokens obtained first; `cached` accepts objects `ttl` old."""
        async def lookup(kind: str, namespace: str, name: str) -> Mapping[str, Any] | None:
            return await self.sources.lookup(kind, namespace, name, cached=cached)

        tokens = await self.sources.tokens_for(pod)
        try:
            claims = await self.resolve_claims(pod)
        except ClaimError as error:
            raise ConfigError(str(error)) from None
        return await prepare_volumes_async(pod, pod_dir=self.pod_dir(pod), lookup=lookup, tokens=tokens,
                                           mounter=self.mounter, claims=claims)

    async def remove_pod_dir(self, pod_uid: str) -> None:
        """The pod's volumes and subPath binds unmounted, then its directory deleted (kept if anything stays mounted)."""
        self._claims.pop(pod_uid, None)
        await asyncio.to_thread(remove_pod_directory, self.settings.data_dir / "pods" / pod_uid,
                                self.mounter or HostMounter())

    async def refresh_volumes(self, pod: Mapping[str, Any]) -> None:
        """On each sync of a running pod: rewrite what changed (a token due for renewal, an edited ConfigMap).
        A failure keeps the files as they are, as the kubelet keeps a volume it cannot remount. Volumes
        never written (no container could start yet) are left to the next container start."""
        if not refreshed_volumes(pod) or not (self.pod_dir(pod) / "volumes").is_dir():
            return  # nothing but emptyDir, hostPath and claim volumes: nothing to follow
        try:
            await self.prepare_volumes(pod, cached=True)
        except (ConfigError, ApiError, OSError) as error:
            log.warning("refreshing the volumes of pod %s/%s failed: %s", namespace_of(pod), name_of(pod), error)

    async def kill(self, pod: Mapping[str, Any], info: ContainerInfo, *, grace_seconds: float,
                   message: str = "") -> None:
        name = info.labels.get(LABEL_CONTAINER, "")
        if name and info.state == "running":
            field_path = f"spec.{'initContainers' if info.labels.get(LABEL_ROLE) == 'init' else 'containers'}{{{name}}}"
            await self.events.record(dict(pod), "Normal", "Killing", message or f"Stopping container {name}",
                                     field_path=field_path)
        try:
            await self.runtime.stop_container(info.id, grace_seconds=grace_seconds)
        except RuntimeFailure as error:
            log.warning("stopping %s failed: %s", info.name, error)

    async def kill_all(self, pod: Mapping[str, Any], containers: list[ContainerInfo], *, grace_seconds: float,
                       remove: bool) -> None:
        """Stop app and init containers together (SIGTERM, grace, SIGKILL), then the sandbox."""
        workload = [c for c in containers if c.labels.get(LABEL_ROLE) != "sandbox" and c.state == "running"]
        await asyncio.gather(*(self.kill(pod, c, grace_seconds=grace_seconds) for c in workload))
        sandboxes = [c for c in containers if c.labels.get(LABEL_ROLE) == "sandbox" and c.state == "running"]
        await asyncio.gather(*(self.kill(pod, c, grace_seconds=0) for c in sandboxes))
        if remove:
            await asyncio.gather(*(self.remove(c.id) for c in containers))

    async def remove(self, container_id: str) -> None:
        try:
            await self.runtime.remove_container(container_id)
        except RuntimeFailure as error:
            log.warning("removing %s failed: %s", container_id[:12], error)


async def resolve_env_async(pod: Mapping[str, Any], container: Mapping[str, Any], *, pod_ip: str, host_ip: str,
                            node_name: str, lookup: Lookup, service_env: Mapping[str, str]) -> dict[str, str]:
    """resolve_env needs the referenced ConfigMaps and Secrets: fetch them first, then resolve purely."""
    fetched = await _fetch_references(pod, [container], lookup)
    return resolve_env(pod, container, pod_ip=pod_ip, host_ip=host_ip, node_name=node_name,
                       lookup=lambda kind, namespace, name: fetched.get((kind, name)), service_env=service_env)


async def prepare_volumes_async(pod: Mapping[str, Any], *, pod_dir: Path, lookup: Lookup,
                                tokens: Mapping[TokenSource, str], mounter: Mounter | None,
                                claims: Mapping[str, ClaimVolume] | None = None) -> dict[str, Path]:
    fetched = await _fetch_references(pod, [], lookup)
    return await asyncio.to_thread(prepare_volumes, pod, pod_dir=pod_dir, tokens=tokens, mounter=mounter,
                                   lookup=lambda kind, namespace, name: fetched.get((kind, name)), claims=claims)


async def _fetch_references(pod: Mapping[str, Any], containers: list[Mapping[str, Any]],
                            lookup: Lookup) -> dict[tuple[str, str], Mapping[str, Any] | None]:
    """Every ConfigMap and Secret the containers' env or the pod's volumes name."""
    wanted: set[tuple[str, str]] = set()
    for container in containers:
        for source in container.get("envFrom") or []:
            if source.get("configMapRef"):
                wanted.add(("ConfigMap", source["configMapRef"].get("name", "")))
            if source.get("secretRef"):
                wanted.add(("Secret", source["secretRef"].get("name", "")))
        for variable in container.get("env") or []:
            value_from = variable.get("valueFrom") or {}
            if value_from.get("configMapKeyRef"):
                wanted.add(("ConfigMap", value_from["configMapKeyRef"].get("name", "")))
            if value_from.get("secretKeyRef"):
                wanted.add(("Secret", value_from["secretKeyRef"].get("name", "")))
    if not containers:
        for volume in spec_of(pod).get("volumes") or []:
            if volume.get("configMap"):
                wanted.add(("ConfigMap", volume["configMap"].get("name", "")))
            if volume.get("secret"):
                wanted.add(("Secret", volume["secret"].get("secretName", "")))
            for source in (volume.get("projected") or {}).get("sources") or []:
                for kind, key in (("ConfigMap", "configMap"), ("Secret", "secret")):
                    if isinstance(source, dict) and isinstance(source.get(key), dict):
                        wanted.add((kind, source[key].get("name", "")))
    namespace = namespace_of(pod) or "default"
    results = await asyncio.gather(*(lookup(kind, namespace, name) for kind, name in wanted))
    return dict(zip(wanted, results, strict=True))
