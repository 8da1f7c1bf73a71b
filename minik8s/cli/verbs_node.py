"""`cordon`, `uncordon` and `drain`: taking a node out of service and back.

`cordon` marks a node unschedulable (a strategic merge patch of `spec.unschedulable`, as
kubectl sends), `uncordon` clears it. `drain` cordons, then evicts every pod bound to the node
through the Eviction API (so disruption rules apply), and waits until each is gone. As in
kubectl, pods it cannot safely move stop the drain unless told otherwise: DaemonSet-managed ones
(`--ignore-daemonsets` skips them; their controller would recreate them anyway), ones no
controller would recreate (`--force`), ones with emptyDir data (`--delete-emptydir-data`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import typer

from minik8s.api.kinds import NODES, PODS
from minik8s.api.meta import JsonObject, metadata_of, spec_of, status_of
from minik8s.cli.api_calls import wait_until_gone
from minik8s.cli.flags import (
    KubeconfigOption,
    RequestTimeoutOption,
    ServerOption,
    connection_of,
    parse_duration,
)
from minik8s.cli.kubeconfig_context import Session, run_verb
from minik8s.cli.resources import fail
from minik8s.client.errors import NotFound, TooManyRequests, error_from_response
from minik8s.client.paths import object_path

EVICTION_RETRY_SECONDS = 5.0

NodeArgument = Annotated[str, typer.Argument(help="the node's name")]


def register(app: typer.Typer) -> None:
    app.command("cordon")(cordon)
    app.command("uncordon")(uncordon)
    app.command("drain")(drain)


async def set_unschedulable(session: Session, node: str, unschedulable: bool) -> str:
    """Cordon or uncordon; kubectl's line (`node/n1 cordoned`, `node/n1 already uncordoned`)."""
    live = await session.client.get(NODES, node)
    word = "cordoned" if unschedulable else "uncordoned"
    if bool(spec_of(live).get("unschedulable")) == unschedulable:
        return f"node/{node} already {word}"
    await session.client.patch(NODES, node, {"spec": {"unschedulable": True if unschedulable else None}},
                               patch_type="strategic")
    return f"node/{node} {word}"


def schedulable_verb(*, unschedulable: bool, summary: str) -> Callable[..., int]:
    """`cordon` and `uncordon`: one command, the value of spec.unschedulable it sets."""

    def set_node(
        node: NodeArgument,
        kubeconfig: KubeconfigOption = None,
        server: ServerOption = None,
        request_timeout: RequestTimeoutOption = None,
    ) -> int:
        connection = connection_of(kubeconfig, server, None, request_timeout)
        return run_verb(connection, lambda session: _echo(set_unschedulable(session, node, unschedulable)))

    set_node.__doc__ = summary
    return set_node


cordon = schedulable_verb(unschedulable=True, summary="Mark a node unschedulable: no new pods go there.")
uncordon = schedulable_verb(unschedulable=False, summary="Mark a node schedulable again.")


async def _echo(line: Any) -> int:
    typer.echo(await line)
    return 0


@dataclass(frozen=True)
class DrainOptions:
    ignore_daemonsets: bool = False
    force: bool = False
    delete_emptydir_data: bool = False
    timeout: float | None = None
    grace_period: int | None = None


def _controller(pod: JsonObject) -> JsonObject | None:
    return next((owner for owner in metadata_of(pod).get("ownerReferences") or []
                 if owner.get("controller")), None)


def classify_pods(pods: list[JsonObject], options: DrainOptions) -> tuple[list[JsonObject], list[str], list[str]]:
    """(pods to evict, warnings, problems that stop the drain), as kubectl's drain filters decide."""
    evict: list[JsonObject] = []
    warnings: dict[str, list[str]] = {}
    problems: dict[str, list[str]] = {}
    for pod in pods:
        metadata, spec = metadata_of(pod), spec_of(pod)
        key = f"{metadata.get('namespace')}/{metadata.get('name')}"
        if "kubernetes.io/config.mirror" in (metadata.get("annotations") or {}):
            continue
        finished = status_of(pod).get("phase") in ("Succeeded", "Failed")
        controller = _controller(pod)
        if controller is not None and controller.get("kind") == "DaemonSet" and not finished:
            bucket = warnings if options.ignore_daemonsets else problems
            message = ("ignoring DaemonSet-managed Pods" if options.ignore_daemonsets
                       else "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore)")
            bucket.setdefault(message, []).append(key)
            continue
        if controller is None and not finished:
            bucket = warnings if options.force else problems
            message = ("deleting Pods that declare no controller" if options.force
                       else "cannot delete Pods that declare no controller (use --force to override)")
            bucket.setdefault(message, []).append(key)
            if not options.force:
                continue
        if any("emptyDir" in volume for volume in spec.get("volumes") or []) and not finished:
            bucket = warnings if options.delete_emptydir_data else problems
            message = ("deleting Pods with local storage" if options.delete_emptydir_data
                       else "cannot delete Pods with local storage (use --delete-emptydir-data to override)")
            bucket.setdefault(message, []).append(key)
            if not options.delete_emptydir_data:
                continue
        evict.append(pod)
    return (evict, [f"{message}: {', '.join(keys)}" for message, keys in warnings.items()],
            [f"{message}: {', '.join(keys)}" for message, keys in problems.items()])


