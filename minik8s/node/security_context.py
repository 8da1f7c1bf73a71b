"""A container's securityContext as the node agent runs it, decided without I/O.

Kubernetes' pkg/securitycontext DetermineEffectiveSecurityContext and the kubelet's
kuberuntime: the pod's securityContext gives defaults (runAsUser, runAsGroup, runAsNonRoot,
seccompProfile, appArmorProfile) that a container's own securityContext overrides field by
field; capabilities, privileged, readOnlyRootFilesystem, allowPrivilegeEscalation and procMount
are the container's alone; supplementalGroups and fsGroup are the pod's. `security_options`
turns the result into what Docker is given (`SecurityOptions`); `verify_run_as_non_root` is
the kubelet's check of runAsNonRoot against the user the image runs as, with its messages.

What the agent cannot honour on Docker is refused (`unsupported_settings`, a ConfigError and
so CreateContainerConfigError) rather than ignored: SELinux and Windows options, sysctls,
user namespaces (`hostUsers: false`), `procMount: Unmasked`, a Localhost AppArmor profile and
`supplementalGroupsPolicy: Strict`. The apiserver refuses them at admission too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Final

from minik8s.api.meta import spec_of
from minik8s.node.env import ConfigError
from minik8s.node.pod_sync import pod_ref
from minik8s.node.runtime import NamespaceOptions, SecurityOptions

# Fields of the pod's securityContext that a container's own securityContext overrides.
POD_DEFAULTED: Final = ("runAsUser", "runAsGroup", "runAsNonRoot", "seccompProfile", "appArmorProfile",
                        "seLinuxOptions", "windowsOptions")
MAX_USER_ID: Final = 2**31 - 1
UNCONFINED: Final = "unconfined"

ReadSeccompProfile = Callable[[str], str]  # localhostProfile (relative) -> the profile's JSON text


def pod_security_context(pod: Mapping[str, Any]) -> Mapping[str, Any]:
    context = spec_of(pod).get("securityContext")
    return context if isinstance(context, Mapping) else {}


def effective_security_context(pod: Mapping[str, Any], container: Mapping[str, Any]) -> dict[str, Any]:
    """The container's securityContext with the pod's defaults filled in (unset fields absent)."""
    pod_context = pod_security_context(pod)
    effective = {key: pod_context[key] for key in POD_DEFAULTED if pod_context.get(key) is not None}
    own = container.get("securityContext")
    if isinstance(own, Mapping):
        effective.update({key: value for key, value in own.items() if value is not None})
    return effective


def namespace_options(pod: Mapping[str, Any]) -> NamespaceOptions:
    spec = spec_of(pod)
    return NamespaceOptions(host_network=spec.get("hostNetwork") is True, host_pid=spec.get("hostPID") is True,
                            host_ipc=spec.get("hostIPC") is True,
                            share_process_namespace=spec.get("shareProcessNamespace") is True)


def image_user_id(image_user: str) -> tuple[int | None, str]:
    """(uid, username) of an image's USER, as the kubelet reads it: `user[:group]`; a number is a uid,
    anything else a name; none at all means root (uid 0)."""
    user = image_user.split(":", 1)[0]
    if not user:
        return 0, ""
    try:
        return int(user), ""
    except ValueError:
        return None, user


def verify_run_as_non_root(pod: Mapping[str, Any], container: Mapping[str, Any], image_user: str) -> None:
    """The kubelet's verifyRunAsNonRoot: ConfigError when runAsNonRoot cannot be guaranteed."""
    effective = effective_security_context(pod, container)
    if effective.get("runAsNonRoot") is not True:
        return
    where = f'(pod: "{pod_ref(pod)}", container: {container.get("name", "")})'
    run_as_user = effective.get("runAsUser")
    if run_as_user is not None:
        if run_as_user == 0:
            raise ConfigError(f"container's runAsUser breaks non-root policy {where}")
        return
    uid, username = image_user_id(image_user)
    if uid is None:
        raise ConfigError(f"container has runAsNonRoot and image has non-numeric user ({username}), "
                          f"cannot verify user is non-root {where}")
    if uid == 0:
        raise ConfigError(f"container has runAsNonRoot and image will run as root {where}")
    if not 0 <= uid <= MAX_USER_ID:
        raise ConfigError(f"container has runAsNonRoot and image has an invalid user id ({uid}). "
                          f"(Must be 1-({MAX_USER_ID})): must be between 0 and {MAX_USER_ID}, inclusive {where}")


def docker_user(run_as_user: Any, run_as_group: Any, image_user: str) -> str | None:
    """Docker's `user`: runAsUser, with runAsGroup as its group; runAsGroup alone applies to the image's
    user (root when it names none), as the kubelet sets the image's user before adding the group."""
    if run_as_user is None and run_as_group is None:
        return None
    user = str(run_as_user) if run_as_user is not None else (image_user.split(":", 1)[0] or "0")
    return user if run_as_group is None else f"{user}:{run_as_group}"


