"""What a test needs from the machine, and what happens when it is missing.

On a developer's machine a missing Docker engine, iptables or shellcheck skips the tests that need
it, naming what to install. With `CI=true` it fails them instead: `make install` provides all three,
so in CI their absence is a broken setup, never a reason to test less.
"""

from __future__ import annotations

import os
import subprocess
from typing import NoReturn

import pytest


def unavailable(what: str) -> NoReturn:
    """Skip (fail with CI=true) because `what` is missing on this machine."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {what}; `make install` provides it")
    pytest.skip(what)


def docker_engine_answers() -> bool:
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def require_docker() -> None:
    if not docker_engine_answers():
        unavailable("no Docker engine answers (run `make install` as root)")
