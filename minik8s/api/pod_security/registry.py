"""Which checks a level and policy version run, in Kubernetes' order (policy/registry.go, v1.32).

Each check has a level and one implementation per policy version that changed it. A policy version
runs, for every check, the newest implementation no newer than itself; versions past the newest
any check knows (and `latest`) run that newest one. `baseline` runs the baseline checks;
`restricted` runs the restricted checks and the baseline checks none of them overrides (dropping
all capabilities supersedes the baseline capability list, the restricted volume types supersede
the hostPath check, the required seccomp profile supersedes the forbidden one). Results come in
the order of the check IDs, baseline IDs first, each group sorted — the order of the messages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from minik8s.api.pod_security import checks_baseline as base
from minik8s.api.pod_security import checks_restricted as strict
from minik8s.api.pod_security.levels import BASELINE, PRIVILEGED, RESTRICTED, LevelVersion, Version, v1
from minik8s.api.pod_security.results import Aggregate, CheckResult, aggregate

CheckFn = Callable[[Mapping[str, Any], Mapping[str, Any]], CheckResult]


@dataclass(frozen=True)
class Check:
    id: str
    level: str
    versions: tuple[tuple[Version, CheckFn], ...]  # (minimum policy version, implementation), oldest first
    overrides: tuple[str, ...] = ()  # baseline check IDs this restricted check supersedes

    def at(self, version: Version) -> CheckFn | None:
        """The implementation a policy version runs, or None before the check existed."""
        chosen = None
        for minimum, check in self.versions:
            if not version.older_than(minimum):
                chosen = check
        return chosen


CHECKS: tuple[Check, ...] = (
    Check("appArmorProfile", BASELINE, ((v1(0), base.app_armor_profile_1_0),)),
    Check("capabilities_baseline", BASELINE, ((v1(0), base.capabilities_baseline_1_0),)),
    Check("hostNamespaces", BASELINE, ((v1(0), base.host_namespaces_1_0),)),
    Check("hostPathVolumes", BASELINE, ((v1(0), base.host_path_volumes_1_0),)),
    Check("hostPorts", BASELINE, ((v1(0), base.host_ports_1_0),)),
    Check("privileged", BASELINE, ((v1(0), base.privileged_1_0),)),
    Check("procMount", BASELINE, ((v1(0), base.proc_mount_1_0),)),
    Check("seLinuxOptions", BASELINE, ((v1(0), base.se_linux_options_1_0), (v1(31), base.se_linux_options_1_31))),
    Check("seccompProfile_baseline", BASELINE,
          ((v1(0), base.seccomp_profile_baseline_1_0), (v1(19), base.seccomp_profile_baseline_1_19))),
    Check("sysctls", BASELINE, ((v1(0), base.sysctls_1_0), (v1(27), base.sysctls_1_27), (v1(29), base.sysctls_1_29),
                                (v1(32), base.sysctls_1_32))),
    Check("windowsHostProcess", BASELINE, ((v1(0), base.windows_host_process_1_0),)),
    Check("allowPrivilegeEscalation", RESTRICTED, ((v1(8), strict.allow_privilege_escalation_1_8),)),
    Check("capabilities_restricted", RESTRICTED, ((v1(22), strict.capabilities_restricted_1_22),),
          overrides=("capabilities_baseline",)),
    Check("restrictedVolumes", RESTRICTED, ((v1(0), strict.restricted_volumes_1_0),), overrides=("hostPathVolumes",)),
    Check("runAsNonRoot", RESTRICTED, ((v1(0), strict.run_as_non_root_1_0),)),
    Check("runAsUser", RESTRICTED, ((v1(23), strict.run_as_user_1_23),)),
    Check("seccompProfile_restricted", RESTRICTED, ((v1(19), strict.seccomp_profile_restricted_1_19),),
          overrides=("seccompProfile_baseline",)),
)
NEWEST = max((minimum for check in CHECKS for minimum, _ in check.versions), key=lambda v: v.minor or 0)


def checks_for(level_version: LevelVersion) -> list[CheckFn]:
    """The implementations `level_version` runs, in message order."""
    if level_version.level == PRIVILEGED:
        return []
    version = NEWEST if NEWEST.older_than(level_version.version) else level_version.version
    active = {check.id: (check, fn) for check in CHECKS if (fn := check.at(version)) is not None}
    if level_version.level == BASELINE:
        wanted = [entry for entry in active.values() if entry[0].level == BASELINE]
    else:
        overridden = {name for check, _ in active.values() if check.level == RESTRICTED for name in check.overrides}
        wanted = [entry for entry in active.values() if entry[0].id not in overridden]
    wanted.sort(key=lambda entry: (entry[0].level != BASELINE, entry[0].id))
    return [fn for _, fn in wanted]


def evaluate(level_version: LevelVersion, metadata: Mapping[str, Any], spec: Mapping[str, Any]) -> Aggregate:
    """The failed checks of a pod (its metadata and spec) under `level_version`."""
    return aggregate(check(metadata, spec) for check in checks_for(level_version))
