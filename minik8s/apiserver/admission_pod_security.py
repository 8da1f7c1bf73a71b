"""The PodSecurity admission plugin: Pod Security Standards per namespace, enforced, warned and audited.

Kubernetes' plugin (plugin/pkg/admission/security/podsecurity) around the pure decisions of
api/pod_security/admission.py: this module looks up the namespace's labels (and, when its enforce
policy tightens, its pods), then refuses (403 `pods "x" is forbidden: violates PodSecurity
"baseline:latest": ...`, or 422 for a namespace's invalid labels), warns the client (`request.warn`: `Warning:`
headers) and logs what Kubernetes would put in the audit log: minik8s keeps no audit log, so the
`pod-security.kubernetes.io/audit-violations` annotation is an INFO line of the
`minik8s.apiserver.admission_pod_security` logger.

A validating plugin of the chain (admission.py), as in Kubernetes: it judges the object after the
mutating plugins and object validation, just before it is stored, and it only reads and warns, so
judging again after a lost quota race refuses, warns and logs as once.

The cluster default comes from `--pod-security-default` (privileged unless given, as in
Kubernetes); `system_namespace_labels` names the labels the apiserver's bootstrap gives kube-system
when that default is stricter, so the cluster's own namespace stays privileged.
"""

from __future__ import annotations

import argparse
import logging

from minik8s.api.kinds import NAMESPACES, PODS
from minik8s.api.meta import JsonObject, labels_of, metadata_of
from minik8s.api.pod_security.admission import (
    ALLOW,
    AUDIT_VIOLATIONS,
    ERROR,
    TEMPLATE_PATHS,
    Decision,
    PodSecurityConfig,
    decide_namespace,
    decide_pod,
    decide_template,
)
from minik8s.api.pod_security.levels import LABEL_PREFIX, LEVELS, MODES, PRIVILEGED, Policy, level_label
from minik8s.api.registry import ResourceKind
from minik8s.apiserver import errors
from minik8s.apiserver.admission_interface import CREATE, UPDATE, AdmissionPlugin, AdmissionRequest

log = logging.getLogger(__name__)

POD_SECURITY = "PodSecurity"
SYSTEM_NAMESPACE = "kube-system"


def add_pod_security_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pod-security-default", default=PRIVILEGED, choices=LEVELS,
                        help="the Pod Security level (enforce, audit and warn, version latest) of a namespace without "
                             "pod-security.kubernetes.io labels; stricter than privileged, kube-system is labelled "
                             "privileged (default: privileged, as Kubernetes)")
    parser.add_argument("--pod-security-exempt-namespaces", default="",
                        help="comma-separated namespaces the PodSecurity admission plugin never checks")


def pod_security_from_flags(args: argparse.Namespace) -> PodSecurityConfig:
    exempt = frozenset(name.strip() for name in args.pod_security_exempt_namespaces.split(",") if name.strip())
    return PodSecurityConfig(Policy.uniform(args.pod_security_default), exempt)


def system_namespace_labels(config: PodSecurityConfig) -> dict[str, dict[str, str]]:
    """kube-system's labels when the default is stricter than privileged: privileged in every mode."""
    if config.defaults.fully_privileged:
        return {}
    return {SYSTEM_NAMESPACE: {level_label(mode): PRIVILEGED for mode in MODES}}


def has_pod_security_labels(namespace: JsonObject) -> bool:
    return any(key.startswith(LABEL_PREFIX) for key in labels_of(namespace))


class PodSecurity(AdmissionPlugin):
    """Validating: creates and updates of pods, pod-template workloads and namespaces (no subresources).

    Reads only and warns through the request, so running again after a lost quota race says nothing twice."""

    name = POD_SECURITY

    async def validate(self, request: AdmissionRequest) -> None:
        """Raise the refusal, or give the warnings (and log the audit notes) of the request's decision."""
        if request.operation not in (CREATE, UPDATE) or request.subresource or request.obj is None:
            return
        decision = await self.decide(request.resource, request.obj, request.old)
        self._log_audit(request, decision)
        if decision.invalid:
            causes = [{"reason": e.reason, "message": e.message, "field": e.field} for e in decision.invalid]
            raise errors.invalid(request.resource, request.shown_name, causes)
        if decision.forbidden:
            raise errors.forbidden(request.resource, request.shown_name, decision.forbidden)
        for warning in decision.warnings:
            request.warn(warning)

    async def decide(self, resource: ResourceKind, obj: JsonObject, old: JsonObject | None) -> Decision:
        config = self.context.pod_security
        group_resource = resource.group_resource
        if group_resource == NAMESPACES.group_resource:
            name = str(metadata_of(obj).get("name") or "")
            return decide_namespace(config, obj, old, lambda: self.context.objects.list(PODS, name)[1])
        if group_resource != PODS.group_resource and group_resource not in TEMPLATE_PATHS:
            return ALLOW
        namespace = str(metadata_of(obj).get("namespace") or "")
        stored = await self.context.fetch(NAMESPACES, None, namespace) if namespace else None
        labels = labels_of(stored) if stored is not None else {}
        if group_resource == PODS.group_resource:
            return decide_pod(config, labels, obj, old)
        return decide_template(config, labels, group_resource, obj)

    @staticmethod
    def _log_audit(request: AdmissionRequest, decision: Decision) -> None:
        """Log the notes Kubernetes' audit log would show, once per request however often it is judged."""
        noted = {key: value for key, value in decision.audit.items()
                 if key in (AUDIT_VIOLATIONS, ERROR) and request.annotate(LABEL_PREFIX + key, value)}
        if noted:
            where = f"{request.namespace}/{request.shown_name}" if request.namespace else request.shown_name
            log.info("audit %s %s: %s", request.resource.group_resource, where,
                     ", ".join(f"{LABEL_PREFIX}{key}={value!r}" for key, value in noted.items()))
