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
  {"op": "identify", "cluster_id": c}                           name the cluster, once (`cluster_id`)
  {"op": "restore", "seed": s, "part": i, "revision": r,        load part i of a snapshot into a new
   "entries": [(key, value, create_rev, mod_rev), ...],          store (see `_restore`); the last part
   "last": True, "cluster_id": c}                                sets the revision and the cluster id
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
RESTORING = "the store is being restored from a snapshot"


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
    """Global revision plus `key -> Entry`, bucketed by parent directory, and the cluster's id.

    `cluster_id` names the cluster (set once, at its first start, or by a restore); `restoring` is
    (seed, next part) while a snapshot is being loaded, when nothing else may change the store.
    """

    cluster_id = ""  # class defaults too: a state pickled by an older version has neither attribute
    restoring: tuple[str, int] | None = None

    def __init__(self) -> None:
        self.revision = 0
        self.buckets: dict[str, dict[str, Entry]] = {}
        self.recent_requests: OrderedDict[str, Result] = OrderedDict()
        self.cluster_id = ""
        self.restoring = None

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
        if op == "restore":
            return self._restore(command), []
        if self.restoring is not None:
            return Result("error", self.revision, message=RESTORING), []
        if op == "identify":
            return self._identify(command), []
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

    # ---- the cluster's identity and restoring a snapshot ----

    def is_pristine(self) -> bool:
        """Nothing was ever written: the only state a snapshot may be restored into."""
        return self.revision == 0 and not self.buckets and not self.cluster_id and self.restoring is None

    def _identify(self, command: Command) -> Result:
        cluster_id = command.get("cluster_id")
        if not isinstance(cluster_id, str) or not cluster_id:
            return Result("error", self.revision, message="identify needs a cluster_id")
        if self.cluster_id:
            return Result("exists", self.revision, message=self.cluster_id)
        self.cluster_id = cluster_id
        return Result("ok", self.revision)

    def _restore(self, command: Command) -> Result:
        """Part `part` of the snapshot `seed`: entries as they were (their revisions kept), in order.

        Part 0 needs a pristine store; part i > 0 needs part i - 1 of the same seed applied, so a new
        leader resumes where the last one stopped and a part sent twice is refused (a conflict). The
        last part sets the revision (resourceVersions continue above it) and the new cluster id.
        """
        seed, part, revision = command.get("seed"), command.get("part"), command.get("revision")
        entries = command.get("entries")
        if not (isinstance(seed, str) and seed and isinstance(part, int) and isinstance(revision, int)
                and isinstance(entries, list)):
            return Result("error", self.revision, message="restore needs seed, part, revision and entries")
        expected = 0 if self.restoring is None else self.restoring[1] if self.restoring[0] == seed else -1
        if part != expected or (part == 0 and not self.is_pristine()):
            return Result("conflict", self.revision, message=f"restore part {part} of {seed} does not apply here "
                          f"(restoring: {self.restoring}, revision {self.revision})")
        checked = [_restored_entry(item, revision) for item in entries]
        if None in checked:
            return Result("error", self.revision, message=f"restore part {part} holds an invalid entry")
        for key, entry in (item for item in checked if item is not None):
            self.buckets.setdefault(bucket_of(key), {})[key] = entry
        if command.get("last") is True:
            self.revision, self.restoring = revision, None
            self.cluster_id = str(command.get("cluster_id") or "")
        else:
            self.restoring = (seed, part + 1)
        return Result("ok", self.revision)


def _restored_entry(item: object, revision: int) -> tuple[str, Entry] | None:
    """A restored `(key, value, create revision, mod revision)` as stored, None when it is not one."""
    if not isinstance(item, (tuple, list)) or len(item) != 4:
        return None
    key, value, created, modified = item
    if not (isinstance(key, str) and key.startswith("/") and isinstance(value, bytes)
            and isinstance(created, int) and isinstance(modified, int) and 0 < created <= modified <= revision):
        return None
    return key, Entry(value, created, modified)
