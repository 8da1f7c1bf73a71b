"""The ServiceAccount admission plugin's decision (plugin/pkg/admission/serviceaccount/admission.go)."""

from __future__ import annotations

from typing import Any

import pytest

from minik8s.api.service_account_admission import (
    TOKEN_MOUNT_PATH,
    admit_pod,
    mirror_pod_refusal,
    should_automount,
    token_volume,
)
from minik8s.apiserver.admission import DEFAULT_PLUGINS, SERVICE_ACCOUNT, enabled_plugins

ACCOUNT: dict[str, Any] = {"metadata": {"name": "default", "namespace": "default"}}
MOUNT = {"name": "kube-api-access-b4z7q", "readOnly": True, "mountPath": TOKEN_MOUNT_PATH}


def pod(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "web", "namespace": "default"},
            "spec": {"serviceAccountName": "default", "containers": [{"name": "app"}], **spec}}


def admitted(body: dict[str, Any], account: dict[str, Any] = ACCOUNT) -> dict[str, Any]:
    admit_pod(body, account, new_volume_name="kube-api-access-b4z7q")
    return body


def test_the_token_volume_is_kubernetes_own_as_a_pod_reads_back() -> None:
    assert token_volume("kube-api-access-b4z7q") == {"name": "kube-api-access-b4z7q", "projected": {
        "defaultMode": 420,
        "sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace",
                                        "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
        ]}}


def test_every_container_and_init_container_mounts_the_token_read_only() -> None:
    spec = admitted(pod(initContainers=[{"name": "init"}],
                        containers=[{"name": "app", "volumeMounts": [{"name": "data", "mountPath": "/data"}]},
                                    {"name": "sidecar"}]))["spec"]
    assert spec["initContainers"][0]["volumeMounts"] == [MOUNT]
    assert spec["containers"][0]["volumeMounts"] == [{"name": "data", "mountPath": "/data"}, MOUNT]
    assert spec["containers"][1]["volumeMounts"] == [MOUNT]
    assert spec["volumes"] == [token_volume("kube-api-access-b4z7q")]


def test_a_container_with_its_own_mount_at_the_token_path_keeps_it() -> None:
    own = {"name": "mine", "mountPath": TOKEN_MOUNT_PATH}
    spec = admitted(pod(containers=[{"name": "app", "volumeMounts": [own]}],
                        volumes=[{"name": "mine", "emptyDir": {}}]))["spec"]
    assert spec["containers"][0]["volumeMounts"] == [own]
    assert spec["volumes"] == [{"name": "mine", "emptyDir": {}}]  # nobody mounts a token volume: none is added


def test_a_pod_with_a_token_volume_keeps_it_and_mounts_it_where_missing() -> None:
    existing = token_volume("kube-api-access-zzzzz")
    spec = admitted(pod(volumes=[existing]))["spec"]
    assert spec["volumes"] == [existing]
    assert spec["containers"][0]["volumeMounts"] == [{**MOUNT, "name": "kube-api-access-zzzzz"}]


@pytest.mark.parametrize(("on_pod", "on_account", "mounted"), [
    (None, None, True),
    (False, None, False),
    (None, False, False),
    (True, False, True),
    (False, True, False),
])
def test_automount_the_pod_decides_then_the_account(on_pod: bool | None, on_account: bool | None,
                                                    mounted: bool) -> None:
    body = pod() if on_pod is None else pod(automountServiceAccountToken=on_pod)
    account = ACCOUNT if on_account is None else {**ACCOUNT, "automountServiceAccountToken": on_account}
    assert should_automount(account, body) is mounted
    assert ("volumes" in admitted(body, account)["spec"]) is mounted


def test_the_accounts_image_pull_secrets_fill_a_pod_that_names_none() -> None:
    account = {**ACCOUNT, "imagePullSecrets": [{"name": "registry"}]}
    assert admitted(pod(), account)["spec"]["imagePullSecrets"] == [{"name": "registry"}]
    own = pod(imagePullSecrets=[{"name": "mine"}])
    assert admitted(own, account)["spec"]["imagePullSecrets"] == [{"name": "mine"}]


MIRROR = {"kubernetes.io/config.mirror": "hash"}


@pytest.mark.parametrize(("spec", "reason"), [
    ({}, None),
    ({"serviceAccountName": "default"}, "a mirror pod may not reference service accounts"),
    ({"volumes": [{"name": "s", "secret": {"secretName": "tls"}}]}, "a mirror pod may not reference secrets"),
    ({"containers": [{"name": "c", "envFrom": [{"secretRef": {"name": "env"}}]}]},
     "a mirror pod may not reference secrets"),
    ({"volumes": [{"name": "t", "projected": {"sources": [{"serviceAccountToken": {"path": "t"}}]}}]},
     "a mirror pod may not use ServiceAccountToken volume projections"),
])
def test_a_mirror_pod_may_reference_no_account_secret_or_token(spec: dict[str, Any], reason: str | None) -> None:
    body = {"metadata": {"name": "static", "annotations": MIRROR}, "spec": {"containers": [{"name": "c"}], **spec}}
    assert mirror_pod_refusal(body) == reason


def test_admission_plugins_are_named_as_kube_apiserver_names_them() -> None:
    assert SERVICE_ACCOUNT not in enabled_plugins()  # opt-in here: see apiserver/admission.py
    assert "PodSecurity" in enabled_plugins()  # on by default, as in Kubernetes
    assert enabled_plugins(["ServiceAccount"]) == DEFAULT_PLUGINS | {SERVICE_ACCOUNT}
    assert enabled_plugins([], ["ServiceAccount"]) == DEFAULT_PLUGINS
    with pytest.raises(ValueError, match='enable-admission-plugins plugin "Nope" is unknown'):
        enabled_plugins(["Nope"])
    with pytest.raises(ValueError, match=r"\[ServiceAccount\] in enable-admission-plugins and "
                                         "disable-admission-plugins overlapped"):
        enabled_plugins(["ServiceAccount"], ["ServiceAccount"])
