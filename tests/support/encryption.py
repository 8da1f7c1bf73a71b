"""EncryptionConfiguration files for tests: Secrets sealed at rest with named, reproducible aesgcm keys."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import yaml


def write_config(path: Path, *providers: dict[str, Any]) -> Path:
    """An EncryptionConfiguration for Secrets with these providers, in order."""
    path.write_text(yaml.safe_dump({"apiVersion": "apiserver.config.k8s.io/v1", "kind": "EncryptionConfiguration",
                                    "resources": [{"resources": ["secrets"], "providers": list(providers)}]}))
    return path


def aesgcm(*names: str) -> dict[str, Any]:
    """An aesgcm provider with these keys (each key's bytes derive from its name: the same name, the same key)."""
    return {"aesgcm": {"keys": [{"name": name, "secret": base64.b64encode(name.encode() * 8).decode()[:44]}
                                for name in names]}}
