"""What an admission plugin sees and may do: the request it judges, the calls it may make, its two phases.

Kubernetes' admission.Attributes and its Mutation/ValidationInterface, shaped for this apiserver.
`Operations` builds one `AdmissionRequest` per write and hands it to the chain (apiserver/admission.py)
twice: `admit` (mutating: change `request.obj`) after defaulting and before the name is generated,
`validate` (validating: refuse with a StatusError) after the object passed validation, just before
it is stored. A plugin may also

- warn (`request.warn(text)`, Kubernetes' warning.AddWarning): the text is kept once on the request and
  given to the request's one collector (response_warnings.py), whose middleware sends it back as a
  `Warning: 299 - "<text>"` header (kubectl prints them),
- note audit annotations (`request.annotate`, Attributes.AddAnnotation): noted once per request, so
  a plugin that logs them logs each once however often it judges the write, and
- add `companions`: store commands committed in the same transaction as the object itself — how
  ResourceQuota charges a quota exactly when the object is created, guarded by the quota's
  resourceVersion. When a companion's guard fails (another write changed that quota first), the
  write is not stored and `validate` runs again on fresh state.

Plugins read stored objects through `PluginContext`; they never write on their own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from minik8s.api.meta import JsonObject, metadata_of
from minik8s.api.pod_security.admission import PodSecurityConfig
from minik8s.api.registry import ResourceKind
from minik8s.apiserver.response_warnings import add_warning
from minik8s.apiserver.storage import ObjectStore
from minik8s.store.state import Command

CREATE, UPDATE, DELETE = "CREATE", "UPDATE", "DELETE"

# (resource, namespace, name) → the stored object (re-read after a read barrier when missing), or None.
Fetch = Callable[[ResourceKind, str | None, str], Awaitable[JsonObject | None]]


@dataclass
class AdmissionRequest:
    """One write as admission sees it (admission.Attributes): what, where, the new and the stored object."""

    operation: str  # CREATE, UPDATE or DELETE
    resource: ResourceKind
    namespace: str | None
    obj: JsonObject | None  # the object to be stored (None for DELETE); mutating plugins change it in place
    old: JsonObject | None = None  # the stored object (UPDATE, DELETE)
    name: str = ""  # the name in the URL; for a create, the object's own
    subresource: str = ""
    dry_run: bool = False
    warnings: list[str] = field(default_factory=list)
    companions: list[Command] = field(default_factory=list)
    annotations: dict[str, str] = field(default_factory=dict)  # the audit event's, as Attributes.AddAnnotation

    @property
    def shown_name(self) -> str:
        """The name errors quote (extractResourceName): the URL's, else the object's, else its generateName."""
        if self.name:
            return self.name
        metadata = metadata_of(self.obj or {})
        return str(metadata.get("name") or metadata.get("generateName") or "Unknown")

    def is_pod(self) -> bool:
        return self.resource.group == "" and self.resource.plural == "pods"

    def warn(self, text: str) -> None:
        """A warning for the client; said once however often the validating phase runs."""
        if text and text not in self.warnings:
            self.warnings.append(text)
        add_warning(text)

    def annotate(self, key: str, value: str) -> bool:
        """Note `key: value` for the audit log (minik8s keeps none: the plugin logs it); False if already noted."""
        if self.annotations.get(key) == value:
            return False
        self.annotations[key] = value
        return True


@dataclass(frozen=True)
class PluginContext:
    """What plugins may use: this replica's objects, a fresh read, and the flags that configure them."""

    objects: ObjectStore
    fetch: Fetch
    toleration_seconds: Mapping[str, int] = field(default_factory=dict)
    pod_security: PodSecurityConfig = field(default_factory=PodSecurityConfig)


class AdmissionPlugin:
    """A plugin; override `admit` (mutating), `validate` (validating) or both. Each is a no-op by default."""

    name: ClassVar[str]

    def __init__(self, context: PluginContext) -> None:
        self.context = context

    async def admit(self, request: AdmissionRequest) -> None:
        """Change `request.obj` (or raise a StatusError)."""

    async def validate(self, request: AdmissionRequest) -> None:
        """Raise a StatusError to refuse; add `request.companions` to commit with the write."""


PluginFactory = Callable[[PluginContext], AdmissionPlugin]