async def evict(session: Session, pod: JsonObject, *, grace_period: int | None, deadline: float | None) -> bool:
    """POST pods/X/eviction, retrying while a disruption budget refuses (429); False if the pod was gone."""
    metadata = metadata_of(pod)
    name, namespace = str(metadata.get("name")), str(metadata.get("namespace"))
    body: JsonObject = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name,
                                                                                  "namespace": namespace}}
    if grace_period is not None:
        body["deleteOptions"] = {"gracePeriodSeconds": grace_period}
    path = object_path(PODS, name, namespace=namespace, subresource="eviction")
    while True:
        response = await session.client.request("POST", path, json=body)
        if response.is_success:
            return True
        error = error_from_response(response.status_code, response.content)
        if isinstance(error, NotFound):
            return False
        if not isinstance(error, TooManyRequests) or (deadline is not None and time.monotonic() > deadline):
            raise error
        typer.echo(f"error when evicting pods/\"{name}\" -n \"{namespace}\" (will retry after "
                   f"{EVICTION_RETRY_SECONDS:g}s): {error.message}", err=True)
        await asyncio.sleep(EVICTION_RETRY_SECONDS)


def drain(
    node: NodeArgument,
    ignore_daemonsets: Annotated[bool, typer.Option("--ignore-daemonsets", help="skip DaemonSet-managed pods")]
    = False,
    force: Annotated[bool, typer.Option("--force", help="also evict pods no controller would recreate")] = False,
    delete_emptydir_data: Annotated[bool, typer.Option("--delete-emptydir-data",
                                                       help="also evict pods with emptyDir data")] = False,
    timeout: Annotated[str | None, typer.Option("--timeout", help="give up after this long, e.g. 2m",
                                                show_default=False)] = None,
    grace_period: Annotated[int | None, typer.Option("--grace-period", help="seconds each pod gets to stop",
                                                     show_default=False)] = None,
    kubeconfig: KubeconfigOption = None,
    server: ServerOption = None,
    request_timeout: RequestTimeoutOption = None,
) -> int:
    """Cordon a node and evict its pods, waiting until they are gone."""
    options = DrainOptions(ignore_daemonsets, force, delete_emptydir_data,
                           parse_duration(timeout, flag="--timeout") if timeout else None, grace_period)
    connection = connection_of(kubeconfig, server, None, request_timeout)
    return run_verb(connection, lambda session: drain_node(session, node, options))


async def drain_node(session: Session, node: str, options: DrainOptions) -> int:
    typer.echo(await set_unschedulable(session, node, True))
    listing = await session.client.list(PODS, field_selector=f"spec.nodeName={node}")
    to_evict, warnings, problems = classify_pods(listing.get("items") or [], options)
    if problems:
        raise fail(f'error: unable to drain node "{node}" due to error: {"; ".join(problems)}')
    for warning in warnings:
        typer.echo(f"Warning: {warning}", err=True)
    deadline = None if options.timeout is None else time.monotonic() + options.timeout
    evicted: list[JsonObject] = []
    for pod in to_evict:
        metadata = metadata_of(pod)
        typer.echo(f"evicting pod {metadata.get('namespace')}/{metadata.get('name')}")
        if await evict(session, pod, grace_period=options.grace_period, deadline=deadline):
            evicted.append(pod)
    for pod in evicted:
        metadata = metadata_of(pod)
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        gone = await wait_until_gone(session.client, PODS, str(metadata.get("name")),
                                     namespace=str(metadata.get("namespace")), uid=metadata.get("uid"),
                                     timeout=remaining)
        if not gone:
            raise fail(f"error: unable to drain node \"{node}\": timed out waiting for pod "
                       f"{metadata.get('namespace')}/{metadata.get('name')} to be deleted")
        typer.echo(f"pod/{metadata.get('name')} evicted")
    typer.echo(f"node/{node} drained")
    return 0
