"""`rollout status|history|undo|restart|pause|resume`: driving the rollouts of deployments (and statefulsets).

The deployment controller does the rolling; these verbs read and nudge it as kubectl does:
`status` follows the deployment (a watch, re-listed when a replica drops it) until the new
generation is observed and updated == replicas == available, failing on
ProgressDeadlineExceeded; `history` lists the ReplicaSets the deployment owns by their
revision annotation; `undo` copies an older ReplicaSet's pod template back into the deployment
(a JSON patch, without the pod-template-hash label); `restart` stamps the template with
`kubectl.kubernetes.io/restartedAt`; `pause`/`resume` flip `spec.paused`. A statefulset's status, history
(its ControllerRevisions) and undo follow kubectl's StatefulSet viewers (rollout_statefulset.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any

import typer

from minik8s.api.kinds import REPLICA_SETS
from minik8s.api.meta import JsonObject, metadata_of, now_time, resource_version_of, spec_of, status_of
from minik8s.api.registry import ResourceKind
from minik8s.cli import rollout_statefulset
from minik8s.cli.api_calls import get_json, list_params, watch_stream
from minik8s.cli.describe_text import DescribeWriter, write_pod_template
from minik8s.cli.describers import REVISION_ANNOTATION, TEMPLATE_HASH_LABEL, template_matches
from minik8s.cli.flags import (
    KubeconfigOption,
    NamespaceOption,
    RequestTimeoutOption,
    ServerOption,
    connection_of,
    parse_duration,
)
from minik8s.cli.kubeconfig_context import Session, run_verb
from minik8s.cli.printers import kind_label
from minik8s.cli.resources import fail, parse_kind_name
from minik8s.cli.tabwriter import DESCRIBE_MIN_WIDTH, DESCRIBE_PADDING, align
from minik8s.client.errors import ApiError, Gone
from minik8s.client.paths import collection_path

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
CHANGE_CAUSE = "kubernetes.io/change-cause"
_KEPT_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration", REVISION_ANNOTATION,
                     "deployment.kubernetes.io/revision-history", "deployment.kubernetes.io/desired-replicas",
                     "deployment.kubernetes.io/max-replicas", "deprecated.deployment.rollback.to")

ObjectArgument = Annotated[list[str] | None, typer.Argument(help="TYPE NAME or TYPE/NAME", show_default=False)]


def register(app: typer.Typer) -> None:
    rollout = typer.Typer(help="Manage the rollout of a deployment.", no_args_is_help=True)
    rollout.command("status")(status)
    rollout.command("history")(history)
    rollout.command("undo")(undo)
    rollout.command("restart")(restart)
    rollout.command("pause")(pause)
    rollout.command("resume")(resume)
    app.add_typer(rollout, name="rollout")


def _target(args: list[str] | None, *, verb: str, kinds: tuple[str, ...] = ("Deployment",)) -> tuple[ResourceKind, str]:
    kind, name = parse_kind_name(args or [], default_kind=None, verb=f"rollout {verb}")
    if kind.kind not in kinds:
        raise fail(f'error: no {verb} has been implemented for "{kind.kind}"')
    return kind, name


def rollout_message(obj: JsonObject, *, kind: str) -> tuple[str, bool]:
    """kubectl's status line for a deployment or daemon set, and whether the rollout is done."""
    if kind == "StatefulSet":
        return rollout_statefulset.status_message(obj)
    metadata, spec, status = metadata_of(obj), spec_of(obj), status_of(obj)
    name = metadata.get("name", "")
    if int(metadata.get("generation") or 0) > int(status.get("observedGeneration") or 0):
        return f"Waiting for {'deployment' if kind == 'Deployment' else 'daemon set'} spec update to be observed...", False
    if kind == "DaemonSet":
        desired = int(status.get("desiredNumberScheduled") or 0)
        if int(status.get("updatedNumberScheduled") or 0) < desired:
            return (f'Waiting for daemon set "{name}" rollout to finish: {status.get("updatedNumberScheduled") or 0} '
                    f"out of {desired} new pods have been updated..."), False
        if int(status.get("numberAvailable") or 0) < desired:
            return (f'Waiting for daemon set "{name}" rollout to finish: {status.get("numberAvailable") or 0} of '
                    f"{desired} updated pods are available..."), False
        return f'daemon set "{name}" successfully rolled out', True
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Progressing" and condition.get("reason") == "ProgressDeadlineExceeded":
            raise fail(f'error: deployment "{name}" exceeded its progress deadline')
    replicas = int(spec.get("replicas", 1))
    updated, total = int(status.get("updatedReplicas") or 0), int(status.get("replicas") or 0)
    available = int(status.get("availableReplicas") or 0)
    if updated < replicas:
        return (f'Waiting for deployment "{name}" rollout to finish: {updated} out of {replicas} new replicas have '
                "been updated..."), False
    if total > updated:
        return (f'Waiting for deployment "{name}" rollout to finish: {total - updated} old replicas are pending '
                "termination..."), False
    if available < updated:
        return (f'Waiting for deployment "{name}" rollout to finish: {available} of {updated} updated replicas are '
                "available..."), False
    return f'deployment "{name}" successfully rolled out', True


