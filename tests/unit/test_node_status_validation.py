"""A Node's status has the shape its readers rely on, and a poison Node stored earlier fails no reader.

The API refuses a Node whose status is of the wrong shape (Kubernetes' decoder would) or whose
capacity is malformed or negative (ValidateNodeResources); the scheduler and the node lifecycle
controller read whatever an older version let in as absent instead of failing on every retry.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from minik8s.api.validation import validate
from minik8s.controllers.node_lifecycle.health import heartbeat_signature, needs_attention, plan_node
from minik8s.controllers.node_lifecycle.taint_eviction import no_execute_taints, plan_eviction
from minik8s.node.registration import HostFacts, NodeIdentity, new_node, node_status
from minik8s.scheduler.cache import SchedulerCache
from minik8s.scheduler.decision import Scheduled, schedule_pod
from minik8s.scheduler.pod_facts import pod_facts
from tests.unit import scheduler_builders

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
FACTS = HostFacts(cpu_count=2, memory_bytes=4 * 1024**3, kernel="6.1", os_image="Debian", machine_id="m",
                  boot_id="b", hostname="host", architecture="amd64")


def agent_node() -> dict[str, Any]:
    """The Node as the node agent registers and reports it."""
    identity = NodeIdentity("node-1", "10.244.1.1", 10250, "10.244.1.0/24")
    node = new_node(identity, FACTS)
    node["status"] = node_status(identity, FACTS, runtime_version="docker://27", runtime_error=None,
                                 images=[{"names": ["busybox:latest"], "sizeBytes": 4_000_000}], previous={},
                                 now="2024-05-01T12:00:00Z")
    return node


def test_the_status_the_node_agent_reports_is_valid() -> None:
    assert validate("Node", agent_node()) == []


@pytest.mark.parametrize(("path", "value", "field", "reason"), [
    ("status", [1], "status", "FieldValueTypeInvalid"),
    ("status", "Ready", "status", "FieldValueTypeInvalid"),
    ("status.conditions", "Ready", "status.conditions", "FieldValueTypeInvalid"),
    ("status.conditions.0", 5, "status.conditions[0]", "FieldValueTypeInvalid"),
    ("status.conditions.3.status", True, "status.conditions[3].status", "FieldValueTypeInvalid"),
    ("status.conditions.0.lastHeartbeatTime", "yesterday", "status.conditions[0].lastHeartbeatTime",
     "FieldValueInvalid"),
    ("status.addresses", {"InternalIP": "10.0.0.1"}, "status.addresses", "FieldValueTypeInvalid"),
    ("status.addresses.0.address", 167772161, "status.addresses[0].address", "FieldValueTypeInvalid"),
    ("status.addresses.1", {"type": "InternalIP", "address": "10.244.1.1"}, "status.addresses[1]",
     "FieldValueDuplicate"),
    ("status.capacity.cpu", "lots", "status.capacity[cpu]", "FieldValueInvalid"),
    ("status.allocatable.memory", "-1Gi", "status.allocatable[memory]", "FieldValueInvalid"),
    ("status.allocatable.pods", "1500m", "status.allocatable[pods]", "FieldValueInvalid"),
    ("status.capacity", [1], "status.capacity", "FieldValueTypeInvalid"),
    ("status.daemonEndpoints.kubeletEndpoint.Port", "10250", "status.daemonEndpoints.kubeletEndpoint.Port",
     "FieldValueTypeInvalid"),
    ("status.daemonEndpoints.kubeletEndpoint.Port", 70000, "status.daemonEndpoints.kubeletEndpoint.Port",
     "FieldValueInvalid"),
    ("status.daemonEndpoints", 10250, "status.daemonEndpoints", "FieldValueTypeInvalid"),
    ("status.nodeInfo.kubeletVersion", 1.32, "status.nodeInfo.kubeletVersion", "FieldValueTypeInvalid"),
    ("status.images.0.names", "busybox", "status.images[0].names", "FieldValueTypeInvalid"),
    ("status.images.0.sizeBytes", "4MB", "status.images[0].sizeBytes", "FieldValueTypeInvalid"),
])
def test_a_malformed_node_status_is_refused_where_it_is_wrong(path: str, value: Any, field: str,
                                                              reason: str) -> None:
    node = agent_node()
    _set(node, path, value)
    assert [(error.field, error.reason) for error in validate("Node", node)] == [(field, reason)]


def test_capacity_messages_read_as_kubernetes_writes_them() -> None:
    node = agent_node()
    node["status"]["allocatable"].update(memory="-1Gi", pods="1.5")
    assert [str(error) for error in validate("Node", node)] == [
        'status.allocatable[memory]: Invalid value: "-1Gi": must be greater than or equal to 0',
        'status.allocatable[pods]: Invalid value: "1.5": must be an integer',
    ]


POISON_VALUES: list[Any] = [5, True, "x", [1], {"a": 1}, 2**70]
POISON_PATHS = ["status", "spec", "status.conditions", "status.conditions.0", "status.conditions.0.status",
                "status.allocatable", "status.allocatable.pods", "status.images", "status.images.0",
                "status.images.0.names", "status.images.0.sizeBytes", "spec.taints", "spec.taints.0",
                "spec.taints.0.key", "spec.taints.0.timeAdded", "spec.unschedulable", "metadata.labels"]


@pytest.mark.parametrize("path", POISON_PATHS)
def test_a_poison_node_stored_earlier_fails_neither_the_scheduler_nor_the_lifecycle_controller(path: str) -> None:
    tolerating = scheduler_builders.pod("tolerant", tolerations=[{"operator": "Exists", "tolerationSeconds": 2**70}])
    for value in POISON_VALUES:
        poison = scheduler_builders.node("poison", taints=[{"key": "k", "effect": "NoExecute"}],
                                         images=[{"names": ["busybox"], "sizeBytes": 5}])
        _set(poison, path, value)
        cache = SchedulerCache()
        cache.add_or_update_node(poison)
        cache.add_or_update_node(scheduler_builders.node("healthy"))
        decision = schedule_pod(pod_facts(scheduler_builders.pod()), cache.view())
        assert isinstance(decision, Scheduled), (path, value)  # the part read as absent decides nothing
        plan_node(poison, stale=True, now=NOW)
        needs_attention(poison)
        heartbeat_signature(poison, None)
        assert not plan_eviction(tolerating, no_execute_taints(poison), now=NOW).evict


def _set(obj: Any, path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        obj = obj[int(part)] if isinstance(obj, list) else obj[part]
    if isinstance(obj, list):
        obj[int(last)] = copy.deepcopy(value)
    else:
        obj[last] = copy.deepcopy(value)
