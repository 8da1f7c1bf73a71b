"""`minik8s get`: kubectl's most used verb, with its output forms and `--watch`.

The apiserver prints: `get` asks for server-side Tables and only decorates and aligns them
(`printers`). Several kinds print one block each, names as `kind/name`, separated by a blank
line; named objects that do not exist are reported after the output, and make the exit code 1;
an empty listing says `No resources found in <ns> namespace.` on stderr. `-o yaml|json|name|
jsonpath` read plain objects instead. `-w` lists, then follows a watch from the list's
resourceVersion, printing each changed row (reconnecting when a replica drops the stream).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import typer

from minik8s.api.meta import JsonObject, metadata_of, resource_version_of
from minik8s.api.registry import ResourceKind
from minik8s.cli.api_calls import fetch_table, get_json, list_params, watch_stream
from minik8s.cli.flags import (
    AllNamespacesOption,
    KubeconfigOption,
    NamespaceOption,
    OutputOption,
    RequestTimeoutOption,
    SelectorOption,
    ServerOption,
    connection_of,
)
from minik8s.cli.kubeconfig_context import Session, error_line, run_verb
from minik8s.cli.printers import (
    TABLE_ACCEPT,
    OutputFormat,
    TableOptions,
    kind_label,
    merge_tables,
    parse_output,
    render_objects,
    render_table,
)
from minik8s.cli.resources import ResourceRequest, fail, parse_resource_args
from minik8s.client.errors import ApiError, Gone, NotFound
from minik8s.client.paths import collection_path

logger = logging.getLogger(__name__)



@dataclass(frozen=True)
class GetOptions:
    output: OutputFormat
    selector: str | None = None
    all_namespaces: bool = False
    show_labels: bool = False
    no_headers: bool = False


def register(app: typer.Typer) -> None:
    app.command("get")(get)


def get(
    resources: Annotated[list[str] | None, typer.Argument(help="TYPE[,TYPE...] [NAME...] or TYPE/NAME ...",
                                                          show_default=False)] = None,
    output: OutputOption = None,
    selector: SelectorOption = None,
    all_namespaces: AllNamespacesOption = False,
    show_labels: Annotated[bool, typer.Option("--show-labels", help="add a LABELS column")] = False,
    no_headers: Annotated[bool, typer.Option("--no-headers", help="omit the header row")] = False,
    watch: Annotated[bool, typer.Option("--watch", "-w", help="after listing, print changes as they happen")] = False,
    kubeconfig: KubeconfigOption = None,
    server: ServerOption = None,
    namespace: NamespaceOption = None,
    request_timeout: RequestTimeoutOption = None,
) -> int:
    """Display one or many resources (tables from the server, or -o yaml|json|name|jsonpath=...)."""
    requests = parse_resource_args(resources or [], verb="get")
    options = GetOptions(parse_output(output), selector, all_namespaces, show_labels, no_headers)
    connection = connection_of(kubeconfig, server, namespace, request_timeout)
    if watch:
        if len(requests) != 1 or len(requests[0].names) > 1:
            raise fail("error: watch is only supported on individual resources and resource collections, but "
                       f"{sum(max(1, len(r.names)) for r in requests)} resources were found")
        return run_verb(connection, lambda session: watch_objects(session, requests[0], options))
    return run_verb(connection, lambda session: get_objects(session, requests, options))


def _list_namespace(session: Session, options: GetOptions) -> str | None:
    return None if options.all_namespaces else session.namespace


async def get_objects(session: Session, requests: Sequence[ResourceRequest], options: GetOptions) -> int:
    """Print the requested objects; returns 1 when some named object was not found."""
    if options.output.is_table:
        failures = await _print_tables(session, requests, options)
    else:
        failures = await _print_objects(session, requests, options)
    for failure in failures:
        typer.echo(failure, err=True)
    return 1 if failures else 0


async def _print_tables(session: Session, requests: Sequence[ResourceRequest], options: GetOptions) -> list[str]:
    failures: list[str] = []
    with_kind = len({request.kind for request in requests}) > 1
    written = False
    for request in requests:
        tables = []
        if request.names:
            for name in request.names:
                try:
                    tables.append(await fetch_table(session.client, request.kind, namespace=session.namespace,
                                                    name=name))
                except NotFound as error:
                    failures.append(error_line(error, session.servers))
        else:
            tables.append(await fetch_table(session.client, request.kind, namespace=_list_namespace(session, options),
                                            label_selector=options.selector))
        if not tables:
            continue
        text = render_table(merge_tables(tables), _table_options(request.kind, options, with_kind=with_kind))
        if text:
            typer.echo(("\n" if written else "") + text, nl=False)
            written = True
    if not written and not failures:
        _no_resources(session, requests, options)
    return failures


def _table_options(kind: ResourceKind, options: GetOptions, *, with_kind: bool) -> TableOptions:
    return TableOptions(wide=options.output.kind == "wide", with_namespace=options.all_namespaces and kind.namespaced,
                        show_labels=options.show_labels, kind_prefix=kind_label(kind) if with_kind else None,
                        no_headers=options.no_headers)


def _no_resources(session: Session, requests: Sequence[ResourceRequest], options: GetOptions) -> None:
    if not options.all_namespaces and all(request.kind.namespaced for request in requests):
        typer.echo(f"No resources found in {session.namespace} namespace.", err=True)
    else:
        typer.echo("No resources found", err=True)


async def _print_objects(session: Session, requests: Sequence[ResourceRequest], options: GetOptions) -> list[str]:
    failures: list[str] = []
    found: list[tuple[ResourceKind, JsonObject]] = []
    for request in requests:
        if request.names:
            for name in request.names:
                try:
                    found.append((request.kind, await session.client.get(request.kind, name,
                                                                          namespace=session.namespace)))
                except NotFound as error:
                    failures.append(error_line(error, session.servers))
        else:
            listing = await session.client.list(request.kind, namespace=_list_namespace(session, options),
                                                label_selector=options.selector)
            found.extend((request.kind, item) for item in listing.get("items") or [])
    single = len(requests) == 1 and len(requests[0].names) == 1
    if found or not single:
        typer.echo(render_objects(found, options.output, single=single), nl=False)
    return failures


async def watch_objects(session: Session, request: ResourceRequest, options: GetOptions) -> int:
    """`get -w`: the current state, then every change until interrupted."""
    kind = request.kind
    namespace = _list_namespace(session, options) if not request.names else session.namespace
    field_selector = None
    if request.names:
        await session.client.get(kind, request.names[0], namespace=namespace)  # NotFound ends here
        field_selector = f"metadata.name={request.names[0]}"
    params = list_params(label_selector=options.selector, field_selector=field_selector)
    follower = _WatchPrinter(kind, options)
    resource_version = await follower.print_listing(session, namespace, params)
    while True:
        try:
            async for event in watch_stream(session.client, kind, namespace=namespace,
                                            params={**params, "resourceVersion": resource_version},
                                            accept=TABLE_ACCEPT if options.output.is_table else None):
                resource_version = follower.print_event(event.type, event.object) or resource_version
        except Gone:
            resource_version = await follower.print_listing(session, namespace, params)
            continue
        except ApiError as error:
            if error.code not in (0, 503):
                raise
            logger.info("watch interrupted (%s); resuming", error)
        await asyncio.sleep(0.2)


class _WatchPrinter:
    """Prints a watch's objects: table rows under one header, with widths that never shrink."""

    def __init__(self, kind: ResourceKind, options: GetOptions) -> None:
        self.kind = kind
        self.options = options
        self.table_options = _table_options(kind, options, with_kind=False)
        self.widths: list[int] = []
        self.columns: Any = None

    async def print_listing(self, session: Session, namespace: str | None, params: dict[str, str]) -> str:
        accept = TABLE_ACCEPT if self.options.output.is_table else None
        listing = await get_json(session.client, collection_path(self.kind, namespace=namespace), params=params,
                                 accept=accept)
        if self.options.output.is_table:
            self._print_table(listing)
        else:
            for item in listing.get("items") or []:
                self.print_event("ADDED", item)
        return resource_version_of(listing)

    def print_event(self, event_type: str, obj: JsonObject) -> str | None:
        """Print one event's object; returns the resourceVersion it brings (None if none)."""
        resource_version = metadata_of(obj).get("resourceVersion")
        if event_type == "BOOKMARK":
            return str(resource_version) if resource_version else None
        if self.options.output.is_table:
            self._print_table(obj)
        else:
            prefix = "---\n" if self.options.output.kind == "yaml" else ""
            text = render_objects([(self.kind, obj)], self.options.output, single=True)
            typer.echo(prefix + text + ("" if text.endswith("\n") else "\n"), nl=False)
        return str(resource_version) if resource_version else None

    def _print_table(self, table: JsonObject) -> None:
        columns = table.get("columnDefinitions")
        header = bool(columns) and columns != self.columns
        if columns:
            self.columns = columns
        else:
            table = {**table, "columnDefinitions": self.columns or []}
        text = render_table(table, self.table_options, header=header, remembered=self.widths)
        if text:
            typer.echo(text, nl=False)
        elif header:
            self.columns = None  # nothing printed yet: the next rows still need the header

