"""LimitRanger: the defaults a LimitRange gives a pod's containers, and the bounds it holds them to, in Kubernetes'
words (plugin/pkg/admission/limitranger)."""

from __future__ import annotations

from typing import Any

import pytest

from minik8s.api.limit_ranger import ANNOTATION, aggregate, apply_defaults, violations
from minik8s.api.policy_defaults import default_limit_range


def limit_range(*items: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": "lr"}, "spec": {"limits": list(items)}}


def container(name: str = "app", **resources: Any) -> dict[str, Any]:
    return {"name": name, "image": "i", **({"resources": resources} if resources else {})}


def pod(*containers: dict[str, Any], init: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": list(containers)}
    if init:
        spec["initContainers"] = list(init)
    return {"metadata": {"name": "p"}, "spec": spec}


def test_defaults_fill_only_what_each_container_lacks_and_are_noted_in_an_annotation() -> None:
    subject = pod(container("web", requests={"cpu": "50m"}), container("side"), init=(container("setup"),))
    apply_defaults(subject, limit_range({"type": "Container", "default": {"cpu": "1", "memory": "256Mi"},
                                         "defaultRequest": {"cpu": "200m"}}))
    web, side = subject["spec"]["containers"]
    assert web["resources"] == {"requests": {"cpu": "50m"}, "limits": {"cpu": "1", "memory": "256Mi"}}
    assert side["resources"] == {"limits": {"cpu": "1", "memory": "256Mi"}, "requests": {"cpu": "200m"}}
    assert subject["metadata"]["annotations"] == {ANNOTATION: (
        "LimitRanger plugin set: cpu, memory limit for container web; cpu request for container side; "
        "cpu, memory limit for container side; cpu request for init container setup; "
        "cpu, memory limit for init container setup")}


def test_a_range_without_container_defaults_changes_nothing() -> None:
    subject = pod(container())
    apply_defaults(subject, limit_range({"type": "Pod", "max": {"cpu": "2"}}))
    assert subject == pod(container())


def test_the_stored_range_defaults_limits_to_max_and_requests_to_limits_or_min() -> None:
    stored = limit_range({"type": "Container", "max": {"cpu": "2"}, "min": {"memory": "1000Mi"}},
                         {"type": "Pod", "max": {"cpu": "4"}})
    default_limit_range(stored, True)
    assert stored["spec"]["limits"] == [
        {"type": "Container", "max": {"cpu": "2"}, "min": {"memory": "1000Mi"}, "default": {"cpu": "2"},
         "defaultRequest": {"cpu": "2", "memory": "1000Mi"}},
        {"type": "Pod", "max": {"cpu": "4"}}]


@pytest.mark.parametrize(("item", "resources", "problems"), [
    ({"max": {"cpu": "1"}}, {"limits": {"cpu": "2"}}, ["maximum cpu usage per Container is 1, but limit is 2"]),
    ({"max": {"cpu": "1"}}, {"requests": {"cpu": "500m"}},
     ["maximum cpu usage per Container is 1.  No limit is specified"]),
    ({"max": {"memory": "1Gi"}}, {"limits": {"memory": "1Gi"}, "requests": {"memory": "2Gi"}},
     ["maximum memory usage per Container is 1Gi, but request is 2Gi"]),
    ({"min": {"cpu": "100m"}}, {"limits": {"cpu": "1"}}, ["minimum cpu usage per Container is 100m.  No request is specified"]),
    ({"min": {"cpu": "100m"}}, {"requests": {"cpu": "50m"}},
     ["minimum cpu usage per Container is 100m, but request is 50m"]),
    ({"min": {"cpu": "100m"}}, {"requests": {"cpu": "100m"}, "limits": {"cpu": "0.05"}},
     ["minimum cpu usage per Container is 100m, but limit is 50m"]),
    ({"maxLimitRequestRatio": {"cpu": "2"}}, {"limits": {"cpu": "1"}, "requests": {"cpu": "300m"}},
     ["cpu max limit to request ratio per Container is 2, but provided ratio is 3.333333"]),
    ({"maxLimitRequestRatio": {"cpu": "2"}}, {"limits": {"cpu": "1"}},
     ["cpu max limit to request ratio per Container is 2, but no request is specified or request is 0"]),
    ({"maxLimitRequestRatio": {"memory": "1500m"}}, {"requests": {"memory": "1Gi"}},
     ["memory max limit to request ratio per Container is 1500m, but no limit is specified or limit is 0"]),
    ({"min": {"cpu": "100m"}, "max": {"cpu": "1"}, "maxLimitRequestRatio": {"cpu": "2"}},
     {"limits": {"cpu": "1"}, "requests": {"cpu": "500m"}}, []),
])  # fmt: skip
def test_container_bounds(item: dict[str, Any], resources: dict[str, Any], problems: list[str]) -> None:
    assert violations(pod(container(**resources)), limit_range({"type": "Container", **item})) == problems


def test_init_containers_are_bounded_too_and_pods_by_their_totals() -> None:
    subject = pod(container("a", limits={"cpu": "1"}, requests={"cpu": "1"}),
                  container("b", limits={"cpu": "1"}, requests={"cpu": "1"}),
                  init=(container("setup", limits={"cpu": "3"}, requests={"cpu": "3"}),))
    assert violations(subject, limit_range({"type": "Container", "max": {"cpu": "2"}})) == [
        "maximum cpu usage per Container is 2, but limit is 3"]
    # the pod needs max(a + b, setup) = 3 CPUs
    assert violations(subject, limit_range({"type": "Pod", "max": {"cpu": "2500m"}})) == [
        "maximum cpu usage per Pod is 2500m, but limit is 3"]


def test_a_sidecar_adds_to_the_pod_total() -> None:
    sidecar = {**container("proxy", requests={"cpu": "1"}, limits={"cpu": "1"}), "restartPolicy": "Always"}
    subject = pod(container("app", requests={"cpu": "2"}, limits={"cpu": "2"}), init=(sidecar,))
    assert violations(subject, limit_range({"type": "Pod", "max": {"cpu": "2"}})) == [
        "maximum cpu usage per Pod is 2, but limit is 3"]


def test_several_problems_read_as_one_bracketed_list_without_repeats() -> None:
    assert aggregate(["one"]) == "one"
    assert aggregate(["one", "two", "one"]) == "[one, two]"
