"""Removing what a cluster leaves on this machine once its processes have stopped.

Node agents never remove their pods' containers when they stop (a restarted agent adopts
them, as a kubelet does), and the proxy leaves its iptables rules in place across restarts.
So `minik8s down` runs each daemon's own cleanup: `minik8s.node.main --cleanup --node-name N
--data-dir D` for every node (at once; each unmounts its pods' tmpfs volumes and subPath binds under
D, so a purge deletes nothing through them, and prints how many containers it removed) and
`minik8s.proxy.main --cleanup`. The CLI thus never imports a daemon or the Docker SDK.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

NODE_MODULE = "minik8s.node.main"
PROXY_MODULE = "minik8s.proxy.main"
CLEANUP_TIMEOUT = 60.0  # seconds


def remove_node_resources(nodes: Mapping[str, Path], *, report: Callable[[str], None]) -> int:
    """Unmount the pods' volumes and remove every pod container and the network of these nodes (name →
    data directory); returns how many containers went."""
    cleanups = {name: _start_cleanup(NODE_MODULE, "--node-name", name, "--data-dir", str(data_dir))
                for name, data_dir in nodes.items()}
    removed = 0
    for name, cleanup in cleanups.items():
        succeeded, output = _finish(cleanup)
        if succeeded and output.strip().isdigit():
            removed += int(output)
        else:
            report(f"could not remove the containers and network of {name}: {output.strip()[-300:]}")
    return removed


def remove_proxy_rules(*, report: Callable[[str], None]) -> bool:
    """Remove the proxy's iptables rules and the service route; False (reported) when that failed."""
    succeeded, output = _finish(_start_cleanup(PROXY_MODULE))
    if not succeeded:
        report(f"could not remove the proxy's rules: {output.strip()[-300:]}")
    return succeeded


def _start_cleanup(module: str, *flags: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", module, "--cleanup", *flags], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _finish(cleanup: subprocess.Popen[str]) -> tuple[bool, str]:
    """(True, its stdout) when the cleanup exited 0, else (False, its stderr or why it was killed)."""
    try:
        stdout, stderr = cleanup.communicate(timeout=CLEANUP_TIMEOUT)
    except subprocess.TimeoutExpired:
        cleanup.kill()
        cleanup.communicate()
        return False, f"no answer within {CLEANUP_TIMEOUT:.0f} s"
    return (True, stdout) if cleanup.returncode == 0 else (False, stderr)
