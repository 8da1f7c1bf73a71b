"""ClusterRole aggregation: a ClusterRole with an aggregationRule holds the union of the roles it selects.

Kubernetes' clusterrole-aggregation controller (pkg/controller/clusterroleaggregation): whenever
any ClusterRole changes, every aggregated ClusterRole is looked at again, and its `rules` are
replaced by the union of the rules of the ClusterRoles its `clusterRoleSelectors` match (in
name order, without repeats, never itself) — so `admin`, `edit` and `view` grow when a role
labelled `rbac.authorization.k8s.io/aggregate-to-view: "true"` is created. The union itself is
the pure `rbac_coverage.aggregate`; the write is an update guarded by the cached resourceVersion.
"""

from __future__ import annotations

import logging

from minik8s.api.kinds import CLUSTER_ROLES
from minik8s.api.meta import JsonObject, name_of
from minik8s.api.rbac_coverage import aggregate
from minik8s.client.controller import Controller
from minik8s.client.errors import NotFound
from minik8s.controllers.common.context import ControllerContext

logger = logging.getLogger(__name__)


class ClusterRoleAggregationController:
    name = "clusterrole-aggregation"

    def __init__(self, context: ControllerContext) -> None:
        self.client = context.client
        self.roles = context.informers.informer(CLUSTER_ROLES)
        self.controller = Controller(name=self.name, reconcile=self.reconcile, informers=[self.roles],
                                     workers=1)
        self.roles.add_handler(on_add=self._any_change, on_update=lambda _, new: self._any_change(new),
                               on_delete=self._any_change)

    async def run(self) -> None:
        await self.controller.run(start_informers=False)

    def _any_change(self, _: JsonObject) -> None:
        """Any ClusterRole may be selected by any aggregated one: look at all of those again."""
        for role in self.roles.list():
            if role.get("aggregationRule") is not None:
                self.controller.enqueue(role)

    async def reconcile(self, key: str) -> None:
        role = self.roles.get(key)
        if role is None:
            return
        rules = aggregate(role, self.roles.list())
        if rules is None:
            return
        wanted = [rule.to_json() for rule in rules]
        if (role.get("rules") or []) == wanted:
            return
        try:
            await self.client.update(CLUSTER_ROLES, {**role, "rules": wanted})
        except NotFound:
            return
        logger.info("clusterrole-aggregation: %s now has %d rules", name_of(role), len(wanted))
