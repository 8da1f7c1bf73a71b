"""The registry of kinds: what the apiserver serves and how each kind is addressed.

Every other layer asks this module, never hard-codes, which group/version a kind lives
in, its plural and short names, whether it is namespaced and which subresources it has.
Discovery documents, storage keys and CLI name resolution are all derived from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Verbs = tuple[str, ...]

ALL_VERBS: Verbs = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class ResourceKind:
    """One served resource: e.g. apps/v1 Deployment at `deployments`."""

    group: str  # "" for the core group
    version: str
    kind: str
    plural: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()  # "status", "scale", "binding", "log", "exec", "eviction"
    categories: tuple[str, ...] = ()  # "all" puts the kind in `kubectl get all` (as Kubernetes' workload kinds)
    verbs: Verbs = ALL_VERBS

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def group_version(self) -> str:
        return self.api_version

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources

    def storage_prefix(self, namespace: str | None = None) -> str:
        """Key prefix of this kind (optionally one namespace) in the store, ending in '/'."""
        if self.namespaced and namespace:
            return f"/registry/{self.group_resource}/{namespace}/"
        return f"/registry/{self.group_resource}/"

    def storage_key(self, namespace: str | None, name: str) -> str:
        if self.namespaced:
            return f"/registry/{self.group_resource}/{namespace}/{name}"
        return f"/registry/{self.group_resource}/{name}"

    @property
    def group_resource(self) -> str:
        """`pods` or `deployments.apps`: unique across groups, used in keys and messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


@dataclass(frozen=True)
class Registry:
    """The stored kinds (`kinds`) and the create-only ones that are answered, never stored (`virtual`).

    Discovery lists both; storage, watches and controllers see only `kinds`.
    """

    kinds: tuple[ResourceKind, ...]
    virtual: tuple[ResourceKind, ...] = ()
    _by_gvr: dict[tuple[str, str, str], ResourceKind] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        for resource in self.kinds:
            self._by_gvr[(resource.group, resource.version, resource.plural)] = resource

    def get(self, group: str, version: str, plural: str) -> ResourceKind | None:
        return self._by_gvr.get((group, version, plural))

    def require(self, group: str, version: str, plural: str) -> ResourceKind:
        found = self.get(group, version, plural)
        if found is None:
            raise KeyError(f"{group}/{version} {plural} is not a served kind")
        return found

    def by_kind(self, api_version: str, kind: str) -> ResourceKind | None:
        for resource in self.kinds:
            if resource.api_version == api_version and resource.kind == kind:
                return resource
        return None

    def resolve(self, name: str) -> ResourceKind | None:
        """Resolve what a user types (`po`, `pods`, `pod`, `deploy`, `deployments.apps`, `Pod`)."""
        wanted = name.lower()
        for resource in self.kinds:
            if wanted in (resource.plural, resource.singular, resource.group_resource, resource.kind.lower()):
                return resource
            if wanted in resource.short_names:
                return resource
        return None

    def group_versions(self) -> list[tuple[str, str]]:
        """(group, version) pairs in serving order, core first."""
        seen: list[tuple[str, str]] = []
        for resource in (*self.kinds, *self.virtual):
            pair = (resource.group, resource.version)
            if pair not in seen:
                seen.append(pair)
        return seen

    def in_group_version(self, group: str, version: str) -> list[ResourceKind]:
        return [r for r in (*self.kinds, *self.virtual) if r.group == group and r.version == version]

    def in_category(self, category: str) -> list[ResourceKind]:
        """The kinds of a category in discovery order (group-versions as served, plurals sorted within one),
        the order kubectl expands `get all` in."""
        position = {pair: index for index, pair in enumerate(self.group_versions())}
        return sorted((kind for kind in self.kinds if category in kind.categories),
                      key=lambda kind: (position[(kind.group, kind.version)], kind.plural))

    def virtual_kind(self, group: str, version: str, plural: str) -> ResourceKind | None:
        """A create-only kind (an access review) served at group/version/plural, else None."""
        return next((r for r in self.virtual if (r.group, r.version, r.plural) == (group, version, plural)), None)


