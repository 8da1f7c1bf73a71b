"""The small admission plugins: NamespaceLifecycle, LimitRanger and DefaultTolerationSeconds.

Each is thin: it reads what it needs from this replica's store and applies a pure decision.

- NamespaceLifecycle (mutating, first in the chain): `default`, `kube-system` and `kube-public` may
  not be deleted; nothing may be written into a namespace that does not exist (404 on the namespace)
  and nothing created in one being terminated (403 `unable to create new content in namespace x
  because it is being terminated`, with the NamespaceTerminating cause clients look for).
- LimitRanger (both phases, new pods only: a pod's resources never change afterwards): the
  namespace's LimitRanges fill default requests and limits, then bound them (api/limit_ranger.py).
- DefaultTolerationSeconds (mutating; pods created or updated): the not-ready and unreachable
  tolerations for `--default-*-toleration-seconds` (api/default_tolerations.py).
"""

from __future__ import annotations

from minik8s.api.default_tolerations import add_default_tolerations
from minik8s.api.kinds import LIMIT_RANGES, NAMESPACES
from minik8s.api.limit_ranger import aggregate, apply_defaults, violations
from minik8s.api.meta import JsonObject, is_deleting, status_of
from minik8s.api.registry import SYSTEM_NAMESPACES
from minik8s.apiserver import errors
from minik8s.apiserver.admission_interface import CREATE, DELETE, UPDATE, AdmissionPlugin, AdmissionRequest

NAMESPACE_LIFECYCLE = "NamespaceLifecycle"
LIMIT_RANGER = "LimitRanger"
DEFAULT_TOLERATION_SECONDS = "DefaultTolerationSeconds"
IMMORTAL_NAMESPACES = SYSTEM_NAMESPACES[:3]  # default, kube-system, kube-public


def terminating_refusal(request: AdmissionRequest) -> errors.StatusError:
    refusal = errors.forbidden(request.resource, request.shown_name, "unable to create new content in namespace "
                                                                      f"{request.namespace} because it is being terminated")
    assert refusal.details is not None
    refusal.details["causes"] = [{"reason": "NamespaceTerminating", "field": "metadata.namespace",
                                  "message": f"namespace {request.namespace} is being terminated"}]
    return refusal


class NamespaceLifecycle(AdmissionPlugin):
    name = NAMESPACE_LIFECYCLE

    async def admit(self, request: AdmissionRequest) -> None:
        if request.resource.group == "" and request.resource.plural == NAMESPACES.plural:
            if request.operation == DELETE and request.name in IMMORTAL_NAMESPACES:
                raise errors.forbidden(NAMESPACES, request.name, "this namespace may not be deleted")
            return
        if not request.resource.namespaced or not request.namespace or request.operation == DELETE:
            return
        namespace = await self.context.fetch(NAMESPACES, None, request.namespace)
        if namespace is None:
            raise errors.not_found(NAMESPACES, request.namespace)
        terminating = status_of(namespace).get("phase") == "Terminating" or is_deleting(namespace)
        if request.operation == CREATE and terminating:
            raise terminating_refusal(request)


class LimitRanger(AdmissionPlugin):
    name = LIMIT_RANGER

    def _ranges(self, request: AdmissionRequest) -> list[JsonObject]:
        """The namespace's LimitRanges, when this write is a new pod's (SupportsAttributes)."""
        if not request.is_pod() or request.subresource or request.operation != CREATE or request.obj is None:
            return []
        if request.old is not None and is_deleting(request.old):
            return []
        return self.context.objects.list(LIMIT_RANGES, request.namespace)[1]

    async def admit(self, request: AdmissionRequest) -> None:
        for limit_range in self._ranges(request):
            assert request.obj is not None
            apply_defaults(request.obj, limit_range)

    async def validate(self, request: AdmissionRequest) -> None:
        for limit_range in self._ranges(request):
            assert request.obj is not None
            problems = violations(request.obj, limit_range)
            if problems:
                raise errors.forbidden(request.resource, request.shown_name, aggregate(problems))


class DefaultTolerationSeconds(AdmissionPlugin):
    name = DEFAULT_TOLERATION_SECONDS

    async def admit(self, request: AdmissionRequest) -> None:
        if not request.is_pod() or request.subresource or request.operation not in (CREATE, UPDATE):
            return
        spec = (request.obj or {}).get("spec")
        if isinstance(spec, dict):
            add_default_tolerations(spec, self.context.toleration_seconds)
