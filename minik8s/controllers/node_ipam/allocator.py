"""Pod CIDR blocks: the cluster CIDR cut into blocks, which are taken, and the next free one.

Which blocks are taken is recomputed from the node cache on every allocation — every CIDR a
Node carries counts, including those node agents set themselves (`--pod-cidr`) — plus the
blocks the controller has assigned but not yet seen in the cache. So the used set is rebuilt
from the cache at start (workers only run once the cache is synced), a deleted node's block
is free again as soon as the node leaves the cache, and nothing ever hands one block out twice.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from minik8s.api.meta import list_at, spec_of

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class CidrRange:
    """The cluster CIDR cut into equal blocks of `mask_size` bits, numbered from 0."""

    def __init__(self, cluster_cidr: str, mask_size: int) -> None:
        self.network: Network = ipaddress.ip_network(cluster_cidr, strict=False)
        if not self.network.prefixlen <= mask_size <= self.network.max_prefixlen:
            raise ValueError(f"node CIDR mask size {mask_size} does not fit cluster CIDR {cluster_cidr}")
        if mask_size - self.network.prefixlen > 24:
            raise ValueError(f"node CIDR mask size {mask_size} makes too many blocks of {cluster_cidr}")
        self.mask_size = mask_size
        self.size = 2 ** (mask_size - self.network.prefixlen)
        self._block_bits = self.network.max_prefixlen - mask_size

    def cidr(self, index: int) -> str:
        first = int(self.network.network_address) + (index << self._block_bits)
        return f"{ipaddress.ip_address(first)}/{self.mask_size}"

    def blocks(self, cidr: str) -> range:
        """The block indices a CIDR overlaps (empty when it lies outside the cluster CIDR or is invalid)."""
        try:
            network = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            return range(0)
        if network.version != self.network.version or not network.overlaps(self.network):  # type: ignore[arg-type]
            return range(0)
        start = max(int(network.network_address), int(self.network.network_address))
        end = min(int(network.broadcast_address), int(self.network.broadcast_address))
        base = int(self.network.network_address)
        return range((start - base) >> self._block_bits, ((end - base) >> self._block_bits) + 1)


def pod_cidrs_of(node: Mapping[str, Any]) -> list[str]:
    spec = spec_of(node)
    cidrs = [c for c in list_at(spec, "podCIDRs") if isinstance(c, str) and c]
    if spec.get("podCIDR") and spec["podCIDR"] not in cidrs:
        cidrs.insert(0, str(spec["podCIDR"]))
    return cidrs


def used_blocks(cidr_range: CidrRange, nodes: Iterable[Mapping[str, Any]]) -> set[int]:
    """Every block some node's pod CIDR overlaps."""
    used: set[int] = set()
    for node in nodes:
        for cidr in pod_cidrs_of(node):
            used.update(cidr_range.blocks(cidr))
    return used


def next_free_block(size: int, used: set[int], *, start: int) -> int | None:
    """The first block not in `used`, searching round-robin from `start`."""
    for offset in range(size):
        candidate = (start + offset) % size
        if candidate not in used:
            return candidate
    return None


class PodCidrAllocator:
    """Round-robin allocation over the cache's used blocks plus our own not-yet-seen assignments.

    `allocate` never awaits, so concurrent reconciles (one event loop) cannot pick one block twice.
    """

    def __init__(self, cidr_range: CidrRange) -> None:
        self.range = cidr_range
        self.next_candidate = 0
        self.reserved: dict[str, int] = {}  # node name -> block assigned, until the cache shows it

    def allocate(self, node_name: str, nodes: Iterable[Mapping[str, Any]]) -> str | None:
        if node_name in self.reserved:
            return self.range.cidr(self.reserved[node_name])
        used = used_blocks(self.range, nodes) | set(self.reserved.values())
        block = next_free_block(self.range.size, used, start=self.next_candidate)
        if block is None:
            return None
        self.next_candidate = (block + 1) % self.range.size
        self.reserved[node_name] = block
        return self.range.cidr(block)

    def release(self, node_name: str) -> None:
        self.reserved.pop(node_name, None)
