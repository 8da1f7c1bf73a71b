"""Fixtures shared by the integration tests that drive one in-process apiserver with the real kubectl.

A module that needs more (replicas, daemons, a cluster) defines its own `apiserver` or `kubectl`, which
takes precedence over these.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.kubectl import Kubectl, kubectl_for
from tests.support.serving import ThreadedApiserver


@pytest.fixture(scope="module")
def apiserver() -> Iterator[ThreadedApiserver]:
    """One apiserver on an in-memory store, served on a loopback port for the module's tests."""
    with ThreadedApiserver() as server:
        yield server


@pytest.fixture
def kubectl(apiserver: ThreadedApiserver, tmp_path: Path) -> Kubectl:
    """The real kubectl against `apiserver`, with a discovery cache of its own."""
    return kubectl_for(apiserver.url, tmp_path / "cache")
