"""Reading `-f` manifests: files, directories, `-` for stdin, multi-document YAML.

`apply`, `create`, `delete` and `scale` take the same `-f` arguments, and a bad manifest must
fail before anything is sent, with kubectl's words: a missing path (`the path "x" does not
exist`), YAML that does not parse, a document without `kind`, a kind the cluster does not
serve. Everything here is read and checked up front; the verbs get typed, resolved objects.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import yaml

from minik8s.api.meta import metadata_of, name_of
from minik8s.api.registry import REGISTRY, ResourceKind
from minik8s.cli.resources import fail

MANIFEST_SUFFIXES = (".json", ".yaml", ".yml")
STDIN_SOURCE = "STDIN"


@dataclass(frozen=True)
class Manifest:
    """One object from a manifest, and where it came from (for messages)."""

    source: str
    kind: ResourceKind
    document: dict[str, Any]

    @property
    def name(self) -> str:
        return name_of(self.document)

    @property
    def namespace(self) -> str | None:
        value = metadata_of(self.document).get("namespace")
        return str(value) if value else None


def read_manifests(paths: Sequence[str], *, stdin: TextIO, verb: str, recursive: bool = False) -> list[Manifest]:
    """Every object named by the `-f` arguments, in order; raises kubectl's error line on bad input."""
    if not paths:
        raise fail("error: must specify one of -f and -k")
    manifests: list[Manifest] = []
    for path in paths:
        for source, text in _sources(path, stdin=stdin, recursive=recursive):
            manifests.extend(parse_manifest(text, source=source))
    if not manifests:
        raise fail(f"error: no objects passed to {verb}")
    return manifests


def _sources(path: str, *, stdin: TextIO, recursive: bool) -> Iterator[tuple[str, str]]:
    if path == "-":
        yield STDIN_SOURCE, stdin.read()
        return
    if path.startswith(("http://", "https://")):
        raise fail(f'error: reading manifests from URLs is not supported: "{path}"')
    location = Path(path)
    if not location.exists():
        raise fail(f'error: the path "{path}" does not exist')
    if location.is_dir():
        pattern = "**/*" if recursive else "*"
        files = sorted(file for file in location.glob(pattern) if file.is_file() and file.suffix in MANIFEST_SUFFIXES)
        for file in files:
            yield str(file), _read(file)
        return
    yield path, _read(location)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise fail(f"error: cannot read {path}: {error}") from None


def parse_manifest(text: str, *, source: str) -> list[Manifest]:
    """The objects of one manifest text (YAML documents or JSON; `kind: List` is unpacked)."""
    try:
        documents = [document for document in yaml.safe_load_all(text) if document is not None]
    except yaml.YAMLError as error:
        raise fail(f"error: error parsing {source}: {_yaml_problem(error)}") from None
    manifests: list[Manifest] = []
    for document in documents:
        for item in _unpacked(document, source=source):
            manifests.append(Manifest(source, _kind_of(item, source=source), item))
    return manifests


def _unpacked(document: Any, *, source: str) -> list[dict[str, Any]]:
    if not isinstance(document, dict):
        raise fail(f"error: error parsing {source}: a manifest document must be a mapping, not "
                   f"{type(document).__name__}")
    try:
        json.dumps(document)
    except (TypeError, ValueError) as error:
        raise fail(f"error: error parsing {source}: {error}") from None
    if document.get("kind") == "List" or (str(document.get("kind", "")).endswith("List") and "items" in document):
        items = document.get("items") or []
        return [item for entry in items for item in _unpacked(entry, source=source)]
    return [document]


def _kind_of(document: dict[str, Any], *, source: str) -> ResourceKind:
    kind, api_version = document.get("kind"), document.get("apiVersion")
    if not kind:
        raise fail(f'error: error validating "{source}": error validating data: kind not set')
    if not api_version:
        raise fail(f'error: error validating "{source}": error validating data: apiVersion not set')
    resource = REGISTRY.by_kind(str(api_version), str(kind))
    if resource is None:
        metadata: dict[str, Any] = document["metadata"] if isinstance(document.get("metadata"), dict) else {}
        raise fail(f'error: resource mapping not found for name: "{metadata.get("name", "")}" namespace: '
                   f'"{metadata.get("namespace", "")}" from "{source}": no matches for kind "{kind}" in version '
                   f'"{api_version}"')
    if not isinstance(document.get("metadata"), dict) or not (document["metadata"].get("name")
                                                               or document["metadata"].get("generateName")):
        raise fail(f'error: error validating "{source}": error validating data: metadata.name not set')
    return resource


def _yaml_problem(error: yaml.YAMLError) -> str:
    """A YAML error on one line, as `yaml: line N: problem`."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    if mark is not None:
        return f"yaml: line {mark.line + 1}: {problem}"
    return f"yaml: {problem}"
