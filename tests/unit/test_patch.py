"""The PATCH content types behave as kubectl and controllers rely on (minik8s.apiserver.patch)."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from minik8s.apiserver.patch import (
    APPLY_PATCH,
    JSON_PATCH,
    MERGE_PATCH,
    PATCH_CONTENT_TYPES,
    STRATEGIC_MERGE_PATCH,
    PatchError,
    apply_patch,
    apply_patch_by_content_type,
    json_patch,
    list_merge_keys,
    merge_patch,
    strategic_merge_patch,
)
from tests.support.builders import container


def deployment(*containers: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "annotations": {"team": "a"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": list(containers)},
            },
        },
    }


def pod_containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    containers: list[dict[str, Any]] = obj["spec"]["template"]["spec"]["containers"]
    return containers


# --- JSON merge patch (RFC 7386) -------------------------------------------------------------

@pytest.mark.parametrize(
    ("target", "patch", "expected"),
    [
        ({"metadata": {"labels": {"a": "1", "b": "2"}}}, {"metadata": {"labels": {"b": None}}},
         {"metadata": {"labels": {"a": "1"}}}),
        ({"metadata": {"labels": {"a": "1"}}}, {"metadata": {"labels": {"c": "3"}}},
         {"metadata": {"labels": {"a": "1", "c": "3"}}}),
        ({"spec": {"replicas": 2}}, {"spec": {"replicas": 4}}, {"spec": {"replicas": 4}}),
        ({"list": [1, 2, 3]}, {"list": [4]}, {"list": [4]}),  # lists are replaced
        ({"a": "x"}, {"a": {"b": None, "c": 1}}, {"a": {"c": 1}}),  # nulls in new objects vanish
        ({"a": 1}, {"missing": None}, {"a": 1}),
    ],
    ids=["null-deletes", "adds", "replaces-scalar", "replaces-list", "new-object", "absent-null"],
)
def test_merge_patch(target: Any, patch: Any, expected: Any) -> None:
    before = copy.deepcopy(target)
    assert merge_patch(target, patch) == expected
    assert target == before


# --- JSON patch (RFC 6902) -------------------------------------------------------------------

DOC: dict[str, Any] = {"a": {"b": 1, "c/d": 2, "e~f": 3}, "list": [1, 2, 3]}


@pytest.mark.parametrize(
    ("operations", "expected"),
    [
        ([{"op": "add", "path": "/a/x", "value": {"y": None}}],
         {**DOC, "a": {**DOC["a"], "x": {"y": None}}}),
        ([{"op": "add", "path": "/list/-", "value": 4}], {**DOC, "list": [1, 2, 3, 4]}),
        ([{"op": "add", "path": "/list/0", "value": 0}], {**DOC, "list": [0, 1, 2, 3]}),
        ([{"op": "remove", "path": "/list/1"}], {**DOC, "list": [1, 3]}),
        ([{"op": "remove", "path": "/a/c~1d"}], {**DOC, "a": {"b": 1, "e~f": 3}}),
        ([{"op": "replace", "path": "/a/e~0f", "value": 30}], {**DOC, "a": {"b": 1, "c/d": 2, "e~f": 30}}),
        ([{"op": "move", "from": "/a/b", "path": "/moved"}],
         {"a": {"c/d": 2, "e~f": 3}, "list": [1, 2, 3], "moved": 1}),
        ([{"op": "copy", "from": "/list", "path": "/a/copy"}],
         {**DOC, "a": {**DOC["a"], "copy": [1, 2, 3]}}),
        ([{"op": "test", "path": "/a/b", "value": 1.0}, {"op": "replace", "path": "/a/b", "value": 9}],
         {**DOC, "a": {**DOC["a"], "b": 9}}),
        ([{"op": "replace", "path": "", "value": {"whole": True}}], {"whole": True}),
    ],
    ids=["add", "append", "insert", "remove-index", "unescape-slash", "unescape-tilde",
         "move", "copy", "test-then-replace", "replace-root"],
)
def test_json_patch_operations(operations: list[dict[str, Any]], expected: Any) -> None:
    before = copy.deepcopy(DOC)
    assert json_patch(DOC, operations) == expected
    assert before == DOC


@pytest.mark.parametrize(
    ("operations", "status_code"),
    [
        ([{"op": "test", "path": "/a/b", "value": 2}], 422),
        ([{"op": "test", "path": "/a/b", "value": True}], 422),  # true is not 1
        ([{"op": "replace", "path": "/a/zz", "value": 1}], 422),
        ([{"op": "remove", "path": "/list/3"}], 422),
        ([{"op": "add", "path": "/no/such", "value": 1}], 422),
        ([{"op": "add", "path": "/list/9", "value": 1}], 422),
        ([{"op": "move", "from": "/a", "path": "/a/inner"}], 422),
        ([{"op": "add", "path": "a", "value": 1}], 400),
        ([{"op": "add", "path": "/a/~2", "value": 1}], 400),
        ([{"op": "frobnicate", "path": "/a"}], 400),
        ([{"op": "add", "path": "/a/x"}], 400),
        ({"op": "add"}, 400),
    ],
    ids=["test-fails", "test-bool", "replace-missing", "remove-out-of-range", "add-missing-parent",
         "add-index-past-end", "move-into-itself", "pointer-without-slash", "bad-escape",
         "unknown-op", "missing-value", "not-a-list"],
)
def test_json_patch_errors(operations: Any, status_code: int) -> None:
    with pytest.raises(PatchError) as caught:
        json_patch(DOC, operations)
    assert caught.value.status_code == status_code


def test_json_patch_failure_applies_nothing() -> None:
    before = copy.deepcopy(DOC)
    with pytest.raises(PatchError):
        json_patch(DOC, [{"op": "remove", "path": "/a/b"}, {"op": "test", "path": "/list/0", "value": 5}])
    assert before == DOC


def test_rollout_undo_replaces_the_template() -> None:
    live = deployment(container("app", "nginx:2", ports=[{"containerPort": 80}]))
    old_template = {
        "metadata": {"creationTimestamp": None, "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "app", "image": "nginx:1", "resources": {}}]},
    }
    undo = orjson.dumps([{"op": "replace", "path": "/spec/template", "value": old_template}])
    result = apply_patch_by_content_type(JSON_PATCH, live, undo, kind="Deployment")
    assert result["spec"]["template"] == old_template
    assert result["spec"]["replicas"] == 2
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:2"


# --- strategic merge patch -------------------------------------------------------------------

def test_kubectl_apply_patch_changes_only_the_named_container() -> None:
    live = deployment(
        container("c", "v1", ports=[{"containerPort": 80, "protocol": "TCP"}], env=[{"name": "A", "value": "1"}]),
        container("sidecar", "proxy:1"),
    )
    # The patch kubectl v1.32 sends on a second `kubectl apply` (kubectl-wire.md).
    body = (
        b'{"metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{}"}},'
        b'"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"c"}],'
        b'"containers":[{"image":"v2","name":"c"}]}}}}'
    )
    result = apply_patch_by_content_type(STRATEGIC_MERGE_PATCH, live, body, kind="Deployment")
    assert pod_containers(result) == [
        container("c", "v2", ports=[{"containerPort": 80, "protocol": "TCP"}], env=[{"name": "A", "value": "1"}]),
        container("sidecar", "proxy:1"),
    ]
    assert result["metadata"]["annotations"] == {
        "team": "a", "kubectl.kubernetes.io/last-applied-configuration": "{}",
    }
    assert pod_containers(live)[0]["image"] == "v1"


def spec_patch(pod_spec: dict[str, Any]) -> dict[str, Any]:
    return {"spec": {"template": {"spec": pod_spec}}}


@pytest.mark.parametrize(
    ("live_containers", "pod_spec_patch", "expected"),
    [
        (
            [container("app", "x", env=[{"name": "A", "value": "1"}, {"name": "B", "value": "2"}])],
            {"containers": [{"name": "app", "env": [{"name": "B", "value": "20"}, {"name": "C", "value": "3"}]}]},
            [container("app", "x", env=[{"name": "A", "value": "1"}, {"name": "B", "value": "20"},
                                        {"name": "C", "value": "3"}])],
        ),
        (
            [container("app", "x"), container("old", "y"), container("tail", "z")],
            {"containers": [{"name": "old", "$patch": "delete"}]},
            [container("app", "x"), container("tail", "z")],
        ),
        (
            [container("a", "1"), container("b", "2"), container("c", "3")],
            {"$setElementOrder/containers": [{"name": "c"}, {"name": "a"}, {"name": "b"}],
             "containers": [{"name": "a", "image": "10"}]},
            [container("c", "3"), container("a", "10"), container("b", "2")],
        ),
        (
            [container("a", "1"), container("b", "2"), container("kept", "k")],
            {"$setElementOrder/containers": [{"name": "b"}, {"name": "new"}, {"name": "a"}],
             "containers": [{"name": "new", "image": "n"}]},
            [container("b", "2"), container("new", "n"), container("a", "1"), container("kept", "k")],
        ),
        (
            [container("a", "1", command=["sleep", "1"], args=["x"])],
            {"containers": [{"name": "a", "command": ["sleep", "2"], "args": None}]},
            [container("a", "1", command=["sleep", "2"])],
        ),
        (
            [container("a", "1", ports=[{"containerPort": 80, "name": "http"}, {"containerPort": 443}])],
            {"containers": [{"name": "a", "ports": [{"containerPort": 443, "name": "https"}]}]},
            [container("a", "1", ports=[{"containerPort": 80, "name": "http"},
                                        {"containerPort": 443, "name": "https"}])],
        ),
        (
            [container("a", "1"), container("b", "2")],
            {"containers": [{"$patch": "replace"}, {"name": "only", "image": "o"}]},
            [container("only", "o")],
        ),
        (
            [container("a", "1", volumeMounts=[{"mountPath": "/data", "name": "d"}])],
            {"containers": [{"name": "a", "volumeMounts": [{"mountPath": "/data", "readOnly": True}]}]},
            [container("a", "1", volumeMounts=[{"mountPath": "/data", "name": "d", "readOnly": True}])],
        ),
    ],
    ids=["env-by-name", "patch-delete-container", "set-element-order", "order-keeps-unnamed-after",
         "atomic-command-and-null", "ports-by-container-port", "patch-replace-list", "mounts-by-path"],
)
def test_strategic_merge_of_containers(
    live_containers: list[dict[str, Any]], pod_spec_patch: dict[str, Any], expected: list[dict[str, Any]]
) -> None:
    live = deployment(*live_containers)
    patch = spec_patch(pod_spec_patch)
    before_live, before_patch = copy.deepcopy(live), copy.deepcopy(patch)
    assert pod_containers(strategic_merge_patch(live, patch, kind="Deployment")) == expected
    assert (live, patch) == (before_live, before_patch)


@pytest.mark.parametrize(
    ("kind", "live", "patch", "expected"),
    [
        ("Pod", {"metadata": {"finalizers": ["a", "b"]}}, {"metadata": {"finalizers": ["c", "a"]}},
         {"metadata": {"finalizers": ["c", "a", "b"]}}),
        ("Pod", {"metadata": {"finalizers": ["a", "b", "c"]}},
         {"metadata": {"$deleteFromPrimitiveList/finalizers": ["b"]}}, {"metadata": {"finalizers": ["a", "c"]}}),
        ("Service",
         {"spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 443, "targetPort": 8443}]}},
         {"spec": {"ports": [{"port": 443, "targetPort": 9443}, {"port": 53, "protocol": "UDP"}]}},
         {"spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 443, "targetPort": 9443},
                             {"port": 53, "protocol": "UDP"}]}}),
        ("Node", {"spec": {"podCIDR": "10.0.1.0/24"}}, {"spec": {"unschedulable": True}},
         {"spec": {"podCIDR": "10.0.1.0/24", "unschedulable": True}}),
        ("Node", {"spec": {"podCIDR": "10.0.1.0/24", "unschedulable": True}}, {"spec": {"unschedulable": None}},
         {"spec": {"podCIDR": "10.0.1.0/24"}}),
        ("Pod", {"status": {"conditions": [{"type": "Ready", "status": "False"}, {"type": "Scheduled"}]}},
         {"status": {"conditions": [{"type": "Ready", "status": "True"}]}},
         {"status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "Scheduled"}]}}),
        ("Node", {"status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.1"}]}},
         {"status": {"addresses": [{"type": "Hostname", "address": "n1"}]}},
         {"status": {"addresses": [{"type": "Hostname", "address": "n1"},
                                   {"type": "InternalIP", "address": "10.0.0.1"}]}}),
        ("Pod", {"metadata": {"ownerReferences": [{"uid": "1", "name": "rs"}]}},
         {"metadata": {"ownerReferences": [{"uid": "1", "controller": True}]}},
         {"metadata": {"ownerReferences": [{"uid": "1", "name": "rs", "controller": True}]}}),
        ("Pod", {"spec": {"tolerations": [{"key": "a"}, {"key": "b"}]}}, {"spec": {"tolerations": [{"key": "c"}]}},
         {"spec": {"tolerations": [{"key": "c"}]}}),
        ("Deployment", {"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}},
         {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}},
         {"spec": {"strategy": {"type": "Recreate"}}}),
        ("ConfigMap", {"data": {"a": "1", "b": "2"}}, {"data": {"$patch": "replace", "c": "3"}},
         {"data": {"c": "3"}}),
        ("ConfigMap", {"data": {"a": "1"}, "immutable": False}, {"data": {"$patch": "delete"}},
         {"data": {}, "immutable": False}),
    ],
    ids=["finalizers-merged", "finalizers-deleted", "service-ports-by-port", "cordon", "uncordon",
         "conditions-by-type", "addresses-by-type", "owner-references-by-uid", "tolerations-atomic",
         "retain-keys", "map-patch-replace", "map-patch-delete"],
)
def test_strategic_merge(kind: str, live: dict[str, Any], patch: dict[str, Any], expected: dict[str, Any]) -> None:
    assert strategic_merge_patch(live, patch, kind=kind) == expected


@pytest.mark.parametrize(
    "patch",
    [
        {"spec": {"containers": [{"image": "no-name"}]}},
        {"spec": {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
                  "containers": [{"name": "a"}, {"name": "b"}]}},
        {"spec": {"$retainKeys": ["a"], "b": 1}},
        {"spec": {"$patch": "explode"}},
    ],
    ids=["missing-merge-key", "order-mismatch", "retain-keys-mismatch", "unknown-directive"],
)
def test_strategic_merge_rejects_malformed_patches(patch: dict[str, Any]) -> None:
    live = {"spec": {"containers": [{"name": "a"}, {"name": "b"}]}}
    with pytest.raises(PatchError) as caught:
        strategic_merge_patch(live, patch, kind="Pod")
    assert caught.value.status_code == 400


def test_merge_keys_cover_pod_templates_of_workloads() -> None:
    for kind in ("Deployment", "ReplicaSet", "DaemonSet"):
        keys = list_merge_keys(kind)
        assert keys["spec.template.spec.containers"] == "name"
        assert keys["spec.template.spec.containers.env"] == "name"
        assert keys["spec.template.spec.initContainers.ports"] == "containerPort"
        assert keys["spec.template.spec.volumes"] == "name"
        assert keys["metadata.finalizers"] == ""
    assert "spec.containers" not in list_merge_keys("Deployment")
    assert list_merge_keys("Pod")["spec.hostAliases"] == "ip"
    assert list_merge_keys("Service")["spec.ports"] == "port"


# --- server-side apply and the content-type dispatch ------------------------------------------

def test_apply_creates_then_merges_by_key() -> None:
    applied = deployment(container("app", "v1"))
    created = apply_patch(None, applied, kind="Deployment")
    assert created == applied
    live = copy.deepcopy(created)
    pod_containers(live).append(container("injected", "sidecar"))
    live["metadata"]["finalizers"] = ["keep"]
    live["status"] = {"replicas": 2}
    applied_again = deployment(container("app", "v2"))
    applied_again["metadata"]["finalizers"] = ["mine"]
    applied_again["metadata"]["creationTimestamp"] = None  # as `kubectl create --dry-run -o yaml` writes
    result = apply_patch(live, applied_again, kind="Deployment")
    assert pod_containers(result) == [container("app", "v2"), container("injected", "sidecar")]
    assert result["metadata"]["finalizers"] == ["mine", "keep"]
    assert result["status"] == {"replicas": 2}
    assert "creationTimestamp" not in result["metadata"]


def test_apply_refuses_directives() -> None:
    with pytest.raises(PatchError):
        apply_patch({}, {"spec": {"$patch": "replace"}}, kind="Pod")


@pytest.mark.parametrize(
    ("content_type", "body", "expected_replicas"),
    [
        (MERGE_PATCH, b'{"spec":{"replicas":4}}', 4),
        (f"{MERGE_PATCH}; charset=utf-8", b'{"spec":{"replicas":5}}', 5),
        (STRATEGIC_MERGE_PATCH, b'{"spec":{"replicas":6}}', 6),
        (JSON_PATCH, b'[{"op":"replace","path":"/spec/replicas","value":7}]', 7),
        (APPLY_PATCH, b'{"apiVersion":"apps/v1","kind":"Deployment","spec":{"replicas":8}}', 8),
        (APPLY_PATCH, b"apiVersion: apps/v1\nkind: Deployment\nspec:\n  replicas: 9\n", 9),
    ],
    ids=["merge", "merge-with-charset", "strategic", "json-patch", "apply-json", "apply-yaml"],
)
def test_dispatch_by_content_type(content_type: str, body: bytes, expected_replicas: int) -> None:
    live = deployment(container("app", "v1"))
    result = apply_patch_by_content_type(content_type, live, body, kind="Deployment")
    assert result["spec"]["replicas"] == expected_replicas
    assert pod_containers(result) == [container("app", "v1")]
    assert set(PATCH_CONTENT_TYPES) == {MERGE_PATCH, STRATEGIC_MERGE_PATCH, JSON_PATCH, APPLY_PATCH}


def test_apply_yaml_keeps_timestamps_as_strings() -> None:
    body = b"metadata:\n  name: x\n  annotations:\n    when: 2024-01-02T03:04:05Z\n"
    result = apply_patch_by_content_type(APPLY_PATCH, None, body, kind="ConfigMap")
    assert result == {"metadata": {"name": "x", "annotations": {"when": "2024-01-02T03:04:05Z"}}}


@pytest.mark.parametrize(
    ("content_type", "live", "body", "status_code"),
    [
        ("application/json", {}, b"{}", 415),
        (MERGE_PATCH, {}, b"{not json", 400),
        (MERGE_PATCH, {}, b"", 400),
        (MERGE_PATCH, {}, b"[1]", 400),
        (STRATEGIC_MERGE_PATCH, {}, b'"text"', 400),
        (JSON_PATCH, {}, b'{"op":"add"}', 400),
        (MERGE_PATCH, None, b"{}", 404),
        (JSON_PATCH, {"a": 1}, b'[{"op":"replace","path":"","value":3}]', 422),
        (APPLY_PATCH, None, b"a: [unclosed", 400),
        (APPLY_PATCH, None, b"a: 1\n---\nb: 2\n", 400),
        (APPLY_PATCH, None, b"data:\n  n: 123456789012345678901234567890\n", 400),  # found by tests/fuzz: a 500
        (APPLY_PATCH, None, b"data: !!binary aGk=\n", 400),
    ],
    ids=["unsupported-type", "bad-json", "empty-body", "merge-not-object", "strategic-not-object",
         "json-patch-not-list", "absent-object", "result-not-object", "bad-yaml", "two-yaml-documents",
         "yaml-integer-beyond-64-bits", "yaml-binary-is-no-json"],
)
def test_dispatch_errors(content_type: str, live: dict[str, Any] | None, body: bytes, status_code: int) -> None:
    with pytest.raises(PatchError) as caught:
        apply_patch_by_content_type(content_type, live, body, kind="Pod")
    assert caught.value.status_code == status_code
