"""The bootstrap RBAC policy: the ClusterRoles and bindings an RBAC cluster starts with.

Kubernetes' plugin/pkg/auth/authorizer/rbac/bootstrappolicy (policy.go, controller_policy.go),
for the kinds minik8s serves: cluster-admin (bound to `system:masters`), the user-facing
admin/edit/view built by aggregation from `system:aggregate-to-*`, system:basic-user (the
self reviews), system:discovery, system:public-info-viewer (health and version, for everyone),
system:monitoring (`/metrics` and the health checks, for the `system:monitoring` group).
Each component gets a least-privilege role for exactly the calls it makes (see the README):
the scheduler, the controller-manager (one user for all controllers: the union of Kubernetes'
per-controller roles, whose garbage collector and namespace controller read and delete every
kind), the proxy, and DNS (reads services and endpoints everywhere, writes only the kube-dns
Service and Endpoints in kube-system). Node agents are left to a Node authorizer (a later step).
"""

from __future__ import annotations

from minik8s.api.meta import JsonObject
from minik8s.api.rbac import PolicyRule

BOOTSTRAP_LABELS = {"kubernetes.io/bootstrapping": "rbac-defaults"}
AUTOUPDATE = {"rbac.authorization.kubernetes.io/autoupdate": "true"}
AGGREGATE_TO = "rbac.authorization.k8s.io/aggregate-to-"
READ = ("get", "list", "watch")
WRITE = ("create", "delete", "deletecollection", "patch", "update")
READ_WRITE = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
SCHEDULER_USER = "system:kube-scheduler"
CONTROLLER_MANAGER_USER = "system:kube-controller-manager"
PROXY_USER = "system:kube-proxy"
DNS_USER = "system:minik8s-dns"


def rule(verbs: tuple[str, ...], group: str, *resources: str, names: tuple[str, ...] = ()) -> PolicyRule:
    return PolicyRule(verbs, (group,), resources, names)


def paths(verbs: tuple[str, ...], *urls: str) -> PolicyRule:
    return PolicyRule(verbs, non_resource_urls=urls)


def _meta(name: str, labels: dict[str, str] | None = None, namespace: str = "") -> JsonObject:
    metadata: JsonObject = {"name": name, "labels": {**BOOTSTRAP_LABELS, **(labels or {})},
                            "annotations": dict(AUTOUPDATE)}
    if namespace:
        metadata["namespace"] = namespace
    return metadata


def cluster_role(name: str, rules: list[PolicyRule], *, labels: dict[str, str] | None = None,
                 aggregate_from: str = "") -> JsonObject:
    role: JsonObject = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                        "metadata": _meta(name, labels), "rules": [r.to_json() for r in rules]}
    if aggregate_from:
        role["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": {AGGREGATE_TO + aggregate_from: "true"}}]}
    return role


def binding(kind: str, name: str, role_kind: str, role: str, subjects: list[tuple[str, str]],
            namespace: str = "") -> JsonObject:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": _meta(name, namespace=namespace),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": k, "name": n} for k, n in subjects]}


