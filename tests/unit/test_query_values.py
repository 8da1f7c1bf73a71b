"""Query values are read with Go's rules, so a value Kubernetes refuses is refused here in its words."""

from __future__ import annotations

import pytest

from minik8s.api.kinds import PODS
from minik8s.apiserver.delete_options import DeleteOptions
from minik8s.apiserver.errors import StatusError
from minik8s.apiserver.query_values import parse_flag, parse_int64, parse_resource_version, parse_uint64
from minik8s.apiserver.request_options import ListOptions, page
from minik8s.apiserver.strategy import pod_grace_period


@pytest.mark.parametrize(("text", "value"), [("0", 0), ("-7", -7), ("+7", 7), ("007", 7),
                                             (str(2**63 - 1), 2**63 - 1), (str(-(2**63)), -(2**63))])
def test_int64_values_go_accepts(text: str, value: int) -> None:
    assert parse_int64(text) == value


@pytest.mark.parametrize(("text", "problem"), [("", "invalid syntax"), (" 1", "invalid syntax"),
                                               ("1_000", "invalid syntax"), ("١٢", "invalid syntax"),
                                               ("1e3", "invalid syntax"), ("0x10", "invalid syntax"),
                                               (str(2**63), "value out of range")])
def test_int64_values_go_refuses(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as refused:
        parse_int64(text)
    assert str(refused.value).startswith("strconv.ParseInt: parsing ")


def test_resource_versions_are_uint64() -> None:
    assert (parse_resource_version(None), parse_resource_version(""), parse_resource_version("0")) == (0, 0, 0)
    assert parse_resource_version("42") == 42 and parse_uint64(str(2**64 - 1)) == 2**64 - 1
    with pytest.raises(ValueError) as refused:
        parse_resource_version("+42")
    assert str(refused.value) == ('resourceVersion: Invalid value: "+42": strconv.ParseUint: parsing "+42": '
                                  "invalid syntax")


@pytest.mark.parametrize(("text", "value"), [(None, False), ("0", False), ("false", False), ("FALSE", False),
                                             ("1", True), ("true", True), ("", True), ("yes", True)])
def test_flags_read_as_kubernetes_converts_them(text: str | None, value: bool) -> None:
    assert parse_flag(text) is value


def test_a_limit_below_one_is_no_limit_and_pages_keep_every_item() -> None:
    items = [{"metadata": {"name": name, "namespace": "default"}} for name in ("a", "b", "c")]
    for limit in ("-1", "0", "-99"):
        options = ListOptions.parse(PODS, {"limit": limit})
        assert options.limit is None and page(items, options, revision=3) == (items, {"resourceVersion": "3"})
    first, metadata = page(items, ListOptions.parse(PODS, {"limit": "2"}), revision=3)
    assert [item["metadata"]["name"] for item in first] == ["a", "b"] and metadata["remainingItemCount"] == 1


def test_delete_options_merge_body_and_query_and_never_force_a_negative_grace() -> None:
    options = DeleteOptions.parse({"gracePeriodSeconds": "-3", "dryRun": "All"}, {"kind": "DeleteOptions",
                                                                                  "apiVersion": "meta.k8s.io/v1"})
    assert (options.grace_period_seconds, options.dry_run) == (1, True)
    orphaning = DeleteOptions.parse({}, {"orphanDependents": True,
                                         "preconditions": {"uid": "u", "resourceVersion": None}})
    assert (orphaning.propagation_policy, orphaning.precondition_uid, orphaning.precondition_resource_version) == (
        "Orphan", "u", None)
    with pytest.raises(StatusError) as refused:
        DeleteOptions.parse({}, {"kind": "Pod"})
    assert refused.value.code == 400


@pytest.mark.parametrize(("requested", "configured", "grace"), [(None, None, 30), (None, 5, 5), (None, -2, 1),
                                                                (0, 30, 0), (-1, 30, 1), (2**63 - 1, 30, 2**63 - 1)])
def test_a_bound_pods_grace_follows_kubernetes_pod_strategy(requested: int | None, configured: int | None,
                                                            grace: int) -> None:
    spec = {"nodeName": "n1", **({"terminationGracePeriodSeconds": configured} if configured is not None else {})}
    assert pod_grace_period({"metadata": {"name": "p"}, "spec": spec}, requested) == grace
    assert pod_grace_period({"metadata": {"name": "p"}, "spec": {}}, requested) == 0  # unscheduled: at once

