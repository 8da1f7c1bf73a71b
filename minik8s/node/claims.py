"""A pod's `persistentVolumeClaim` volumes resolved to directories of this node, as the kubelet resolves them.

The kubelet's volume manager (desired_state_of_world_populator.go) follows claim → PersistentVolume
before it mounts anything: the claim must exist, not be being deleted, be Bound and name its volume;
the volume must name the claim back (claimRef uid) and — MountVolume's NodeAffinity check — accept
this node. Until then the pod gets no sandbox, its containers stay `ContainerCreating`, and a
`FailedMount` Event says why in the kubelet's words (`error processing PVC default/data: PVC is not
bound`). A resolved volume is a `hostPath` (with its type's checks; a local-path volume's directory is
made world-writable, as rancher's helper does) or a `local` path, which must exist. `resolve` is pure;
the agent fetches the claim, the volume and its Node first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from minik8s.api.meta import is_deleting, labels_of, name_of, spec_of, uid_of
from minik8s.api.persistent_volumes import (
    BOUND,
    LOCAL_PATH_PROVISIONER,
    claim_ref,
    phase_of,
    provisioned_by,
    volume_accepts_node,
)

PROVISIONED_DIRECTORY_MODE = 0o777  # rancher's `mkdir -m 0777 -p`: any container user may write


class ClaimError(Exception):
    """Why a claim's volume cannot be mounted yet (the kubelet's message)."""


@dataclass(frozen=True)
class ClaimVolume:
    """Where a claim's volume is on this node, and how to make sure it is there."""

    volume_name: str  # the PersistentVolume
    path: Path
    source: str  # "hostPath" or "local"
    host_path_type: str = ""  # a hostPath's type
    create_mode: int | None = None  # a provisioned directory is created with this mode when missing
    read_only: bool = False


def claim_volumes(pod: Mapping[str, Any]) -> list[tuple[str, str, bool]]:
    """(volume name, claim name, read-only) of each persistentVolumeClaim volume of the pod."""
    found = []
    for volume in spec_of(pod).get("volumes") or []:
        source = volume.get("persistentVolumeClaim") if isinstance(volume, Mapping) else None
        if isinstance(source, Mapping) and source.get("claimName"):
            found.append((str(volume.get("name")), str(source["claimName"]), source.get("readOnly") is True))
    return found


def _check_claim(namespace: str, name: str, claim: Mapping[str, Any] | None) -> str:
    """getPVCExtractPV: the volume the claim is bound to."""
    if claim is None:
        raise ClaimError(f'failed to fetch PVC from API server: persistentvolumeclaims "{name}" not found')
    if is_deleting(claim):
        raise ClaimError("PVC is being deleted")
    if phase_of(claim) != BOUND:
        raise ClaimError("PVC is not bound")
    volume_name = str(spec_of(claim).get("volumeName") or "")
    if not volume_name:
        raise ClaimError("PVC has empty pvc.Spec.VolumeName")
    return volume_name


def _check_volume(name: str, volume: Mapping[str, Any] | None, claim: Mapping[str, Any]) -> Mapping[str, Any]:
    """getPVSpec: the volume must exist and name the claim back."""
    if volume is None:
        raise ClaimError(f'failed to fetch PV {name} from API server: persistentvolumes "{name}" not found')
    ref = claim_ref(volume)
    if ref is None:
        raise ClaimError(f"found PV object {name} but it has a nil pv.Spec.ClaimRef indicating it is not yet bound "
                         "to the claim")
    if str(ref.get("uid") or "") != uid_of(claim):
        raise ClaimError(f"found PV object {name} but its pv.Spec.ClaimRef.UID {ref.get('uid') or ''} does not point "
                         f"to claim.UID {uid_of(claim)}")
    return volume


def resolve(namespace: str, claim_name: str, read_only: bool, claim: Mapping[str, Any] | None,
            volume: Mapping[str, Any] | None, node: Mapping[str, Any]) -> ClaimVolume:
    """The directory behind one claim on this node (`node`: this node's Node), or ClaimError."""
    try:
        volume_name = _check_claim(namespace, claim_name, claim)
        assert claim is not None
        checked = _check_volume(volume_name, volume, claim)
    except ClaimError as error:
        raise ClaimError(f"error processing PVC {namespace}/{claim_name}: {error}") from None
    if not volume_accepts_node(checked, labels_of(node), name_of(node)):
        raise ClaimError(f'MountVolume.NodeAffinity check failed for volume "{volume_name}" : '
                         "no matching NodeSelectorTerms")
    spec = spec_of(checked)
    for source in ("hostPath", "local"):
        settings = spec.get(source)
        if isinstance(settings, Mapping) and str(settings.get("path") or "").startswith("/"):
            host_path_type = str(settings.get("type") or "") if source == "hostPath" else ""
            provisioned = provisioned_by(checked) == LOCAL_PATH_PROVISIONER and host_path_type == "DirectoryOrCreate"
            return ClaimVolume(volume_name, Path(str(settings["path"])), source, host_path_type,
                               PROVISIONED_DIRECTORY_MODE if provisioned else None, read_only)
    raise ClaimError(f'MountVolume.NewMounter initialization failed for volume "{volume_name}" : the volume is '
                     "neither a hostPath nor a local volume with an absolute path")


def mount_failure_message(pod: Mapping[str, Any], unmounted: list[str], error: str) -> str:
    """The kubelet's FailedMount message: the volumes not mounted, the pod's volumes, and why."""
    every = sorted(str(volume.get("name")) for volume in spec_of(pod).get("volumes") or [] if isinstance(volume, Mapping))
    return (f"Unable to attach or mount volumes: unmounted volumes=[{' '.join(sorted(unmounted))}], "
            f"unattached volumes=[{' '.join(every)}]: {error}")
