"""The read-only verbs besides `get`: describe, logs, events, api-resources, version, cluster-info.

`describe` fetches an object and what its sections need (a deployment's ReplicaSets, a node's
pods and Lease, a service's Endpoints) plus the Events about it (listed by field selector on
`involvedObject`), then formats with `describers`. `logs` streams a container's output through
the apiserver (which relays from the node agent), resolving `deploy/NAME` to its first pod.
`events` is kubectl's event table; `api-resources` reads discovery; `version` and `cluster-info`
say what the CLI talks to.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from importlib import metadata as package_metadata
from typing import Annotated

import typer

from minik8s.api.kinds import ENDPOINTS, EVENTS, LEASES, LIMIT_RANGES, PODS, REPLICA_SETS, RESOURCE_QUOTAS
from minik8s.api.meta import JsonObject, metadata_of, spec_of
from minik8s.api.registry import ResourceKind
from minik8s.api.table_values import as_map, as_str
from minik8s.cli.api_calls import get_json, pick_container, pod_for, selector_of
from minik8s.cli.describe_text import event_interval, event_sort_key
from minik8s.cli.describers import Evidence, describe
from minik8s.cli.flags import (
    AllNamespacesOption,
    KubeconfigOption,
    NamespaceOption,
    OutputOption,
    RequestTimeoutOption,
    SelectorOption,
    ServerOption,
    connection_of,
    parse_duration,
)
from minik8s.cli.kubeconfig_context import Session, error_line, run_verb
from minik8s.cli.printers import to_json, to_yaml
from minik8s.cli.resources import fail, parse_kind_name, parse_resource_args, resolve_kind
from minik8s.cli.tabwriter import align
from minik8s.client.errors import NotFound
from minik8s.client.paths import object_path


def register(app: typer.Typer) -> None:
    for name, command in (("describe", describe_command), ("logs", logs), ("events", events),
                          ("api-resources", api_resources), ("version", version), ("cluster-info", cluster_info)):
        app.command(name)(command)


async def events_about(session: Session, obj: JsonObject) -> list[JsonObject]:
    """The Events whose involvedObject is this object (for a node also those filed under its name)."""
    metadata = metadata_of(obj)
    namespace = metadata.get("namespace")
    terms = [f"involvedObject.name={metadata.get('name')}"]
    if namespace:
        terms.append(f"involvedObject.namespace={namespace}")
    uids = [str(metadata.get("uid") or "")]
    if obj.get("kind") == "Node":
        uids.append(str(metadata.get("name")))
    found: list[JsonObject] = []
    for uid in uids:
        listing = await session.client.list(EVENTS, namespace=namespace,
                                            field_selector=",".join([*terms, f"involvedObject.uid={uid}"]))
        found.extend(listing.get("items") or [])
    return found


async def _controlled(session: Session, kind: ResourceKind, owner_kind: ResourceKind,
                      owner: JsonObject) -> list[JsonObject]:
    """Objects of `kind` selected by the owner's selector and controlled by it."""
    uid = metadata_of(owner).get("uid")
    listing = await session.client.list(kind, namespace=metadata_of(owner).get("namespace"),
                                        label_selector=selector_of(owner_kind, owner) or None)
    return [item for item in listing.get("items") or []
            if any(ref.get("controller") and ref.get("uid") == uid
                   for ref in metadata_of(item).get("ownerReferences") or [])]


