"""A container's environment resolves exactly as the kubelet resolves it."""

from __future__ import annotations

import base64

import pytest

from minik8s.node.env import ConfigError, expand, expand_command, resolve_env


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


POD = {
    "metadata": {
        "name": "web-1",
        "namespace": "shop",
        "uid": "uid-123",
        "labels": {"app": "web", "tier": "front"},
        "annotations": {"note": "hello"},
    },
    "spec": {"nodeName": "node-1", "serviceAccountName": "robot", "containers": []},
}

OBJECTS = {
    ("ConfigMap", "shop", "settings"): {"data": {"MODE": "fast", "LEVEL": "3"}},
    ("ConfigMap", "shop", "extra"): {"data": {"MODE": "slow"}, "binaryData": {"BLOB": b64("bytes")}},
    ("Secret", "shop", "creds"): {"data": {"USER": b64("admin"), "PASS": b64("s3cret")}},
}


def lookup(kind, namespace, name):
    return OBJECTS.get((kind, namespace, name))


def resolve(container, *, lookup=lookup, allocatable=None):
    return resolve_env(
        POD, container, pod_ip="10.0.0.5", host_ip="192.168.1.2", node_name="node-1", lookup=lookup,
        allocatable=allocatable,
    )


@pytest.mark.parametrize(
    ("text", "variables", "expected"),
    [
        ("$(A)", {"A": "x"}, "x"),
        ("pre-$(A)-post", {"A": "x"}, "pre-x-post"),
        ("$(A)$(B)", {"A": "1", "B": "2"}, "12"),
        ("$(MISSING)", {}, "$(MISSING)"),
        ("$$(A)", {"A": "x"}, "$(A)"),  # escaped: not expanded
        ("$$$(A)", {"A": "x"}, "$x"),
        ("$$", {}, "$"),
        ("a$", {}, "a$"),  # a trailing operator stays
        ("$A", {"A": "x"}, "$A"),  # no parentheses: not a reference
        ("$(A", {"A": "x"}, "$(A"),  # unterminated
        ("$()", {"": "empty"}, "empty"),
        ("$(A)$(", {"A": "x"}, "x$("),
        ("no refs", {"A": "x"}, "no refs"),
        ("$(ü)", {"ü": "u"}, "u"),
    ],
)
def test_variable_references_expand_as_kubernetes(text, variables, expected):
    assert expand(text, variables) == expected


def test_command_and_args_expand_against_the_environment():
    assert expand_command(["sh", "-c", "echo $(GREETING) $$(HOME) $(NOPE)"], {"GREETING": "hi"}) == [
        "sh",
        "-c",
        "echo hi $(HOME) $(NOPE)",
    ]


def test_env_values_see_earlier_variables_and_env_from_but_not_later_ones():
    container = {
        "envFrom": [{"configMapRef": {"name": "settings"}}],
        "env": [
            {"name": "FIRST", "value": "one"},
            {"name": "SECOND", "value": "$(FIRST)-$(MODE)-$(THIRD)"},
            {"name": "THIRD", "value": "three"},
        ],
    }
    env = resolve(container)
    assert env["SECOND"] == "one-fast-$(THIRD)"
    assert env["THIRD"] == "three"


def test_env_overrides_env_from_and_later_env_from_overrides_earlier():
    container = {
        "envFrom": [{"configMapRef": {"name": "settings"}}, {"configMapRef": {"name": "extra"}}],
        "env": [{"name": "LEVEL", "value": "9"}],
    }
    env = resolve(container)
    assert env["MODE"] == "slow"
    assert env["LEVEL"] == "9"
    assert env["BLOB"] == "bytes"


def test_env_from_prefix_and_secret_values_are_decoded():
    container = {"envFrom": [{"secretRef": {"name": "creds"}, "prefix": "DB_"}]}
    assert resolve(container) == {"DB_USER": "admin", "DB_PASS": "s3cret"}


def test_empty_value_without_source_is_an_empty_variable():
    assert resolve({"env": [{"name": "EMPTY"}, {"name": "ALSO", "value": ""}]}) == {"EMPTY": "", "ALSO": ""}


@pytest.mark.parametrize(
    ("field_path", "expected"),
    [
        ("metadata.name", "web-1"),
        ("metadata.namespace", "shop"),
        ("metadata.uid", "uid-123"),
        ("metadata.labels['app']", "web"),
        ("metadata.labels['missing']", ""),
        ("metadata.annotations['note']", "hello"),
        ("spec.nodeName", "node-1"),
        ("spec.serviceAccountName", "robot"),
        ("status.podIP", "10.0.0.5"),
        ("status.podIPs", "10.0.0.5"),
        ("status.hostIP", "192.168.1.2"),
        ("status.hostIPs", "192.168.1.2"),
        ("metadata.labels", 'app="web"\ntier="front"'),
    ],
)
def test_field_refs_read_the_pod_and_the_node_view(field_path, expected):
    env = resolve({"env": [{"name": "V", "valueFrom": {"fieldRef": {"fieldPath": field_path}}}]})
    assert env == {"V": expected}