_VIEW = [
    rule(READ, "", "pods", "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts", "services",
         "services/status", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status", "configmaps"),
    rule(READ, "", "limitranges", "resourcequotas", "bindings", "events", "pods/status", "resourcequotas/status",
         "namespaces/status", "replicationcontrollers/status", "pods/log"),
    rule(READ, "", "namespaces"),
    rule(READ, "discovery.k8s.io", "endpointslices"),
    rule(READ, "apps", "controllerrevisions", "statefulsets", "statefulsets/status", "statefulsets/scale",
         "daemonsets", "daemonsets/status", "deployments", "deployments/status", "deployments/scale", "replicasets",
         "replicasets/status", "replicasets/scale"),
    rule(READ, "autoscaling", "horizontalpodautoscalers", "horizontalpodautoscalers/status"),
    rule(READ, "batch", "cronjobs", "cronjobs/status", "jobs", "jobs/status"),
    rule(READ, "policy", "poddisruptionbudgets", "poddisruptionbudgets/status"),
    rule(READ, "networking.k8s.io", "ingresses", "ingresses/status", "networkpolicies"),
]
_EDIT = [
    rule(READ, "", "pods/attach", "pods/proxy", "pods/exec", "pods/portforward", "secrets", "services/proxy"),
    rule(("impersonate",), "", "serviceaccounts"),
    rule(WRITE, "", "pods", "pods/attach", "pods/proxy", "pods/exec", "pods/portforward"),
    rule(("create",), "", "pods/eviction"),
    rule(WRITE, "", "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts", "services",
         "services/proxy", "persistentvolumeclaims", "configmaps", "secrets"),
    rule(("create",), "", "serviceaccounts/token"),
    rule(WRITE, "apps", "statefulsets", "statefulsets/scale", "daemonsets", "deployments", "deployments/scale",
         "deployments/rollback", "replicasets", "replicasets/scale"),
    rule(WRITE, "autoscaling", "horizontalpodautoscalers"),
    rule(WRITE, "batch", "jobs", "cronjobs"),
    rule(WRITE, "policy", "poddisruptionbudgets"),
    rule(WRITE, "networking.k8s.io", "networkpolicies", "ingresses"),
]
_ADMIN = [
    rule(READ_WRITE, "rbac.authorization.k8s.io", "rolebindings", "roles"),
    rule(("create",), "authorization.k8s.io", "localsubjectaccessreviews"),
]
_DISCOVERY = ("/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz",
              "/version", "/version/")
_PUBLIC_INFO = ("/healthz", "/livez", "/readyz", "/version", "/version/")
_MONITORING = ("/metrics", "/metrics/slis", "/livez", "/readyz", "/healthz", "/livez/*", "/readyz/*", "/healthz/*")
_EVENTS = rule(("create", "patch", "update"), "", "events")

SCHEDULER_RULES = [
    _EVENTS,
    rule(("create",), "coordination.k8s.io", "leases"),
    rule(("get", "update"), "coordination.k8s.io", "leases", names=("kube-scheduler",)),
    rule(READ, "", "nodes", "namespaces", "pods"),
    # the default topology spread selects a pod's group by its Services and controller, as upstream's role allows
    rule(READ, "", "services", "replicationcontrollers"),
    rule(READ, "apps", "replicasets", "statefulsets"),
    rule(("create",), "", "pods/binding", "bindings"),
    rule(("patch", "update"), "", "pods/status"),
    # volume binding (Kubernetes' system:volume-scheduler): prebinds volumes, asks provisioners through claims
    rule(("get", "list", "watch", "patch", "update"), "", "persistentvolumeclaims", "persistentvolumes"),
    rule(READ, "storage.k8s.io", "storageclasses"),
    rule(("delete",), "", "pods"),  # preemption's victims
    rule(READ, "policy", "poddisruptionbudgets"),  # preemption respects them where it can
]
CONTROLLER_MANAGER_RULES = [
    _EVENTS,
    rule(("create",), "coordination.k8s.io", "leases"),
    # the garbage collector and the namespace controller act on every kind
    rule(("get", "list", "watch", "patch", "update", "delete", "deletecollection"), "*", "*"),
    # serviceaccount: each `default`; root-ca-cert-publisher: each kube-root-ca.crt
    rule(("create",), "", "pods", "endpoints", "serviceaccounts", "configmaps"),
    rule(("create",), "apps", "replicasets"),
    # statefulset: its revision history and the claims of its volumeClaimTemplates
    rule(("create",), "apps", "controllerrevisions"),
    rule(("create",), "", "persistentvolumeclaims"),
    rule(("create",), "batch", "jobs"),  # cronjob: each run's Job
    rule(("escalate",), "rbac.authorization.k8s.io", "clusterroles"),  # the aggregation controller
    # resourcequota: lists what it counts (above) and writes each quota's status
    rule(("update",), "", "resourcequotas/status"),
    # the local-path provisioner creates the volumes it provisions
    rule(("create",), "", "persistentvolumes"),
]
PROXY_RULES = [rule(("list", "watch"), "", "services", "endpoints")]
DNS_READ_RULES = [rule(("list", "watch"), "", "services", "endpoints")]
DNS_WRITE_RULES = [
    rule(("create",), "", "services", "endpoints"),
    rule(("get", "update", "delete"), "", "services", "endpoints", names=("kube-dns",)),
]


def cluster_roles() -> list[JsonObject]:
    """Every bootstrap ClusterRole; admin/edit/view carry no rules until aggregated."""
    return [
        cluster_role("cluster-admin", [PolicyRule(("*",), ("*",), ("*",)), paths(("*",), "*")]),
        cluster_role("admin", [], aggregate_from="admin"),
        cluster_role("edit", [], labels={AGGREGATE_TO + "admin": "true"}, aggregate_from="edit"),
        cluster_role("view", [], labels={AGGREGATE_TO + "edit": "true"}, aggregate_from="view"),
        cluster_role("system:aggregate-to-admin", _ADMIN, labels={AGGREGATE_TO + "admin": "true"}),
        cluster_role("system:aggregate-to-edit", _EDIT, labels={AGGREGATE_TO + "edit": "true"}),
        cluster_role("system:aggregate-to-view", _VIEW, labels={AGGREGATE_TO + "view": "true"}),
        cluster_role("system:basic-user", [
            rule(("create",), "authorization.k8s.io", "selfsubjectaccessreviews", "selfsubjectrulesreviews"),
            rule(("create",), "authentication.k8s.io", "selfsubjectreviews")]),
        cluster_role("system:discovery", [paths(("get",), *_DISCOVERY)]),
        cluster_role("system:public-info-viewer", [paths(("get",), *_PUBLIC_INFO)]),
        cluster_role("system:monitoring", [paths(("get",), *_MONITORING)]),
        cluster_role("system:kube-scheduler", SCHEDULER_RULES),
        cluster_role("system:kube-controller-manager", CONTROLLER_MANAGER_RULES),
        cluster_role("system:node-proxier", PROXY_RULES),
        cluster_role("system:minik8s-dns", DNS_READ_RULES),
    ]


def cluster_role_bindings() -> list[JsonObject]:
    crb = "ClusterRoleBinding"
    return [
        binding(crb, "cluster-admin", "ClusterRole", "cluster-admin", [("Group", "system:masters")]),
        binding(crb, "system:basic-user", "ClusterRole", "system:basic-user", [("Group", "system:authenticated")]),
        binding(crb, "system:discovery", "ClusterRole", "system:discovery", [("Group", "system:authenticated")]),
        binding(crb, "system:public-info-viewer", "ClusterRole", "system:public-info-viewer",
                [("Group", "system:authenticated"), ("Group", "system:unauthenticated")]),
        binding(crb, "system:monitoring", "ClusterRole", "system:monitoring", [("Group", "system:monitoring")]),
        binding(crb, "system:kube-scheduler", "ClusterRole", "system:kube-scheduler", [("User", SCHEDULER_USER)]),
        binding(crb, "system:kube-controller-manager", "ClusterRole", "system:kube-controller-manager",
                [("User", CONTROLLER_MANAGER_USER)]),
        binding(crb, "system:node-proxier", "ClusterRole", "system:node-proxier", [("User", PROXY_USER)]),
        binding(crb, "system:minik8s-dns", "ClusterRole", "system:minik8s-dns", [("User", DNS_USER)]),
    ]


def namespaced_roles() -> list[JsonObject]:
    """(kube-system) the DNS writer's Role; its binding is in `role_bindings()`."""
    return [{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
             "metadata": _meta("system:minik8s-dns", namespace="kube-system"),
             "rules": [r.to_json() for r in DNS_WRITE_RULES]}]


def role_bindings() -> list[JsonObject]:
    return [binding("RoleBinding", "system:minik8s-dns", "Role", "system:minik8s-dns", [("User", DNS_USER)],
                    namespace="kube-system")]