async def gather_evidence(session: Session, kind: ResourceKind, obj: JsonObject) -> Evidence:
    """The object plus what its description needs."""
    obj = {"apiVersion": kind.api_version, "kind": kind.kind, **obj}
    events = None if kind.kind == "Namespace" else await events_about(session, obj)  # as kubectl's describers
    name = str(metadata_of(obj).get("name"))
    namespace = metadata_of(obj).get("namespace")
    if kind.kind == "Deployment":
        return Evidence(obj, events, replica_sets=await _controlled(session, REPLICA_SETS, kind, obj))
    if kind.kind in ("ReplicaSet", "StatefulSet"):
        return Evidence(obj, events, pods=await _controlled(session, PODS, kind, obj))
    if kind.kind == "Service":
        try:
            endpoints: JsonObject | None = await session.client.get(ENDPOINTS, name, namespace=namespace)
        except NotFound:
            endpoints = None
        return Evidence(obj, events, endpoints=endpoints)
    if kind.kind == "Node":
        pods = await session.client.list(PODS, field_selector=f"spec.nodeName={name},status.phase!=Succeeded,"
                                                              "status.phase!=Failed")
        try:
            lease: JsonObject | None = await session.client.get(LEASES, name, namespace="kube-node-lease")
        except NotFound:
            lease = None
        return Evidence(obj, events, pods=pods.get("items") or [], lease=lease)
    if kind.kind == "PersistentVolumeClaim":  # `Used By`: the pods of its namespace naming it
        return Evidence(obj, events, pods=(await session.client.list(PODS, namespace=namespace)).get("items") or [])
    if kind.kind == "Namespace":
        quotas = (await session.client.list(RESOURCE_QUOTAS, namespace=name)).get("items") or []
        limit_ranges = (await session.client.list(LIMIT_RANGES, namespace=name)).get("items") or []
        return Evidence(obj, events, resource_quotas=quotas, limit_ranges=limit_ranges)
    return Evidence(obj, events)


def describe_command(
    resources: Annotated[list[str] | None, typer.Argument(help="TYPE [NAME...] or TYPE/NAME", show_default=False)]
    = None,
    selector: SelectorOption = None,
    all_namespaces: AllNamespacesOption = False,
    kubeconfig: KubeconfigOption = None,
    server: ServerOption = None,
    namespace: NamespaceOption = None,
    request_timeout: RequestTimeoutOption = None,
) -> int:
    """Show details of objects, with the Events about them."""
    requests = parse_resource_args(resources or [], verb="describe")

    async def action(session: Session) -> int:
        failures: list[str] = []
        described = 0
        for request in requests:
            objects: list[JsonObject] = []
            if request.names:
                for name in request.names:
                    try:
                        objects.append(await session.client.get(request.kind, name, namespace=session.namespace))
                    except NotFound as error:
                        failures.append(error_line(error, session.servers))
            else:
                listing = await session.client.list(request.kind, label_selector=selector,
                                                    namespace=None if all_namespaces else session.namespace)
                objects = listing.get("items") or []
            for obj in objects:
                text = describe(request.kind.kind, await gather_evidence(session, request.kind, obj),
                                now=datetime.now(UTC))
                typer.echo(("\n\n" if described else "") + text, nl=False)
                described += 1
        if not described and not failures:
            typer.echo(f"No resources found in {session.namespace} namespace." if not all_namespaces
                       else "No resources found", err=True)
        for failure in failures:
            typer.echo(failure, err=True)
        return 1 if failures else 0

    return run_verb(connection_of(kubeconfig, server, namespace, request_timeout), action)


def logs(
    target: Annotated[list[str], typer.Argument(help="POD [CONTAINER], or TYPE/NAME (first pod of a workload)")],
    container: Annotated[str | None, typer.Option("--container", "-c", help="the container",
                                                  show_default=False)] = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="keep streaming new output")] = False,
    tail: Annotated[int, typer.Option("--tail", help="lines from the end (-1: all)")] = -1,
    previous: Annotated[bool, typer.Option("--previous", "-p", help="the previous (crashed) instance")] = False,
    timestamps: Annotated[bool, typer.Option("--timestamps", help="prefix each line with its time")] = False,
    since: Annotated[str | None, typer.Option("--since", help="only newer than this, e.g. 5m",
                                              show_default=False)] = None,
    kubeconfig: KubeconfigOption = None,
    server: ServerOption = None,
    namespace: NamespaceOption = None,
    request_timeout: RequestTimeoutOption = None,
) -> int:
    """Print the logs of a container (through the apiserver, from the node agent)."""
    if len(target) == 2 and "/" not in target[0] and container is None:
        target, container = target[:1], target[1]
    kind, name = parse_kind_name(target, default_kind="pods", verb="logs")
    params: dict[str, str] = {}
    for key, enabled in (("follow", follow), ("previous", previous), ("timestamps", timestamps)):
        if enabled:
            params[key] = "true"
    if tail >= 0:
        params["tailLines"] = str(tail)
    if since:
        params["sinceSeconds"] = str(max(1, int(parse_duration(since, flag="--since"))))

    async def action(session: Session) -> int:
        pod, matches = await pod_for(session.client, kind, name, namespace=session.namespace)
        pod_name = str(metadata_of(pod).get("name"))
        if matches > 1:
            typer.echo(f"Found {matches} pods, using pod/{pod_name}", err=True)
        chosen, notice = pick_container(pod, container)
        if notice:
            typer.echo(notice, err=True)
        query = {**params, **({"container": chosen} if chosen else {})}
        path = object_path(PODS, pod_name, namespace=session.namespace, subresource="log")
        async with session.client.stream("GET", path, params=query, read_timeout=None if follow else 60.0) as answer:
            async for chunk in answer.aiter_bytes():
                sys.stdout.buffer.write(chunk)
                sys.stdout.buffer.flush()
        return 0

    return run_verb(connection_of(kubeconfig, server, namespace, request_timeout), action)


