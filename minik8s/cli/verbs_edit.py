"""`scale`, `label`, `annotate` and `set image`: small, targeted changes to live objects.

Each sends the smallest patch kubectl sends for the same change, so concurrent writers do not
undo each other: a merge patch of the `/scale` subresource, a merge patch of
`metadata.labels`/`annotations` (`k=v` sets, `k-` removes, an existing different value needs
`--overwrite`), a strategic merge patch of one container's image. Each prints kubectl's line
(`deployment.apps/web scaled`, `pod/x labeled`, `deployment.apps/web image updated`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import typer

from minik8s.api.meta import JsonObject, metadata_of
from minik8s.api.registry import ResourceKind
from minik8s.cli.flags import (
    AllNamespacesOption,
    KubeconfigOption,
    NamespaceOption,
    RequestTimeoutOption,
    SelectorOption,
    ServerOption,
    connection_of,
)
from minik8s.cli.kubeconfig_context import Session, error_line, run_verb
from minik8s.cli.printers import kind_label
from minik8s.cli.resources import ResourceRequest, fail, parse_kind_name, parse_resource_args
from minik8s.client.errors import NotFound

ResourcesArgument = Annotated[list[str] | None, typer.Argument(show_default=False)]


def register(app: typer.Typer) -> None:
    app.command("scale")(scale)
    app.command("label")(label)
    app.command("annotate")(annotate)
    set_app = typer.Typer(help="Change a field of live objects (set image).", no_args_is_help=True)
    set_app.command("image")(set_image)
    app.add_typer(set_app, name="set")


def scale(
    resources: ResourcesArgument = None,
    replicas: Annotated[int | None, typer.Option("--replicas", help="the new number of replicas",
                                                 show_default=False)] = None,
    kubeconfig: KubeconfigOption = None,
    server: ServerOption = None,
    namespace: NamespaceOption = None,
    request_timeout: RequestTimeoutOption = None,
) -> int:
    """Set the replicas of deployments or replica sets (through their /scale subresource)."""
    if replicas is None:
        raise fail("error: required flag(s) \"replicas\" not set")
    if replicas < 0:
        raise fail("error: The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0")
    requests = _named_requests(resources or [], verb="scale")

    async def action(session: Session) -> int:
        failures: list[str] = []
        for request in requests:
            if "scale" not in request.kind.subresources:
                raise fail(f'error: cannot scale {request.kind.group_resource}: it has no scale subresource')
            for name in request.names:
                try:
                    await session.client.patch(request.kind, name, {"spec": {"replicas": replicas}},
                                               namespace=session.namespace, subresource="scale")
                except NotFound as error:
                    failures.append(error_line(error, session.servers))
                    continue
                typer.echo(f"{kind_label(request.kind)}/{name} scaled")
        return _report(failures)

    return run_verb(connection_of(kubeconfig, server, namespace, request_timeout), action)


def _named_requests(args: Sequence[str], *, verb: str) -> list[ResourceRequest]:
    requests = parse_resource_args(args, verb=verb)
    if not any(request.names for request in requests):
        raise fail("error: resource(s) were provided, but no name was specified")
    return requests


def _report(failures: Sequence[str]) -> int:
    for failure in failures:
        typer.echo(failure, err=True)
    return 1 if failures else 0


@dataclass(frozen=True)
class MetadataChange:
    """`k=v` and `k-` arguments of label/annotate."""

    field: str  # "labels" or "annotations"
    set_values: dict[str, str]
    removals: tuple[str, ...]
    overwrite: bool


def split_changes(args: Sequence[str]) -> tuple[list[str], dict[str, str], list[str]]:
    """Resource arguments, then `k=v` settings and `k-` removals (kubectl's order-free split)."""
    resources: list[str] = []
    settings: dict[str, str] = {}
    removals: list[str] = []
    for arg in args:
        if "=" in arg:
            key, _, value = arg.partition("=")
            settings[key] = value
        elif arg.endswith("-") and len(arg) > 1:
            removals.append(arg[:-1])
        else:
            resources.append(arg)
    return resources, settings, removals


OverwriteOption = Annotated[bool, typer.Option("--overwrite", help="allow replacing an existing value")]
AllObjectsOption = Annotated[bool, typer.Option("--all", help="every object of the type in the namespace")]


def metadata_verb(field: str) -> Callable[..., int]:
    """`label` and `annotate`: the same command over `metadata.labels` or `metadata.annotations`."""

    def change_metadata(
        args: ResourcesArgument = None,
        overwrite: OverwriteOption = False,
        selector: SelectorOption = None,
        all_objects: AllObjectsOption = False,
        all_namespaces: AllNamespacesOption = False,
        kubeconfig: KubeconfigOption = None,
        server: ServerOption = None,
        namespace: NamespaceOption = None,
        request_timeout: RequestTimeoutOption = None,
    ) -> int:
        return _change_metadata(args or [], field, overwrite=overwrite, selector=selector, all_objects=all_objects,
                                all_namespaces=all_namespaces,
                                connection_flags=(kubeconfig, server, namespace, request_timeout))

    change_metadata.__doc__ = f"Add (k=v), change (with --overwrite) or remove (k-) {field}."
    return change_metadata


label = metadata_verb("labels")
annotate = metadata_verb("annotations")


def _change_metadata(args: Sequence[str], field: str, *, overwrite: bool, selector: str | None, all_objects: bool,
                     all_namespaces: bool, connection_flags: tuple[str | None, ...]) -> int:
    resource_args, settings, removals = split_changes(args)
    verb = "label" if field == "labels" else "annotate"
    if not settings and not removals:
        raise fail(f"error: at least one {field[:-1]} update is required")
    requests = parse_resource_args(resource_args, verb=verb)
    if not any(request.names for request in requests) and not (selector or all_objects):
        raise fail("error: resource(s) were provided, but no name was specified")
    change = MetadataChange(field, settings, tuple(removals), overwrite)

    async def action(session: Session) -> int:
        failures: list[str] = []
        for kind, name, object_namespace in await _objects(session, requests, selector, all_namespaces):
            try:
                typer.echo(await apply_metadata_change(session, kind, name, object_namespace, change))
            except NotFound as error:
                failures.append(error_line(error, session.servers))
        return _report(failures)

    kubeconfig, server, namespace, request_timeout = connection_flags
    return run_verb(connection_of(kubeconfig, server, namespace, request_timeout), action)


async def _objects(session: Session, requests: Sequence[ResourceRequest], selector: str | None,
                   all_namespaces: bool) -> list[tuple[ResourceKind, str, str | None]]:
    found: list[tuple[ResourceKind, str, str | None]] = []
    for request in requests:
        if request.names:
            found.extend((request.kind, name, session.namespace) for name in request.names)
            continue
        listing = await session.client.list(request.kind, namespace=None if all_namespaces else session.namespace,
                                            label_selector=selector)
        for item in listing.get("items") or []:
            metadata = metadata_of(item)
            found.append((request.kind, str(metadata.get("name")), metadata.get("namespace")))
    return found


async def apply_metadata_change(session: Session, kind: ResourceKind, name: str, namespace: str | None,
                                change: MetadataChange) -> str:
    """Patch one object's labels or annotations; kubectl's line for the outcome."""
    live = await session.client.get(kind, name, namespace=namespace)
    current: dict[str, str] = metadata_of(live).get(change.field) or {}
    if not change.overwrite:
        for key, value in change.set_values.items():
            if key in current and current[key] != value:
                raise fail(f"error: '{key}' already has a value ({current[key]}), and --overwrite is false")
    for key in change.removals:
        if key not in current:
            typer.echo(f'{"label" if change.field == "labels" else "annotation"} "{key}" not found.')
    added = {key: value for key, value in change.set_values.items() if current.get(key) != value}
    removed = [key for key in change.removals if key in current]
    if added or removed:
        patch: JsonObject = {"metadata": {change.field: {**added, **dict.fromkeys(removed)}}}
        await session.client.patch(kind, name, patch, namespace=namespace)
    return f"{kind_label(kind)}/{name} {_outcome(change.field, added, removed)}"


def _outcome(field: str, added: dict[str, str], removed: list[str]) -> str:
    if field == "annotations":
        return "annotated"
    if added and removed:
        return "modified"
    if added:
        return "labeled"
    return "unlabeled" if removed else "not labeled"


_POD_SPEC_PATH = {"Pod": ("spec",), "Deployment": ("spec", "template", "spec"),
                  "ReplicaSet": ("spec", "template", "spec"), "DaemonSet": ("spec", "template", "spec"),
                  "StatefulSet": ("spec", "template", "spec")}


def set_image(
    args: ResourcesArgument = None,
    kubeconfig: KubeconfigOption = None,
    server: ServerOption = None,
    namespace: NamespaceOption = None,
    request_timeout: RequestTimeoutOption = None,
) -> int:
    """Change container images: `set image deploy/web web=nginx:1.27` (`*=image` for every container)."""
    resource_args, images, _ = split_changes(args or [])
    if not images:
        raise fail("error: at least one image update is required")
    kind, name = parse_kind_name(resource_args, default_kind=None, verb="set image")
    if kind.kind not in _POD_SPEC_PATH:
        raise fail(f"error: {kind.group_resource} has no containers to set an image on")

    async def action(session: Session) -> int:
        live = await session.client.get(kind, name, namespace=session.namespace)
        spec: Any = live
        for key in _POD_SPEC_PATH[kind.kind]:
            spec = spec.get(key) or {}
        names = [str(c.get("name")) for key in ("initContainers", "containers") for c in spec.get(key) or []]
        updates: dict[str, list[JsonObject]] = {}
        for container, image in images.items():
            targets = names if container == "*" else [container]
            if container != "*" and container not in names:
                raise fail(f'error: unable to find container named "{container}"')
            for target in targets:
                key = "initContainers" if target in [c.get("name") for c in spec.get("initContainers") or []] \
                    else "containers"
                updates.setdefault(key, []).append({"name": target, "image": image})
        patch: JsonObject = updates
        for key in reversed(_POD_SPEC_PATH[kind.kind]):
            patch = {key: patch}
        await session.client.patch(kind, name, patch, namespace=session.namespace, patch_type="strategic")
        typer.echo(f"{kind_label(kind)}/{name} image updated")
        return 0

    return run_verb(connection_of(kubeconfig, server, namespace, request_timeout), action)
