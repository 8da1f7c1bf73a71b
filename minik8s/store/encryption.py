"""Values encrypted at rest: Kubernetes' encryption providers as transformers of the store's values.

Every replica's journal and dump hold every object it ever stored; a Secret's data in them was one
`strings raft.journal` away (issue #13). As in Kubernetes (`k8s.io/apiserver/pkg/storage/value`), the
value of a key under an encrypted resource is sealed *before* it becomes a Raft command and opened
again on every read, so neither the log on any replica nor its dumps nor a snapshot sent to a peer
holds it in the clear; the watch history, in memory only, holds opened values.

A stored value names how it was sealed: `k8s:enc:aesgcm:v1:<key name>:` then a 12-byte nonce and
the AES-GCM ciphertext, whose authenticated data is the store key (a value copied under another key
does not open). Per resource, the first provider seals and every provider may open, so keys rotate by
adding the new one, rewriting the objects, then removing the old one. `identity` writes values as
they are and reads those not sealed (objects stored before encryption was turned on).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from minik8s.store.state import Command, Entry, StoreEvent

ENCRYPTED_PREFIX = b"k8s:enc:"
NONCE_SIZE = 12
AES_KEY_SIZES = (16, 24, 32)
NOT_ENCRYPTABLE = frozenset({"allocations"})  # address bookkeeping, not an API resource (upstream refuses them too)


class ValueUnreadable(Exception):
    """A stored value no configured provider opens (a removed key, or another cluster's)."""


class Provider(Protocol):
    def seal(self, key: str, value: bytes) -> bytes: ...

    def open(self, key: str, value: bytes) -> bytes | None:
        """The plain value, or None when this provider did not seal it."""

    def sealed_as_now(self, value: bytes) -> bool:
        """Whether `seal` would store `value` the same way today (the same key, or in the clear)."""


class IdentityProvider:
    """Values as they are: writes plain text, reads whatever no encrypting provider sealed."""

    def seal(self, key: str, value: bytes) -> bytes:
        return value

    def open(self, key: str, value: bytes) -> bytes | None:
        return None if value.startswith(ENCRYPTED_PREFIX) else value

    def sealed_as_now(self, value: bytes) -> bool:
        return not value.startswith(ENCRYPTED_PREFIX)


class AesGcmProvider:
    """AES-GCM with named keys: the first seals, any opens what it sealed."""

    def __init__(self, keys: Sequence[tuple[str, bytes]]) -> None:
        if not keys:
            raise ValueError("an aesgcm provider needs at least one key")
        self._keys = [(f"k8s:enc:aesgcm:v1:{name}:".encode(), AESGCM(secret)) for name, secret in keys]

    def seal(self, key: str, value: bytes) -> bytes:
        prefix, cipher = self._keys[0]
        nonce = os.urandom(NONCE_SIZE)
        return prefix + nonce + cipher.encrypt(nonce, value, key.encode())

    def sealed_as_now(self, value: bytes) -> bool:
        return value.startswith(self._keys[0][0])

    def open(self, key: str, value: bytes) -> bytes | None:
        for prefix, cipher in self._keys:
            if value.startswith(prefix):
                sealed = value[len(prefix):]
                try:
                    return cipher.decrypt(sealed[:NONCE_SIZE], sealed[NONCE_SIZE:], key.encode())
                except InvalidTag:
                    raise ValueUnreadable(f"unable to transform key {key!r}: cipher: message authentication "
                                          "failed") from None
        return None


@dataclass(frozen=True)
class ProviderChain:
    """The providers of one resource, in order: the first seals, the first that recognises a value opens it."""

    providers: tuple[Provider, ...]

    def seal(self, key: str, value: bytes) -> bytes:
        return self.providers[0].seal(key, value)

    def open(self, key: str, value: bytes) -> bytes:
        for provider in self.providers:
            opened = provider.open(key, value)
            if opened is not None:
                return opened
        raise ValueUnreadable(f"unable to transform key {key!r}: no matching prefix found")

    def is_stale(self, value: bytes) -> bool:
        return not self.providers[0].sealed_as_now(value)


def resource_matches(pattern: str, group_resource: str) -> bool:
    """EncryptionConfiguration resource names: `secrets`, `deployments.apps`, `*.apps`, `*.` (core), `*.*`."""
    if pattern == group_resource:
        return True
    if not pattern.startswith("*.") or group_resource in NOT_ENCRYPTABLE:
        return False
    group = group_resource.partition(".")[2]
    return pattern == "*.*" or pattern[2:] == group


def group_resource_of(key: str) -> str | None:
    """`secrets` of `/registry/secrets/ns/name`; None for a key (or prefix) that does not name one whole."""
    parts = key.split("/", 3)
    if len(parts) < 4 or parts[0] or parts[1] != "registry" or not parts[2]:
        return None
    return parts[2]


class Transformers:
    """Which resources are sealed, and how: `(resource names, chain)` rules, the first match wins."""

    def __init__(self, rules: Sequence[tuple[Sequence[str], ProviderChain]] = ()) -> None:
        self._rules = tuple((tuple(names), chain) for names, chain in rules)
        self._chains: dict[str, ProviderChain | None] = {}

    @property
    def active(self) -> bool:
        return bool(self._rules)

    def chain_for(self, group_resource: str) -> ProviderChain | None:
        if group_resource not in self._chains:
            self._chains[group_resource] = next(
                (chain for names, chain in self._rules if any(resource_matches(n, group_resource) for n in names)),
                None)
        return self._chains[group_resource]

    def _chain_for_key(self, key: str) -> ProviderChain | None:
        group_resource = group_resource_of(key)
        return self.chain_for(group_resource) if group_resource is not None else None

    # ---- writes: before the command is replicated ----

    def seal_command(self, command: Command) -> Command:
        """A copy of `command` whose values are sealed where their key's resource says so."""
        if not self._rules:
            return command
        op = command.get("op")
        if op in ("create", "update"):
            key, value = command.get("key"), command.get("value")
            if not isinstance(key, str) or not isinstance(value, bytes):
                return command  # the state machine refuses it as it is
            chain = self._chain_for_key(key)
            return {**command, "value": chain.seal(key, value)} if chain else command
        nested = {"txn": "ops", "batch": "commands"}.get(op) if isinstance(op, str) else None
        if nested and isinstance(command.get(nested), list):
            return {**command, nested: [self.seal_command(sub) if isinstance(sub, dict) else sub
                                        for sub in command[nested]]}
        return command

    def is_stale(self, key: str, stored: bytes) -> bool:
        """True when a write now would seal `key` otherwise than `stored` is (an older key, or in the clear):
        Kubernetes' `stale`, which makes rewriting an unchanged object still write it, so keys rotate."""
        chain = self._chain_for_key(key) if self._rules else None
        return chain.is_stale(stored) if chain else False

    # ---- reads: every value leaves the store opened ----

    def open_entry(self, key: str, entry: Entry) -> Entry:
        chain = self._chain_for_key(key) if self._rules else None
        return entry._replace(value=chain.open(key, entry.value)) if chain else entry

    def open_items(self, prefix: str, items: list[tuple[str, Entry]]) -> list[tuple[str, Entry]]:
        if not self._rules:
            return items
        group_resource = group_resource_of(prefix)
        if group_resource is not None and self.chain_for(group_resource) is None:
            return items  # a list of one resource that is not encrypted: nothing to open
        return [(key, self.open_entry(key, entry)) for key, entry in items]

    def open_event(self, event: StoreEvent) -> StoreEvent:
        chain = self._chain_for_key(event.key) if self._rules else None
        if chain is None:
            return event
        prev_value = chain.open(event.key, event.prev_value) if event.prev_value is not None else None
        return dataclasses.replace(event, value=chain.open(event.key, event.value), prev_value=prev_value)


NO_ENCRYPTION = Transformers()
