"""A linearizability checker for recorded histories of one Kubernetes object per key (Wing & Gong, as porcupine).

No Python library checks linearizability, and the store's promise (etcd's: every operation appears to
take effect at one instant between its call and its return) is what the fault suite must verify.

The model is one key of Kubernetes' API: absent, or present with a value. `create` fails with
AlreadyExists when present; `update_cas`/`delete_cas` (a resourceVersion given) are compare-and-set:
Conflict unless the object still carries that resourceVersion; `update`/`patch`/`delete` without one
need the object present (NotFound otherwise); `get` reads it (NotFound when absent). A `list` is split
into one read per key. Since every write's value is unique, a resourceVersion names a value: the map
value <-> resourceVersion is built from every answer that shows both (and two values for one
resourceVersion is an anomaly in itself), so the model's state is just (value, newest resourceVersion
seen), and a write must carry a resourceVersion above the one it replaces.

The search: the history of one key is a list of call and return events in time order; the checker
walks it, linearizing a called operation whenever the model allows (memoizing (linearized set, state)
pairs so no configuration is explored twice) and backtracking when it reaches the return of one not yet
linearized. An operation whose outcome is unknown has no return: it may take effect at any point after
its call, or never. Reads that did not answer and writes refused for other reasons (400, 422) say
nothing and are left out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from tests.faults.history import Operation

SEMANTIC_ERRORS = frozenset({"AlreadyExists", "Conflict", "NotFound"})
DEFAULT_BUDGET = 5_000_000  # search steps per key before the checker gives up (reported, never a pass)
State = tuple[str | None, int]  # (value or None when absent, the newest resourceVersion the key carried)
UNKNOWN_VALUE = "\x00unknown"  # a compare-and-set on a resourceVersion nobody saw: matches no value


@dataclass(frozen=True)
class Anomaly:
    kind: str  # not linearizable | revision reused | value with two revisions | undecided | watch ...
    key: str
    detail: str


@dataclass(frozen=True)
class KeyOp:
    """One operation as the model of one key sees it."""

    op: Operation
    kind: str  # create | update | update_cas | delete | delete_cas | read
    value: str | None  # written value, or the value read (None: absent)
    expected: str | None = None  # the value that carried the compare-and-set's resourceVersion


@dataclass
class Revisions:
    """The value <-> resourceVersion map of one key, from every answer showing both."""

    key: str
    rv_of: dict[str, int] = field(default_factory=dict)
    value_at: dict[int, str] = field(default_factory=dict)
    anomalies: list[Anomaly] = field(default_factory=list)

    def learn(self, value: str | None, rv: int | None, seen_in: Operation) -> None:
        if value is None or rv is None:
            return
        known_value, known_rv = self.value_at.get(rv), self.rv_of.get(value)
        if known_value is not None and known_value != value:
            self.anomalies.append(Anomaly("revision reused", self.key, f"resourceVersion {rv} holds {known_value!r} "
                                          f"and {value!r} (seen in {describe(seen_in)})"))
        if known_rv is not None and known_rv != rv:
            self.anomalies.append(Anomaly("value with two revisions", self.key, f"{value!r} at {known_rv} and {rv} "
                                          f"(seen in {describe(seen_in)})"))
        self.value_at.setdefault(rv, value)
        self.rv_of.setdefault(value, rv)


def describe(op: Operation) -> str:
    """One line of history: id, client, kind, key, arguments, replica, times and outcome."""
    arguments = "".join([f" value={op.value}" if op.value is not None else "",
                         f" if rv={op.expected_rv}" if op.expected_rv is not None else ""])
    answer = op.error or ""
    if op.kind == "list" and op.items is not None:
        answer = f"rv={op.list_rv} {len(op.items)} items"
    elif op.result_value is not None or op.result_rv is not None:
        answer = f"{answer} value={op.result_value} rv={op.result_rv}".strip()
    end = f"{op.completed:.3f}" if op.completed is not None else "never"
    return (f"#{op.id} {op.client} {op.kind} {op.key}{arguments} @{op.replica} [{op.invoked:.3f} .. {end}] "
            f"{op.outcome} {answer}".rstrip())


def _learn_all(operations: Iterable[Operation], revisions: dict[str, Revisions]) -> None:
    for op in operations:
        if op.outcome != "ok":
            continue
        if op.kind == "list":
            for name, (value, rv) in (op.items or {}).items():
                revisions[name].learn(value, rv, op)
        elif op.kind not in ("delete", "delete_cas"):
            revisions[op.key].learn(op.result_value, op.result_rv, op)


def _key_ops(op: Operation, keys: Iterable[str], revisions: dict[str, Revisions]) -> list[tuple[str, KeyOp]]:
    """The per-key operations one recorded operation stands for (none when it says nothing)."""
    if op.kind in ("get", "list"):
        if op.outcome == "unknown" or (op.outcome == "fail" and op.error != "NotFound"):
            return []
        if op.kind == "get":
            return [(op.key, KeyOp(op, "read", op.result_value if op.outcome == "ok" else None))]
        items = op.items or {}
        return [(name, KeyOp(op, "read", items[name][0] if name in items else None)) for name in keys]
    if op.outcome == "fail" and op.error not in SEMANTIC_ERRORS:
        return []
    kind = "update" if op.kind == "patch" else op.kind
    expected = None
    if op.expected_rv is not None:
        expected = revisions[op.key].value_at.get(op.expected_rv, UNKNOWN_VALUE)
    return [(op.key, KeyOp(op, kind, op.value, expected))]


def partition(operations: list[Operation]) -> tuple[dict[str, list[KeyOp]], dict[str, Revisions]]:
    """The history split by key, and each key's value <-> resourceVersion map."""
    revisions: dict[str, Revisions] = defaultdict(lambda: Revisions(""))
    keys = sorted({op.key for op in operations if op.key} |
                  {name for op in operations if op.items for name in op.items})
    for key in keys:
        revisions[key] = Revisions(key)
    _learn_all(operations, revisions)
    by_key: dict[str, list[KeyOp]] = defaultdict(list)
    for op in operations:
        for key, key_op in _key_ops(op, keys, revisions):
            by_key[key].append(key_op)
    return dict(by_key), dict(revisions)


