"""Validation: bad objects are refused with the field and message kubectl users know."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minik8s.api.default_tolerations import add_default_tolerations
from minik8s.api.defaults import apply_defaults
from minik8s.api.field_errors import FieldError, describe_invalid
from minik8s.api.meta import JsonObject
from minik8s.api.validation import validate, validate_name


def _container(**extra: Any) -> JsonObject:
    return {"name": "c", "image": "nginx:1.25", **extra}


def _pod_spec(**extra: Any) -> JsonObject:
    return {"containers": [_container(ports=[{"containerPort": 80, "name": "http"}])], **extra}


def _workload(kind: str) -> JsonObject:
    return {
        "apiVersion": "apps/v1", "kind": kind, "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web", "tier": "f"}}, "spec": _pod_spec()}},
    }  # fmt: skip


VALID: dict[str, Callable[[], JsonObject]] = {
    "Pod": lambda: {"metadata": {"name": "p", "namespace": "default", "labels": {"app": "web"}}, "spec": _pod_spec()},
    "Deployment": lambda: _workload("Deployment"),
    "ReplicaSet": lambda: _workload("ReplicaSet"),
    "DaemonSet": lambda: _workload("DaemonSet"),
    "Service": lambda: {"metadata": {"name": "web", "namespace": "default"},
                        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": "http"}]}},
    "Namespace": lambda: {"metadata": {"name": "dev"}},
    "Node": lambda: {"metadata": {"name": "node-1.example"}, "spec": {"podCIDR": "10.244.1.0/24",
                     "taints": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]}},
    "Endpoints": lambda: {"metadata": {"name": "web", "namespace": "default"},
                          "subsets": [{"addresses": [{"ip": "10.244.1.5"}], "ports": [{"port": 80}]}]},
    "Event": lambda: {"metadata": {"name": "p.1", "namespace": "default"}, "reason": "Started",
                      "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"}},
    "ConfigMap": lambda: {"metadata": {"name": "cfg", "namespace": "default"}, "data": {"app.conf": "x=1"}},
    "Secret": lambda: {"metadata": {"name": "s", "namespace": "default"}, "data": {"password": "aHVudGVyMg=="}},
    "Lease": lambda: {"metadata": {"name": "n1", "namespace": "kube-node-lease"},
                      "spec": {"holderIdentity": "n1", "leaseDurationSeconds": 40}},
}  # fmt: skip


def _valid(kind: str) -> JsonObject:
    """A valid object as stored: defaulted and, for a pod, with the tolerations admission adds."""
    obj = VALID[kind]()
    apply_defaults(kind, obj)
    if kind == "Pod":
        add_default_tolerations(obj["spec"])
    return obj


def _set(obj: Any, path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for step in parents:
        obj = obj[int(step)] if isinstance(obj, list) else obj.setdefault(step, {})
    if isinstance(obj, list):
        obj[int(last)] = value
    elif value is _DELETE:
        obj.pop(last, None)
    else:
        obj[last] = value


_DELETE = object()


@pytest.mark.parametrize("kind", sorted(VALID))
def test_well_formed_defaulted_objects_are_valid(kind):
    assert validate(kind, _valid(kind)) == []


# (kind, path to set, value, expected field, expected reason, expected message fragment)
INVALID_CASES = [
    ("Pod", "metadata.name", _DELETE, "metadata.name", "FieldValueRequired", "Required value: name or generateName is required"),
    ("Pod", "metadata.name", "Web_1", "metadata.name", "FieldValueInvalid", 'Invalid value: "Web_1": a lowercase RFC 1123 subdomain'),
    ("Pod", "metadata.name", "a" * 254, "metadata.name", "FieldValueInvalid", "must be no more than 253 characters"),
    ("Pod", "metadata.namespace", _DELETE, "metadata.namespace", "FieldValueRequired", "Required value"),
    ("Pod", "metadata.namespace", "Bad.NS", "metadata.namespace", "FieldValueInvalid", "RFC 1123 label"),
    ("Pod", "metadata.labels", {"bad key": "x"}, "metadata.labels", "FieldValueInvalid", 'Invalid value: "bad key": name part'),
    ("Pod", "metadata.labels", {"app": "-x"}, "metadata.labels", "FieldValueInvalid", "a valid label must be an empty string"),
    ("Pod", "metadata.labels", {"a": "v" * 64}, "metadata.labels", "FieldValueInvalid", "must be no more than 63 characters"),
    ("Pod", "metadata.annotations", {"x": "y" * (256 * 1024)}, "metadata.annotations", "FieldValueTooLong", "Too long: must have at most 262144 bytes"),
    ("Pod", "metadata.annotations", {"a/b/c": "x"}, "metadata.annotations", "FieldValueInvalid", "a valid label key"),
    ("Pod", "metadata.finalizers", ["custom"], "metadata.finalizers", "FieldValueInvalid", "neither a standard finalizer name"),
    ("Pod", "metadata.ownerReferences", [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "r"}],
     "metadata.ownerReferences.uid", "FieldValueInvalid", "uid must not be empty"),
    ("Pod", "spec.containers", [], "spec.containers", "FieldValueRequired", "Required value"),
    ("Pod", "spec.containers.0.name", "Web", "spec.containers[0].name", "FieldValueInvalid", "RFC 1123 label"),
    ("Pod", "spec.initContainers", [{"name": "c", "image": "i", "imagePullPolicy": "Always",
                                     "terminationMessagePolicy": "File"}],
     "spec.initContainers[0].name", "FieldValueDuplicate", 'Duplicate value: "c"'),
    ("Pod", "spec.containers.0.image", "", "spec.containers[0].image", "FieldValueRequired", "Required value"),
    ("Pod", "spec.containers.0.ports.0.containerPort", 70000, "spec.containers[0].ports[0].containerPort", "FieldValueInvalid",
     "Invalid value: 70000: must be between 1 and 65535, inclusive"),
    ("Pod", "spec.containers.0.ports.0.protocol", "HTTP", "spec.containers[0].ports[0].protocol", "FieldValueNotSupported",
     'Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"'),
    ("Pod", "spec.containers.0.ports.0.name", "http-web-server-1", "spec.containers[0].ports[0].name", "FieldValueInvalid",
     "must be no more than 15 characters"),
    ("Pod", "spec.restartPolicy", "Sometimes", "spec.restartPolicy", "FieldValueNotSupported",
     'supported values: "Always", "OnFailure", "Never"'),
    ("Pod", "spec.dnsPolicy", "Google", "spec.dnsPolicy", "FieldValueNotSupported", '"ClusterFirst", "ClusterFirstWithHostNet"'),
    ("Pod", "spec.terminationGracePeriodSeconds", -1, "spec.terminationGracePeriodSeconds", "FieldValueInvalid",
     "Invalid value: -1: must be greater than or equal to 0"),
    ("Pod", "spec.volumes", [{"name": "v"}, {"name": "v", "emptyDir": {}}], "spec.volumes[0]", "FieldValueRequired",
     "must specify a volume type"),
    ("Pod", "spec.volumes", [{"name": "v", "emptyDir": {}}, {"name": "v", "emptyDir": {}}], "spec.volumes[1].name",
     "FieldValueDuplicate", "Duplicate value"),
    ("Pod", "spec.volumes", [{"name": "v", "emptyDir": {}, "hostPath": {"path": "/"}}], "spec.volumes[0].hostPath",
     "FieldValueForbidden", "may not specify more than 1 volume type"),
    ("Pod", "spec.containers.0.volumeMounts", [{"name": "nope", "mountPath": "/x"}],
     "spec.containers[0].volumeMounts[0].name", "FieldValueNotFound", 'Not found: "nope"'),
    ("Pod", "spec.containers.0.volumeMounts", [{"name": "nope"}], "spec.containers[0].volumeMounts[0].mountPath",
     "FieldValueRequired", "Required value"),
    ("Pod", "spec.containers.0.env", [{"name": "A=B", "value": "x"}], "spec.containers[0].env[0].name", "FieldValueInvalid",
     "printable ASCII characters other than '='"),
    ("Pod", "spec.containers.0.env", [{"name": "A", "value": "x", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
     "spec.containers[0].env[0].valueFrom", "FieldValueInvalid", "may not be specified when `value` is not empty"),
    ("Pod", "spec.containers.0.resources", {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}},
     "spec.containers[0].resources.requests", "FieldValueInvalid", 'Invalid value: "2": must be less than or equal to cpu limit of 1'),
    ("Pod", "spec.containers.0.resources", {"requests": {"memory": "lots"}}, "spec.containers[0].resources.requests[memory]",
     "FieldValueInvalid", "quantities must match the regular expression"),
    ("Pod", "spec.containers.0.resources", {"limits": {"cpu": "-1"}}, "spec.containers[0].resources.limits[cpu]",
     "FieldValueInvalid", "must be greater than or equal to 0"),
    ("Pod", "spec.containers.0.livenessProbe", {"periodSeconds": 10}, "spec.containers[0].livenessProbe", "FieldValueRequired",
     "must specify a handler type"),
    ("Pod", "spec.containers.0.livenessProbe", {"exec": {"command": ["true"]}, "tcpSocket": {"port": 1}},
     "spec.containers[0].livenessProbe.tcpSocket", "FieldValueForbidden", "may not specify more than 1 handler type"),
    ("Pod", "spec.containers.0.readinessProbe", {"exec": {"command": ["true"]}, "timeoutSeconds": -2},
     "spec.containers[0].readinessProbe.timeoutSeconds", "FieldValueInvalid", "must be greater than or equal to 0"),
    ("Pod", "spec.containers.0.livenessProbe", {"httpGet": {"port": "HTTP"}}, "spec.containers[0].livenessProbe.httpGet.port",
     "FieldValueInvalid", "must contain only alpha-numeric characters"),
    ("Pod", "spec.tolerations", [{"operator": "Equal", "value": "x"}], "spec.tolerations[0].operator", "FieldValueInvalid",
     "operator must be Exists when `key` is empty"),
    ("Pod", "spec.tolerations", [{"key": "k", "effect": "NoSchedule", "tolerationSeconds": 5}], "spec.tolerations[0].effect",
     "FieldValueInvalid", "effect must be 'NoExecute' when `tolerationSeconds` is set"),
    ("Pod", "spec.containers.0.ports", "80", "spec.containers[0].ports", "FieldValueTypeInvalid", 'Invalid value: "80": must be of type array'),
    ("Pod", "spec.terminationGracePeriodSeconds", "30", "spec.terminationGracePeriodSeconds", "FieldValueTypeInvalid",
     "must be of type integer"),
    ("Deployment", "spec.replicas", -1, "spec.replicas", "FieldValueInvalid", "Invalid value: -1: must be greater than or equal to 0"),
    ("Deployment", "spec.template.metadata.labels", {"app": "db"}, "spec.template.metadata.labels", "FieldValueInvalid",
     'Invalid value: {"app":"db"}: `selector` does not match template `labels`'),
    ("Deployment", "spec.selector", _DELETE, "spec.selector", "FieldValueRequired", "Required value"),
    ("Deployment", "spec.selector", {}, "spec.selector", "FieldValueInvalid", "empty selector is invalid for deployment"),
    ("Deployment", "spec.selector", {"matchExpressions": [{"key": "app", "operator": "In"}]},
     "spec.selector.matchExpressions[0].values", "FieldValueRequired", "must be specified when `operator` is 'In' or 'NotIn'"),
    ("Deployment", "spec.template.spec.restartPolicy", "Never", "spec.template.spec.restartPolicy", "FieldValueNotSupported",
     'Unsupported value: "Never": supported values: "Always"'),
    ("Deployment", "spec.template.spec.containers.0.image", "", "spec.template.spec.containers[0].image",
     "FieldValueRequired", "Required value"),
    ("Deployment", "spec.strategy.type", "BlueGreen", "spec.strategy.type", "FieldValueNotSupported", '"Recreate", "RollingUpdate"'),
    ("Deployment", "spec.strategy", {"type": "Recreate", "rollingUpdate": {}}, "spec.strategy.rollingUpdate", "FieldValueForbidden",
     "may not be specified when strategy `type` is 'Recreate'"),
    ("Deployment", "spec.strategy.rollingUpdate", {"maxSurge": 0, "maxUnavailable": "0%"},
     "spec.strategy.rollingUpdate.maxUnavailable", "FieldValueInvalid", "may not be 0 when `maxSurge` is 0"),
    ("Deployment", "spec.strategy.rollingUpdate.maxSurge", "lots", "spec.strategy.rollingUpdate.maxSurge", "FieldValueInvalid",
     "a valid percent string must be a numeric string followed by an ending '%'"),
    ("Deployment", "spec.strategy.rollingUpdate.maxUnavailable", "150%", "spec.strategy.rollingUpdate.maxUnavailable",
     "FieldValueInvalid", "must not be greater than 100%"),
    ("Deployment", "spec.replicas", "three", "spec.replicas", "FieldValueTypeInvalid", "must be of type integer"),
    ("ReplicaSet", "spec.selector", {}, "spec.selector", "FieldValueInvalid", "empty selector is invalid for deployment"),
    ("DaemonSet", "spec.selector", {}, "spec.selector", "FieldValueInvalid", "empty selector is invalid for daemonset"),
    ("DaemonSet", "spec.updateStrategy.type", "Sometimes", "spec.updateStrategy.type", "FieldValueNotSupported", '"OnDelete"'),
    ("DaemonSet", "spec.template.metadata.labels", {}, "spec.template.metadata.labels", "FieldValueInvalid",
     "`selector` does not match template `labels`"),
    ("Service", "metadata.name", "1web", "metadata.name", "FieldValueInvalid", "a DNS-1035 label"),
    ("Service", "spec.type", "Ingress", "spec.type", "FieldValueNotSupported", '"ClusterIP", "ExternalName", "LoadBalancer", "NodePort"'),
    ("Service", "spec.ports", [], "spec.ports", "FieldValueRequired", "Required value"),
    ("Service", "spec.ports.0.port", 0, "spec.ports[0].port", "FieldValueInvalid", "must be between 1 and 65535, inclusive"),
    ("Service", "spec.ports", [{"port": 80, "protocol": "TCP", "targetPort": 80}, {"port": 81, "protocol": "TCP", "targetPort": 81}],
     "spec.ports[0].name", "FieldValueRequired", "Required value"),
    ("Service", "spec.ports", [{"name": "a", "port": 80, "protocol": "TCP"}, {"name": "a", "port": 81, "protocol": "TCP"}],
     "spec.ports[1].name", "FieldValueDuplicate", 'Duplicate value: "a"'),
    ("Service", "spec.ports.0.protocol", "ICMP", "spec.ports[0].protocol", "FieldValueNotSupported", '"SCTP", "TCP", "UDP"'),
    ("Service", "spec.ports.0.targetPort", 0, "spec.ports[0].targetPort", "FieldValueInvalid", "must be between 1 and 65535"),
    ("Service", "spec.ports.0.targetPort", "8080", "spec.ports[0].targetPort", "FieldValueInvalid", "must contain at least one letter"),
    ("Service", "spec.ports.0.nodePort", 30080, "spec.ports[0].nodePort", "FieldValueForbidden",
     "may not be used when `type` is 'ClusterIP'"),
    ("Service", "spec.sessionAffinity", "Cookie", "spec.sessionAffinity", "FieldValueNotSupported", '"ClientIP", "None"'),
    ("Service", "spec.clusterIP", "10.96.0.300", "spec.clusterIP", "FieldValueInvalid", "must be empty, 'None', or a valid IP address"),
    ("ConfigMap", "data", {"bad key": "x"}, "data[bad key]", "FieldValueInvalid", "a valid config key must consist of"),
    ("ConfigMap", "data", {"big": "x" * (1024 * 1024 + 1)}, "data", "FieldValueTooLong", "must have at most 1048576 bytes"),
    ("Secret", "data", {"password": "not base64!"}, "data[password]", "FieldValueInvalid", "illegal base64 data"),
    ("Secret", "data", {"..": "eA=="}, "data[..]", "FieldValueInvalid", "must not be '..'"),
    ("Secret", "type", "kubernetes.io/tls", "data[tls.crt]", "FieldValueRequired", "Required value"),
    ("Namespace", "metadata.name", "my.team", "metadata.name", "FieldValueInvalid", "must not contain dots"),
    ("Namespace", "metadata.namespace", "default", "metadata.namespace", "FieldValueForbidden", "not allowed on this type"),
    ("Node", "spec.podCIDR", "10.244.1.0/33", "spec.podCIDR", "FieldValueInvalid", "must be a valid CIDR value"),
    ("Node", "spec.taints.0.effect", "Sometimes", "spec.taints[0].effect", "FieldValueNotSupported", '"NoSchedule"'),
    ("Endpoints", "subsets.0.addresses.0.ip", "not-an-ip", "subsets[0].addresses[0].ip", "FieldValueInvalid", "must be a valid IP address"),
    ("Event", "involvedObject.namespace", "other", "involvedObject.namespace", "FieldValueInvalid", "does not match event.namespace"),
    ("Lease", "spec.leaseDurationSeconds", 0, "spec.leaseDurationSeconds", "FieldValueInvalid", "Invalid value: 0: must be greater than 0"),
    ("Lease", "spec.holderIdentity", 7, "spec.holderIdentity", "FieldValueTypeInvalid", "must be of type string"),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "path", "value", "field", "reason", "fragment"), INVALID_CASES)
def test_invalid_objects_report_the_offending_field(kind, path, value, field, reason, fragment):
    obj = _valid(kind)
    _set(obj, path, value)
    errors = validate(kind, obj)
    matching = [error for error in errors if error.field == field and error.reason == reason]
    assert matching, f"no {reason} at {field} in {[str(error) for error in errors]}"
    assert any(fragment in error.message for error in matching), [error.message for error in matching]


def test_generate_name_replaces_a_missing_name():
    pod = _valid("Pod")
    pod["metadata"] = {"generateName": "web-", "namespace": "default"}
    assert validate("Pod", pod) == []
    pod["metadata"]["generateName"] = "Web-"
    assert [error.field for error in validate("Pod", pod)] == ["metadata.generateName"]


def test_a_headless_service_needs_no_ports_and_external_names_need_a_name():
    service = _valid("Service")
    service["spec"].update(clusterIP="None", ports=[])
    assert validate("Service", service) == []
    external = {"metadata": {"name": "db", "namespace": "default"}, "spec": {"type": "ExternalName"}}
    apply_defaults("Service", external)
    assert [str(error) for error in validate("Service", external)] == ["spec.externalName: Required value"]


def test_node_ports_of_node_port_services_must_be_in_range():
    service = _valid("Service")
    service["spec"].update(type="NodePort", externalTrafficPolicy="Cluster")
    service["spec"]["ports"][0]["nodePort"] = 30080
    assert validate("Service", service) == []
    service["spec"]["ports"][0]["nodePort"] = 80
    (error,) = validate("Service", service)
    assert error.field == "spec.ports[0].nodePort"
    assert "The range of valid ports is 30000-32767" in error.message


def _updated(kind: str, change: Callable[[JsonObject], None]) -> list[FieldError]:
    old = _valid(kind)
    new = copy.deepcopy(old)
    change(new)
    return validate(kind, new, old=old)


@pytest.mark.parametrize(
    ("kind", "change"),
    [
        ("Pod", lambda pod: pod["spec"]["containers"][0].update(image="nginx:1.27")),
        ("Pod", lambda pod: pod["spec"].update(activeDeadlineSeconds=60)),
        ("Pod", lambda pod: pod["spec"]["tolerations"].append({"key": "k", "operator": "Exists"})),
        ("Pod", lambda pod: pod["spec"].update(terminationGracePeriodSeconds=5)),
        ("Pod", lambda pod: pod["metadata"]["labels"].update(version="2")),
        ("Deployment", lambda deployment: deployment["spec"].update(replicas=5)),
        (
            "Deployment",
            lambda deployment: deployment["spec"]["template"]["spec"]["containers"][0].update(image="v2"),
        ),
        ("Service", lambda service: service["spec"].update(clusterIP="10.96.0.20")),
        ("Namespace", lambda namespace: namespace["metadata"]["labels"].update(team="a")),
    ],
)
def test_allowed_updates_pass(kind, change):
    assert _updated(kind, change) == []


@pytest.mark.parametrize(
    ("kind", "change", "field", "fragment"),
    [
        ("Pod", lambda pod: pod["spec"]["containers"][0]["ports"][0].update(containerPort=81), "spec",
         "Forbidden: pod updates may not change fields other than `spec.containers[*].image`"),
        ("Pod", lambda pod: pod["spec"].update(nodeName="node-1"), "spec", "changed: spec.nodeName"),
        ("Pod", lambda pod: pod["spec"]["tolerations"].pop(), "spec.tolerations",
         "existing toleration can not be modified except its tolerationSeconds"),
        ("Pod", lambda pod: pod["metadata"].update(name="other"), "metadata.name", "field is immutable"),
        ("Deployment", lambda deployment: deployment["spec"].update(selector={"matchLabels": {"tier": "f"}}), "spec.selector",
         "field is immutable"),
        ("ReplicaSet", lambda rs: rs["spec"]["selector"]["matchLabels"].update(tier="f"), "spec.selector", "field is immutable"),
        ("DaemonSet", lambda ds: ds["spec"].update(selector={"matchLabels": {"tier": "f"}}), "spec.selector", "field is immutable"),
        ("Secret", lambda secret: secret.update(type="kubernetes.io/basic-auth", data={"username": "YQ=="}), "type",
         "field is immutable"),
    ],
)  # fmt: skip
def test_forbidden_updates_are_refused(kind, change, field, fragment):
    errors = _updated(kind, change)
    assert any(error.field == field and fragment in error.message for error in errors), [
        str(e) for e in errors
    ]


def test_cluster_ip_cannot_change_once_allocated():
    old = _valid("Service")
    old["spec"]["clusterIP"] = "10.96.0.20"
    new = copy.deepcopy(old)
    new["spec"]["clusterIP"] = "10.96.0.21"
    (error,) = validate("Service", new, old=old)
    assert (error.field, error.message) == (
        "spec.clusterIP",
        'Invalid value: "10.96.0.21": field is immutable',
    )


def test_immutable_config_maps_keep_their_data():
    old = _valid("ConfigMap")
    old["immutable"] = True
    new = copy.deepcopy(old)
    new["data"]["app.conf"] = "x=2"
    assert [error.field for error in validate("ConfigMap", new, old=old)] == ["data"]


def test_pod_active_deadline_may_only_shrink():
    old = _valid("Pod")
    old["spec"]["activeDeadlineSeconds"] = 60
    new = copy.deepcopy(old)
    new["spec"]["activeDeadlineSeconds"] = 120
    assert [error.field for error in validate("Pod", new, old=old)] == ["spec.activeDeadlineSeconds"]


@pytest.mark.parametrize(
    ("kind", "name", "valid"),
    [
        ("Pod", "web-1.example", True),
        ("Pod", "Web", False),
        ("Pod", "a" * 253, True),
        ("Pod", "a" * 254, False),
        ("Namespace", "team-a", True),
        ("Namespace", "team.a", False),
        ("Service", "web", True),
        ("Service", "1web", False),
        ("Node", "node-1.lan", True),
        ("Deployment", "", False),
        ("ConfigMap", "..", False),
    ],
)
def test_validate_name_checks_names_from_urls(kind, name, valid):
    assert (validate_name(kind, name) == []) is valid


def test_the_invalid_status_message_reads_like_kubernetes():
    errors = [FieldError.invalid("spec.replicas", -1, "must be greater than or equal to 0")]
    assert describe_invalid("Deployment.apps", "bad", errors) == (
        'Deployment.apps "bad" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0'
    )
    two = [*errors, FieldError.required("spec.selector")]
    assert describe_invalid("Deployment.apps", "bad", two).endswith(
        "[spec.replicas: Invalid value: -1: must be greater than or equal to 0, spec.selector: Required value]"
    )


def test_unknown_kinds_get_metadata_checks_only():
    assert (
        validate("Widget", {"kind": "Widget", "metadata": {"name": "w", "namespace": "d"}, "spec": 7}) == []
    )
    assert [e.field for e in validate("Widget", {"metadata": {"name": "W"}})] == ["metadata.name"]


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 70000)
    | st.sampled_from(["", "x", "None", "10%", "Always", "TCP", "a=b"]),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(["name", "image", "port", "key", "operator", "values", "type"]),
            children,
            max_size=3,
        )
    ),
    max_leaves=12,
)
_PATHS = [
    "metadata", "metadata.labels", "metadata.ownerReferences", "spec", "spec.containers", "spec.containers.0",
    "spec.containers.0.ports", "spec.containers.0.resources", "spec.containers.0.env", "spec.containers.0.livenessProbe",
    "spec.volumes", "spec.tolerations", "spec.selector", "spec.template", "spec.template.spec", "spec.strategy",
    "spec.ports", "spec.ports.0", "spec.sessionAffinityConfig", "data", "subsets", "involvedObject", "spec.taints",
]  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(
    kind=st.sampled_from(sorted(VALID)), edits=st.lists(st.tuples(st.sampled_from(_PATHS), _JSON), max_size=3)
)
def test_validation_never_fails_on_malformed_objects(kind, edits):
    obj = _valid(kind)
    old = copy.deepcopy(obj)
    for path, value in edits:
        try:
            _set(obj, path, value)
        except (AttributeError, IndexError, KeyError, TypeError, ValueError):
            continue  # the path no longer exists in this shape
    for candidate_old in (None, old, obj):
        errors = validate(kind, obj, old=candidate_old)
        assert all(isinstance(error, FieldError) and error.message for error in errors)
        apply_defaults(kind, copy.deepcopy(obj))