async def follow(session: Session, kind: ResourceKind, name: str) -> AsyncIterator[JsonObject]:
    """The object now and after every change; re-lists when a stream ends or expires."""
    params = list_params(field_selector=f"metadata.name={name}")
    path = collection_path(kind, namespace=session.namespace)
    while True:
        listing = await get_json(session.client, path, params=params)
        items = listing.get("items") or []
        if not items:
            raise fail(f'Error from server (NotFound): {kind.group_resource} "{name}" not found')
        yield items[0]
        resource_version = resource_version_of(listing)
        try:
            async for event in watch_stream(session.client, kind, namespace=session.namespace,
                                            params={**params, "resourceVersion": resource_version}):
                if event.type == "DELETED":
                    raise fail("error: object has been deleted")
                if event.type in ("ADDED", "MODIFIED"):
                    yield event.object
        except Gone:
            continue
        except ApiError as error:
            if error.code not in (0, 503):
                raise
        await asyncio.sleep(0.2)


def status(
    args: ObjectArgument = None,
    watch: Annotated[bool, typer.Option("--watch/--no-watch", "-w", help="wait until the rollout finishes")] = True,
    timeout: Annotated[str | None, typer.Option("--timeout", help="give up after this long, e.g. 5m",
                                                show_default=False)] = None,
    kubeconfig: KubeconfigOption = None,
    server: ServerOption = None,
    namespace: NamespaceOption = None,
    request_timeout: RequestTimeoutOption = None,
) -> int:
    """Show the status of the rollout, waiting until it completes."""
    kind, name = _target(args, verb="status", kinds=("Deployment", "DaemonSet", "StatefulSet"))
    seconds = parse_duration(timeout, flag="--timeout") if timeout else None

    async def action(session: Session) -> int:
        last = None

        async def watch_until_done() -> int:
            nonlocal last
            async for obj in follow(session, kind, name):
                message, done = rollout_message(obj, kind=kind.kind)
                if message != last:
                    typer.echo(message)
                    last = message
                if done or not watch:
                    return 0
            return 1

        try:
            return await asyncio.wait_for(watch_until_done(), timeout=seconds or None)
        except TimeoutError:
            raise fail("error: timed out waiting for the condition") from None

    return run_verb(connection_of(kubeconfig, server, namespace, request_timeout), action)


async def owned_replica_sets(session: Session, deployment: JsonObject) -> list[JsonObject]:
    """The ReplicaSets the deployment controls (by selector, then controller owner reference)."""
    selector = spec_of(deployment).get("selector") or {}
    labels = ",".join(f"{key}={value}" for key, value in (selector.get("matchLabels") or {}).items())
    listing = await session.client.list(REPLICA_SETS, namespace=session.namespace, label_selector=labels or None)
    uid = metadata_of(deployment).get("uid")
    return [rs for rs in listing.get("items") or []
            if any(owner.get("controller") and owner.get("uid") == uid
                   for owner in metadata_of(rs).get("ownerReferences") or [])]


