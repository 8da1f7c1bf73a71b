"""The defaults Kubernetes fills into a StatefulSet's spec (pkg/apis/apps/v1/defaults.go, SetDefaults_StatefulSet).

A StatefulSet read back from the API carries every knob its controller and `kubectl rollout`
rely on: podManagementPolicy OrderedReady, a RollingUpdate strategy with partition 0, the Retain
claim retention policy, one replica and ten revisions of history. Its volumeClaimTemplates are
PersistentVolumeClaims and are defaulted as claims (`volumeMode: Filesystem`, `status.phase:
Pending`, their own apiVersion and kind), so the claims the controller stamps out of them are
complete. The template's pod spec is defaulted by `api/defaults.py` like every workload's.

`rollingUpdate.maxUnavailable` is not defaulted: Kubernetes 1.32 defaults it to 1 only behind the
MaxUnavailableStatefulSet gate (off by default); absent, the controller behaves as with 1.
"""

from __future__ import annotations

from typing import Any

from minik8s.api.meta import JsonObject

DEFAULT_REVISION_HISTORY_LIMIT = 10


def default_stateful_set_spec(spec: JsonObject) -> None:
    """Fill the defaults into a StatefulSet's `spec`, in place; malformed parts are left to validation."""
    if not spec.get("podManagementPolicy"):
        spec["podManagementPolicy"] = "OrderedReady"
    strategy = spec.get("updateStrategy")
    if strategy is None:
        strategy = spec["updateStrategy"] = {}
    if isinstance(strategy, dict):
        _default_update_strategy(strategy)
    policy = spec.get("persistentVolumeClaimRetentionPolicy")
    if policy is None:
        policy = spec["persistentVolumeClaimRetentionPolicy"] = {}
    if isinstance(policy, dict):
        for field in ("whenDeleted", "whenScaled"):
            if not policy.get(field):
                policy[field] = "Retain"
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    if spec.get("revisionHistoryLimit") is None:
        spec["revisionHistoryLimit"] = DEFAULT_REVISION_HISTORY_LIMIT
    templates = spec.get("volumeClaimTemplates")
    for claim in templates if isinstance(templates, list) else []:
        if isinstance(claim, dict):
            default_claim_template(claim)


def _default_update_strategy(strategy: JsonObject) -> None:
    """An empty type becomes RollingUpdate with an (empty) rollingUpdate; its partition defaults to 0."""
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
        if strategy.get("rollingUpdate") is None:
            strategy["rollingUpdate"] = {}
    rolling_update: Any = strategy.get("rollingUpdate")
    if strategy["type"] == "RollingUpdate" and isinstance(rolling_update, dict) \
            and rolling_update.get("partition") is None:
        rolling_update["partition"] = 0


def default_claim_template(claim: JsonObject) -> None:
    """SetDefaults_PersistentVolumeClaim(Spec) on one volumeClaimTemplate, plus its apiVersion and kind."""
    claim.setdefault("apiVersion", "v1")
    claim.setdefault("kind", "PersistentVolumeClaim")
    spec = claim.get("spec")
    if spec is None:
        spec = claim["spec"] = {}
    if isinstance(spec, dict) and not spec.get("volumeMode"):
        spec["volumeMode"] = "Filesystem"
    status = claim.get("status")
    if status is None:
        status = claim["status"] = {}
    if isinstance(status, dict) and not status.get("phase"):
        status["phase"] = "Pending"
