"""Carrying out a claim: release what stopped matching, adopt matching orphans, as ControllerRefManager does.

`workload_objects.claim` decides, purely, which dependents an owner keeps, releases and adopts;
`claim_dependents` makes that decision and its writes, for the ReplicaSet controller (its pods)
and the Deployment controller (its ReplicaSets) alike: the same writes in the same order, with the same safety check — an orphan is adopted only after a fresh
read shows the owner still exists with the same uid and is not being deleted
(RecheckDeletionTimestamp), so a deleted owner never grabs objects on its way out.
"""

from __future__ import annotations

from collections.abc import Iterable

from minik8s.api.meta import JsonObject, is_deleting, name_of, namespace_of, uid_of
from minik8s.api.registry import ResourceKind
from minik8s.api.selectors import LabelSelector
from minik8s.client.api import ApiClient
from minik8s.client.errors import NotFound
from minik8s.controllers.common.workload_objects import (
    adoption_patch,
    claim,
    controller_reference,
    release_patch,
)


async def claim_dependents(client: ApiClient, owner: JsonObject, selector: LabelSelector,
                           candidates: Iterable[JsonObject], *, owner_kind: ResourceKind,
                           dependent_kind: ResourceKind) -> list[JsonObject]:
    """Claim the candidates, patch released and adopted ones; return what the owner now owns (a
    dependent gone meanwhile is skipped)."""
    decision = claim(owner, selector, candidates)
    owned: list[JsonObject] = list(decision.owned)
    for dependent in decision.release:
        try:
            await client.patch(dependent_kind, name_of(dependent), release_patch(dependent, uid_of(owner)),
                               namespace=namespace_of(dependent), patch_type="strategic")
        except NotFound:
            continue
    if not decision.adopt or not await _still_the_same_live_owner(client, owner, owner_kind):
        return owned
    reference = controller_reference(owner, api_version=owner_kind.api_version, kind=owner_kind.kind)
    for dependent in decision.adopt:
        try:
            owned.append(await client.patch(dependent_kind, name_of(dependent), adoption_patch(dependent, reference),
                                            namespace=namespace_of(dependent), patch_type="strategic"))
        except NotFound:
            continue
    return owned


async def _still_the_same_live_owner(client: ApiClient, owner: JsonObject, owner_kind: ResourceKind) -> bool:
    try:
        fresh = await client.get(owner_kind, name_of(owner), namespace=namespace_of(owner))
    except NotFound:
        return False
    return uid_of(fresh) == uid_of(owner) and not is_deleting(fresh)
