"""The fault suite's linearizability checker on known-good and known-bad histories of one or two keys."""

from __future__ import annotations

import itertools

from tests.faults.history import Operation
from tests.faults.linearizability import Anomaly, check

_ids = itertools.count()


def op(kind: str, key: str, start: float, end: float | None, outcome: str = "ok", *, value: str | None = None,
       rv: int | None = None, got: str | None = None, if_rv: int | None = None, error: str = "",
       client: str = "c") -> Operation:
    """One recorded operation: `value` is what a write writes, `got`/`rv` what the answer showed."""
    written = value if outcome == "ok" and kind not in ("get", "delete", "delete_cas") else None
    return Operation(next(_ids), client, kind, key, start, value=value, expected_rv=if_rv, completed=end,
                     outcome=outcome, error=error, result_value=got if got is not None else written,  # type: ignore[arg-type]
                     result_rv=rv)


def listing(start: float, end: float, items: dict[str, tuple[str | None, int]], list_rv: int) -> Operation:
    operation = op("list", "", start, end)
    operation.items, operation.list_rv = items, list_rv
    return operation


def kinds(anomalies: list[Anomaly]) -> list[str]:
    return [anomaly.kind for anomaly in anomalies]


def test_sequential_writes_and_reads_are_linearizable() -> None:
    history = [op("create", "a", 0, 1, value="v1", rv=10),
               op("get", "a", 2, 3, got="v1", rv=10),
               op("update_cas", "a", 4, 5, value="v2", rv=11, if_rv=10),
               op("patch", "a", 6, 7, value="v3", rv=12),
               op("delete_cas", "a", 8, 9, if_rv=12),
               op("get", "a", 10, 11, "fail", error="NotFound"),
               op("create", "a", 12, 13, value="v4", rv=20)]
    assert check(history) == []


def test_a_read_concurrent_with_a_write_may_see_either_side() -> None:
    history = [op("create", "a", 0, 1, value="v1", rv=10),
               op("update", "a", 2, 6, value="v2", rv=11),
               op("get", "a", 3, 4, got="v2", rv=11, client="r1"),
               op("get", "a", 4.5, 5, got="v2", rv=11, client="r2")]
    assert check(history) == []


def test_a_stale_read_after_a_write_returned_is_refused() -> None:
    history = [op("create", "a", 0, 1, value="v1", rv=10),
               op("update", "a", 2, 3, value="v2", rv=11),
               op("get", "a", 4, 5, got="v1", rv=10, client="follower")]
    anomalies = check(history)
    assert kinds(anomalies) == ["not linearizable"]
    assert "get a" in anomalies[0].detail


def test_a_read_going_back_in_time_is_refused_even_while_the_write_is_pending() -> None:
    history = [op("create", "a", 0, 1, value="v1", rv=10),
               op("update", "a", 2, 10, value="v2", rv=11),
               op("get", "a", 3, 4, got="v2", rv=11, client="r1"),
               op("get", "a", 5, 6, got="v1", rv=10, client="r2")]
    assert kinds(check(history)) == ["not linearizable"]


def test_a_lost_write_is_refused() -> None:
    history = [op("create", "a", 0, 1, value="v1", rv=10),
               op("update_cas", "a", 2, 3, value="v2", rv=11, if_rv=10),
               op("get", "a", 4, 5, got="v1", rv=10)]
    assert kinds(check(history)) == ["not linearizable"]


def test_two_creates_of_one_key_that_both_succeed_are_refused() -> None:
    history = [op("create", "a", 0, 2, value="v1", rv=10, client="c1"),
               op("create", "a", 1, 3, value="v2", rv=11, client="c2")]
    assert kinds(check(history)) == ["not linearizable"]


def test_a_create_refused_as_existing_before_anything_existed_is_refused() -> None:
    history = [op("create", "a", 0, 1, "fail", value="v1", error="AlreadyExists"),
               op("create", "a", 2, 3, value="v2", rv=10)]
    assert kinds(check(history)) == ["not linearizable"]


def test_a_compare_and_set_that_succeeded_on_a_stale_resource_version_is_refused() -> None:
    history = [op("create", "a", 0, 1, value="v1", rv=10),
               op("update_cas", "a", 2, 3, value="v2", rv=11, if_rv=10, client="c1"),
               op("update_cas", "a", 4, 5, value="v3", rv=12, if_rv=10, client="c2")]
    assert kinds(check(history)) == ["not linearizable"]


