"""Turning what the apiserver answers into what kubectl would print.

The server does the heavy lifting for `get`: it answers with a meta.k8s.io Table whose columns
and cells are Kubernetes' own. What is left is kubectl's decoration and layout, done here as
pure functions so they are tested without a cluster: uppercase headers, priority-1 columns only
with `-o wide`, a NAMESPACE column first with `-A`, LABELS last with `--show-labels`,
`kind/name` names when several kinds are printed, tabwriter alignment; and the other output
forms (`-o yaml|json|name|jsonpath=...`) with kubectl's conventions (sorted keys, a `List`
wrapper for several objects, `deployment.apps/web` names).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from minik8s.api.meta import JsonObject
from minik8s.api.registry import ResourceKind
from minik8s.api.table_values import as_list, as_map, as_str, format_labels
from minik8s.cli import jsonpath
from minik8s.cli.errors import CliError
from minik8s.cli.tabwriter import align

TABLE_ACCEPT = "application/json;as=Table;v=v1;g=meta.k8s.io, application/json"
OUTPUT_FORMATS = ("json", "jsonpath", "name", "wide", "yaml")
_CELL_BREAKS = "\f\n\r"


@dataclass(frozen=True)
class OutputFormat:
    """A parsed `-o` value: `kind` is "" (the table), wide, yaml, json, name or jsonpath."""

    kind: str = ""
    template: str = ""

    @property
    def is_table(self) -> bool:
        return self.kind in ("", "wide")


def parse_output(value: str | None) -> OutputFormat:
    """`-o` as kubectl reads it; an unknown format is kubectl's error line."""
    if not value:
        return OutputFormat()
    name, separator, template = value.partition("=")
    if name in ("jsonpath", "jsonpath-as-json") and separator:
        jsonpath.parse(template)  # fail early on a bad template
        return OutputFormat("jsonpath", template)
    if name in ("wide", "yaml", "json", "name") and not separator:
        return OutputFormat(name)
    raise CliError(f'error: unable to match a printer suitable for the output format "{value}", allowed formats '
                   f"are: {','.join(OUTPUT_FORMATS)}", verbatim=True)


@dataclass(frozen=True)
class TableOptions:
    """kubectl's table decorations."""

    wide: bool = False
    with_namespace: bool = False
    show_labels: bool = False
    kind_prefix: str | None = None  # print names as `<kind_prefix>/<name>`
    no_headers: bool = False


def kind_label(kind: ResourceKind) -> str:
    """How kubectl names a kind in `kind/name` output: `pod`, `deployment.apps`."""
    return f"{kind.kind.lower()}.{kind.group}" if kind.group else kind.kind.lower()


def object_name(kind: ResourceKind, obj: Mapping[str, Any]) -> str:
    """`-o name` of one object: `deployment.apps/web`."""
    return f"{kind_label(kind)}/{as_str(as_map(obj.get('metadata')).get('name'))}"