def revision_of(replica_set: JsonObject) -> int | None:
    value = (metadata_of(replica_set).get("annotations") or {}).get(REVISION_ANNOTATION)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def history_text(replica_sets: list[JsonObject]) -> str:
    """The REVISION / CHANGE-CAUSE table (or kubectl's `No rollout history found.`)."""
    causes: dict[int, str] = {}
    for replica_set in replica_sets:
        revision = revision_of(replica_set)
        if revision is not None:
            annotations = metadata_of(replica_set).get("annotations") or {}
            causes[revision] = annotations.get(CHANGE_CAUSE) or "<none>"
    if not causes:
        return "No rollout history found."
    rows = "".join(f"{revision}\t{causes[revision]}\n" for revision in sorted(causes))
    return align("REVISION\tCHANGE-CAUSE\n" + rows, min_width=DESCRIBE_MIN_WIDTH, padding=DESCRIBE_PADDING)


def history(
    args: ObjectArgument = None,
    revision: Annotated[int, typer.Option("--revision", help="show the pod template of this revision")] = 0,
    kubeconfig: KubeconfigOption = None,
    server: ServerOption = None,
    namespace: NamespaceOption = None,
    request_timeout: RequestTimeoutOption = None,
) -> int:
    """List the revisions of a deployment (its ReplicaSets' revision annotations) or statefulset."""
    kind, name = _target(args, verb="history", kinds=("Deployment", "StatefulSet"))

    async def action(session: Session) -> int:
        if kind.kind == "StatefulSet":
            label = f"{kind_label(kind)}/{name}"
            typer.echo(await rollout_statefulset.history_text(session, name, revision, label=label), nl=False)
            return 0
        deployment = await session.client.get(kind, name, namespace=session.namespace)
        replica_sets = await owned_replica_sets(session, deployment)
        label = f"{kind_label(kind)}/{name}"
        if revision:
            chosen = next((rs for rs in replica_sets if revision_of(rs) == revision), None)
            if chosen is None:
                raise fail("error: unable to find the specified revision")
            writer = DescribeWriter()
            write_pod_template(writer, spec_of(chosen).get("template") or {})
            typer.echo(f"{label} with revision #{revision}\n{writer.text()}", nl=False)
            return 0
        typer.echo(f"{label} \n{history_text(replica_sets)}")
        return 0

    return run_verb(connection_of(kubeconfig, server, namespace, request_timeout), action)


def _pruned(value: Any) -> Any:
    if isinstance(value, dict):
        pruned = {key: _pruned(item) for key, item in value.items()}
        return {key: item for key, item in pruned.items() if item is not None and item != {}}
    if isinstance(value, list):
        return [_pruned(item) for item in value]
    return value


def undo_patch(deployment: JsonObject, replica_set: JsonObject) -> list[JsonObject]:
    """The JSON patch restoring the replica set's template (and its annotations) into the deployment."""
    template = _pruned(spec_of(replica_set).get("template") or {})
    labels = metadata_of(template).get("labels")
    if isinstance(labels, dict):
        labels.pop(TEMPLATE_HASH_LABEL, None)
    current = metadata_of(deployment).get("annotations") or {}
    annotations = {key: current[key] for key in _KEPT_ANNOTATIONS if key in current}
    annotations.update({key: value for key, value in (metadata_of(replica_set).get("annotations")
                                                      or {}).items() if key not in _KEPT_ANNOTATIONS})
    return [{"op": "replace", "path": "/spec/template", "value": template},
            {"op": "add", "path": "/metadata/annotations", "value": annotations}]  # add: works when absent too


def choose_revision(replica_sets: list[JsonObject], to_revision: int, *, name: str) -> tuple[JsonObject, int]:
    """The replica set to roll back to: `to_revision`, or (0) the one before the latest."""
    by_revision = {revision: rs for rs in replica_sets if (revision := revision_of(rs)) is not None}
    if to_revision:
        if to_revision not in by_revision:
            raise fail(f"error: unable to find specified revision {to_revision} in history")
        return by_revision[to_revision], to_revision
    revisions = sorted(by_revision)
    if len(revisions) < 2:
        raise fail(f'error: no rollout history found for deployment "{name}"' if not revisions
                   else "error: no last revision to roll back to")
    return by_revision[revisions[-2]], revisions[-2]


