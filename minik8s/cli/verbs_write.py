"""`apply`, `create` and `delete`: putting manifests into the cluster and taking objects out.

`apply -f` creates what is absent and patches what exists with kubectl's client-side three-way
strategic merge (`apply_patch`), recording the manifest in the last-applied annotation, so the
real kubectl and this CLI can take turns on one object; it prints `deployment.apps/web
created|configured|unchanged`. `create -f` only creates. `delete` takes manifests, names, a label
selector or `--all`, prints `pod "x" deleted`, and by default waits until the objects are gone
(finalizers and graceful pod termination can take a while); `--wait=false` does not wait.
A manifest that fails does not stop the others: its line goes to stderr and the exit code is 1.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated

import typer

from minik8s.api.meta import metadata_of
from minik8s.api.registry import ResourceKind
from minik8s.cli.api_calls import wait_until_gone
from minik8s.cli.apply_patch import apply_patch, in_namespace, read_last_applied, with_last_applied
from minik8s.cli.flags import (
    AllNamespacesOption,
    FilenameOption,
    KubeconfigOption,
    NamespaceOption,
    RequestTimeoutOption,
    SelectorOption,
    ServerOption,
    connection_of,
    parse_duration,
)
from minik8s.cli.kubeconfig_context import Session, error_line, invalid_line, run_verb
from minik8s.cli.manifests import Manifest, read_manifests
from minik8s.cli.printers import kind_label
from minik8s.cli.resources import fail, parse_resource_args
from minik8s.client.errors import ApiError, Invalid, NotFound

FIELD_MANAGER = "minik8s"

RecursiveOption = Annotated[bool, typer.Option("--recursive", "-R", help="read directories recursively")]


def register(app: typer.Typer) -> None:
    app.command("apply")(apply)
    app.command("create")(create)
    app.command("delete")(delete)


def write_verb(verb: str, *, create_only: bool, summary: str) -> Callable[..., int]:
    """`apply` and `create`: manifests in, objects written; only what happens to an existing object differs."""

    def write(
        filename: FilenameOption = None,
        recursive: RecursiveOption = False,
        kubeconfig: KubeconfigOption = None,
        server: ServerOption = None,
        namespace: NamespaceOption = None,
        request_timeout: RequestTimeoutOption = None,
    ) -> int:
        manifests = read_manifests(filename or [], stdin=sys.stdin, verb=verb, recursive=recursive)
        connection = connection_of(kubeconfig, server, namespace, request_timeout)
        return run_verb(connection, lambda session: write_manifests(session, manifests, create_only=create_only))

    write.__doc__ = summary
    return write


apply = write_verb("apply", create_only=False,
                   summary="Create or update objects from manifests (client-side apply, like kubectl's default).")
create = write_verb("create", create_only=True,
                    summary="Create objects from manifests (an object that exists is an error).")


def namespace_for(session: Session, kind: ResourceKind, declared: str | None) -> str | None:
    """The namespace an object goes to; a manifest's namespace must agree with an explicit `-n`."""
    if not kind.namespaced:
        return None
    if declared and session.explicit_namespace and declared != session.namespace:
        raise fail(f'error: the namespace from the provided object "{declared}" does not match the namespace '
                   f'"{session.namespace}". You must pass \'--namespace={declared}\' to perform this operation.')
    return declared or session.namespace


def manifest_error(error: ApiError, manifest: Manifest, action: str, session: Session) -> str:
    """kubectl's line for a manifest the server refused."""
    if error.code in (0, 503):
        raise error  # the cluster, not the manifest: stop here
    if isinstance(error, Invalid):
        return invalid_line(error)
    return f'Error from server ({error.reason}): error when {action} "{manifest.source}": {error.message}'


async def write_manifests(session: Session, manifests: Sequence[Manifest], *, create_only: bool) -> int:
    failures: list[str] = []
    for manifest in manifests:
        namespace = namespace_for(session, manifest.kind, manifest.namespace)
        try:
            if create_only:
                created = await session.client.create(manifest.kind, manifest.document, namespace=namespace,
                                                      field_manager=FIELD_MANAGER)
                name = metadata_of(created).get("name") or manifest.name
                typer.echo(f"{kind_label(manifest.kind)}/{name} created")
            else:
                typer.echo(await apply_one(session, manifest, namespace))
        except ApiError as error:
            failures.append(manifest_error(error, manifest, "creating" if create_only else "applying", session))
    for failure in failures:
        typer.echo(failure, err=True)
    return 1 if failures else 0


async def apply_one(session: Session, manifest: Manifest, namespace: str | None) -> str:
    """Create or patch one object; the line to print."""
    label = f"{kind_label(manifest.kind)}/{manifest.name}"
    if not manifest.name:
        raise fail(f'error: apply needs metadata.name (in "{manifest.source}"); generateName works with create')
    document = in_namespace(manifest.document, namespace)
    try:
        live = await session.client.get(manifest.kind, manifest.name, namespace=namespace)
    except NotFound:
        await session.client.create(manifest.kind, with_last_applied(document), namespace=namespace,
                                    field_manager=FIELD_MANAGER)
        return f"{label} created"
    last_applied = read_last_applied(live)
    if last_applied is None:
        typer.echo(f"Warning: resource {manifest.kind.group_resource}/{manifest.name} is missing the "
                   "kubectl.kubernetes.io/last-applied-configuration annotation which is required by apply. "
                   "The missing annotation will be patched automatically.", err=True)
    patch = apply_patch(document, last_applied, kind=manifest.kind.kind)
    patched = await session.client.patch(manifest.kind, manifest.name, patch, namespace=namespace,
                                         patch_type="strategic", field_manager=FIELD_MANAGER)
    before = metadata_of(live).get("resourceVersion")
    after = metadata_of(patched).get("resourceVersion")
    return f"{label} {'unchanged' if before == after else 'configured'}"


