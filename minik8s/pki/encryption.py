"""The cluster's encryption-at-rest key: an EncryptionConfiguration file made once, owner-only.

`minik8s up` hands every apiserver replica `--encryption-provider-config <home>/encryption.yaml`, so
Secrets are sealed with AES-GCM before they reach any replica's Raft journal. The file is
kube-apiserver's own format: one `aesgcm` key for Secrets, `identity` after it so Secrets stored before
encryption was turned on stay readable. An existing file is kept as it is — it may hold keys being
rotated — only its mode is made 0600 again.
"""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import yaml

from minik8s.pki.files import PRIVATE_MODE, write_atomically

ENCRYPTION_CONFIG_NAME = "encryption.yaml"
KEY_BYTES = 32  # AES-256


def new_encryption_config(key_name: str = "key1") -> str:
    """The YAML text of an EncryptionConfiguration sealing Secrets with a fresh random AES-GCM key."""
    secret = base64.b64encode(os.urandom(KEY_BYTES)).decode()
    return yaml.safe_dump({
        "apiVersion": "apiserver.config.k8s.io/v1",
        "kind": "EncryptionConfiguration",
        "resources": [{
            "resources": ["secrets"],
            "providers": [{"aesgcm": {"keys": [{"name": key_name, "secret": secret}]}}, {"identity": {}}],
        }],
    }, sort_keys=False)


def ensure_encryption_config(path: Path) -> Path:
    """Create `path` with a new key when missing (mode 0600 from its first byte); return it."""
    if not path.exists():
        write_atomically(path, new_encryption_config().encode(), mode=PRIVATE_MODE)
    elif stat.S_IMODE(path.stat().st_mode) != PRIVATE_MODE:
        path.chmod(PRIVATE_MODE)
    return path
