"""The PodSecurity admission plugin's decisions, without I/O (k8s.io/pod-security-admission/admission).

- A pod (created, or updated in a way that matters: a container added or an image changed) is
  checked against its namespace's enforce policy — a violation is refused, `violates PodSecurity
  "baseline:latest": ...` — then audit and warn: `would violate PodSecurity ...` as a warning to
  the client (never on a refused request) and as an audit note.
- A pod template (Deployment, ReplicaSet, DaemonSet, StatefulSet, Job, CronJob, ReplicationController,
  PodTemplate) is only warned about and audited: its pods are checked when they are created.
- A namespace must have valid `pod-security.kubernetes.io/*` labels (on update: unless unchanged);
  tightening its enforce policy warns about the existing pods that would now be refused.
- Exempt namespaces are never checked; a fully privileged namespace short-circuits.
The apiserver fetches the namespace (and its pods) and turns a decision into a 403/422, warnings
and log lines (apiserver/admission_pod_security.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from minik8s.api.field_errors import FieldError
from minik8s.api.pod_security.levels import (
    AUDIT,
    ENFORCE,
    PRIVILEGED,
    WARN,
    LevelVersion,
    Policy,
    compare_levels,
    level_label,
    policy_to_evaluate,
    version_label,
)
from minik8s.api.pod_security.pod_view import Json, obj, objects, text
from minik8s.api.pod_security.registry import evaluate

MAX_PODS_TO_CHECK = 3000  # defaultNamespaceMaxPodsToCheck
# Annotation keys of the audit event (the plugin prefixes them with `pod-security.kubernetes.io/`).
ENFORCE_POLICY = "enforce-policy"
AUDIT_VIOLATIONS = "audit-violations"
ERROR = "error"
EXEMPT = "exempt"
# Where each kind embeds its pod template (the plugin's DefaultPodSpecExtractor); a path to a pod template.
TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    "replicationcontrollers": ("spec", "template"),
    "podtemplates": ("template",),
    "replicasets.apps": ("spec", "template"),
    "deployments.apps": ("spec", "template"),
    "statefulsets.apps": ("spec", "template"),
    "daemonsets.apps": ("spec", "template"),
    "jobs.batch": ("spec", "template"),
    "cronjobs.batch": ("spec", "jobTemplate", "spec", "template"),
}


@dataclass(frozen=True)
class PodSecurityConfig:
    """The cluster's defaults (`--pod-security-default`) and the namespaces never checked."""

    defaults: Policy = field(default_factory=lambda: Policy.uniform(PRIVILEGED))
    exempt_namespaces: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Decision:
    """What admission does with a request: refuse it (`forbidden` → 403, `invalid` → 422) or let it
    through, with warnings for the client and annotations for the audit log."""

    forbidden: str = ""
    invalid: tuple[FieldError, ...] = ()
    warnings: tuple[str, ...] = ()
    audit: Mapping[str, str] = field(default_factory=dict)

    @property
    def allowed(self) -> bool:
        return not self.forbidden and not self.invalid


ALLOW = Decision()


def template_of(group_resource: str, workload: Json) -> Json | None:
    """The pod template a workload embeds, or None (a kind without one, or a template left out)."""
    path = TEMPLATE_PATHS.get(group_resource)
    if path is None:
        return None
    template: Any = workload
    for step in path:
        template = template.get(step) if isinstance(template, Mapping) else None
    return template if isinstance(template, Mapping) else None


def evaluate_pod(policy: Policy, problems: list[FieldError], metadata: Json, spec: Json, *,
                 enforce: bool) -> Decision:
    """EvaluatePod: enforce (pods only), then audit, then warn, reusing equal evaluations."""
    audit: dict[str, str] = {}
    if problems:
        shown = [str(problem) for problem in problems]
        audit[ERROR] = "Failed to parse policy: " + (shown[0] if len(shown) == 1 else f"[{', '.join(shown)}]")
    cache: dict[LevelVersion, Any] = {}

    def result(level_version: LevelVersion) -> Any:
        if level_version not in cache:
            cache[level_version] = evaluate(level_version, metadata, spec)
        return cache[level_version]

    refusal = ""
    if enforce:
        audit[ENFORCE_POLICY] = str(policy.enforce)
        if not (enforced := result(policy.enforce)).allowed:
            refusal = f"violates PodSecurity {_quoted(policy.enforce)}: {enforced.forbidden_detail()}"
    if not (audited := result(policy.audit)).allowed:
        audit[AUDIT_VIOLATIONS] = f"would violate PodSecurity {_quoted(policy.audit)}: {audited.forbidden_detail()}"
    warnings: tuple[str, ...] = ()
    if not refusal and not (warned := result(policy.warn)).allowed:
        warnings = (f"would violate PodSecurity {_quoted(policy.warn)}: {warned.forbidden_detail()}",)
    return Decision(forbidden=refusal, warnings=warnings, audit=audit)


def decide_pod(config: PodSecurityConfig, namespace_labels: Mapping[str, str], pod: Json,
               old: Json | None = None) -> Decision:
    """ValidatePod, for a create (`old` None) or an update."""
    namespace = text(obj(pod.get("metadata")), "namespace")
    if namespace in config.exempt_namespaces:
        return Decision(audit={EXEMPT: "namespace"})
    policy, problems = policy_to_evaluate(namespace_labels, config.defaults)
    if not problems and policy.fully_privileged:
        return ALLOW
    if old is not None and not is_significant_pod_update(pod, old):
        return ALLOW
    return evaluate_pod(policy, problems, obj(pod.get("metadata")), obj(pod.get("spec")), enforce=True)


