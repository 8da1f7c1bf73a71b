"""What the PodSecurity admission plugin decides from a namespace's labels, for pods, templates and namespaces."""

from __future__ import annotations

from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings

from minik8s.api.pod_security.admission import (
    AUDIT_VIOLATIONS,
    ENFORCE_POLICY,
    ERROR,
    PodSecurityConfig,
    decide_namespace,
    decide_pod,
    decide_template,
    existing_pod_warnings,
    is_significant_pod_update,
    template_of,
)
from minik8s.api.pod_security.levels import (
    BASELINE,
    LATEST,
    PRIVILEGED,
    RESTRICTED,
    LevelVersion,
    Policy,
    policy_to_evaluate,
    v1,
)
from minik8s.api.pod_unsupported import unsupported_fields

BASELINE_DEFAULT = PodSecurityConfig(Policy.uniform(BASELINE))
FIELDS = st.sampled_from(["containers", "initContainers", "ephemeralContainers", "securityContext", "volumes", "name",
                          "image", "ports", "hostPort", "capabilities", "add", "drop", "privileged", "seccompProfile",
                          "type", "appArmorProfile", "seLinuxOptions", "sysctls", "windowsOptions", "hostProcess",
                          "runAsUser", "runAsNonRoot", "procMount", "hostPath", "hostNetwork", "annotations",
                          "labels", "ownerReferences", "lifecycle", "volumeMounts", "os",
                          "pod-security.kubernetes.io/enforce"])
HOST_ROOT = 'hostPath volumes (volume "root")'


def pod(name: str = "p", namespace: str = "apps", *, host_root: bool = False, image: str = "nginx",
        owner: str | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if owner:
        metadata["ownerReferences"] = [{"kind": "ReplicaSet", "name": owner, "uid": owner, "controller": True}]
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": image}]}
    if host_root:
        spec["volumes"] = [{"name": "root", "hostPath": {"path": "/"}}]
    return {"metadata": metadata, "spec": spec}


def namespace(name: str = "apps", **labels: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": {f"pod-security.kubernetes.io/{k.replace('_', '-')}": v
                                                  for k, v in labels.items()}}}


def labels(**modes: str) -> dict[str, str]:
    found: dict[str, str] = namespace(**modes)["metadata"]["labels"]
    return found


def test_labels_name_level_and_version_per_mode_over_the_defaults() -> None:
    policy, problems = policy_to_evaluate(labels(enforce="restricted", warn="baseline", warn_version="v1.29"),
                                          Policy.uniform(PRIVILEGED))
    assert problems == []
    assert policy == Policy(LevelVersion(RESTRICTED), LevelVersion(PRIVILEGED), LevelVersion(BASELINE, v1(29)))
    assert str(policy.enforce) == "restricted:latest" and str(policy.warn) == "baseline:v1.29"


def test_unreadable_labels_fail_closed_for_enforce_and_open_for_warn_and_audit() -> None:
    policy, problems = policy_to_evaluate(labels(enforce="strict", enforce_version="1.29", audit="loud", warn="x"),
                                          Policy.uniform(BASELINE, v1(30)))
    assert policy == Policy(LevelVersion(RESTRICTED, LATEST), LevelVersion(PRIVILEGED, v1(30)),
                            LevelVersion(PRIVILEGED, v1(30)))
    assert [str(problem) for problem in problems] == [
        'metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict": '
        "must be one of privileged, baseline, restricted",
        'metadata.labels[pod-security.kubernetes.io/enforce-version]: Invalid value: "1.29": '
        'must be "latest" or "v1.x"',
        'metadata.labels[pod-security.kubernetes.io/audit]: Invalid value: "loud": '
        "must be one of privileged, baseline, restricted",
        'metadata.labels[pod-security.kubernetes.io/warn]: Invalid value: "x": '
        "must be one of privileged, baseline, restricted"]
    assert policy_to_evaluate(labels(enforce_version="v1.07"), Policy.uniform(BASELINE))[1] != []


def test_a_pod_breaking_the_enforced_level_is_refused_without_warnings() -> None:
    decision = decide_pod(BASELINE_DEFAULT, {}, pod(host_root=True))
    assert decision.forbidden == f'violates PodSecurity "baseline:latest": {HOST_ROOT}'
    assert decision.warnings == ()
    assert decision.audit == {ENFORCE_POLICY: "baseline:latest",
                              AUDIT_VIOLATIONS: f'would violate PodSecurity "baseline:latest": {HOST_ROOT}'}