def events_table(items: list[JsonObject], *, all_namespaces: bool, now: datetime) -> str:
    """kubectl events' table: LAST SEEN, TYPE, REASON, OBJECT, MESSAGE (NAMESPACE first with -A)."""
    lines = [("NAMESPACE\t" if all_namespaces else "") + "LAST SEEN\tTYPE\tREASON\tOBJECT\tMESSAGE\n"]
    for event in sorted(items, key=event_sort_key):
        involved = as_map(event.get("involvedObject"))
        namespace = as_str(as_map(event.get("metadata")).get("namespace"))
        lines.append((f"{namespace}\t" if all_namespaces else "")
                     + f"{event_interval(event, now)}\t{as_str(event.get('type'))}\t{as_str(event.get('reason'))}\t"
                     f"{as_str(involved.get('kind'))}/{as_str(involved.get('name'))}\t"
                     f"{as_str(event.get('message')).strip()}\n")
    return align("".join(lines))


def events(
    for_object: Annotated[str | None, typer.Option("--for", help="only events about TYPE/NAME",
                                                   show_default=False)] = None,
    types: Annotated[str | None, typer.Option("--types", help="only these types, e.g. Warning",
                                              show_default=False)] = None,
    all_namespaces: AllNamespacesOption = False,
    kubeconfig: KubeconfigOption = None,
    server: ServerOption = None,
    namespace: NamespaceOption = None,
    request_timeout: RequestTimeoutOption = None,
) -> int:
    """List events, oldest first."""
    field_selector = None
    if for_object:
        kind, name = parse_kind_name([for_object], default_kind=None, verb="events --for")
        field_selector = f"involvedObject.kind={kind.kind},involvedObject.name={name}"
    wanted = {part.strip().lower() for part in types.split(",")} if types else None

    async def action(session: Session) -> int:
        listing = await session.client.list(EVENTS, namespace=None if all_namespaces else session.namespace,
                                            field_selector=field_selector)
        items = [item for item in listing.get("items") or []
                 if wanted is None or str(item.get("type", "")).lower() in wanted]
        if not items:
            typer.echo("No events found." if all_namespaces else f"No events found in {session.namespace} namespace.",
                       err=True)
            return 0
        typer.echo(events_table(items, all_namespaces=all_namespaces, now=datetime.now(UTC)), nl=False)
        return 0

    return run_verb(connection_of(kubeconfig, server, namespace, request_timeout), action)


async def discovered_resources(session: Session) -> list[JsonObject]:
    """Every top-level resource the server serves, with `group` and `version` filled in."""
    lists = [await get_json(session.client, "/api/v1")]
    for group in (await get_json(session.client, "/apis")).get("groups") or []:
        version = (group.get("preferredVersion") or {}).get("groupVersion")
        if version:
            lists.append(await get_json(session.client, f"/apis/{version}"))
    found: list[JsonObject] = []
    for resource_list in lists:
        group, _, version = str(resource_list.get("groupVersion", "")).rpartition("/")
        for resource in resource_list.get("resources") or []:
            if "/" not in str(resource.get("name")) and resource.get("verbs"):
                found.append({**resource, "group": group, "version": version})
    return sorted(found, key=lambda resource: (resource["group"], str(resource.get("name"))))


