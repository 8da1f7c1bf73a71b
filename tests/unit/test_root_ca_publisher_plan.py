"""The root CA publisher's decision: what a namespace's kube-root-ca.crt must become (rootcacertpublisher)."""

from __future__ import annotations

from typing import Any

from minik8s.controllers.root_ca_publisher.plan import (
    DESCRIPTION,
    DESCRIPTION_ANNOTATION,
    new_config_map,
    plan,
)

CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
ACTIVE = {"metadata": {"name": "team"}, "status": {"phase": "Active"}}
TERMINATING = {"metadata": {"name": "team", "deletionTimestamp": "2026-03-01T11:00:00Z"},
               "status": {"phase": "Terminating"}}


def published(**changes: Any) -> dict[str, Any]:
    config_map = new_config_map("team", CA)
    config_map["metadata"]["resourceVersion"] = "7"
    return {**config_map, **changes}


def test_a_namespace_without_it_gets_the_ca_and_its_description() -> None:
    publish = plan("team", ACTIVE, None, CA)
    assert publish is not None and publish.action == "create"
    assert publish.config_map == {"apiVersion": "v1", "kind": "ConfigMap", "data": {"ca.crt": CA}, "metadata": {
        "name": "kube-root-ca.crt", "namespace": "team", "annotations": {DESCRIPTION_ANNOTATION: DESCRIPTION}}}


def test_nothing_is_created_where_nothing_may_be() -> None:
    assert plan("team", TERMINATING, None, CA) is None
    assert plan("team", None, None, CA) is None


def test_a_published_config_map_is_left_alone() -> None:
    assert plan("team", ACTIVE, published(), CA) is None


def test_edited_data_or_a_lost_description_is_put_back_keeping_the_rest() -> None:
    edited = published(data={"ca.crt": "forged", "extra": "x"})
    edited["metadata"]["labels"] = {"keep": "me"}
    publish = plan("team", ACTIVE, edited, CA)
    assert publish is not None and publish.action == "update"
    assert publish.config_map["data"] == {"ca.crt": CA}
    assert publish.config_map["metadata"]["labels"] == {"keep": "me"}
    assert publish.config_map["metadata"]["resourceVersion"] == "7"  # the update is guarded
    undescribed = published()
    undescribed["metadata"] = {**undescribed["metadata"], "annotations": {"mine": "yes"}}
    restored = plan("team", TERMINATING, undescribed, CA)
    assert restored is not None and restored.config_map["metadata"]["annotations"] == {
        "mine": "yes", DESCRIPTION_ANNOTATION: DESCRIPTION}
    assert edited["data"] == {"ca.crt": "forged", "extra": "x"}  # the cached object is not changed
