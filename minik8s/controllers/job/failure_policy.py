"""How a failed pod counts under a Job's pod failure policy (pkg/controller/job/pod_failure_policy.go).

The rules are tried in order; the first whose exit codes (of a terminated container, never 0) or pod
conditions match decides: FailJob fails the whole Job at once (with a message naming the container
or condition and the rule), FailIndex fails the pod's index, Ignore does not count the failure
against backoffLimit, Count counts it as usual. No rule matching counts it as usual too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from minik8s.api import meta


@dataclass(frozen=True)
class PolicyMatch:
    """What the policy says of one failed pod."""

    count_failed: bool = True
    action: str | None = None  # the matching rule's action, None when no rule matched
    fail_job_message: str | None = None  # set when the action is FailJob


def match_pod_failure_policy(policy: Any, pod: Mapping[str, Any]) -> PolicyMatch:
    """matchPodFailurePolicy over a failed pod; no policy counts every failure."""
    rules = policy.get("rules") if isinstance(policy, Mapping) else None
    for position, rule in enumerate(rules if isinstance(rules, list) else []):
        if not isinstance(rule, Mapping):
            continue
        matched = _matched_by(rule, pod)
        if matched is None:
            continue
        action = str(rule.get("action") or "")
        if action == "Ignore":
            return PolicyMatch(count_failed=False, action=action)
        if action in ("FailIndex", "Count"):
            return PolicyMatch(action=action)
        if action == "FailJob":
            return PolicyMatch(action=action, fail_job_message=_fail_job_message(pod, matched, position))
    return PolicyMatch()


def _matched_by(rule: Mapping[str, Any], pod: Mapping[str, Any]) -> tuple[str, Any] | None:
    """("container", status) or ("condition", condition) that the rule matches, if any."""
    exit_codes = rule.get("onExitCodes")
    if isinstance(exit_codes, Mapping):
        status = meta.status_of(pod)
        for field in ("containerStatuses", "initContainerStatuses"):
            container = _matching_container(status.get(field), exit_codes)
            if container is not None:
                return "container", container
        return None
    patterns = rule.get("onPodConditions")
    if isinstance(patterns, list):
        for condition in meta.status_of(pod).get("conditions") or []:
            if not isinstance(condition, Mapping):
                continue
            if any(isinstance(p, Mapping) and p.get("type") == condition.get("type")
                   and p.get("status", "True") == condition.get("status") for p in patterns):
                return "condition", condition
    return None


def _matching_container(statuses: Any, requirement: Mapping[str, Any]) -> Mapping[str, Any] | None:
    name = requirement.get("containerName")
    values = [value for value in requirement.get("values") or [] if isinstance(value, int)]
    for status in statuses if isinstance(statuses, list) else []:
        terminated = ((status.get("state") or {}).get("terminated")) if isinstance(status, Mapping) else None
        if not isinstance(terminated, Mapping):
            continue  # still terminating: no exit code to match
        code = terminated.get("exitCode")
        if (name is None or name == status.get("name")) and isinstance(code, int) and code != 0:
            inside = code in values
            if (requirement.get("operator") == "In" and inside) or (requirement.get("operator") == "NotIn"
                                                                    and not inside):
                return dict(status)
    return None


def _fail_job_message(pod: Mapping[str, Any], matched: tuple[str, Any], position: int) -> str:
    where = f"{meta.namespace_of(pod)}/{meta.name_of(pod)}"
    what, found = matched
    if what == "container":
        code = found["state"]["terminated"]["exitCode"]
        return (f"Container {found.get('name')} for pod {where} failed with exit code {code} matching FailJob rule "
                f"at index {position}")
    return f"Pod {where} has condition {found.get('type')} matching FailJob rule at index {position}"
