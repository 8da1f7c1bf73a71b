"""Projected and downwardAPI volumes: the `kube-api-access-*` volume becomes token, ca.crt and namespace files."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest

from minik8s.api.service_account_admission import token_volume
from minik8s.node.env import ConfigError
from minik8s.node.projection import TokenSource, token_sources
from minik8s.node.volumes import prepare_volumes, read_only_volumes

CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
OBJECTS: dict[tuple[str, str, str], dict[str, Any]] = {
    ("ConfigMap", "shop", "kube-root-ca.crt"): {"data": {"ca.crt": CA}},
    ("Secret", "shop", "creds"): {"data": {"user": "YWRtaW4="}},
}
API_ACCESS = TokenSource("", 3607)


def lookup(kind: str, namespace: str, name: str) -> dict[str, Any] | None:
    return OBJECTS.get((kind, namespace, name))


def pod_with(*volumes: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": "web", "namespace": "shop", "uid": "u1", "labels": {"app": "web", "tier": "a"}},
            "spec": {"serviceAccountName": "default", "volumes": list(volumes),
                     "containers": [{"name": "app", "resources": {"limits": {"memory": "64Mi"}}}]}}


def files_of(directory: Path) -> dict[str, tuple[str, int]]:
    return {str(path.relative_to(directory)): (path.read_text(), stat.S_IMODE(path.stat().st_mode))
            for path in sorted(directory.rglob("*")) if path.is_file()}


def test_the_api_access_volume_holds_the_token_the_ca_and_the_namespace(tmp_path: Path) -> None:
    pod = pod_with(token_volume("kube-api-access-b4z7q"))
    assert token_sources(pod) == {API_ACCESS}
    paths = prepare_volumes(pod, pod_dir=tmp_path, lookup=lookup, tokens={API_ACCESS: "eyJ.token"})
    assert files_of(paths["kube-api-access-b4z7q"]) == {
        "ca.crt": (CA, 0o644), "namespace": ("shop", 0o644), "token": ("eyJ.token", 0o644)}
    assert read_only_volumes(pod) == {"kube-api-access-b4z7q"}


def test_a_renewed_token_replaces_the_file_and_nothing_else(tmp_path: Path) -> None:
    pod = pod_with(token_volume("kube-api-access-b4z7q"))
    directory = prepare_volumes(pod, pod_dir=tmp_path, lookup=lookup, tokens={API_ACCESS: "first"})[
        "kube-api-access-b4z7q"]
    ca_inode = (directory / "ca.crt").stat().st_ino
    prepare_volumes(pod, pod_dir=tmp_path, lookup=lookup, tokens={API_ACCESS: "second"})
    assert (directory / "token").read_text() == "second"
    assert (directory / "ca.crt").stat().st_ino == ca_inode  # unchanged files are not rewritten


def test_sources_share_the_volumes_mode_and_items_pick_their_own(tmp_path: Path) -> None:
    volume = {"name": "all", "projected": {"defaultMode": 0o440, "sources": [
        {"secret": {"name": "creds", "items": [{"key": "user", "path": "auth/user", "mode": 0o400}]}},
        {"downwardAPI": {"items": [
            {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
            {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}},
            {"path": "memory", "resourceFieldRef": {"containerName": "app", "resource": "limits.memory",
                                                    "divisor": "1Mi"}}]}},
        {"serviceAccountToken": {"audience": "vault", "expirationSeconds": 600, "path": "vault-token"}},
    ]}}
    paths = prepare_volumes(pod_with(volume), pod_dir=tmp_path, lookup=lookup,
                            tokens={TokenSource("vault", 600): "v"})
    assert files_of(paths["all"]) == {"auth/user": ("admin", 0o400), "labels": ('app="web"\ntier="a"', 0o440),
                                      "memory": ("64", 0o440), "name": ("web", 0o440), "vault-token": ("v", 0o440)}


def test_a_downward_api_volume_of_its_own(tmp_path: Path) -> None:
    volume = {"name": "info", "downwardAPI": {"items": [
        {"path": "app", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.labels['app']"}}]}}
    paths = prepare_volumes(pod_with(volume), pod_dir=tmp_path, lookup=lookup)
    assert files_of(paths["info"]) == {"app": ("web", 0o644)}
    assert read_only_volumes(pod_with(volume)) == {"info"}


@pytest.mark.parametrize(("volume", "tokens", "message"), [
    (token_volume("kube-api-access-x"), {}, "no service account token was obtained for this pod"),
    (token_volume("kube-api-access-x"), {TokenSource("other", 3607): "t"}, "no service account token was obtained"),
    ({"name": "p", "projected": {"sources": [{"configMap": {"name": "absent"}}]}}, {},
     'configmap "absent" not found'),
    ({"name": "p", "projected": {"sources": [{"downwardAPI": {"items": [
        {"path": "ip", "fieldRef": {"fieldPath": "status.podIP"}}]}}]}}, {}, "unsupported fieldPath: status.podIP"),
    ({"name": "p", "projected": {"sources": [{"clusterTrustBundle": {"path": "b"}}]}}, {},
     "projected volume source"),
])
def test_what_a_projected_volume_cannot_hold(tmp_path: Path, volume: dict[str, Any], tokens: dict[TokenSource, str],
                                             message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        prepare_volumes(pod_with(volume), pod_dir=tmp_path, lookup=lookup, tokens=tokens)


def test_an_optional_missing_config_map_leaves_the_rest(tmp_path: Path) -> None:
    volume = {"name": "p", "projected": {"sources": [{"configMap": {"name": "absent", "optional": True}},
                                                     {"secret": {"name": "creds"}}]}}
    paths = prepare_volumes(pod_with(volume), pod_dir=tmp_path, lookup=lookup)
    assert files_of(paths["p"]) == {"user": ("admin", 0o644)}
