"""The real kubectl (v1.32, on these machines) against one apiserver URL, for integration tests."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

Kubectl = Callable[..., subprocess.CompletedProcess[str]]


def kubectl_for(server: str, cache_dir: Path) -> Kubectl:
    """`run(*args, check=True)`: kubectl with `--server server`; a failure is an assertion with its stderr."""
    binary = shutil.which("kubectl")
    assert binary, "kubectl v1.32 is expected on this machine"

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        argv = [binary, "--server", server, "--cache-dir", str(cache_dir), *args]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        if check:
            assert result.returncode == 0, f"kubectl {' '.join(args)} failed: {result.stderr}"
        return result

    return run