def test_unsupported_field_ref_is_a_config_error():
    with pytest.raises(ConfigError, match=r"unsupported fieldPath: spec\.hostname"):
        resolve({"env": [{"name": "V", "valueFrom": {"fieldRef": {"fieldPath": "spec.hostname"}}}]})


@pytest.mark.parametrize(
    ("resources", "resource", "divisor", "expected"),
    [
        ({"limits": {"cpu": "250m"}}, "limits.cpu", None, "1"),
        ({"limits": {"cpu": "250m"}}, "limits.cpu", "1m", "250"),
        ({"limits": {"cpu": "2"}}, "limits.cpu", None, "2"),
        ({"limits": {"memory": "64Mi"}}, "limits.memory", None, str(64 * 2**20)),
        ({"limits": {"memory": "64Mi"}}, "limits.memory", "1Mi", "64"),
        ({"limits": {"memory": "1500k"}}, "limits.memory", "1Mi", "2"),  # rounded up
        ({"requests": {"cpu": "100m"}}, "requests.cpu", "1m", "100"),
        ({"requests": {"memory": "1Gi"}}, "requests.memory", "1Gi", "1"),
        ({}, "requests.cpu", None, "0"),
        ({}, "limits.cpu", None, "4"),  # no limit: the node's allocatable
    ],
)
def test_resource_field_refs_divide_and_round_up(resources, resource, divisor, expected):
    reference = {"resource": resource}
    if divisor is not None:
        reference["divisor"] = divisor
    container = {"name": "app", "resources": resources, "env": [{"name": "V", "valueFrom": {"resourceFieldRef": reference}}]}
    assert resolve(container, allocatable={"cpu": "4", "memory": "8Gi"}) == {"V": expected}


def test_key_refs_read_config_maps_and_decoded_secrets():
    container = {
        "env": [
            {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "MODE"}}},
            {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "PASS"}}},
        ]
    }
    assert resolve(container) == {"MODE": "fast", "PASSWORD": "s3cret"}


@pytest.mark.parametrize(
    ("container", "message"),
    [
        ({"envFrom": [{"configMapRef": {"name": "nope"}}]}, 'configmap "nope" not found'),
        ({"envFrom": [{"secretRef": {"name": "nope"}}]}, 'secret "nope" not found'),
        (
            {"env": [{"name": "V", "valueFrom": {"configMapKeyRef": {"name": "nope", "key": "k"}}}]},
            'configmap "nope" not found',
        ),
        (
            {"env": [{"name": "V", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "k"}}}]},
            "couldn't find key k in ConfigMap shop/settings",
        ),
        (
            {"env": [{"name": "V", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "k"}}}]},
            "couldn't find key k in Secret shop/creds",
        ),
        (
            {"env": [{"name": "V", "valueFrom": {"secretKeyRef": {"name": "gone", "key": "k"}}}]},
            'secret "gone" not found',
        ),
    ],
)
def test_missing_sources_are_config_errors_with_kubernetes_messages(container, message):
    with pytest.raises(ConfigError) as raised:
        resolve(container)
    assert str(raised.value) == message


def test_optional_missing_sources_leave_the_variable_unset():
    container = {
        "envFrom": [{"configMapRef": {"name": "nope", "optional": True}}, {"secretRef": {"name": "x", "optional": True}}],
        "env": [
            {"name": "A", "valueFrom": {"configMapKeyRef": {"name": "nope", "key": "k", "optional": True}}},
            {"name": "B", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "k", "optional": True}}},
            {"name": "C", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "k", "optional": True}}},
            {"name": "D", "value": "$(A)"},
        ],
    }
    assert resolve(container) == {"D": "$(A)"}


def test_each_object_is_looked_up_once():
    calls = []

    def counting_lookup(kind, namespace, name):
        calls.append((kind, namespace, name))
        return lookup(kind, namespace, name)

    container = {
        "envFrom": [{"configMapRef": {"name": "settings"}}],
        "env": [
            {"name": "A", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "MODE"}}},
            {"name": "B", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "LEVEL"}}},
        ],
    }
    resolve(container, lookup=counting_lookup)
    assert calls == [("ConfigMap", "shop", "settings")]