def test_a_privileged_namespace_lets_the_pod_in_and_a_stricter_warn_level_warns() -> None:
    assert decide_pod(BASELINE_DEFAULT, labels(enforce="privileged", warn="privileged", audit="privileged"),
                      pod(host_root=True)).allowed
    decision = decide_pod(BASELINE_DEFAULT, labels(enforce="privileged", warn="restricted", warn_version="v1.31"),
                          pod(host_root=True))
    assert decision.allowed
    [warning] = decision.warnings
    assert warning.startswith('would violate PodSecurity "restricted:v1.31": allowPrivilegeEscalation != false (')
    assert 'restricted volume types (volume "root" uses restricted volume type "hostPath")' in warning


def test_invalid_namespace_labels_are_noted_for_audit_and_enforce_restricted() -> None:
    decision = decide_pod(PodSecurityConfig(), labels(enforce="everything"), pod())
    assert decision.forbidden.startswith('violates PodSecurity "restricted:latest": allowPrivilegeEscalation')
    assert decision.audit[ERROR] == ('Failed to parse policy: metadata.labels[pod-security.kubernetes.io/enforce]: '
                                     'Invalid value: "everything": must be one of privileged, baseline, restricted')


def test_exempt_namespaces_are_never_checked() -> None:
    config = PodSecurityConfig(Policy.uniform(RESTRICTED), frozenset({"apps"}))
    assert decide_pod(config, labels(enforce="restricted"), pod(host_root=True)).allowed
    assert decide_template(config, {}, "deployments.apps", {"metadata": {"namespace": "apps"}}).allowed


def test_only_an_update_that_adds_a_container_or_changes_an_image_is_checked() -> None:
    old = pod(host_root=True)
    relabelled = pod(host_root=True)
    relabelled["metadata"]["labels"] = {"a": "b"}
    assert not is_significant_pod_update(relabelled, old)
    assert decide_pod(BASELINE_DEFAULT, {}, relabelled, old).allowed  # a stored pod keeps being updatable
    new_image = pod(host_root=True, image="nginx:2")
    assert is_significant_pod_update(new_image, old)
    assert decide_pod(BASELINE_DEFAULT, {}, new_image, old).forbidden


@pytest.mark.parametrize(("group_resource", "workload"), [
    ("deployments.apps", {"spec": {"template": pod(host_root=True)}}),
    ("replicasets.apps", {"spec": {"template": pod(host_root=True)}}),
    ("daemonsets.apps", {"spec": {"template": pod(host_root=True)}}),
    ("statefulsets.apps", {"spec": {"template": pod(host_root=True)}}),
    ("jobs.batch", {"spec": {"template": pod(host_root=True)}}),
    ("cronjobs.batch", {"spec": {"jobTemplate": {"spec": {"template": pod(host_root=True)}}}}),
])
def test_a_pod_template_is_warned_about_never_refused(group_resource: str, workload: dict[str, Any]) -> None:
    workload["metadata"] = {"name": "w", "namespace": "apps"}
    assert template_of(group_resource, workload) is not None
    decision = decide_template(BASELINE_DEFAULT, {}, group_resource, workload)
    assert decision.allowed
    assert decision.warnings == (f'would violate PodSecurity "baseline:latest": {HOST_ROOT}',)
    assert ENFORCE_POLICY not in decision.audit


def test_kinds_without_a_template_and_privileged_namespaces_are_left_alone() -> None:
    assert decide_template(BASELINE_DEFAULT, {}, "services", {"metadata": {"namespace": "apps"}}).allowed
    assert decide_template(BASELINE_DEFAULT, {}, "deployments.apps", {"metadata": {"namespace": "apps"}}) \
        .warnings == ()
    privileged = labels(enforce="baseline", warn="privileged", audit="privileged")
    workload = {"metadata": {"namespace": "apps"}, "spec": {"template": pod(host_root=True)}}
    assert decide_template(BASELINE_DEFAULT, privileged, "deployments.apps", workload).warnings == ()


def test_a_namespace_needs_valid_labels_to_be_created_or_to_change_them() -> None:
    bad = namespace(enforce="strict")
    refused = decide_namespace(BASELINE_DEFAULT, bad, None, list)
    assert [str(problem) for problem in refused.invalid] == [
        'metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict": '
        "must be one of privileged, baseline, restricted"]
    assert decide_namespace(BASELINE_DEFAULT, bad, namespace(enforce="strict"), list).allowed  # unchanged: kept
    assert not decide_namespace(BASELINE_DEFAULT, bad, namespace(), list).allowed
    assert decide_namespace(BASELINE_DEFAULT, namespace(enforce="restricted", enforce_version="v1.30"), None,
                            list).allowed