def capability_name(name: str) -> str:
    """`CAP_`-prefixed and upper case, as Docker wants it; Kubernetes writes `NET_ADMIN`, some `CAP_NET_ADMIN`."""
    upper = name.strip().upper()
    if upper == "ALL":
        return upper
    return upper if upper.startswith("CAP_") else f"CAP_{upper}"


def supplemental_groups(pod: Mapping[str, Any]) -> list[int]:
    """fsGroup first, then supplementalGroups: the kubelet's order; each group once."""
    pod_context = pod_security_context(pod)
    groups = [pod_context["fsGroup"]] if pod_context.get("fsGroup") is not None else []
    groups += list(pod_context.get("supplementalGroups") or [])
    return list(dict.fromkeys(int(group) for group in groups))


def seccomp_option(profile: Any, read_profile: ReadSeccompProfile) -> str | None:
    """None for the runtime's default (RuntimeDefault, or unset: Docker's default profile, as the
    kubelet's --seccomp-default); "unconfined"; or a Localhost profile's JSON from the node."""
    if not isinstance(profile, Mapping):
        return None
    kind = profile.get("type")
    if kind == "Unconfined":
        return UNCONFINED
    if kind == "Localhost":
        name = str(profile.get("localhostProfile") or "")
        try:
            profile_json = json.loads(read_profile(name))
        except ValueError as error:
            raise ConfigError(f'seccomp profile "{name}" is not JSON: {error}') from error
        return json.dumps(profile_json, separators=(",", ":"))  # compact, as the docker CLI sends it
    return None


def security_options(pod: Mapping[str, Any], container: Mapping[str, Any], *, image_user: str,
                     read_seccomp_profile: ReadSeccompProfile) -> SecurityOptions:
    """What Docker is told about the container's user, groups, capabilities and confinement."""
    refused = unsupported_settings(pod, container)
    if refused:
        raise ConfigError(f"container {container.get('name', '')} asks for what this node cannot enforce: "
                          f"{'; '.join(refused)}")
    verify_run_as_non_root(pod, container, image_user)
    effective = effective_security_context(pod, container)
    capabilities = effective.get("capabilities") or {}
    escalation = effective.get("allowPrivilegeEscalation")
    apparmor = effective.get("appArmorProfile") or {}
    return SecurityOptions(
        user=docker_user(effective.get("runAsUser"), effective.get("runAsGroup"), image_user),
        group_add=tuple(supplemental_groups(pod)),
        cap_add=tuple(dict.fromkeys(capability_name(str(name)) for name in capabilities.get("add") or [])),
        cap_drop=tuple(dict.fromkeys(capability_name(str(name)) for name in capabilities.get("drop") or [])),
        privileged=effective.get("privileged") is True,
        read_only_root=effective.get("readOnlyRootFilesystem") is True,
        no_new_privileges=escalation is False,
        seccomp=seccomp_option(effective.get("seccompProfile"), read_seccomp_profile),
        apparmor_unconfined=isinstance(apparmor, Mapping) and apparmor.get("type") == "Unconfined",
    )


def unsupported_settings(pod: Mapping[str, Any], container: Mapping[str, Any]) -> list[str]:
    """The pod's and container's settings this node cannot enforce, each named by its field path."""
    pod_context, spec = pod_security_context(pod), spec_of(pod)
    own = container.get("securityContext")
    own = own if isinstance(own, Mapping) else {}
    refused = [f"spec.securityContext.{key}" for key in ("seLinuxOptions", "windowsOptions", "sysctls",
                                                         "seLinuxChangePolicy") if pod_context.get(key)]
    refused += [f"securityContext.{key}" for key in ("seLinuxOptions", "windowsOptions") if own.get(key)]
    if pod_context.get("supplementalGroupsPolicy") == "Strict":
        refused.append("spec.securityContext.supplementalGroupsPolicy: Strict")
    if spec.get("hostUsers") is False:
        refused.append("spec.hostUsers: false (user namespaces)")
    if own.get("procMount") == "Unmasked":
        refused.append("securityContext.procMount: Unmasked")
    for where, context in (("spec.securityContext", pod_context), ("securityContext", own)):
        apparmor = context.get("appArmorProfile")
        if isinstance(apparmor, Mapping) and apparmor.get("type") == "Localhost":
            refused.append(f"{where}.appArmorProfile: Localhost")
    return refused


def fs_user(pod: Mapping[str, Any]) -> int | None:
    """The kubelet's FsUserFrom: the runAsUser every (init) container runs as, when they all set the same."""
    spec = spec_of(pod)
    users = {effective_security_context(pod, container).get("runAsUser")
             for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]}
    if len(users) != 1:
        return None
    user = next(iter(users))
    return int(user) if user is not None else None


def fs_group(pod: Mapping[str, Any]) -> int | None:
    group = pod_security_context(pod).get("fsGroup")
    return int(group) if group is not None else None
