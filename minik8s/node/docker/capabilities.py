"""What `privileged` and `capabilities.add: [ALL]` can grant on this node: the capabilities it holds.

A node agent may itself run with fewer than every capability the kernel knows (inside a container,
or in a sandbox such as the machines this project is developed on, which lack CAP_SYS_RESOURCE).
Docker's `--privileged` and `--cap-add ALL` then fail with "unable to apply caps: operation not
permitted", so the pod would never start. Container runtimes grant a privileged container every
capability the runtime itself holds; this does the same: the capabilities missing from the agent's
bounding set are dropped, and `privileged` becomes ALL of the rest, unconfined seccomp and AppArmor.
"""

from __future__ import annotations

import functools
from pathlib import Path

# Linux capability numbers 0.. (include/uapi/linux/capability.h).
CAPABILITY_NAMES = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
)


def missing_from(bounding_set_hex: str, last_capability: int) -> frozenset[str]:
    """The named capabilities up to `last_capability` that a CapBnd mask (hex) does not hold."""
    mask = int(bounding_set_hex, 16)
    known = CAPABILITY_NAMES[:last_capability + 1]
    return frozenset(name for number, name in enumerate(known) if not mask >> number & 1)


@functools.cache
def missing_on_this_node(proc: Path = Path("/proc")) -> frozenset[str]:
    """What this process (the node agent) cannot hand to a container; empty when unreadable."""
    try:
        status = (proc / "self" / "status").read_text()
        last = int((proc / "sys" / "kernel" / "cap_last_cap").read_text())
    except (OSError, ValueError):
        return frozenset()
    bounding = next((line.split()[1] for line in status.splitlines() if line.startswith("CapBnd:")), None)
    return frozenset() if bounding is None else missing_from(bounding, last)
