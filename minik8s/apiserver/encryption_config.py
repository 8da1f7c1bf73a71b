"""`--encryption-provider-config`: Kubernetes' EncryptionConfiguration file, read into store transformers.

The file is kube-apiserver's own format (apiserver.config.k8s.io/v1), so a cluster's encryption is
configured, and its keys rotated, the way Kubernetes documents:

    apiVersion: apiserver.config.k8s.io/v1
    kind: EncryptionConfiguration
    resources:
      - resources: [secrets]
        providers:
          - aesgcm:
              keys:
                - name: key1
                  secret: <base64 of 16, 24 or 32 random bytes>
          - identity: {}

minik8s implements the `aesgcm` and `identity` providers; the others (aescbc, secretbox, kms) are
refused by name rather than ignored. Errors name the field as Kubernetes' validation does and never
echo a key.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Any

import yaml

from minik8s.store.encryption import (
    AES_KEY_SIZES,
    AesGcmProvider,
    IdentityProvider,
    Provider,
    ProviderChain,
    Transformers,
)

API_VERSION = "apiserver.config.k8s.io/v1"
KIND = "EncryptionConfiguration"
UNSUPPORTED_PROVIDERS = ("aescbc", "secretbox", "kms")


class EncryptionConfigError(ValueError):
    """The file is not a usable EncryptionConfiguration; the message names the field."""


def load_encryption_config(path: Path) -> Transformers:
    """The transformers `path` describes (OSError when unreadable, EncryptionConfigError when invalid)."""
    try:
        document = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise EncryptionConfigError(f"{path}: not YAML: {error}") from None
    try:
        return parse_encryption_config(document)
    except EncryptionConfigError as error:
        raise EncryptionConfigError(f"{path}: {error}") from None


def parse_encryption_config(document: Any) -> Transformers:
    if not isinstance(document, dict):
        raise EncryptionConfigError(f"not an {KIND} object")
    if document.get("kind") != KIND or document.get("apiVersion") != API_VERSION:
        raise EncryptionConfigError(f"want kind {KIND} of apiVersion {API_VERSION}, got kind "
                                    f"{document.get('kind')!r} of {document.get('apiVersion')!r}")
    entries = document.get("resources")
    if not isinstance(entries, list) or not entries:
        raise EncryptionConfigError("resources: Required value: at least one resources is required")
    return Transformers([_rule(entry, f"resources[{index}]") for index, entry in enumerate(entries)])


def _rule(entry: Any, path: str) -> tuple[list[str], ProviderChain]:
    if not isinstance(entry, dict):
        raise EncryptionConfigError(f"{path}: Invalid value: want an object with resources and providers")
    names, providers = entry.get("resources"), entry.get("providers")
    if not isinstance(names, list) or not names or not all(isinstance(name, str) for name in names):
        raise EncryptionConfigError(f"{path}.resources: Required value: at least one {path}.resources is required")
    for index, name in enumerate(names):
        _check_resource_name(name, f"{path}.resources[{index}]")
    if len(set(names)) != len(names):
        raise EncryptionConfigError(f"{path}.resources: Invalid value: the same resource cannot be specified "
                                    "multiple times")
    if not isinstance(providers, list) or not providers:
        raise EncryptionConfigError(f"{path}.providers: Required value: at least one {path}.providers is required")
    return names, ProviderChain(tuple(_provider(p, f"{path}.providers[{i}]") for i, p in enumerate(providers)))


def _check_resource_name(name: str, path: str) -> None:
    if name != name.lower():
        raise EncryptionConfigError(f"{path}: Invalid value: {name!r}: resource name should not contain capital "
                                    "letters")
    if name == "*":
        raise EncryptionConfigError(f"{path}: Invalid value: '*': use '*.' to encrypt all the resources from core "
                                    "API group or *.* to encrypt all resources")
    if name.startswith("*") and not name.startswith("*."):
        raise EncryptionConfigError(f"{path}: Invalid value: {name!r}: a wildcard is '*.<group>', '*.' or '*.*'")
    resource, _, group = name.partition(".")
    if group == "*" and resource != "*":
        raise EncryptionConfigError(f"{path}: Invalid value: {name!r}: encrypting the same resource across groups "
                                    "is not supported")


def _provider(config: Any, path: str) -> Provider:
    if not isinstance(config, dict) or not config:
        raise EncryptionConfigError(f"{path}: Invalid value: provider does not contain any of the expected "
                                    "providers: AESGCM, Identity")
    if len(config) > 1:
        raise EncryptionConfigError(f"{path}: Invalid value: more than one provider specified in a single "
                                    "element, should split into different list elements")
    ((name, body),) = config.items()
    if name == "identity":
        return IdentityProvider()
    if name == "aesgcm":
        keys = body.get("keys") if isinstance(body, dict) else None
        if not isinstance(keys, list) or not keys:
            raise EncryptionConfigError(f"{path}.aesgcm.keys: Required value: at least one keys is required")
        return AesGcmProvider([_key(key, f"{path}.aesgcm.keys[{index}]") for index, key in enumerate(keys)])
    if name in UNSUPPORTED_PROVIDERS:
        raise EncryptionConfigError(f"{path}: Unsupported value: {name!r}: minik8s implements the aesgcm and "
                                    "identity providers")
    raise EncryptionConfigError(f"{path}: Invalid value: provider does not contain any of the expected "
                                f"providers: AESGCM, Identity (got {name!r})")


def _key(key: Any, path: str) -> tuple[str, bytes]:
    name = key.get("name") if isinstance(key, dict) else None
    secret = key.get("secret") if isinstance(key, dict) else None
    if not isinstance(name, str) or not name:
        raise EncryptionConfigError(f"{path}.name: Required value: name is a mandatory field for a key")
    if not isinstance(secret, str) or not secret:
        raise EncryptionConfigError(f"{path}.secret: Required value: secret is a mandatory field for a key")
    try:
        decoded = base64.b64decode(secret, validate=True)
    except binascii.Error:
        raise EncryptionConfigError(f'{path}.secret: Invalid value: "REDACTED": secrets must be base64 '
                                    "encoded") from None
    if len(decoded) not in AES_KEY_SIZES:
        sizes = " ".join(str(size) for size in AES_KEY_SIZES)
        raise EncryptionConfigError(f'{path}.secret: Invalid value: "REDACTED": secret is not of the expected '
                                    f"length, got {len(decoded)}, expected one of [{sizes}]")
    return name, decoded