def decide_template(config: PodSecurityConfig, namespace_labels: Mapping[str, str], group_resource: str,
                    workload: Json) -> Decision:
    """ValidatePodController: warn and audit about a workload's pod template; never refuse."""
    namespace = text(obj(workload.get("metadata")), "namespace")
    if namespace in config.exempt_namespaces:
        return Decision(audit={EXEMPT: "namespace"})
    policy, problems = policy_to_evaluate(namespace_labels, config.defaults)
    if not problems and policy.warn.level == PRIVILEGED and policy.audit.level == PRIVILEGED:
        return ALLOW
    template = template_of(group_resource, workload)
    if template is None:
        return ALLOW
    return evaluate_pod(policy, problems, obj(template.get("metadata")), obj(template.get("spec")), enforce=False)


def is_significant_pod_update(pod: Json, old: Json) -> bool:
    """Only a changed container list or image can change a pod's verdict (the rest is immutable)."""
    spec, old_spec = obj(pod.get("spec")), obj(old.get("spec"))
    for field_name in ("containers", "initContainers", "ephemeralContainers"):
        new_images = [container.get("image") for container in objects(spec.get(field_name))]
        old_images = [container.get("image") for container in objects(old_spec.get(field_name))]
        if new_images != old_images:
            return True
    return False


def decide_namespace(config: PodSecurityConfig, namespace: Json, old: Json | None,
                     pods: Callable[[], Iterable[Json]]) -> Decision:
    """ValidateNamespace: valid labels; on a tightened enforce policy, warnings about existing pods."""
    name = text(obj(namespace.get("metadata")), "name")
    policy, problems = policy_to_evaluate(_labels(namespace), config.defaults)
    old_policy, old_problems = policy_to_evaluate(_labels(old or {}), config.defaults)
    if problems and (old is None or problems != old_problems):
        return Decision(invalid=tuple(problems))
    exempt_warning = _exempt_namespace_warning(config, name, policy, _labels(namespace))
    if old is None:
        return Decision(warnings=exempt_warning)
    enforce, old_enforce = policy.enforce, old_policy.enforce
    if enforce == old_enforce or enforce.level == PRIVILEGED or (
            enforce.version == old_enforce.version and compare_levels(enforce.level, old_enforce.level) < 1):
        return ALLOW
    if name in config.exempt_namespaces:
        return Decision(warnings=exempt_warning)
    return Decision(warnings=tuple(existing_pod_warnings(name, enforce, pods())))


def existing_pod_warnings(namespace: str, enforce: LevelVersion, pods: Iterable[Json]) -> list[str]:
    """EvaluatePodsInNamespace: one line per distinct problem, naming the first pod that has it."""
    ordered = _prioritized(list(pods))
    checked = ordered[:MAX_PODS_TO_CHECK]
    counts: dict[str, list[Any]] = {}  # reasons → [first pod name, how many pods]
    for pod in checked:
        result = evaluate(enforce, obj(pod.get("metadata")), obj(pod.get("spec")))
        if result.allowed:
            continue
        name = text(obj(pod.get("metadata")), "name")
        seen = counts.setdefault(result.forbidden_reason(), [name, 0])
        seen[0], seen[1] = min(seen[0], name), seen[1] + 1
    warnings = []
    if len(checked) < len(ordered):
        warnings.append(f"new PodSecurity enforce level only checked against the first {len(checked)} "
                        f"of {len(ordered)} existing pods")
    if counts:
        warnings.append(f'existing pods in namespace "{namespace}" violate the new PodSecurity enforce level '
                        f"{_quoted(enforce)}")
    return warnings + sorted(_decorated(reason, first, count) for reason, (first, count) in counts.items())


def _decorated(reason: str, first: str, count: int) -> str:
    if count == 1:
        return f"{first}: {reason}"
    others = "1 other pod" if count == 2 else f"{count - 1} other pods"
    return f"{first} (and {others}): {reason}"


def _prioritized(pods: list[Json]) -> list[Json]:
    """One pod per controller first, then the other replicas (prioritizePods)."""
    first, replicas, seen = [], [], set()
    for pod in pods:
        owner = next((ref for ref in objects(obj(pod.get("metadata")).get("ownerReferences"))
                      if ref.get("controller") is True), None)
        if owner is not None and text(owner, "uid") in seen:
            replicas.append(pod)
            continue
        if owner is not None:
            seen.add(text(owner, "uid"))
        first.append(pod)
    return first + replicas


def _exempt_namespace_warning(config: PodSecurityConfig, name: str, policy: Policy,
                              labels: Mapping[str, str]) -> tuple[str, ...]:
    if name not in config.exempt_namespaces or policy.fully_privileged or policy.equivalent(config.defaults):
        return ()
    shown = [f"{mode}={policy.mode(mode)}" for mode in (ENFORCE, AUDIT, WARN)
             if policy.mode(mode).level != PRIVILEGED and (level_label(mode) in labels or version_label(mode) in labels)]
    return (f'namespace "{name}" is exempt from Pod Security, and the policy ({", ".join(shown)}) will be ignored',)


def _labels(namespace: Json) -> dict[str, str]:
    labels = obj(obj(namespace.get("metadata")).get("labels"))
    return {key: value for key, value in labels.items() if isinstance(value, str)}


def _quoted(level_version: LevelVersion) -> str:
    return f'"{level_version}"'
