"""Encryption at rest: Kubernetes' EncryptionConfiguration read as kube-apiserver reads it, values sealed
with AES-GCM under named keys, and the cluster's config file made once, owner-only."""

from __future__ import annotations

import base64
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml

from minik8s.apiserver.encryption_config import (
    EncryptionConfigError,
    load_encryption_config,
    parse_encryption_config,
)
from minik8s.pki.encryption import ensure_encryption_config
from minik8s.store.encryption import ValueUnreadable, group_resource_of, resource_matches
from minik8s.store.state import Entry, StoreEvent

KEY = "/registry/secrets/default/db"
PLAIN = b'{"data":{"password":"aHVudGVyMg=="}}'


def key_of(fill: str, size: int = 32) -> str:
    return base64.b64encode(fill.encode()[:1] * size).decode()


def config(*providers: dict[str, Any], resources: tuple[str, ...] = ("secrets",)) -> dict[str, Any]:
    return {"apiVersion": "apiserver.config.k8s.io/v1", "kind": "EncryptionConfiguration",
            "resources": [{"resources": list(resources), "providers": list(providers)}]}


def aesgcm(*names: str) -> dict[str, Any]:
    return {"aesgcm": {"keys": [{"name": name, "secret": key_of(name)} for name in names]}}


IDENTITY: dict[str, Any] = {"identity": {}}


def test_a_secret_is_sealed_with_the_first_key_under_kubernetes_prefix_and_opens_again() -> None:
    transformers = parse_encryption_config(config(aesgcm("key1", "key0"), IDENTITY))
    sealed = transformers.seal_command({"op": "create", "key": KEY, "value": PLAIN, "request_id": "r"})
    assert sealed["request_id"] == "r"
    stored = sealed["value"]
    assert stored.startswith(b"k8s:enc:aesgcm:v1:key1:") and b"aHVudGVy" not in stored
    assert len(stored) == len(b"k8s:enc:aesgcm:v1:key1:") + 12 + len(PLAIN) + 16  # nonce, ciphertext, tag
    assert transformers.open_entry(KEY, Entry(stored, 1, 1)).value == PLAIN
    assert stored != transformers.seal_command({"op": "create", "key": KEY, "value": PLAIN})["value"]  # fresh nonce


def test_a_sealed_value_copied_under_another_key_does_not_open() -> None:
    """The store key is the authenticated data: a Secret's ciphertext cannot be replayed as another's."""
    transformers = parse_encryption_config(config(aesgcm("key1")))
    stored = transformers.seal_command({"op": "create", "key": KEY, "value": PLAIN})["value"]
    with pytest.raises(ValueUnreadable, match="message authentication failed"):
        transformers.open_entry("/registry/secrets/default/other", Entry(stored, 1, 1))


def test_only_the_configured_resources_are_sealed_in_transactions_and_batches_too() -> None:
    transformers = parse_encryption_config(config(aesgcm("key1")))
    ops: list[dict[str, Any]] = [{"op": "create", "key": KEY, "value": PLAIN},
                                 {"op": "create", "key": "/registry/configmaps/default/c", "value": b"{}"},
                                 {"op": "delete", "key": "/registry/secrets/default/old", "mod_revision": 3}]
    batch = {"op": "batch", "commands": [{"op": "txn", "ops": ops}]}
    sealed = transformers.seal_command(batch)["commands"][0]["ops"]
    assert sealed[0]["value"].startswith(b"k8s:enc:aesgcm:v1:key1:")
    assert sealed[1:] == ops[1:]
    assert ops[0]["value"] == PLAIN  # the caller's command is left as it was


def test_rotation_reads_every_listed_key_and_writes_with_the_first() -> None:
    old = parse_encryption_config(config(aesgcm("key1"), IDENTITY))
    during = parse_encryption_config(config(aesgcm("key2", "key1"), IDENTITY))
    after = parse_encryption_config(config(aesgcm("key2")))
    by_key1 = old.seal_command({"op": "update", "key": KEY, "value": PLAIN})["value"]
    assert during.open_entry(KEY, Entry(by_key1, 1, 1)).value == PLAIN
    rewritten = during.seal_command({"op": "update", "key": KEY, "value": PLAIN})["value"]
    assert rewritten.startswith(b"k8s:enc:aesgcm:v1:key2:")
    assert after.open_entry(KEY, Entry(rewritten, 2, 2)).value == PLAIN
    with pytest.raises(ValueUnreadable, match="no matching prefix found"):
        after.open_entry(KEY, Entry(by_key1, 1, 1))  # the old key is gone: not rewritten, not readable


def test_identity_reads_values_stored_before_encryption_but_never_sealed_ones() -> None:
    transformers = parse_encryption_config(config(aesgcm("key1"), IDENTITY))
    assert transformers.open_entry(KEY, Entry(PLAIN, 1, 1)).value == PLAIN
    identity_only = parse_encryption_config(config(IDENTITY))
    sealed = transformers.seal_command({"op": "create", "key": KEY, "value": PLAIN})["value"]
    assert identity_only.seal_command({"op": "create", "key": KEY, "value": PLAIN})["value"] == PLAIN
    with pytest.raises(ValueUnreadable):
        identity_only.open_entry(KEY, Entry(sealed, 1, 1))
    without_identity = parse_encryption_config(config(aesgcm("key1")))
    with pytest.raises(ValueUnreadable):
        without_identity.open_entry(KEY, Entry(PLAIN, 1, 1))


