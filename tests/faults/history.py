"""What the fault suite's clients did and saw: one record per operation, kept for the checkers.

Each operation is recorded when it is invoked and completed with its outcome: `ok` (the answer says
what happened), `fail` (the answer says nothing happened, or a read found nothing) or `unknown` (a
timeout, a 5xx, a connection lost mid-request: the write may or may not have taken effect, so the
checkers treat it as never returning). Times are `time.monotonic()` of one process, so every client
thread's operations are ordered on one clock. Values are unique per write (client name plus a counter),
which lets the checkers tell which write a read saw.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Outcome = Literal["ok", "fail", "unknown"]
# create | update (PUT without resourceVersion) | update_cas (PUT with one) | patch | delete | delete_cas
# (DELETE with a resourceVersion precondition) | get | list
WRITES = frozenset({"create", "update", "update_cas", "patch", "delete", "delete_cas"})
READS = frozenset({"get", "list"})


@dataclass
class Operation:
    id: int
    client: str
    kind: str
    key: str  # the object's name ("" for a list)
    invoked: float
    value: str | None = None  # what a create, update or patch writes
    expected_rv: int | None = None  # the resourceVersion an update_cas or delete_cas is conditioned on
    replica: str = ""
    completed: float | None = None
    outcome: Outcome = "unknown"
    error: str = ""  # AlreadyExists | Conflict | NotFound | another reason, or what went wrong in transport
    result_value: str | None = None  # the object's value in the answer (a get's read, a write's stored value)
    result_rv: int | None = None  # the object's resourceVersion in the answer
    items: dict[str, tuple[str | None, int]] | None = None  # a list's answer: name -> (value, resourceVersion)
    list_rv: int | None = None  # a list's resourceVersion

    @property
    def is_write(self) -> bool:
        return self.kind in WRITES


@dataclass
class History:
    """Thread-safe recorder of operations and the harness's own notes (faults injected and healed)."""

    operations: list[Operation] = field(default_factory=list)
    notes: list[tuple[float, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def invoke(self, client: str, kind: str, key: str, *, value: str | None = None,
               expected_rv: int | None = None, replica: str = "") -> Operation:
        with self._lock:
            operation = Operation(len(self.operations), client, kind, key, time.monotonic(), value=value,
                                  expected_rv=expected_rv, replica=replica)
            self.operations.append(operation)
        return operation

    def complete(self, operation: Operation, outcome: Outcome, *, error: str = "", value: str | None = None,
                 rv: int | None = None) -> None:
        operation.outcome, operation.error = outcome, error
        operation.result_value, operation.result_rv = value, rv
        operation.completed = time.monotonic() if outcome != "unknown" else None

    def note(self, text: str) -> None:
        with self._lock:
            self.notes.append((time.monotonic(), text))

    def snapshot(self) -> list[Operation]:
        with self._lock:
            return list(self.operations)

    def first_write_ok_after(self, moment: float, *, invoked_after: bool = False) -> float | None:
        """When the first write that succeeded after `moment` returned (None: none did yet); with
        `invoked_after`, only writes also sent after `moment` count."""
        done = [op.completed for op in self.snapshot()
                if op.is_write and op.outcome == "ok" and op.completed is not None and op.completed >= moment
                and (not invoked_after or op.invoked >= moment)]
        return min(done) if done else None

    def dump(self, path: Path, extra: dict[str, object] | None = None) -> Path:
        """Write the history as JSON (operations, notes, anything else a checker wants kept) for a post-mortem."""
        document = {"operations": [dataclasses.asdict(op) for op in self.snapshot()],
                    "notes": [{"at": at, "text": text} for at, text in self.notes], **(extra or {})}
        path.write_text(json.dumps(document, indent=1, default=str))
        return path
