"""Removing what the node agents made in Docker when the cluster goes down.

Agents never remove their pods' containers when they stop: a restarted agent adopts them,
as a kubelet does. So `minik8s down` removes them, and the nodes' networks, itself — only
those labelled with this cluster's node names.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from minik8s.node.runtime import LABEL_MANAGED, LABEL_NODE, RuntimeFailure


def remove(node_names: list[str], *, report: Callable[[str], None]) -> int:
    """Remove every container and network of these nodes; returns how many containers went."""
    return asyncio.run(_remove(node_names, report))


async def _remove(node_names: list[str], report: Callable[[str], None]) -> int:
    # Imported here: the docker SDK would cost every CLI call 0.25 s to import.
    from minik8s.node.docker.runtime import DockerRuntime

    runtime = DockerRuntime()
    removed = 0
    try:
        for name in node_names:
            containers = await runtime.list_containers({LABEL_MANAGED: "true", LABEL_NODE: name})
            await asyncio.gather(*(runtime.remove_container(c.id) for c in containers))
            removed += len(containers)
            await runtime.remove_network(f"minik8s-{name}")
    except RuntimeFailure as error:
        report(f"could not remove the nodes' containers and networks: {error}")
    finally:
        await runtime.close()
    return removed