def undo(
    args: ObjectArgument = None,
    to_revision: Annotated[int, typer.Option("--to-revision", help="the revision to go back to (0: the previous)")]
    = 0,
    kubeconfig: KubeconfigOption = None,
    server: ServerOption = None,
    namespace: NamespaceOption = None,
    request_timeout: RequestTimeoutOption = None,
) -> int:
    """Roll a deployment or statefulset back to an earlier revision."""
    kind, name = _target(args, verb="undo", kinds=("Deployment", "StatefulSet"))

    async def action(session: Session) -> int:
        if kind.kind == "StatefulSet":
            typer.echo(await rollout_statefulset.undo(session, name, to_revision, label=f"{kind_label(kind)}/{name}"))
            return 0
        deployment = await session.client.get(kind, name, namespace=session.namespace)
        replica_set, revision = choose_revision(await owned_replica_sets(session, deployment), to_revision, name=name)
        if spec_of(deployment).get("paused"):
            raise fail("error: you cannot rollback a paused deployment; resume it first with 'minik8s rollout "
                       "resume' and try again")
        label = f"{kind_label(kind)}/{name}"
        if template_matches(replica_set, deployment):
            typer.echo(f"{label} skipped rollback (current template already matches revision {revision})")
            return 0
        await session.client.patch(kind, name, undo_patch(deployment, replica_set), namespace=session.namespace,
                                   patch_type="json")
        typer.echo(f"{label} rolled back")
        return 0

    return run_verb(connection_of(kubeconfig, server, namespace, request_timeout), action)


def restart(
    args: ObjectArgument = None,
    kubeconfig: KubeconfigOption = None,
    server: ServerOption = None,
    namespace: NamespaceOption = None,
    request_timeout: RequestTimeoutOption = None,
) -> int:
    """Restart every pod of a deployment (a new rollout of the same template)."""
    kind, name = _target(args, verb="restart", kinds=("Deployment", "DaemonSet", "StatefulSet"))

    async def action(session: Session) -> int:
        live = await session.client.get(kind, name, namespace=session.namespace)
        if spec_of(live).get("paused"):
            raise fail(f'error: {kind.group_resource} "{name}" can\'t restart paused deployment (run rollout resume '
                       "first)")
        stamp = now_time()
        patch = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}
        await session.client.patch(kind, name, patch, namespace=session.namespace, patch_type="strategic")
        typer.echo(f"{kind_label(kind)}/{name} restarted")
        return 0

    return run_verb(connection_of(kubeconfig, server, namespace, request_timeout), action)


def _set_paused(args: list[str] | None, paused: bool, flags: tuple[str | None, ...]) -> int:
    verb = "pause" if paused else "resume"
    kind, name = _target(args, verb=verb)

    async def action(session: Session) -> int:
        live = await session.client.get(kind, name, namespace=session.namespace)
        if bool(spec_of(live).get("paused")) == paused:
            raise fail(f'error: {kind.group_resource} "{name}" is {"already" if paused else "not"} paused')
        await session.client.patch(kind, name, {"spec": {"paused": paused or None}}, namespace=session.namespace,
                                   patch_type="strategic")
        typer.echo(f"{kind_label(kind)}/{name} {'paused' if paused else 'resumed'}")
        return 0

    kubeconfig, server, namespace, request_timeout = flags
    return run_verb(connection_of(kubeconfig, server, namespace, request_timeout), action)


def pause(
    args: ObjectArgument = None,
    kubeconfig: KubeconfigOption = None,
    server: ServerOption = None,
    namespace: NamespaceOption = None,
    request_timeout: RequestTimeoutOption = None,
) -> int:
    """Pause a deployment: template changes no longer roll out."""
    return _set_paused(args, True, (kubeconfig, server, namespace, request_timeout))


def resume(
    args: ObjectArgument = None,
    kubeconfig: KubeconfigOption = None,
    server: ServerOption = None,
    namespace: NamespaceOption = None,
    request_timeout: RequestTimeoutOption = None,
) -> int:
    """Resume a paused deployment."""
    return _set_paused(args, False, (kubeconfig, server, namespace, request_timeout))
