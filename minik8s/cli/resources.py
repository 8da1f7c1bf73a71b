"""What the user's resource arguments mean: `pods,svc`, `po web`, `deploy/web`, `all`.

kubectl accepts a kind as a plural, singular, short name or `plural.group`, several kinds joined
by commas, `all` for every kind in the "all" category, names after the kinds, or `kind/name`
pairs. All of that is resolved here against the kind registry (`REGISTRY.resolve`), offline, so
that a typo fails at once with kubectl's `the server doesn't have a resource type "widgets"`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from minik8s.api.registry import REGISTRY, ResourceKind
from minik8s.cli.errors import CliError

ALL_CATEGORY = "all"


@dataclass(frozen=True)
class ResourceRequest:
    """One kind and the names asked for (none: every object of the kind)."""

    kind: ResourceKind
    names: tuple[str, ...] = ()


def fail(message: str) -> CliError:
    """A kubectl-worded error line."""
    return CliError(message, verbatim=True)


def resolve_kind(text: str) -> ResourceKind:
    """The kind a user typed (`po`, `pods`, `Pod`, `deployments.apps`, `deployment.apps`)."""
    kind = REGISTRY.resolve(text)
    if kind is None and "." in text:
        name, _, group = text.partition(".")
        candidate = REGISTRY.resolve(name)
        if candidate is not None and candidate.group == group.lower():
            kind = candidate
    if kind is None:
        raise fail(f'error: the server doesn\'t have a resource type "{text}"')
    return kind


def expand_kinds(text: str) -> list[ResourceKind]:
    """`pods,svc` or `all` as kinds, in order, without repeats."""
    kinds: list[ResourceKind] = []
    for part in (part.strip() for part in text.split(",")):
        if not part:
            continue
        expanded = REGISTRY.in_category(ALL_CATEGORY) if part.lower() == ALL_CATEGORY else [resolve_kind(part)]
        kinds.extend(kind for kind in expanded if kind not in kinds)
    if not kinds:
        raise fail(f'error: the server doesn\'t have a resource type "{text}"')
    return kinds


def parse_resource_args(args: Sequence[str], *, verb: str) -> list[ResourceRequest]:
    """Resource arguments as kubectl reads them: `KIND[,KIND...] [NAME...]` or `KIND/NAME...`."""
    if not args:
        raise fail(f'error: you must specify the type of resource to {verb}. Use "minik8s api-resources" for a '
                   "complete list of supported resources.")
    if any("/" in arg for arg in args):
        if not all("/" in arg for arg in args):
            raise fail("error: there is no need to specify a resource type as a separate argument when passing "
                       f"arguments in resource/name form (e.g. 'minik8s {verb} resource/<resource_name>' instead "
                       f"of 'minik8s {verb} resource resource/<resource_name>')")
        return _kind_name_pairs(args)
    kinds = expand_kinds(args[0])
    return [ResourceRequest(kind, tuple(args[1:])) for kind in kinds]


def _kind_name_pairs(args: Sequence[str]) -> list[ResourceRequest]:
    grouped: dict[ResourceKind, list[str]] = {}
    for arg in args:
        kind_text, _, name = arg.partition("/")
        if not kind_text or not name or "/" in name:
            raise fail(f"error: arguments in resource/name form must have a single resource and name: {arg!r}")
        grouped.setdefault(resolve_kind(kind_text), []).append(name)
    return [ResourceRequest(kind, tuple(names)) for kind, names in grouped.items()]


def parse_kind_name(args: Sequence[str], *, default_kind: str | None, verb: str) -> tuple[ResourceKind, str]:
    """One object: `KIND NAME`, `KIND/NAME`, or (with a default kind, e.g. pods for logs) `NAME`."""
    if len(args) == 1 and "/" in args[0]:
        requests = _kind_name_pairs(args)
        return requests[0].kind, requests[0].names[0]
    if len(args) == 2 and "/" not in args[0] and "/" not in args[1]:
        kinds = expand_kinds(args[0])
        if len(kinds) == 1:
            return kinds[0], args[1]
    if len(args) == 1 and default_kind is not None:
        return resolve_kind(default_kind), args[0]
    raise fail(f"error: {verb} needs one object: TYPE NAME or TYPE/NAME")

