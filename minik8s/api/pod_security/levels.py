"""Pod Security levels, policy versions and a namespace's policy, read from its labels.

k8s.io/pod-security-admission/api: a namespace names, per mode (enforce, audit, warn), a level
(`privileged`, `baseline`, `restricted`) and a version (`latest` or `v1.N`) in its
`pod-security.kubernetes.io/<mode>[-version]` labels; what it leaves out comes from the cluster's
defaults. A label that does not parse is an error the namespace admission refuses, and evaluation
falls back as Kubernetes does: enforce to `restricted`, audit and warn to `privileged` (fail closed
for enforcement, open for the informational modes), an unreadable version to `latest`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Final

from minik8s.api.field_errors import FieldError, join_key

PRIVILEGED: Final = "privileged"
BASELINE: Final = "baseline"
RESTRICTED: Final = "restricted"
LEVELS: Final = (PRIVILEGED, BASELINE, RESTRICTED)  # from least to most strict

LABEL_PREFIX: Final = "pod-security.kubernetes.io/"
ENFORCE: Final = "enforce"
AUDIT: Final = "audit"
WARN: Final = "warn"
MODES: Final = (ENFORCE, AUDIT, WARN)

_VERSION = re.compile(r"^v1\.(0|[1-9][0-9]*)$")
_LEVEL_PROBLEM = f"must be one of {', '.join(LEVELS)}"
_VERSION_PROBLEM = 'must be "latest" or "v1.x"'


def level_label(mode: str) -> str:
    return f"{LABEL_PREFIX}{mode}"


def version_label(mode: str) -> str:
    return f"{LABEL_PREFIX}{mode}-version"


@dataclass(frozen=True)
class Version:
    """A policy version: `v1.<minor>`, or `latest` (minor None), newer than every numbered one."""

    minor: int | None = None

    @property
    def latest(self) -> bool:
        return self.minor is None

    def older_than(self, other: Version) -> bool:
        if self.minor is None:
            return False
        return other.minor is None or self.minor < other.minor

    def __str__(self) -> str:
        return "latest" if self.minor is None else f"v1.{self.minor}"


LATEST: Final = Version()


def v1(minor: int) -> Version:
    return Version(minor)


@dataclass(frozen=True)
class LevelVersion:
    level: str
    version: Version = LATEST

    def __str__(self) -> str:
        return f"{self.level}:{self.version}"


@dataclass(frozen=True)
class Policy:
    enforce: LevelVersion
    audit: LevelVersion
    warn: LevelVersion

    @classmethod
    def uniform(cls, level: str, version: Version = LATEST) -> Policy:
        """The same level and version for all three modes (what `--pod-security-default` sets)."""
        same = LevelVersion(level, version)
        return cls(same, same, same)

    def mode(self, name: str) -> LevelVersion:
        return {ENFORCE: self.enforce, AUDIT: self.audit, WARN: self.warn}[name]

    def equivalent(self, other: Policy) -> bool:
        """The same levels, and the same versions where the level is not privileged (versions do not matter there)."""
        return all(mine.level == theirs.level and (mine.level == PRIVILEGED or mine.version == theirs.version)
                   for mine, theirs in ((self.enforce, other.enforce), (self.audit, other.audit),
                                        (self.warn, other.warn)))

    @property
    def fully_privileged(self) -> bool:
        return all(lv.level == PRIVILEGED for lv in (self.enforce, self.audit, self.warn))


def parse_level(value: str) -> str | None:
    return value if value in LEVELS else None


def parse_version(value: str) -> Version | None:
    if value == "latest":
        return LATEST
    match = _VERSION.match(value)
    return Version(int(match.group(1))) if match else None


def compare_levels(a: str, b: str) -> int:
    """-1, 0 or 1 as `a` is less strict than, as strict as, or stricter than `b`."""
    return (LEVELS.index(a) > LEVELS.index(b)) - (LEVELS.index(a) < LEVELS.index(b))


def policy_to_evaluate(labels: Mapping[str, str], defaults: Policy) -> tuple[Policy, list[FieldError]]:
    """The namespace's policy from its labels over `defaults`, and what is wrong with those labels."""
    policy, problems = defaults, []
    for mode in MODES:
        current = policy.mode(mode)
        level_text, version_text = labels.get(level_label(mode)), labels.get(version_label(mode))
        if level_text is not None:
            level = parse_level(level_text)
            if level is None:
                problems.append(_label_problem(level_label(mode), level_text, _LEVEL_PROBLEM))
                level = RESTRICTED if mode == ENFORCE else PRIVILEGED
            current = replace(current, level=level)
        if version_text is not None:
            version = parse_version(version_text)
            if version is None:
                problems.append(_label_problem(version_label(mode), version_text, _VERSION_PROBLEM))
                version = LATEST
            current = replace(current, version=version)
        policy = replace(policy, **{mode: current})
    return policy, problems


def _label_problem(label: str, value: str, problem: str) -> FieldError:
    return FieldError.invalid(join_key("metadata.labels", label), value, problem)
