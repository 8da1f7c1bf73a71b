"""`describe namespace` prints a namespace's quotas and limit ranges exactly as kubectl v1.32 does
(the expected text is kubectl's own output for the same objects)."""

from __future__ import annotations

from datetime import UTC, datetime

from minik8s.cli.describers import Evidence, describe

NOW = datetime(2026, 1, 1, tzinfo=UTC)
NAMESPACE = {"metadata": {"name": "quotas", "labels": {"kubernetes.io/metadata.name": "quotas"}},
             "status": {"phase": "Active"}}
QUOTAS = [
    {"metadata": {"name": "q"}, "spec": {"hard": {"pods": "2", "requests.cpu": "1", "limits.memory": "2Gi"}},
     "status": {"hard": {"pods": "2", "requests.cpu": "1", "limits.memory": "2Gi"},
                "used": {"pods": "1", "requests.cpu": "0.5", "limits.memory": "0"}}},
    {"metadata": {"name": "idle"}, "spec": {"hard": {"pods": "5"}, "scopes": ["NotTerminating", "BestEffort"]},
     "status": {}},
]
LIMIT_RANGES = [{"metadata": {"name": "defaults"}, "spec": {"limits": [
    {"type": "Container", "max": {"cpu": "2"}, "defaultRequest": {"cpu": "250m"}, "default": {"cpu": "2"}},
    {"type": "Pod", "max": {"memory": "1Gi"}}]}}]

KUBECTL = """\
Name:         quotas
Labels:       kubernetes.io/metadata.name=quotas
Annotations:  <none>
Status:       Active

Resource Quotas
  Name:    idle
  Scopes:  BestEffort, NotTerminating
  * Matches all pods that do not have resource requirements set. These pods have a best effort quality of service.
  * Matches all pods that do not have an active deadline. These pods usually include long running pods whose \
container command is not expected to terminate.
  Resource       Used  Hard
  --------       ---   ---
  Name:          q
  Resource       Used  Hard
  --------       ---   ---
  limits.memory  0     2Gi
  pods           1     2
  requests.cpu   500m  1

Resource Limits
 Type       Resource  Min  Max  Default Request  Default Limit  Max Limit/Request Ratio
 ----       --------  ---  ---  ---------------  -------------  -----------------------
 Container  cpu       -    2    250m             2              -
 Pod        memory    -    1Gi  -                -              -
"""


def test_a_namespace_shows_its_quotas_and_limit_ranges_as_kubectl_does() -> None:
    evidence = Evidence(NAMESPACE, None, resource_quotas=QUOTAS, limit_ranges=LIMIT_RANGES)
    assert describe("Namespace", evidence, now=NOW) == KUBECTL


def test_a_namespace_without_them_says_so() -> None:
    text = describe("Namespace", Evidence(NAMESPACE, None, resource_quotas=[], limit_ranges=[]), now=NOW)
    assert text.endswith("Status:       Active\n\nNo resource quota.\n\nNo LimitRange resource.\n")
