"""Defaults: objects come back filled in exactly as a Kubernetes apiserver fills them."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minik8s.api.defaults import apply_defaults, pick_image_pull_policy
from tests.support import builders


def _pod(**spec: Any) -> dict[str, Any]:
    return builders.pod("p", namespace="default", containers=[builders.container("c", "nginx:1.25")], **spec)


def _defaulted(kind: str, obj: dict[str, Any], *, on_create: bool = True) -> dict[str, Any]:
    apply_defaults(kind, obj, on_create=on_create)
    return obj


def _at(obj: Any, path: str) -> Any:
    for step in path.split("."):
        obj = obj[int(step)] if isinstance(obj, list) else obj[step]
    return obj


def _deployment(strategy: dict[str, Any] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "web"}]},
        },
    }
    if strategy is not None:
        spec["strategy"] = strategy
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": spec}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("spec.restartPolicy", "Always"),
        ("spec.terminationGracePeriodSeconds", 30),
        ("spec.dnsPolicy", "ClusterFirst"),
        ("spec.schedulerName", "default-scheduler"),
        ("spec.securityContext", {}),
        ("spec.enableServiceLinks", True),
        ("spec.containers.0.imagePullPolicy", "IfNotPresent"),
        ("spec.containers.0.terminationMessagePath", "/dev/termination-log"),
        ("spec.containers.0.terminationMessagePolicy", "File"),
        ("spec.containers.0.resources", {}),
    ],
)
def test_a_bare_pod_gets_kubernetes_defaults(path, expected):
    assert _at(_defaulted("Pod", _pod()), path) == expected


def test_defaulting_leaves_tolerations_to_the_default_toleration_seconds_plugin():
    # the not-ready/unreachable tolerations are admission's now (tests/unit/test_default_tolerations.py)
    assert "tolerations" not in _defaulted("Pod", _pod())["spec"]


@pytest.mark.parametrize(("given_spec", "name"), [
    ({}, "default"),
    ({"serviceAccountName": "robot"}, "robot"),
    ({"serviceAccount": "robot"}, "robot"),  # the deprecated alias names it
    ({"serviceAccountName": "robot", "serviceAccount": "other"}, "robot"),  # the name wins
    ({"serviceAccountName": "", "serviceAccount": ""}, "default"),
])
def test_a_new_pod_runs_as_its_service_account_or_default(given_spec, name):
    spec = _defaulted("Pod", _pod(**given_spec))["spec"]
    assert (spec["serviceAccountName"], spec["serviceAccount"]) == (name, name)


def test_automount_service_account_token_is_kept_as_given():
    assert "automountServiceAccountToken" not in _defaulted("Pod", _pod())["spec"]
    assert _defaulted("Pod", _pod(automountServiceAccountToken=False))["spec"]["automountServiceAccountToken"] is False


def test_mirror_pods_and_updates_get_no_default_service_account():
    mirror = _pod()
    mirror["metadata"]["annotations"] = {"kubernetes.io/config.mirror": "hash"}
    assert "serviceAccountName" not in _defaulted("Pod", mirror)["spec"]
    updated = _defaulted("Pod", _pod(), on_create=False)["spec"]
    assert "serviceAccountName" not in updated and "serviceAccount" not in updated


def test_pod_templates_mirror_the_deprecated_service_account_field():
    deployment = builders.deployment("web", pod_spec={"containers": [builders.container("c")],
                                                      "serviceAccountName": "robot"})
    template_spec = _defaulted("Deployment", deployment)["spec"]["template"]["spec"]
    assert template_spec["serviceAccount"] == "robot"
    bare = _defaulted("Deployment", builders.deployment("web", pod_spec={"containers": [builders.container("c")]}))
    assert "serviceAccountName" not in bare["spec"]["template"]["spec"]


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("nginx", "Always"),
        ("nginx:latest", "Always"),
        ("nginx:1.25", "IfNotPresent"),
        ("registry.local:5000/team/app", "Always"),
        ("registry.local:5000/team/app:v2", "IfNotPresent"),
        ("nginx@sha256:" + "a" * 64, "IfNotPresent"),
        ("nginx:latest@sha256:" + "a" * 64, "Always"),
        ("", "IfNotPresent"),
    ],
)
def test_image_pull_policy_follows_the_image_tag(image, policy):
    assert pick_image_pull_policy(image) == policy
    pod = _defaulted("Pod", _pod(initContainers=[{"name": "i", "image": image}]))
    assert pod["spec"]["initContainers"][0]["imagePullPolicy"] == policy


def test_values_the_user_set_are_kept():
    pod = _pod(restartPolicy="Never", terminationGracePeriodSeconds=0, dnsPolicy="Default")
    pod["spec"]["containers"][0].update(
        imagePullPolicy="Never",
        ports=[{"containerPort": 53, "protocol": "UDP"}],
        resources={"requests": {"cpu": "1"}},
    )
    spec = _defaulted("Pod", pod)["spec"]
    assert (spec["restartPolicy"], spec["terminationGracePeriodSeconds"], spec["dnsPolicy"]) == (
        "Never",
        0,
        "Default",
    )
    container = spec["containers"][0]
    assert container["imagePullPolicy"] == "Never"
    assert container["ports"] == [{"containerPort": 53, "protocol": "UDP"}]
    assert container["resources"] == {"requests": {"cpu": "1"}}


def test_container_ports_env_and_probes_are_defaulted():
    pod = _pod()
    pod["spec"]["containers"][0].update(
        ports=[{"containerPort": 80}],
        env=[{"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
        livenessProbe={"httpGet": {"port": 80}},
        readinessProbe={"tcpSocket": {"port": 80}, "periodSeconds": 5, "timeoutSeconds": 0},
        lifecycle={"preStop": {"httpGet": {"port": 80, "path": "/quit"}}},
    )
    container = _defaulted("Pod", pod)["spec"]["containers"][0]
    assert container["ports"][0]["protocol"] == "TCP"
    assert container["env"][0]["valueFrom"]["fieldRef"]["apiVersion"] == "v1"
    assert container["livenessProbe"] == {
        "httpGet": {"port": 80, "path": "/", "scheme": "HTTP"},
        "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3,
    }  # fmt: skip
    assert (container["readinessProbe"]["periodSeconds"], container["readinessProbe"]["timeoutSeconds"]) == (
        5,
        1,
    )
    assert container["lifecycle"]["preStop"]["httpGet"] == {"port": 80, "path": "/quit", "scheme": "HTTP"}


def test_a_bare_pod_requests_what_it_limits():
    pod = _pod()
    pod["spec"]["containers"][0]["resources"] = {
        "limits": {"cpu": "500m", "memory": "64Mi"},
        "requests": {"cpu": "100m"},
    }
    resources = _defaulted("Pod", pod)["spec"]["containers"][0]["resources"]
    assert resources["requests"] == {"cpu": "100m", "memory": "64Mi"}


def test_volumes_are_defaulted():
    pod = _pod(
        volumes=[
            {"name": "scratch"},
            {"name": "cfg", "configMap": {"name": "c"}},
            {"name": "h", "hostPath": {"path": "/x"}},
        ]
    )
    volumes = _defaulted("Pod", pod)["spec"]["volumes"]
    assert volumes[0] == {"name": "scratch", "emptyDir": {}}
    assert volumes[1]["configMap"]["defaultMode"] == 420
    assert volumes[2]["hostPath"]["type"] == ""


def test_projected_volumes_are_defaulted():
    pod = _pod(volumes=[{"name": "p", "projected": {"sources": [
        {"serviceAccountToken": {"path": "token"}},
        {"downwardAPI": {"items": [{"path": "ns", "fieldRef": {"fieldPath": "metadata.namespace"}}]}},
    ]}}])
    projected = _defaulted("Pod", pod)["spec"]["volumes"][0]["projected"]
    assert projected == {"defaultMode": 420, "sources": [
        {"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}},
        {"downwardAPI": {"items": [{"path": "ns", "fieldRef": {"apiVersion": "v1",
                                                              "fieldPath": "metadata.namespace"}}]}},
    ]}


def test_deployment_defaults():
    deployment = _defaulted("Deployment", _deployment())
    spec = deployment["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
    }
    assert (spec["revisionHistoryLimit"], spec["progressDeadlineSeconds"]) == (10, 600)
    assert "minReadySeconds" not in spec
    template_spec = spec["template"]["spec"]
    assert (template_spec["restartPolicy"], template_spec["containers"][0]["imagePullPolicy"]) == (
        "Always",
        "Always",
    )
    assert "enableServiceLinks" not in template_spec
    assert "tolerations" not in template_spec


def test_a_recreate_deployment_gets_no_rolling_update_knobs():
    spec = _defaulted("Deployment", _deployment({"type": "Recreate"}))["spec"]
    assert spec["strategy"] == {"type": "Recreate"}


def test_partial_rolling_update_is_completed():
    spec = _defaulted("Deployment", _deployment({"rollingUpdate": {"maxSurge": 2}}))["spec"]
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 2, "maxUnavailable": "25%"},
    }


@pytest.mark.parametrize(
    ("kind", "path", "expected"),
    [
        ("ReplicaSet", "spec.replicas", 1),
        ("ReplicaSet", "spec.template.spec.terminationGracePeriodSeconds", 30),
        (
            "DaemonSet",
            "spec.updateStrategy",
            {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}},
        ),
        ("DaemonSet", "spec.revisionHistoryLimit", 10),
    ],
)
def test_replica_set_and_daemon_set_defaults(kind, path, expected):
    workload = _deployment()
    workload["kind"] = kind
    assert _at(_defaulted(kind, workload), path) == expected


def test_service_defaults():
    service = {
        "metadata": {"name": "s"},
        "spec": {"ports": [{"port": 80}, {"port": 53, "targetPort": "dns", "protocol": "UDP"}]},
    }
    spec = _defaulted("Service", service)["spec"]
    assert (spec["type"], spec["sessionAffinity"], spec["internalTrafficPolicy"]) == (
        "ClusterIP",
        "None",
        "Cluster",
    )
    assert spec["ports"] == [
        {"port": 80, "protocol": "TCP", "targetPort": 80},
        {"port": 53, "targetPort": "dns", "protocol": "UDP"},
    ]
    assert "externalTrafficPolicy" not in spec


@pytest.mark.parametrize(
    ("spec", "path", "expected"),
    [
        ({"type": "NodePort"}, "externalTrafficPolicy", "Cluster"),
        ({"type": "LoadBalancer"}, "allocateLoadBalancerNodePorts", True),
        ({"sessionAffinity": "ClientIP"}, "sessionAffinityConfig", {"clientIP": {"timeoutSeconds": 10800}}),
        ({"sessionAffinity": "ClientIP", "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 60}}},
         "sessionAffinityConfig.clientIP.timeoutSeconds", 60),
    ],
)  # fmt: skip
def test_service_type_and_affinity_dependent_defaults(spec, path, expected):
    service = {"metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}], **spec}}
    assert _at(_defaulted("Service", service)["spec"], path) == expected


def test_namespace_defaults_and_create_time_finalizer():
    created = _defaulted("Namespace", {"metadata": {"name": "dev"}})
    assert created["spec"]["finalizers"] == ["kubernetes"]
    assert created["status"]["phase"] == "Active"
    assert created["metadata"]["labels"]["kubernetes.io/metadata.name"] == "dev"
    updated = _defaulted(
        "Namespace", {"metadata": {"name": "dev"}, "status": {"phase": "Terminating"}}, on_create=False
    )
    assert "finalizers" not in updated["spec"]
    assert updated["status"]["phase"] == "Terminating"


@pytest.mark.parametrize(
    ("kind", "obj", "path", "expected"),
    [
        ("Secret", {"metadata": {"name": "s"}}, "type", "Opaque"),
        ("Secret", {"metadata": {"name": "s"}, "type": "kubernetes.io/tls"}, "type", "kubernetes.io/tls"),
        ("Endpoints", {"subsets": [{"ports": [{"port": 80}]}]}, "subsets.0.ports.0.protocol", "TCP"),
        ("Node", {"status": {"capacity": {"cpu": "2"}}}, "status.allocatable", {"cpu": "2"}),
    ],
)
def test_other_kind_defaults(kind, obj, path, expected):
    assert _at(_defaulted(kind, obj), path) == expected


@pytest.mark.parametrize("kind", ["Pod", "Deployment", "Service", "Namespace", "DaemonSet"])
def test_defaulting_twice_changes_nothing(kind):
    source = {"Pod": _pod(), "Deployment": _deployment(), "DaemonSet": _deployment()}.get(
        kind, {"metadata": {"name": "x"}, "spec": {"ports": [{"port": 1}]}}
    )
    once = _defaulted(kind, copy.deepcopy(source))
    assert _defaulted(kind, copy.deepcopy(once)) == once


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=3),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3)
    ),
    max_leaves=10,
)
_FIELDS = ["spec", "containers", "ports", "volumes", "strategy", "tolerations", "metadata", "status", "subsets",
           "resources", "limits", "template", "env", "valueFrom", "livenessProbe", "httpGet", "sessionAffinity"]  # fmt: skip
_SHAPES = st.recursive(
    _JSON,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(_FIELDS), children, max_size=4)
    ),
    max_leaves=25,
)


@settings(max_examples=150, deadline=None)
@given(
    kind=st.sampled_from(
        [
            "Pod",
            "Deployment",
            "ReplicaSet",
            "DaemonSet",
            "Service",
            "Secret",
            "Namespace",
            "Node",
            "Endpoints",
        ]
    ),
    shape=st.dictionaries(st.sampled_from(_FIELDS), _SHAPES, max_size=4),
)
def test_defaulting_never_fails_on_malformed_objects(kind, shape):
    apply_defaults(kind, shape)