@dataclass(frozen=True)
class DeleteTarget:
    kind: ResourceKind
    name: str
    namespace: str | None


@dataclass(frozen=True)
class DeleteOptions:
    wait: bool = True
    timeout: float | None = None
    ignore_not_found: bool = False
    grace_period: int | None = None


def delete(
    resources: Annotated[list[str] | None, typer.Argument(help="TYPE NAME..., TYPE/NAME..., or TYPE with -l/--all",
                                                          show_default=False)] = None,
    filename: FilenameOption = None,
    recursive: RecursiveOption = False,
    selector: SelectorOption = None,
    all_objects: Annotated[bool, typer.Option("--all", help="every object of the type(s) in the namespace")] = False,
    all_namespaces: AllNamespacesOption = False,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="wait until the objects are gone "
                                       "(--wait=false: do not)")] = True,
    timeout: Annotated[str | None, typer.Option("--timeout", help="give up waiting after this long, e.g. 60s",
                                                show_default=False)] = None,
    ignore_not_found: Annotated[bool, typer.Option("--ignore-not-found", help="a missing object is no error")]
    = False,
    grace_period: Annotated[int | None, typer.Option("--grace-period", help="seconds a pod gets to stop",
                                                     show_default=False)] = None,
    now: Annotated[bool, typer.Option("--now", help="same as --grace-period=1")] = False,
    kubeconfig: KubeconfigOption = None,
    server: ServerOption = None,
    namespace: NamespaceOption = None,
    request_timeout: RequestTimeoutOption = None,
) -> int:
    """Delete objects by manifest, name, label selector or --all, and wait until they are gone."""
    options = DeleteOptions(wait=wait, timeout=parse_duration(timeout, flag="--timeout") if timeout else None,
                            ignore_not_found=ignore_not_found, grace_period=1 if now else grace_period)
    manifests = read_manifests(filename, stdin=sys.stdin, verb="delete", recursive=recursive) if filename else []
    if manifests and resources:
        raise fail("error: when paths, URLs, or stdin is provided as input, you may not specify resource "
                   "arguments as well")
    if not manifests and not resources:
        raise fail("error: You must provide one or more resources by argument or filename.")
    connection = connection_of(kubeconfig, server, namespace, request_timeout)

    async def action(session: Session) -> int:
        targets: list[DeleteTarget] | None = [
            DeleteTarget(m.kind, m.name, namespace_for(session, m.kind, m.namespace)) for m in manifests]
        if not manifests:
            targets = await _targets_of(session, resources or [], selector=selector, all_objects=all_objects,
                                        all_namespaces=all_namespaces)
        return 0 if targets is None else await delete_targets(session, targets, options)

    return run_verb(connection, action)


async def _targets_of(session: Session, args: Sequence[str], *, selector: str | None, all_objects: bool,
                      all_namespaces: bool) -> list[DeleteTarget] | None:
    """The objects the arguments name; None (after saying so) when a selection matched nothing."""
    requests = parse_resource_args(args, verb="delete")
    named = any(request.names for request in requests)
    if named and (selector or all_objects):
        raise fail("error: name cannot be provided when a selector is specified" if selector
                   else "error: setting 'all' parameter but found a non empty selector.")
    if not named and not (selector or all_objects):
        raise fail("error: resource(s) were provided, but no name was specified")
    targets: list[DeleteTarget] = []
    for request in requests:
        if request.names:
            targets.extend(DeleteTarget(request.kind, name, session.namespace) for name in request.names)
            continue
        listing = await session.client.list(request.kind, namespace=None if all_namespaces else session.namespace,
                                            label_selector=selector)
        for item in listing.get("items") or []:
            metadata = metadata_of(item)
            targets.append(DeleteTarget(request.kind, str(metadata.get("name")), metadata.get("namespace")))
    if not targets:
        typer.echo("No resources found")
        return None
    return targets


async def delete_targets(session: Session, targets: Sequence[DeleteTarget], options: DeleteOptions) -> int:
    failures: list[str] = []
    deleted: list[tuple[DeleteTarget, str | None]] = []
    for target in targets:
        try:
            answer = await session.client.delete(target.kind, target.name, namespace=target.namespace,
                                                 propagation_policy="Background",
                                                 grace_period_seconds=options.grace_period)
        except NotFound as error:
            if not options.ignore_not_found:
                failures.append(error_line(error, session.servers))
            continue
        typer.echo(f'{kind_label(target.kind)} "{target.name}" deleted')
        uid = metadata_of(answer).get("uid") or (answer.get("details") or {}).get("uid")
        deleted.append((target, str(uid) if uid else None))
    if options.wait:
        for target, uid in deleted:
            gone = await wait_until_gone(session.client, target.kind, target.name, namespace=target.namespace,
                                         uid=uid, timeout=options.timeout)
            if not gone:
                failures.append(f"error: timed out waiting for the condition on {target.kind.group_resource}/"
                                f"{target.name}")
    for failure in failures:
        typer.echo(failure, err=True)
    return 1 if failures else 0

