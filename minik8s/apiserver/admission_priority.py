"""The Priority admission plugin: a pod's priority comes from its PriorityClass, and one class is the default.

Kubernetes' plugin/pkg/admission/priority, on by default, between PodSecurity and DefaultTolerationSeconds:

- mutating, new pods: `priorityClassName` resolved to `spec.priority` and `spec.preemptionPolicy`; a pod
  naming none gets the globalDefault class's name and value, or priority 0 (api/priority_class.py
  `resolve_priority`). An unknown class, or a `priority`/`preemptionPolicy` the pod sets that differs
  from its class's, is refused with 403 Forbidden in Kubernetes' words. A pod update that leaves the
  two fields out keeps the stored ones (validation forbids changing them).
- validating, PriorityClasses: a second `globalDefault: true` class is refused (`PriorityClass x is
  already marked as default. Only one default can exist`), judged after a read barrier so a default
  made a moment ago on another replica counts.

A named class is read with `fetch` (a read barrier when this replica does not have it yet); the
default class is looked for in this replica's copy, as Kubernetes reads its informer's.
"""

from __future__ import annotations

from minik8s.api.kinds import PRIORITY_CLASSES
from minik8s.api.meta import name_of, spec_of
from minik8s.api.priority_class import PriorityRefused, global_default_class, resolve_priority
from minik8s.apiserver import errors
from minik8s.apiserver.admission_interface import CREATE, UPDATE, AdmissionPlugin, AdmissionRequest

PRIORITY = "Priority"


def _is_priority_class(request: AdmissionRequest) -> bool:
    return request.resource.group == PRIORITY_CLASSES.group and request.resource.plural == PRIORITY_CLASSES.plural


class Priority(AdmissionPlugin):
    name = PRIORITY

    async def admit(self, request: AdmissionRequest) -> None:
        if not request.is_pod() or request.subresource or not isinstance((request.obj or {}).get("spec"), dict):
            return
        assert request.obj is not None
        spec = request.obj["spec"]
        if request.operation == UPDATE and request.old is not None:
            old_spec = spec_of(request.old)
            for field in ("priority", "preemptionPolicy"):
                if spec.get(field) is None and old_spec.get(field) is not None:
                    spec[field] = old_spec[field]
            return
        if request.operation != CREATE:
            return
        wanted = spec.get("priorityClassName")
        named = await self.context.fetch(PRIORITY_CLASSES, None, wanted) if isinstance(wanted, str) and wanted else None
        classes = [] if wanted else self.context.objects.list(PRIORITY_CLASSES, None)[1]
        try:
            resolved = resolve_priority(spec, named, classes)
        except PriorityRefused as refused:
            raise errors.forbidden(request.resource, request.shown_name, str(refused)) from None
        if resolved.class_name:
            spec["priorityClassName"] = resolved.class_name
        spec["priority"] = resolved.priority
        spec["preemptionPolicy"] = resolved.preemption_policy

    async def validate(self, request: AdmissionRequest) -> None:
        if not _is_priority_class(request) or request.subresource or request.operation not in (CREATE, UPDATE):
            return
        if request.obj is None or request.obj.get("globalDefault") is not True:
            return
        await self.context.objects.sync(None)
        existing = global_default_class(self.context.objects.list(PRIORITY_CLASSES, None)[1])
        if existing is None or (request.operation == UPDATE and name_of(existing) == name_of(request.obj)):
            return
        raise errors.forbidden(request.resource, request.shown_name,
                               f"PriorityClass {name_of(existing)} is already marked as default. "
                               "Only one default can exist")
