"""The admission chain: the plugins every write passes, mutating ones first, in Kubernetes' order.

kube-apiserver runs its enabled plugins in one fixed order (pkg/kubeapiserver/options/plugins.go,
AllOrderedPlugins) — every plugin's mutating half (`admit`), then every validating half
(`validate`) — whatever order the flags name them in. Of that order minik8s has:

    NamespaceLifecycle, LimitRanger, ServiceAccount, NodeRestriction, PodSecurity, Priority,
    DefaultTolerationSeconds, DefaultStorageClass, StorageObjectInUseProtection,
    PersistentVolumeClaimResize, ResourceQuota

`--enable-admission-plugins` adds to the default set and `--disable-admission-plugins` takes away,
as in Kubernetes. The defaults are Kubernetes' own default-on plugins, except:

- ServiceAccount is opt-in (`minik8s up` turns it on): its pods need node agents that can get
  tokens and a published `kube-root-ca.crt` (see admission_service_account).
- NodeRestriction is on by default (Kubernetes leaves it to the cluster; every kubeadm cluster
  enables it). It acts only on `system:node:*` users under `--authorization-mode Node,RBAC`, and it
  is enforced by the HTTP layer (node_admission.py), not by this chain: it judges writes that are
  not Operations' creates, updates and deletes (bindings, evictions, TokenRequests), from the user
  who asks, whom Operations never sees.
- PodSecurity is on by default, as in Kubernetes, with every namespace privileged unless labelled
  or `--pod-security-default` says otherwise (admission_pod_security). Only its validating half
  runs: pods, pod templates and namespaces are judged as they will be stored.

Every plugin registers in `FACTORIES`; see admission_interface for what a plugin receives.
"""

from __future__ import annotations

from collections.abc import Collection

from minik8s.apiserver.admission_interface import (
    AdmissionPlugin,
    AdmissionRequest,
    PluginContext,
    PluginFactory,
)
from minik8s.apiserver.admission_plugins import (
    DEFAULT_TOLERATION_SECONDS,
    LIMIT_RANGER,
    NAMESPACE_LIFECYCLE,
    DefaultTolerationSeconds,
    LimitRanger,
    NamespaceLifecycle,
)
from minik8s.apiserver.admission_pod_security import POD_SECURITY, PodSecurity
from minik8s.apiserver.admission_priority import PRIORITY, Priority
from minik8s.apiserver.admission_quota import RESOURCE_QUOTA, ResourceQuota
from minik8s.apiserver.admission_service_account import SERVICE_ACCOUNT, ServiceAccountPlugin
from minik8s.apiserver.admission_storage import (
    DEFAULT_STORAGE_CLASS,
    PERSISTENT_VOLUME_CLAIM_RESIZE,
    STORAGE_OBJECT_IN_USE_PROTECTION,
    DefaultStorageClass,
    PersistentVolumeClaimResize,
    StorageObjectInUseProtection,
)

__all__ = ["DEFAULT_PLUGINS", "NODE_RESTRICTION", "PLUGINS", "POD_SECURITY", "SERVICE_ACCOUNT", "Admission",
           "AdmissionRequest", "enabled_plugins"]

NODE_RESTRICTION = "NodeRestriction"
ORDER: tuple[str, ...] = (NAMESPACE_LIFECYCLE, LIMIT_RANGER, SERVICE_ACCOUNT, NODE_RESTRICTION, POD_SECURITY,
                          PRIORITY, DEFAULT_TOLERATION_SECONDS, DEFAULT_STORAGE_CLASS, STORAGE_OBJECT_IN_USE_PROTECTION,
                          PERSISTENT_VOLUME_CLAIM_RESIZE, RESOURCE_QUOTA)
# The plugins this chain runs, by name.
FACTORIES: dict[str, PluginFactory] = {
    NAMESPACE_LIFECYCLE: NamespaceLifecycle,
    LIMIT_RANGER: LimitRanger,
    SERVICE_ACCOUNT: ServiceAccountPlugin,
    POD_SECURITY: PodSecurity,
    PRIORITY: Priority,
    DEFAULT_TOLERATION_SECONDS: DefaultTolerationSeconds,
    RESOURCE_QUOTA: ResourceQuota,
    DEFAULT_STORAGE_CLASS: DefaultStorageClass,
    STORAGE_OBJECT_IN_USE_PROTECTION: StorageObjectInUseProtection,
    PERSISTENT_VOLUME_CLAIM_RESIZE: PersistentVolumeClaimResize,
}
ENFORCED_ELSEWHERE = frozenset({NODE_RESTRICTION})
PLUGINS: tuple[str, ...] = tuple(name for name in ORDER if name in FACTORIES or name in ENFORCED_ELSEWHERE)
KUBERNETES_DEFAULT_ON = frozenset({NAMESPACE_LIFECYCLE, LIMIT_RANGER, SERVICE_ACCOUNT, POD_SECURITY, PRIORITY,
                                   DEFAULT_TOLERATION_SECONDS, RESOURCE_QUOTA, DEFAULT_STORAGE_CLASS,
                                   STORAGE_OBJECT_IN_USE_PROTECTION, PERSISTENT_VOLUME_CLAIM_RESIZE})
OPT_IN = frozenset({SERVICE_ACCOUNT})
DEFAULT_PLUGINS: frozenset[str] = frozenset(
    name for name in PLUGINS if name in KUBERNETES_DEFAULT_ON - OPT_IN or name == NODE_RESTRICTION)


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
    """The enabled plugins in Kubernetes' order; Operations calls `admit`, then (after validation) `validate`."""

    def __init__(self, plugins: Collection[str], context: PluginContext) -> None:
        self.enabled = frozenset(plugins)
        self.chain: list[AdmissionPlugin] = [FACTORIES[name](context) for name in ORDER
                                             if name in self.enabled and name in FACTORIES]

    def runs(self, name: str) -> bool:
        return name in self.enabled

    async def admit(self, request: AdmissionRequest) -> None:
        """The mutating phase: each plugin may change `request.obj` or refuse."""
        for plugin in self.chain:
            await plugin.admit(request)

    async def validate(self, request: AdmissionRequest) -> None:
        """The validating phase: each plugin may refuse, warn or add companion writes. Safe to run again."""
        request.companions.clear()
        for plugin in self.chain:
            await plugin.validate(request)
