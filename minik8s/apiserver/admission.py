"""Admission plugins that change or refuse a new object after defaulting, before it is stored.

kube-apiserver's `--enable-admission-plugins` and `--disable-admission-plugins` pick them by name.
The steps Kubernetes runs as admission plugins but minik8s always applies (NamespaceLifecycle,
DefaultTolerationSeconds, the defaulting half of ServiceAccount, NodeRestriction) stay where they
are; the plugins here are the ones a cluster must be ready for:

- `ServiceAccount`: a new pod's ServiceAccount must exist — looked up again for a short while when
  it is `default`, which the ServiceAccount controller may not have made yet in a new namespace —
  else 403 (`pods "web" is forbidden: error looking up service account ns/name: serviceaccount
  "name" not found`); then the token volume (api/service_account_admission.py). Off unless enabled:
  its pods start only where the node agents can get tokens (`--service-account-signing-key-file`)
  and the controller-manager publishes `kube-root-ca.crt` (`--root-ca-file`).
- `PodSecurity` (on by default, as in Kubernetes): the Pod Security Standards per namespace, on
  creates and updates of pods, pod templates and namespaces (apiserver/pod_security.py).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Collection

from minik8s.api.kinds import PODS, SERVICE_ACCOUNTS
from minik8s.api.meta import JsonObject, metadata_of, spec_of
from minik8s.api.pod_security.admission import PodSecurityConfig
from minik8s.api.registry import ResourceKind
from minik8s.api.service_account_admission import VOLUME_PREFIX, admit_pod, is_mirror_pod, mirror_pod_refusal
from minik8s.apiserver import errors
from minik8s.apiserver.pod_security import ListPods, PodSecurity
from minik8s.apiserver.strategy import generate_name

SERVICE_ACCOUNT = "ServiceAccount"
POD_SECURITY = "PodSecurity"
PLUGINS: tuple[str, ...] = (SERVICE_ACCOUNT, POD_SECURITY)
DEFAULT_PLUGINS: frozenset[str] = frozenset({POD_SECURITY})
DEFAULT_SERVICE_ACCOUNT_ATTEMPTS = 10  # the plugin's retries for `default`, 100 to 200 ms apart

# (resource, namespace, name) → the stored object, or None.
Fetch = Callable[[ResourceKind, str | None, str], Awaitable[JsonObject | None]]


def enabled_plugins(enable: Collection[str] = (), disable: Collection[str] = ()) -> frozenset[str]:
    """The plugins that run: the defaults, plus `enable`, minus `disable`; ValueError names what is wrong."""
    problems = [f'{flag}-admission-plugins plugin "{name}" is unknown'
                for flag, names in (("enable", enable), ("disable", disable)) for name in names if name not in PLUGINS]
    overlap = sorted(set(enable) & set(disable))
    if overlap:
        problems.append(f"[{' '.join(overlap)}] in enable-admission-plugins and disable-admission-plugins overlapped")
    if problems:
        raise ValueError("; ".join(problems))
    return (DEFAULT_PLUGINS | frozenset(enable)) - frozenset(disable)


class Admission:
    """The enabled plugins, run on every create (and PodSecurity on every update)."""

    def __init__(self, plugins: Collection[str], fetch: Fetch, *, retry_interval: tuple[float, float] = (0.1, 0.2),
                 attempts_for_default: int = DEFAULT_SERVICE_ACCOUNT_ATTEMPTS,
                 pod_security: PodSecurityConfig | None = None, list_pods: ListPods = lambda namespace: []) -> None:
        self.plugins = frozenset(plugins)
        self.fetch = fetch
        self.retry_interval = retry_interval
        self.attempts_for_default = attempts_for_default
        self.pod_security = PodSecurity(pod_security or PodSecurityConfig(), fetch, list_pods)

    async def admit_create(self, resource: ResourceKind, obj: JsonObject) -> None:
        """Change `obj` or raise a StatusError, as each enabled plugin decides."""
        if SERVICE_ACCOUNT in self.plugins and resource.group_resource == PODS.group_resource:
            await self._service_account(obj)
        if POD_SECURITY in self.plugins:
            await self.pod_security.admit(resource, obj)

    async def admit_update(self, resource: ResourceKind, obj: JsonObject, old: JsonObject) -> None:
        """Raise a StatusError (or warn) about an update of `old` to `obj`, as each enabled plugin decides."""
        if POD_SECURITY in self.plugins:
            await self.pod_security.admit(resource, obj, old)

    async def _service_account(self, pod: JsonObject) -> None:
        metadata = metadata_of(pod)
        shown = str(metadata.get("name") or metadata.get("generateName") or "Unknown")
        if is_mirror_pod(pod):
            refusal = mirror_pod_refusal(pod)
            if refusal is not None:
                raise errors.forbidden(PODS, shown, refusal)
            return
        namespace = str(metadata.get("namespace") or "")
        name = str(spec_of(pod).get("serviceAccountName") or "default")
        account = await self._service_account_named(namespace, name)
        if account is None:
            raise errors.forbidden(PODS, shown, f"error looking up service account {namespace}/{name}: "
                                                f'serviceaccount "{name}" not found')
        admit_pod(pod, account, new_volume_name=generate_name(VOLUME_PREFIX))

    async def _service_account_named(self, namespace: str, name: str) -> JsonObject | None:
        attempts = self.attempts_for_default if name == "default" else 1
        pause = random.uniform(*self.retry_interval)
        for attempt in range(attempts):
            if attempt:
                await asyncio.sleep(pause)
            found = await self.fetch(SERVICE_ACCOUNTS, namespace, name)
            if found is not None:
                return found
        return None