def test_watch_events_and_lists_leave_the_store_opened() -> None:
    transformers = parse_encryption_config(config(aesgcm("key1")))
    sealed = transformers.seal_command({"op": "create", "key": KEY, "value": PLAIN})["value"]
    event = transformers.open_event(StoreEvent(2, "MODIFIED", KEY, sealed, sealed))
    assert (event.value, event.prev_value) == (PLAIN, PLAIN)
    configmap = StoreEvent(3, "ADDED", "/registry/configmaps/default/c", b"{}", None)
    assert transformers.open_event(configmap) is configmap
    items = [(KEY, Entry(sealed, 2, 2))]
    assert transformers.open_items("/registry/secrets/default/", items) == [(KEY, Entry(PLAIN, 2, 2))]
    configmaps = [("/registry/configmaps/default/c", Entry(b"{}", 3, 3))]
    assert transformers.open_items("/registry/configmaps/", configmaps) is configmaps


@pytest.mark.parametrize(("pattern", "group_resource", "matches"), [
    ("secrets", "secrets", True),
    ("secrets", "configmaps", False),
    ("*.", "secrets", True),
    ("*.", "deployments.apps", False),
    ("*.apps", "deployments.apps", True),
    ("*.apps", "leases.coordination.k8s.io", False),
    ("*.coordination.k8s.io", "leases.coordination.k8s.io", True),
    ("*.*", "leases.coordination.k8s.io", True),
    ("*.*", "allocations", False),  # the Service address bookkeeping is not an API resource
])
def test_resource_names_and_wildcards_match_as_kubernetes_documents(pattern: str, group_resource: str,
                                                                    matches: bool) -> None:
    assert resource_matches(pattern, group_resource) is matches


def test_store_keys_name_their_resource() -> None:
    assert group_resource_of("/registry/secrets/default/db") == "secrets"
    assert group_resource_of("/registry/deployments.apps/") == "deployments.apps"
    assert group_resource_of("/registry/secrets") is None  # a prefix that may cover more than one resource
    assert group_resource_of("/registry/") is None


@pytest.mark.parametrize(("document", "message"), [
    ({"kind": "EncryptionConfig"}, "want kind EncryptionConfiguration"),
    ({**config(IDENTITY), "resources": []}, "resources: Required value"),
    (config(resources=()), "resources[0].resources: Required value"),
    (config(IDENTITY, resources=("Secrets",)), "should not contain capital letters"),
    (config(IDENTITY, resources=("*",)), "use '*.' to encrypt all the resources"),
    (config(IDENTITY, resources=("secrets.*",)), "encrypting the same resource across groups"),
    (config(IDENTITY, resources=("secrets", "secrets")), "cannot be specified multiple times"),
    (config(), "resources[0].providers: Required value"),
    (config({"aesgcm": {"keys": []}}), "resources[0].providers[0].aesgcm.keys: Required value"),
    (config({"aesgcm": {"keys": [{"secret": key_of("a")}]}}), "keys[0].name: Required value"),
    (config({"aesgcm": {"keys": [{"name": "k", "secret": "not base64!"}]}}), "secrets must be base64 encoded"),
    (config({"aesgcm": {"keys": [{"name": "k", "secret": key_of("a", 10)}]}}),
     "got 10, expected one of [16 24 32]"),
    (config({"aescbc": {"keys": []}}), "minik8s implements the aesgcm and identity providers"),
    (config({"identity": {}, "aesgcm": {"keys": []}}), "more than one provider specified in a single element"),
    (config({"rot13": {}}), "provider does not contain any of the expected providers"),
])
def test_an_invalid_configuration_is_refused_naming_the_field(document: dict[str, Any], message: str) -> None:
    with pytest.raises(EncryptionConfigError) as refused:
        parse_encryption_config(document)
    assert message in str(refused.value)
    assert key_of("a") not in str(refused.value)


def test_the_cluster_config_file_is_made_once_owner_only_and_read_by_the_apiserver(tmp_path: Path) -> None:
    path = ensure_encryption_config(tmp_path / "encryption.yaml")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    document = yaml.safe_load(path.read_text())
    assert document["resources"][0]["resources"] == ["secrets"]
    assert [next(iter(p)) for p in document["resources"][0]["providers"]] == ["aesgcm", "identity"]
    assert len(base64.b64decode(document["resources"][0]["providers"][0]["aesgcm"]["keys"][0]["secret"])) == 32
    transformers = load_encryption_config(path)
    assert transformers.seal_command({"op": "create", "key": KEY, "value": PLAIN})["value"].startswith(
        b"k8s:enc:aesgcm:v1:key1:")
    text = path.read_text()
    path.chmod(0o644)
    assert ensure_encryption_config(path).read_text() == text  # kept: it may hold keys being rotated
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_unreadable_file_names_itself(tmp_path: Path) -> None:
    path = tmp_path / "encryption.yaml"
    path.write_text("resources: [")
    with pytest.raises(EncryptionConfigError, match=r"encryption\.yaml: not YAML"):
        load_encryption_config(path)


def test_a_value_sealed_otherwise_than_a_write_would_seal_it_now_is_stale() -> None:
    """Kubernetes' `stale`: an unchanged object is still written back when it is, so `kubectl replace` rotates."""
    old = parse_encryption_config(config(aesgcm("key1"), IDENTITY))
    now = parse_encryption_config(config(aesgcm("key2", "key1"), IDENTITY))
    by_key1 = old.seal_command({"op": "create", "key": KEY, "value": PLAIN})["value"]
    by_key2 = now.seal_command({"op": "create", "key": KEY, "value": PLAIN})["value"]
    assert now.is_stale(KEY, by_key1) and now.is_stale(KEY, PLAIN)
    assert not now.is_stale(KEY, by_key2)
    assert not now.is_stale("/registry/configmaps/default/c", b"{}")
    decrypting = parse_encryption_config(config(IDENTITY, aesgcm("key1")))  # how encryption is turned off
    assert decrypting.is_stale(KEY, by_key1) and not decrypting.is_stale(KEY, PLAIN)