def format_cell(value: Any) -> str:
    """A cell as Go's fmt.Sprint prints it; text stops at a line break, marked with `...`."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = str(int(value)) if value.is_integer() and abs(value) < 1e21 else repr(value)
    elif isinstance(value, list):
        text = "[" + " ".join(format_cell(item) for item in value) + "]"
    elif isinstance(value, dict):
        text = "map[" + " ".join(f"{key}:{format_cell(item)}" for key, item in sorted(value.items())) + "]"
    else:
        text = str(value)
    breaks = [text.index(char) for char in _CELL_BREAKS if char in text]
    return text[: min(breaks)] + "..." if breaks else text


def table_rows(table: Mapping[str, Any], options: TableOptions) -> tuple[list[str], list[list[str]]]:
    """The decorated header and rows of a server-side Table, as kubectl shows them."""
    columns = [as_map(column) for column in as_list(table.get("columnDefinitions"))]
    visible = [index for index, column in enumerate(columns) if options.wide or not column.get("priority")]
    name_column = next((index for index, column in enumerate(columns)
                        if column.get("format") == "name" and column.get("type", "string") == "string"), None)
    header = [as_str(columns[index].get("name")).upper() for index in visible]
    if options.with_namespace:
        header.insert(0, "NAMESPACE")
    if options.show_labels:
        header.append("LABELS")
    rows: list[list[str]] = []
    for row in (as_map(row) for row in as_list(table.get("rows"))):
        cells = as_list(row.get("cells"))
        metadata = as_map(as_map(row.get("object")).get("metadata"))
        printed = []
        for index in visible:
            text = format_cell(cells[index]) if index < len(cells) else ""
            if index == name_column and options.kind_prefix:
                text = f"{options.kind_prefix}/{text}"
            printed.append(text)
        if options.with_namespace:
            printed.insert(0, as_str(metadata.get("namespace")))
        if options.show_labels:
            printed.append(format_labels(metadata.get("labels")))
        rows.append(printed)
    return header, rows


def render_table(
    table: Mapping[str, Any], options: TableOptions, *, header: bool = True, remembered: list[int] | None = None
) -> str:
    """The aligned text of a Table (empty when it has no rows, as kubectl prints nothing then)."""
    names, rows = table_rows(table, options)
    if not rows:
        return ""
    lines = ([names] if header and not options.no_headers else []) + rows
    return align("".join("\t".join(cells) + "\n" for cells in lines), remembered=remembered)


def merge_tables(tables: Sequence[Mapping[str, Any]]) -> JsonObject:
    """One Table with the rows of several of the same kind (`get pod a b` prints one block)."""
    merged: JsonObject = dict(tables[0])
    merged["rows"] = [row for table in tables for row in as_list(table.get("rows"))]
    return merged


class _KubectlDumper(yaml.SafeDumper):
    """go-yaml's habits: double quotes where quoting is needed, `|` blocks for multi-line text."""

    def choose_scalar_style(self) -> Any:
        style = super().choose_scalar_style()
        return '"' if style == "'" else style


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value and not any(char in value for char in "\t\r") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_KubectlDumper.add_representer(str, _represent_str)


def to_yaml(obj: Any) -> str:
    """YAML as kubectl prints it: keys sorted, block style, no line wrapping."""
    return yaml.dump(obj, Dumper=_KubectlDumper, sort_keys=True, default_flow_style=False, allow_unicode=True,
                     width=1 << 30)


def to_json(obj: Any) -> str:
    """JSON as kubectl prints it: 4-space indent, keys sorted."""
    return json.dumps(obj, indent=4, sort_keys=True, ensure_ascii=False) + "\n"


def as_list_object(items: Sequence[Mapping[str, Any]]) -> JsonObject:
    """kubectl's wrapper around several objects (`kind: List`)."""
    return {"apiVersion": "v1", "items": [dict(item) for item in items], "kind": "List",
            "metadata": {"resourceVersion": ""}}


def with_type_meta(kind: ResourceKind, obj: Mapping[str, Any]) -> JsonObject:
    """The object with `apiVersion` and `kind` set (list items come without them)."""
    typed: JsonObject = {"apiVersion": kind.api_version, "kind": kind.kind}
    typed.update(obj)
    typed.setdefault("apiVersion", kind.api_version)
    return typed


def render_objects(
    objects: Sequence[tuple[ResourceKind, Mapping[str, Any]]], output: OutputFormat, *, single: bool
) -> str:
    """Objects in a non-table format; `single` prints one object itself rather than a List."""
    typed = [with_type_meta(kind, obj) for kind, obj in objects]
    if output.kind == "name":
        return "".join(object_name(kind, obj) + "\n" for kind, obj in objects)
    document: Any = typed[0] if single and len(typed) == 1 else as_list_object(typed)
    if output.kind == "yaml":
        return to_yaml(document)
    if output.kind == "json":
        return to_json(document)
    if output.kind == "jsonpath":
        return jsonpath.render(output.template, document)
    raise ValueError(f"not an object output format: {output.kind!r}")