def step(state: State, key_op: KeyOp, rv_of: dict[str, int]) -> State | None:
    """The state after `key_op` when the model allows it here, else None."""
    present, floor = state[0] is not None, state[1]
    if key_op.kind == "read":
        return state if state[0] == key_op.value else None
    if key_op.op.outcome == "fail":
        error = key_op.op.error
        if error == "AlreadyExists" or (error == "Conflict" and key_op.kind not in ("update_cas", "delete_cas")):
            return state if present else None
        if error == "NotFound":
            return state if not present else None
        return state if present and state[0] != key_op.expected else None  # a compare-and-set's Conflict
    allowed = {"create": not present, "update": present, "delete": present,
               "update_cas": present and state[0] == key_op.expected,
               "delete_cas": present and state[0] == key_op.expected}[key_op.kind]
    if not allowed:
        return None
    if key_op.kind in ("delete", "delete_cas"):
        return (None, floor)
    rv = rv_of.get(key_op.value or "")
    if rv is None:
        return (key_op.value, floor)
    return (key_op.value, rv) if rv > floor else None


@dataclass
class _Event:
    index: int  # of the operation in the key's list
    is_call: bool
    time: float
    prev: _Event | None = None
    next: _Event | None = None
    match: _Event | None = None  # a call's return (None: the outcome is unknown)


