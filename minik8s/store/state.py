"""The replicated state machine of the cluster store, free of Raft so it can be tested alone.

Every replica applies the same commands in the same order to a `KVState`; the outcome must
therefore be a pure function of the state and the command. `apply` never raises (an exception
inside a pysyncobj replicated method makes the node re-apply the entry forever) and returns a
plain-value `Result` plus the watch events the change produced.

A command is a dict of plain values (it is pickled into the Raft log):
  {"op": "create", "key": k, "value": b"..."}                  create if absent
  {"op": "update", "key": k, "value": b"...", "mod_revision": r}  replace if mod_revision == r
  {"op": "delete", "key": k, "mod_revision": r | None}          delete (if mod_revision == r)
  {"op": "delete", "key": k, "if_exists": True}                 inside a txn: no failure when absent
  {"op": "txn", "ops": [create|update|delete, ...]}             all or nothing, one revision
  {"op": "noop"}                                                 read barrier; changes nothing
  {"op": "batch", "commands": [command, ...]}                   several independent commands in one
                                                                 Raft entry (see `apply_batch`)
Any command may carry "request_id": a retried command with the same id returns the first
outcome instead of applying twice (the apiserver resubmits when Raft cannot say whether a
command committed, e.g. after a leader change).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

Command = dict[str, Any]
EventType = Literal["ADDED", "MODIFIED", "DELETED"]

REQUEST_MEMORY = 20_000  # how many request ids a replica remembers for deduplication


class Entry(NamedTuple):
    value: bytes
    create_revision: int
    mod_revision: int


class Result(NamedTuple):
    """`status` is ok | conflict | not_found | exists | error.

    `revision` is the store revision after the command (on ok) or the current one.
    `key` names the key a guard failed on; `mod_revision` is that key's current mod revision.
    """

    status: str
    revision: int
    key: str = ""
    mod_revision: int = 0
    message: str = ""


@dataclass(frozen=True, slots=True)
class StoreEvent:
    revision: int
    type: EventType
    key: str
    value: bytes  # the new value; for DELETED the last value
    prev_value: bytes | None


def bucket_of(key: str) -> str:
    """Keys are grouped by their parent 'directory' so a namespace list reads one bucket."""
    return key[: key.rfind("/") + 1]


class KVState:
    """Global revision plus `key -> Entry`, bucketed by parent directory."""

    def __init__(self) -> None:
        self.revision = 0
        self.buckets: dict[str, dict[str, Entry]] = {}
        self.recent_requests: OrderedDict[str, Result] = OrderedDict()

    # ---- reads (callers on other threads hold the replica's lock) ----

    def get(self, key: str) -> Entry | None:
        bucket = self.buckets.get(bucket_of(key))
        return bucket.get(key) if bucket else None

    def items_under(self, prefix: str) -> list[tuple[str, Entry]]:
        if prefix.endswith("/") and prefix in self.buckets:
            return list(self.buckets[prefix].items())
        items: list[tuple[str, Entry]] = []
        for name, bucket in self.buckets.items():
            if name.startswith(prefix):
                items.extend(bucket.items())
        return items

    def count(self) -> int:
        return sum(len(bucket) for bucket in self.buckets.values())

    # ---- the one mutation entry point ----

    def apply(self, command: Command) -> tuple[Result, list[StoreEvent]]:
        try:
            request_id = command.get("request_id")
            if request_id is not None and request_id in self.recent_requests:
                return self.recent_requests[request_id], []
            result, events = self._apply(command)
            if request_id is not None and command.get("op") != "noop":
                self.recent_requests[request_id] = result
                while len(self.recent_requests) > REQUEST_MEMORY:
                    self.recent_requests.popitem(last=False)
            return result, events
        except Exception as error:  # never raise inside the replicated method
            return Result("error", self.revision, message=f"{type(error).__name__}: {error}"), []

    def apply_batch(self, commands: list[Command]) -> tuple[list[Result], list[StoreEvent]]:
        """Apply independent commands in order, each with its own outcome and revision.

        Under load the replica groups the commands that arrive together into one Raft entry:
        one round of replication (pickling, encryption, acknowledgements) instead of one each.
        """
        results: list[Result] = []
        events: list[StoreEvent] = []
        for command in commands:
            result, produced = self.apply(command if isinstance(command, dict) else {})
            results.append(result)
            events.extend(produced)
        return results, events

    def _apply(self, command: Command) -> tuple[Result, list[StoreEvent]]:
        op = command.get("op")
        if op == "noop":
            return Result("ok", self.revision), []
        if op == "txn":
            ops = command.get("ops")
            if not isinstance(ops, list) or not ops:
                return Result("error", self.revision, message="txn needs a non-empty list of ops"), []
        elif op in ("create", "update", "delete"):
            ops = [command]
        else:
            return Result("error", self.revision, message=f"unknown op {op!r}"), []
        for sub in ops:
            failed = self._check(sub)
            if failed is not None:
                return failed, []
        new_revision = self.revision + 1
        events = [event for sub in ops if (event := self._mutate(sub, new_revision)) is not None]
        self.revision = new_revision
        return Result("ok", new_revision), events

    def _check(self, sub: Command) -> Result | None:
        """The guard of one sub-operation, or None when it may proceed."""
        op, key = sub.get("op"), sub.get("key")
        if not isinstance(key, str) or not key.startswith("/"):
            return Result("error", self.revision, message=f"invalid key {key!r}")
        if op in ("create", "update") and not isinstance(sub.get("value"), bytes):
            return Result("error", self.revision, key=key, message="value must be bytes")
        current = self.get(key)
        if op == "create":
            if current is not None:
                return Result("exists", self.revision, key=key, mod_revision=current.mod_revision)
            return None
        if op not in ("update", "delete"):
            return Result("error", self.revision, message=f"op {op!r} not allowed here")
        if current is None:
            if op == "delete" and sub.get("if_exists") is True:
                return None
            return Result("not_found", self.revision, key=key)
        expected = sub.get("mod_revision")
        if expected is not None and expected != current.mod_revision:
            return Result("conflict", self.revision, key=key, mod_revision=current.mod_revision)
        return None

    def _mutate(self, sub: Command, revision: int) -> StoreEvent | None:
        key: str = sub["key"]
        bucket = self.buckets.setdefault(bucket_of(key), {})
        current = bucket.get(key)
        if sub["op"] == "delete":
            if current is None:  # an if_exists delete of an absent key
                if not bucket:
                    del self.buckets[bucket_of(key)]
                return None
            del bucket[key]
            if not bucket:
                del self.buckets[bucket_of(key)]
            return StoreEvent(revision, "DELETED", key, current.value, current.value)
        value: bytes = sub["value"]
        if current is None:
            bucket[key] = Entry(value, revision, revision)
            return StoreEvent(revision, "ADDED", key, value, None)
        bucket[key] = Entry(value, current.create_revision, revision)
        return StoreEvent(revision, "MODIFIED", key, value, current.value)
