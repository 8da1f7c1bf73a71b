"""What a Pod Security check answers, and how several answers read together.

policy/checks.go: a forbidden check gives a short reason (`hostPath volumes`) and a detail naming
what broke it (`volume "root"`). A policy's message lists every failed check in the registry's
order, `reason (detail)` joined by `, ` — the text after `violates PodSecurity "baseline:latest": `.
A namespace's pods are summarised by reasons only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

UNKNOWN_REASON = "unknown forbidden reason"


@dataclass(frozen=True)
class CheckResult:
    allowed: bool = True
    reason: str = ""
    detail: str = ""


ALLOWED = CheckResult()


def forbidden(reason: str, detail: str = "") -> CheckResult:
    return CheckResult(False, reason, detail)


@dataclass(frozen=True)
class Aggregate:
    """The failed checks of one evaluation, in order."""

    failures: tuple[CheckResult, ...] = ()

    @property
    def allowed(self) -> bool:
        return not self.failures

    def forbidden_reason(self) -> str:
        """`host ports, privileged` — how the namespace check names a pod's problems."""
        return ", ".join(failure.reason or UNKNOWN_REASON for failure in self.failures)

    def forbidden_detail(self) -> str:
        """`hostPort (container "a" uses hostPort 80), privileged (container "a" must not set ...)`."""
        return ", ".join(
            f"{failure.reason or UNKNOWN_REASON} ({failure.detail})" if failure.detail
            else failure.reason or UNKNOWN_REASON
            for failure in self.failures
        )


def aggregate(results: Iterable[CheckResult]) -> Aggregate:
    return Aggregate(tuple(result for result in results if not result.allowed))
