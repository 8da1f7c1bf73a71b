"""The kinds every process talks about, looked up once in the registry.

Daemons, the CLI and the apiserver name these kinds constantly; importing `PODS` from here
instead of each module repeating `REGISTRY.require("", "v1", "pods")` keeps one spelling
and fails at import if the registry ever stops serving one of them.
"""

from __future__ import annotations

from minik8s.api.registry import REGISTRY

PODS = REGISTRY.require("", "v1", "pods")
NODES = REGISTRY.require("", "v1", "nodes")
NAMESPACES = REGISTRY.require("", "v1", "namespaces")
SERVICES = REGISTRY.require("", "v1", "services")
ENDPOINTS = REGISTRY.require("", "v1", "endpoints")
EVENTS = REGISTRY.require("", "v1", "events")
CONFIG_MAPS = REGISTRY.require("", "v1", "configmaps")
SECRETS = REGISTRY.require("", "v1", "secrets")
SERVICE_ACCOUNTS = REGISTRY.require("", "v1", "serviceaccounts")
LIMIT_RANGES = REGISTRY.require("", "v1", "limitranges")
RESOURCE_QUOTAS = REGISTRY.require("", "v1", "resourcequotas")
LEASES = REGISTRY.require("coordination.k8s.io", "v1", "leases")
REPLICA_SETS = REGISTRY.require("apps", "v1", "replicasets")
DEPLOYMENTS = REGISTRY.require("apps", "v1", "deployments")
DAEMON_SETS = REGISTRY.require("apps", "v1", "daemonsets")
STATEFUL_SETS = REGISTRY.require("apps", "v1", "statefulsets")
CONTROLLER_REVISIONS = REGISTRY.require("apps", "v1", "controllerrevisions")
PERSISTENT_VOLUME_CLAIMS = REGISTRY.require("", "v1", "persistentvolumeclaims")
JOBS = REGISTRY.require("batch", "v1", "jobs")
CRON_JOBS = REGISTRY.require("batch", "v1", "cronjobs")
ROLES = REGISTRY.require("rbac.authorization.k8s.io", "v1", "roles")
ROLE_BINDINGS = REGISTRY.require("rbac.authorization.k8s.io", "v1", "rolebindings")
CLUSTER_ROLES = REGISTRY.require("rbac.authorization.k8s.io", "v1", "clusterroles")
CLUSTER_ROLE_BINDINGS = REGISTRY.require("rbac.authorization.k8s.io", "v1", "clusterrolebindings")
PERSISTENT_VOLUMES = REGISTRY.require("", "v1", "persistentvolumes")
STORAGE_CLASSES = REGISTRY.require("storage.k8s.io", "v1", "storageclasses")
POD_DISRUPTION_BUDGETS = REGISTRY.require("policy", "v1", "poddisruptionbudgets")
PRIORITY_CLASSES = REGISTRY.require("scheduling.k8s.io", "v1", "priorityclasses")