def test_tightening_enforcement_warns_about_the_existing_pods_that_break_it() -> None:
    pods = [pod("b-root", host_root=True), pod("a-root", host_root=True), pod("web"),
            pod("rs-1", host_root=True, owner="rs"), pod("rs-2", host_root=True, owner="rs")]
    decision = decide_namespace(PodSecurityConfig(), namespace(enforce="baseline"), namespace(), lambda: pods)
    assert decision.allowed
    assert decision.warnings == (
        'existing pods in namespace "apps" violate the new PodSecurity enforce level "baseline:latest"',
        "a-root (and 3 other pods): hostPath volumes")
    restricted = decide_namespace(PodSecurityConfig(), namespace(enforce="restricted"), namespace(enforce="baseline"),
                                  lambda: [pod("web"), pod("x", host_root=True)])
    assert restricted.warnings[1:] == (
        "web: allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, seccompProfile",
        "x: allowPrivilegeEscalation != false, unrestricted capabilities, restricted volume types, "
        "runAsNonRoot != true, seccompProfile")


def test_relaxing_or_keeping_enforcement_checks_no_pod() -> None:
    def no_pods() -> list[dict[str, Any]]:
        raise AssertionError("the pods were listed")

    config = PodSecurityConfig()
    assert decide_namespace(config, namespace(enforce="baseline"), namespace(enforce="restricted"), no_pods).warnings \
        == ()
    assert decide_namespace(config, namespace(enforce="baseline", warn="restricted"), namespace(enforce="baseline"),
                            no_pods).warnings == ()
    assert decide_namespace(config, namespace(enforce="privileged"), namespace(enforce="baseline"), no_pods).warnings \
        == ()


def test_the_check_of_existing_pods_is_bounded() -> None:
    many = [pod(f"p{n:04}", host_root=True) for n in range(3002)]
    warnings = existing_pod_warnings("apps", LevelVersion(BASELINE), many)
    assert warnings == [
        "new PodSecurity enforce level only checked against the first 3000 of 3002 existing pods",
        'existing pods in namespace "apps" violate the new PodSecurity enforce level "baseline:latest"',
        "p0000 (and 2999 other pods): hostPath volumes"]
    assert existing_pod_warnings("apps", LevelVersion(BASELINE), [pod("x", host_root=True), pod("y", host_root=True)]) \
        [-1] == "x (and 1 other pod): hostPath volumes"


def test_an_exempt_namespace_with_a_policy_is_told_it_is_ignored() -> None:
    config = PodSecurityConfig(exempt_namespaces=frozenset({"kube-system"}))
    decision = decide_namespace(config, namespace("kube-system", enforce="baseline", warn="restricted"), None, list)
    assert decision.warnings == ('namespace "kube-system" is exempt from Pod Security, and the policy '
                                 "(enforce=baseline:latest, warn=restricted:latest) will be ignored",)
    assert decide_namespace(config, namespace("kube-system"), None, list).warnings == ()


JSON = st.recursive(st.none() | st.booleans() | st.integers(-2, 70000) | st.text(max_size=6),
                    lambda children: st.lists(children, max_size=3)
                    | st.dictionaries(FIELDS, children, max_size=4), max_leaves=16)


@settings(max_examples=200, deadline=None)
@given(spec=JSON, metadata=JSON, labels_value=JSON)
def test_any_shape_of_pod_or_namespace_is_decided_without_failing(spec: Any, metadata: Any, labels_value: Any) -> None:
    """Admission sees objects before validation: whatever the fields hold, it decides (or validation refuses)."""
    config = PodSecurityConfig(Policy.uniform(RESTRICTED))
    body = {"metadata": metadata, "spec": spec}
    decide_pod(config, {}, body)
    decide_pod(config, {}, body, {"spec": {"containers": [{"image": "other"}]}})
    existing_pod_warnings("n", LevelVersion(RESTRICTED), [body, {"metadata": metadata}])
    decide_template(config, {}, "deployments.apps", {"metadata": metadata, "spec": {"template": body}})
    decide_namespace(config, {"metadata": {"name": "n", "labels": labels_value}}, {"metadata": metadata},
                     lambda: [body])
    unsupported_fields("Pod", body)
