"""Crash-loop and image-pull back-off: doubling delays, a cap, a reset after a long run."""

from __future__ import annotations

import pytest

from minik8s.node.backoff import Backoff, crash_loop_message, format_duration, image_pull_backoff_message

KEY = ("uid-1", "app")


def delays(backoff: Backoff, failures: int, *, ran_for: float = 1.0) -> list[float]:
    return [backoff.record_failure(KEY, now=float(i * 1000), ran_for=ran_for) for i in range(failures)]


def test_image_pull_style_waits_from_the_first_failure_doubling_to_the_cap():
    assert delays(Backoff(), 7) == [10, 20, 40, 80, 160, 300, 300]


def test_crash_loop_style_restarts_at_once_then_backs_off_like_the_kubelet():
    assert delays(Backoff(immediate_first_retry=True), 8) == [0, 10, 20, 40, 80, 160, 300, 300]


def test_base_and_cap_are_configurable_so_tests_stay_fast():
    assert delays(Backoff(base=0.1, cap=0.5), 5) == [0.1, 0.2, 0.4, 0.5, 0.5]


def test_remaining_counts_down_from_the_failure():
    backoff = Backoff()
    assert backoff.remaining(KEY, now=0.0) == 0.0  # never failed: may start
    backoff.record_failure(KEY, now=100.0, ran_for=1.0)
    assert backoff.remaining(KEY, now=100.0) == 10.0
    assert backoff.remaining(KEY, now=107.5) == 2.5
    assert backoff.remaining(KEY, now=110.0) == 0.0
    assert backoff.remaining(KEY, now=500.0) == 0.0
    assert backoff.delay(KEY) == 10.0
    assert KEY in backoff and ("uid-1", "other") not in backoff


def test_a_container_that_ran_long_enough_starts_over():
    backoff = Backoff()
    delays(backoff, 4)
    assert backoff.delay(KEY) == 80
    assert backoff.record_failure(KEY, now=9000.0, ran_for=600.0) == 10
    assert backoff.record_failure(KEY, now=9100.0, ran_for=599.0) == 20


def test_keys_are_independent_and_forget_drops_a_whole_pod():
    backoff = Backoff()
    backoff.record_failure(("a", "x"), now=0.0)
    backoff.record_failure(("a", "y"), now=0.0)
    backoff.record_failure(("b", "x"), now=0.0)
    backoff.record_failure(("b", "x"), now=0.0)
    assert backoff.delay(("a", "x")) == 10 and backoff.delay(("b", "x")) == 20
    backoff.forget("a")
    assert backoff.delay(("a", "x")) == 0 and backoff.delay(("a", "y")) == 0
    assert backoff.delay(("b", "x")) == 20
    backoff.reset(("b", "x"))
    assert backoff.failures(("b", "x")) == 0


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(10, "10s"), (20, "20s"), (80, "1m20s"), (300, "5m0s"), (3600, "1h0m0s"), (1.5, "1.5s"), (0.1, "100ms"), (0, "0s")],
)
def test_durations_print_as_go_prints_them(seconds, text):
    assert format_duration(seconds) == text


def test_waiting_messages_are_worded_as_the_kubelet_words_them():
    assert crash_loop_message(delay=40, container_name="app", pod_name="web", namespace="shop", pod_uid="u1") == (
        "back-off 40s restarting failed container=app pod=web_shop(u1)"
    )
    assert image_pull_backoff_message("nope:latest") == 'Back-off pulling image "nope:latest"'
