"""YAML request bodies read as Kubernetes reads them, within bounds an attacker cannot stretch.

Kubernetes decodes YAML with go-yaml: timestamps stay strings (the result is plain JSON), and an
alias expands to its anchor's value only while the expansion stays a modest share of the document
(go-yaml's "document contains excessive aliasing" check), so a few hundred bytes of nested aliases
(a "billion laughs") cannot become a 69 MB object. PyYAML has neither bound, and its composer
recurses once per nesting level, so a deep document was a RecursionError. This loader counts both
while it composes the document — before any value is built — and refuses, as a YAMLError (a 400
to the caller), a document nested past `MAX_NESTING_DEPTH`, one whose expansion is mostly
aliases, an anchor that contains an alias of itself, and (a 413) one that expands to more nodes than
Python decodes in about a second. Events come from libyaml when PyYAML was built with it (twice
as fast as the pure-Python scanner).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import yaml
from yaml.composer import Composer, ComposerError
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent, MappingStartEvent, SequenceStartEvent
from yaml.nodes import Node
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

from minik8s.apiserver.limits import MAX_DEPTH_MESSAGE, MAX_NESTING_DEPTH


class PythonEvents(Reader, Scanner, Parser):
    """YAML events from PyYAML's pure-Python reader, scanner and parser (when libyaml is missing)."""

    def __init__(self, stream: str | bytes) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)


EventSource: Any
try:
    from yaml._yaml import CParser as EventSource  # libyaml's parser, when PyYAML was built with it
except ImportError:  # pragma: no cover
    EventSource = PythonEvents

# go-yaml's thresholds: below 400,000 decoded nodes up to 99% may come from aliases, above
# 4,000,000 only 10%, in between the allowed share falls linearly; fewer than 1,000 nodes or 100
# aliased nodes are never refused.
ALIAS_RATIO_RANGE_LOW: Final = 400_000
ALIAS_RATIO_RANGE_HIGH: Final = 4_000_000
MIN_NODES_CHECKED: Final = 1_000
MIN_ALIASED_CHECKED: Final = 100
# Python composes and builds about 100,000 YAML nodes a second, on the event loop: a 3 MiB block of
# YAML (a million nodes) stalled the apiserver for 13 s. No real object comes near this many.
MAX_YAML_NODES: Final = 100_000


class YamlTooLarge(ComposerError):
    """The document expands to more nodes than the apiserver decodes (a 413, not a 400)."""


def allowed_alias_ratio(nodes: int) -> float:
    """The share of a document's expanded nodes that may come from aliases, as go-yaml allows."""
    if nodes <= ALIAS_RATIO_RANGE_LOW:
        return 0.99
    if nodes >= ALIAS_RATIO_RANGE_HIGH:
        return 0.10
    return 0.99 - 0.89 * (nodes - ALIAS_RATIO_RANGE_LOW) / (ALIAS_RATIO_RANGE_HIGH - ALIAS_RATIO_RANGE_LOW)


class BoundedComposer(Composer):
    """PyYAML's composer, counting nesting depth and the nodes the document expands to."""

    def __init__(self) -> None:
        super().__init__()
        self.collection_depth = 0
        self.expanded_nodes = 0  # nodes once every alias is replaced by its anchor's value
        self.aliased_nodes = 0  # of which come from aliases
        self.anchor_sizes: dict[str, int] = {}  # anchors composed so far → their expanded size

    if TYPE_CHECKING:
        def peek_event(self) -> Any: ...  # the event source's (libyaml's or PyYAML's parser)

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            self._expand_alias(event)
            return super().compose_node(parent, index)
        collection = isinstance(event, SequenceStartEvent | MappingStartEvent)
        if collection and self.collection_depth >= MAX_NESTING_DEPTH:
            raise ComposerError(None, None, MAX_DEPTH_MESSAGE, event.start_mark)
        before = self.expanded_nodes
        self.collection_depth += collection
        try:
            node = super().compose_node(parent, index)
        finally:
            self.collection_depth -= collection
        self.expanded_nodes += 1
        self._check_size(event)
        if event.anchor is not None:
            self.anchor_sizes[event.anchor] = self.expanded_nodes - before
        return node

    def _expand_alias(self, event: Any) -> None:
        anchor = event.anchor
        if anchor in self.anchors and anchor not in self.anchor_sizes:
            raise ComposerError(None, None, f"anchor {anchor!r} value contains itself", event.start_mark)
        size = self.anchor_sizes.get(anchor, 0)  # an unknown alias is PyYAML's own error, next
        self.expanded_nodes += size
        self.aliased_nodes += size
        self._check_size(event)
        if (self.aliased_nodes > MIN_ALIASED_CHECKED and self.expanded_nodes > MIN_NODES_CHECKED
                and self.aliased_nodes / self.expanded_nodes > allowed_alias_ratio(self.expanded_nodes)):
            raise ComposerError(None, None, "document contains excessive aliasing", event.start_mark)

    def _check_size(self, event: Any) -> None:
        if self.expanded_nodes > MAX_YAML_NODES:
            raise YamlTooLarge(None, None, f"the document expands to more than {MAX_YAML_NODES} nodes",
                               event.start_mark)

    def compose_document(self) -> Node | None:
        node = super().compose_document()
        self.anchor_sizes = {}  # anchors are per document, as the composer's own
        return node


class JsonCompatibleLoader(BoundedComposer, EventSource, SafeConstructor, Resolver):  # type: ignore[misc]
    """A safe loader (plain data only) whose documents are plain JSON and bounded as above."""

    def __init__(self, stream: str | bytes) -> None:
        EventSource.__init__(self, stream)
        BoundedComposer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)


JsonCompatibleLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
