"""Node IPAM: blocks of the cluster CIDR, what counts as used, and an allocator that never hands one out twice."""

from __future__ import annotations

from typing import Any

import pytest

from minik8s.controllers.node_ipam.allocator import CidrRange, PodCidrAllocator, next_free_block, used_blocks
from tests.support import builders

CLUSTER = CidrRange("10.244.0.0/16", 24)


def node(name: str, pod_cidr: str | None = None) -> dict[str, Any]:
    return builders.node(name, pod_cidr=pod_cidr)


@pytest.mark.parametrize(("index", "cidr"), [(0, "10.244.0.0/24"), (5, "10.244.5.0/24"), (255, "10.244.255.0/24")])
def test_blocks_are_numbered_from_the_start_of_the_cluster_cidr(index: int, cidr: str) -> None:
    assert CLUSTER.size == 256 and CLUSTER.cidr(index) == cidr


@pytest.mark.parametrize(("cidr", "blocks"), [
    ("10.244.3.0/24", [3]),
    ("10.244.4.0/23", [4, 5]),  # a bigger CIDR takes every block it covers
    ("10.244.7.128/25", [7]),  # a smaller one takes its whole block
    ("10.0.0.0/24", []),  # outside the cluster CIDR: not ours to track
    ("fd00::/64", []),
    ("not-a-cidr", []),
])
def test_which_blocks_a_cidr_occupies(cidr: str, blocks: list[int]) -> None:
    assert list(CLUSTER.blocks(cidr)) == blocks


def test_cidrs_set_by_node_agents_count_as_used() -> None:
    nodes = [node("a", "10.244.1.0/24"), node("b"), node("c", "10.244.2.0/24")]
    assert used_blocks(CLUSTER, nodes) == {1, 2}
    allocator = PodCidrAllocator(CLUSTER)
    assert [allocator.allocate(name, nodes) for name in ("b", "d", "e")] == [
        "10.244.0.0/24", "10.244.3.0/24", "10.244.4.0/24"]


def test_many_nodes_get_distinct_blocks_and_a_retry_gets_the_same_one() -> None:
    allocator = PodCidrAllocator(CLUSTER)
    given = [allocator.allocate(f"n{i}", []) for i in range(200)]
    assert len(set(given)) == 200
    assert allocator.allocate("n7", []) == given[7]  # reserved until the cache shows it


def test_released_blocks_are_reused_only_after_the_others() -> None:
    allocator = PodCidrAllocator(CidrRange("10.244.0.0/22", 24))
    first = allocator.allocate("a", [])
    allocator.release("a")  # e.g. the node was deleted before the cache saw its CIDR
    assert allocator.allocate("b", []) == "10.244.1.0/24" and first == "10.244.0.0/24"


def test_an_exhausted_range_gives_nothing() -> None:
    allocator = PodCidrAllocator(CidrRange("10.244.0.0/23", 24))
    nodes = [node("a", "10.244.0.0/24")]
    assert allocator.allocate("b", nodes) == "10.244.1.0/24"
    assert allocator.allocate("c", nodes) is None


@pytest.mark.parametrize(("used", "start", "expected"), [
    (set(), 0, 0), ({0, 1}, 0, 2), ({3}, 3, 0), ({0, 1, 2, 3}, 1, None),
])
def test_next_free_block_searches_round_robin(used: set[int], start: int, expected: int | None) -> None:
    assert next_free_block(4, used, start=start) == expected


@pytest.mark.parametrize(("cluster", "mask"), [("10.244.0.0/16", 15), ("10.244.0.0/16", 33)])
def test_a_mask_that_does_not_fit_is_refused(cluster: str, mask: int) -> None:
    with pytest.raises(ValueError):
        CidrRange(cluster, mask)