def test_compare_and_set_racing_writers_one_wins_one_conflicts() -> None:
    history = [op("create", "a", 0, 1, value="v1", rv=10),
               op("update_cas", "a", 2, 5, value="v2", rv=11, if_rv=10, client="c1"),
               op("update_cas", "a", 2, 5, "fail", value="v3", if_rv=10, error="Conflict", client="c2")]
    assert check(history) == []


def test_a_conflict_when_the_resource_version_still_matched_is_refused() -> None:
    history = [op("create", "a", 0, 1, value="v1", rv=10),
               op("delete_cas", "a", 2, 3, "fail", if_rv=10, error="Conflict"),
               op("get", "a", 4, 5, got="v1", rv=10)]
    assert kinds(check(history)) == ["not linearizable"]


def test_an_unknown_write_may_have_taken_effect_or_not() -> None:
    took_effect = [op("create", "a", 0, 1, value="v1", rv=10),
                   op("update", "a", 2, None, "unknown", value="v2"),
                   op("get", "a", 5, 6, got="v2", rv=11)]
    did_not = [op("create", "b", 0, 1, value="w1", rv=10),
               op("update", "b", 2, None, "unknown", value="w2"),
               op("get", "b", 5, 6, got="w1", rv=10)]
    assert check(took_effect + did_not) == []


def test_an_unknown_write_cannot_take_effect_before_it_was_called() -> None:
    history = [op("create", "a", 0, 1, value="v1", rv=10),
               op("get", "a", 2, 3, got="v2", rv=11),
               op("update", "a", 4, None, "unknown", value="v2")]
    assert kinds(check(history)) == ["not linearizable"]


def test_an_unknown_write_seen_once_cannot_be_unseen() -> None:
    history = [op("create", "a", 0, 1, value="v1", rv=10),
               op("update", "a", 2, None, "unknown", value="v2"),
               op("get", "a", 3, 4, got="v2", rv=11),
               op("get", "a", 5, 6, got="v1", rv=10)]
    assert kinds(check(history)) == ["not linearizable"]


def test_a_list_is_a_read_of_every_key_including_the_absent_ones() -> None:
    good = [op("create", "a", 0, 1, value="v1", rv=10),
            listing(2, 3, {"a": ("v1", 10)}, 10),
            op("create", "b", 4, 5, value="w1", rv=11),
            listing(6, 7, {"a": ("v1", 10), "b": ("w1", 11)}, 11)]
    assert check(good) == []
    missing_b = [*good, listing(8, 9, {"a": ("v1", 10)}, 11)]
    assert [(anomaly.kind, anomaly.key) for anomaly in check(missing_b)] == [("not linearizable", "b")]


def test_one_resource_version_for_two_values_is_an_anomaly() -> None:
    history = [op("create", "a", 0, 1, value="v1", rv=10),
               op("update", "a", 2, 3, value="v2", rv=10)]
    assert "revision reused" in kinds(check(history))


def test_a_write_whose_resource_version_goes_backwards_is_refused() -> None:
    history = [op("create", "a", 0, 1, value="v1", rv=10),
               op("update", "a", 2, 3, value="v2", rv=9)]
    assert kinds(check(history)) == ["not linearizable"]


def test_failures_that_say_nothing_are_left_out() -> None:
    history = [op("create", "a", 0, 1, value="v1", rv=10),
               op("update", "a", 2, 3, "fail", value="bad", error="Invalid"),
               op("get", "a", 4, 5, "fail", error="ServiceUnavailable"),
               op("get", "a", 6, 7, got="v1", rv=10)]
    assert check(history) == []


def test_many_concurrent_clients_are_checked_quickly() -> None:
    """Ten clients, two hundred overlapping compare-and-set writes and reads on one key: well within budget."""
    history = [op("create", "a", 0, 1, value="v0", rv=1)]
    rv, time = 1, 2.0
    for round_number in range(20):
        for client in range(10):
            start = time + client * 0.01
            if client == 0:
                new = f"v{round_number + 1}"
                history.append(op("update_cas", "a", start, start + 0.5, value=new, rv=rv + 1, if_rv=rv,
                                  client=f"c{client}"))
                rv += 1
            else:
                history.append(op("update_cas", "a", start, start + 0.5, "fail", value=f"x{round_number}-{client}",
                                  if_rv=rv - 1, error="Conflict", client=f"c{client}"))
        time += 1
    assert check(history, budget=200_000) == []