def _event_list(ops: list[KeyOp]) -> _Event:
    """A doubly linked list of calls and returns in time order (a call before a return at the same time)."""
    events: list[_Event] = []
    for index, key_op in enumerate(ops):
        call = _Event(index, True, key_op.op.invoked)
        events.append(call)
        if key_op.op.outcome != "unknown" and key_op.op.completed is not None:
            call.match = _Event(index, False, key_op.op.completed)
            events.append(call.match)
    events.sort(key=lambda event: (event.time, not event.is_call))
    head = _Event(-1, True, float("-inf"))
    previous = head
    for event in events:
        previous.next, event.prev = event, previous
        previous = event
    return head


def _lift(call: _Event) -> None:
    for event in (call, call.match):
        if event is not None:
            assert event.prev is not None
            event.prev.next = event.next
            if event.next is not None:
                event.next.prev = event.prev


def _unlift(call: _Event) -> None:
    for event in (call.match, call):
        if event is not None:
            assert event.prev is not None
            event.prev.next = event
            if event.next is not None:
                event.next.prev = event


@dataclass
class Verdict:
    linearizable: bool | None  # None: the search ran out of budget
    steps: int
    stuck_at: KeyOp | None = None  # the operation whose return no linearization got past
    prefix: list[KeyOp] = field(default_factory=list)  # the longest linearization found


def check_key(ops: list[KeyOp], rv_of: dict[str, int], *, budget: int = DEFAULT_BUDGET) -> Verdict:
    """Wing-Gong search with memoization over the history of one key."""
    head = _event_list(ops)
    remaining = sum(1 for key_op in ops if key_op.op.outcome != "unknown" and key_op.op.completed is not None)
    state: State = (None, 0)
    linearized, steps = 0, 0
    seen: set[tuple[int, State]] = set()
    stack: list[tuple[_Event, State]] = []
    best: tuple[list[_Event], _Event | None] = ([], None)
    event = head.next
    while remaining > 0:
        steps += 1
        if steps > budget:
            return Verdict(None, steps)
        assert event is not None  # a return is always ahead while one remains
        if event.is_call:
            after = step(state, ops[event.index], rv_of)
            if after is not None and (linearized | 1 << event.index, after) not in seen:
                linearized |= 1 << event.index
                seen.add((linearized, after))
                stack.append((event, state))
                state = after
                _lift(event)
                remaining -= event.match is not None
                event = head.next
                continue
            event = event.next
            continue
        if len(stack) >= len(best[0]):
            best = ([call for call, _ in stack], event)
        if not stack:
            return _refuted(ops, best, steps)
        call, state = stack.pop()
        linearized &= ~(1 << call.index)
        _unlift(call)
        remaining += call.match is not None
        event = call.next
    return Verdict(True, steps)


def _refuted(ops: list[KeyOp], best: tuple[list[_Event], _Event | None], steps: int) -> Verdict:
    prefix, stuck = best
    return Verdict(False, steps, ops[stuck.index] if stuck is not None else None, [ops[call.index] for call in prefix])


def check(operations: list[Operation], *, budget: int = DEFAULT_BUDGET) -> list[Anomaly]:
    """Every anomaly of a whole history: per key, revision mix-ups and histories with no linearization."""
    by_key, revisions = partition(operations)
    anomalies = [anomaly for revision in revisions.values() for anomaly in revision.anomalies]
    for key, ops in sorted(by_key.items()):
        verdict = check_key(ops, revisions[key].rv_of, budget=budget)
        if verdict.linearizable is None:
            anomalies.append(Anomaly("undecided", key, f"no verdict within {budget} search steps ({len(ops)} ops)"))
        elif not verdict.linearizable:
            anomalies.append(Anomaly("not linearizable", key, explain(verdict)))
    return anomalies


def explain(verdict: Verdict) -> str:
    """The longest linearization found and the operation it could not get past."""
    lines = [f"longest linearization ({len(verdict.prefix)} ops), last ones:"]
    lines += [f"  {describe(key_op.op)}" for key_op in verdict.prefix[-8:]]
    if verdict.stuck_at is not None:
        lines.append(f"cannot linearize before the return of: {describe(verdict.stuck_at.op)}")
    return "\n".join(lines)
