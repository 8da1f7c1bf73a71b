"""Which API errors a controller takes as an answer rather than a failure.

A namespace being deleted refuses new objects with 403 Forbidden ("... because it is being
terminated"). A controller creating pods or ReplicaSets there is racing the namespace
controller, which is about to delete its owner anyway: as Kubernetes does, it drops the
create quietly instead of recording a failure and retrying.
"""

from __future__ import annotations

from minik8s.client.errors import ApiError, Forbidden


def is_namespace_terminating(error: ApiError) -> bool:
    """The create was refused because its namespace is being deleted."""
    return isinstance(error, Forbidden) and "being terminated" in error.message