_ALL = ("all",)
_CREATE: Verbs = ("create",)
_NO_DELETECOLLECTION: Verbs = tuple(verb for verb in ALL_VERBS if verb != "deletecollection")
RBAC_GROUP = "rbac.authorization.k8s.io"
AUTHORIZATION_GROUP = "authorization.k8s.io"
AUTHENTICATION_GROUP = "authentication.k8s.io"
STORAGE_GROUP = "storage.k8s.io"
SCHEDULING_GROUP = "scheduling.k8s.io"

REGISTRY = Registry(
    kinds=(
        ResourceKind("", "v1", "Namespace", "namespaces", False, ("ns",), ("status",), verbs=_NO_DELETECOLLECTION),
        ResourceKind("", "v1", "Node", "nodes", False, ("no",), ("status",)),
        ResourceKind(
            "", "v1", "Pod", "pods", True, ("po",),
            ("status", "binding", "log", "exec", "eviction"), _ALL,
        ),
        ResourceKind("", "v1", "Service", "services", True, ("svc",), ("status",), _ALL),
        ResourceKind("", "v1", "Endpoints", "endpoints", True, ("ep",)),
        ResourceKind("", "v1", "Event", "events", True, ("ev",)),
        ResourceKind("", "v1", "ConfigMap", "configmaps", True, ("cm",)),
        ResourceKind("", "v1", "Secret", "secrets", True),
        ResourceKind("", "v1", "ServiceAccount", "serviceaccounts", True, ("sa",), ("token",)),
        ResourceKind("", "v1", "LimitRange", "limitranges", True, ("limits",)),
        ResourceKind("", "v1", "ResourceQuota", "resourcequotas", True, ("quota",), ("status",)),
        ResourceKind("apps", "v1", "Deployment", "deployments", True, ("deploy",), ("status", "scale"), _ALL),
        ResourceKind("apps", "v1", "ReplicaSet", "replicasets", True, ("rs",), ("status", "scale"), _ALL),
        ResourceKind("apps", "v1", "DaemonSet", "daemonsets", True, ("ds",), ("status",), _ALL),
        ResourceKind("apps", "v1", "StatefulSet", "statefulsets", True, ("sts",), ("status", "scale"), _ALL),
        ResourceKind("apps", "v1", "ControllerRevision", "controllerrevisions", True),
        ResourceKind("batch", "v1", "Job", "jobs", True, (), ("status",), _ALL),
        ResourceKind("batch", "v1", "CronJob", "cronjobs", True, ("cj",), ("status",), _ALL),
        ResourceKind("coordination.k8s.io", "v1", "Lease", "leases", True),
        ResourceKind(RBAC_GROUP, "v1", "ClusterRoleBinding", "clusterrolebindings", False),
        ResourceKind(RBAC_GROUP, "v1", "ClusterRole", "clusterroles", False),
        ResourceKind(RBAC_GROUP, "v1", "RoleBinding", "rolebindings", True),
        ResourceKind(RBAC_GROUP, "v1", "Role", "roles", True),
        ResourceKind("", "v1", "PersistentVolume", "persistentvolumes", False, ("pv",), ("status",)),
        ResourceKind("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", True, ("pvc",), ("status",)),
        ResourceKind(STORAGE_GROUP, "v1", "StorageClass", "storageclasses", False, ("sc",)),
        ResourceKind("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", True, ("pdb",), ("status",)),
        ResourceKind(SCHEDULING_GROUP, "v1", "PriorityClass", "priorityclasses", False, ("pc",)),
    ),
    virtual=(
        ResourceKind(AUTHENTICATION_GROUP, "v1", "SelfSubjectReview", "selfsubjectreviews", False, verbs=_CREATE),
        ResourceKind(AUTHENTICATION_GROUP, "v1", "TokenReview", "tokenreviews", False, verbs=_CREATE),
        ResourceKind(AUTHORIZATION_GROUP, "v1", "LocalSubjectAccessReview", "localsubjectaccessreviews", True,
                     verbs=_CREATE),
        ResourceKind(AUTHORIZATION_GROUP, "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews", False,
                     verbs=_CREATE),
        ResourceKind(AUTHORIZATION_GROUP, "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews", False,
                     verbs=_CREATE),
        ResourceKind(AUTHORIZATION_GROUP, "v1", "SubjectAccessReview", "subjectaccessreviews", False,
                     verbs=_CREATE),
    ),
)

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
