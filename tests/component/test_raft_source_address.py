"""A replica's outgoing Raft connections leave from its own address, not whatever the kernel picks.

Several replicas on one machine, each on its own loopback address, must be told apart by a peer or a
firewall (the fault suite partitions them by address): on loopback the kernel would pick 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from minik8s.store.raft import RaftSettings, RaftStore
from tests.support.ports import free_port

SECRET = "test-cluster-secret"


async def test_a_replica_connects_to_its_peers_from_its_own_address(tmp_path: Path) -> None:
    with socket.socket() as peer:
        peer.bind(("127.0.0.11", 0))
        peer.listen()
        peer.settimeout(10)
        # pysyncobj connects from the replica with the greater address to the smaller one: .12 dials .11.
        settings = RaftSettings(self_address=f"127.0.0.12:{free_port()}", data_dir=tmp_path / "data",
                                peers=(f"127.0.0.11:{peer.getsockname()[1]}",), password=SECRET)
        store = await RaftStore.open(settings)
        try:
            connection, (source, _) = await asyncio.to_thread(peer.accept)
            connection.close()
        finally:
            await store.close()
    assert source == "127.0.0.12"