def api_resources_text(resources: list[JsonObject], *, output: str | None) -> str:
    if output == "name":
        return "".join(f"{r['name']}{'.' + r['group'] if r['group'] else ''}\n" for r in resources)
    wide = output == "wide"
    header = "NAME\tSHORTNAMES\tAPIVERSION\tNAMESPACED\tKIND" + ("\tVERBS\tCATEGORIES" if wide else "") + "\n"
    rows = []
    for r in resources:
        api_version = f"{r['group']}/{r['version']}" if r["group"] else r["version"]
        row = (f"{r['name']}\t{','.join(r.get('shortNames') or [])}\t{api_version}\t"
               f"{'true' if r.get('namespaced') else 'false'}\t{r.get('kind', '')}")
        if wide:
            row += f"\t{','.join(r.get('verbs') or [])}\t{','.join(r.get('categories') or [])}"
        rows.append(row + "\n")
    return align(header + "".join(rows))


def api_resources(
    output: OutputOption = None,
    kubeconfig: KubeconfigOption = None,
    server: ServerOption = None,
    request_timeout: RequestTimeoutOption = None,
) -> int:
    """List the resource types the server serves (from discovery)."""
    if output not in (None, "wide", "name"):
        raise fail(f"error: --output {output} is not available (wide or name)")

    async def action(session: Session) -> int:
        typer.echo(api_resources_text(await discovered_resources(session), output=output), nl=False)
        return 0

    return run_verb(connection_of(kubeconfig, server, None, request_timeout), action)


def client_version() -> str:
    try:
        return f"v{package_metadata.version('minik8s')}"
    except package_metadata.PackageNotFoundError:
        return "v0.0.0-unknown"


def version(
    output: OutputOption = None,
    client: Annotated[bool, typer.Option("--client", help="only the client version")] = False,
    kubeconfig: KubeconfigOption = None,
    server: ServerOption = None,
    request_timeout: RequestTimeoutOption = None,
) -> int:
    """Print the client and server versions."""
    if output not in (None, "json", "yaml"):
        raise fail("error: --output must be 'yaml' or 'json'")
    info: JsonObject = {"clientVersion": {"gitVersion": client_version(), "platform": sys.platform}}
    if output is None:
        typer.echo(f"Client Version: {client_version()}")
    if client:
        if output:
            typer.echo(to_json(info) if output == "json" else to_yaml(info), nl=False)
        return 0

    async def action(session: Session) -> int:
        server_info = await get_json(session.client, "/version")
        if output is None:
            typer.echo(f"Server Version: {server_info.get('gitVersion', '')}")
        else:
            document = {**info, "serverVersion": server_info}
            typer.echo(to_json(document) if output == "json" else to_yaml(document), nl=False)
        return 0

    return run_verb(connection_of(kubeconfig, server, None, request_timeout), action)


def cluster_info(
    kubeconfig: KubeconfigOption = None,
    server: ServerOption = None,
    request_timeout: RequestTimeoutOption = None,
) -> int:
    """Where the control plane and the cluster services run."""
    services = resolve_kind("services")

    async def action(session: Session) -> int:
        await get_json(session.client, "/version")
        primary = session.servers[0]
        typer.echo(f"Kubernetes control plane is running at {primary}")
        if len(session.servers) > 1:
            typer.echo(f"Apiserver replicas (fail-over): {', '.join(session.servers)}")
        listing = await session.client.list(services, namespace="kube-system",
                                            label_selector="kubernetes.io/cluster-service=true")
        for service in listing.get("items") or []:
            metadata = metadata_of(service)
            name = (metadata.get("labels") or {}).get("kubernetes.io/name") or metadata.get("name")
            port = (spec_of(service).get("ports") or [{}])[0]
            suffix = f":{port['name']}" if port.get("name") else (f":{port['port']}" if port.get("port") else "")
            typer.echo(f"{name} is running at {primary}/api/v1/namespaces/kube-system/services/"
                       f"{metadata.get('name')}{suffix}/proxy")
        typer.echo("\nTo further debug and diagnose cluster problems, use 'minik8s status' and 'minik8s events -A'.")
        return 0

    return run_verb(connection_of(kubeconfig, server, None, request_timeout), action)
