"""RBAC decision cost (target ≤ 0.2 ms per request) with 1,000 Roles and RoleBindings, plus the bootstrap policy.

The authorizer is the apiserver's own (`RBACAuthorizer` over a LocalStore, filled through the API's
create path): 500 Roles and 500 RoleBindings spread over 50 namespaces, each binding a user and a
group. The figure is the mean of 20,000 decisions mixing allowed and refused requests by bound
users, anonymous requests and non-resource paths; a second figure is the first decision after an
RBAC write, which rebuilds the indexed policy from the store.
"""

from __future__ import annotations

import asyncio
import time

from bench.figures import Figure, Outcome
from minik8s.api.kinds import NAMESPACES, ROLE_BINDINGS, ROLES
from minik8s.api.rbac import RequestAttributes
from minik8s.api.user import ANONYMOUS, authenticated
from minik8s.apiserver.authorization import RBACAuthorizer
from minik8s.apiserver.bootstrap_policy import create_cluster_policy
from minik8s.apiserver.operations import Operations
from minik8s.apiserver.storage import ObjectStore
from minik8s.store.base import LocalStore

NAME = "rbac-decisions"
NAMESPACE_COUNT = 50
ROLES_PER_NAMESPACE = 10
DECISIONS = 20_000


async def _fill(ops: Operations) -> None:
    await create_cluster_policy(ops)
    for n in range(NAMESPACE_COUNT):
        namespace = f"ns-{n}"
        await ops.create(NAMESPACES, None, {"metadata": {"name": namespace}})
        for r in range(ROLES_PER_NAMESPACE):
            rules = [{"apiGroups": [""], "resources": ["pods", f"configmaps-{r}"], "verbs": ["get", "list"]},
                     {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get"],
                      "resourceNames": [f"web-{r}"]}]
            await ops.create(ROLES, namespace, {"metadata": {"name": f"role-{r}"}, "rules": rules})
            await ops.create(ROLE_BINDINGS, namespace, {
                "metadata": {"name": f"binding-{r}"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": f"role-{r}"},
                "subjects": [{"kind": "User", "name": f"user-{n}-{r}", "apiGroup": "rbac.authorization.k8s.io"},
                             {"kind": "Group", "name": f"team-{r}", "apiGroup": "rbac.authorization.k8s.io"}]})


def _requests() -> list[RequestAttributes]:
    mixed = []
    for i in range(100):
        n, r = i % NAMESPACE_COUNT, i % ROLES_PER_NAMESPACE
        user = authenticated(f"user-{n}-{r}", (f"team-{(r + 1) % ROLES_PER_NAMESPACE}",))
        mixed += [
            RequestAttributes(user, "list", f"ns-{n}", "", "v1", "pods"),                        # allowed
            RequestAttributes(user, "get", f"ns-{n}", "apps", "v1", "deployments", "", "web-0"),  # by name or not
            RequestAttributes(user, "delete", f"ns-{n}", "", "v1", "pods", "", "p"),             # refused
            RequestAttributes(ANONYMOUS, "list", f"ns-{n}", "", "v1", "secrets"),                # refused
            RequestAttributes(user, "get", path="/healthz", resource_request=False),              # allowed
        ]
    return mixed


async def _measure() -> tuple[float, float, int]:
    store = LocalStore(history=5_000)
    ops = Operations(ObjectStore(store))
    await _fill(ops)
    authorizer = RBACAuthorizer(store)
    requests = _requests()
    authorizer.authorize(requests[0])  # first build
    started = time.perf_counter()
    allowed = 0
    for i in range(DECISIONS):
        allowed += authorizer.authorize(requests[i % len(requests)]).allowed
    per_decision = (time.perf_counter() - started) / DECISIONS
    await ops.create(ROLES, "ns-0", {"metadata": {"name": "one-more"},
                                     "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]})
    started = time.perf_counter()
    authorizer.authorize(requests[0])
    rebuild = time.perf_counter() - started
    return per_decision, rebuild, allowed


def bench_rbac_decisions() -> Outcome:
    per_decision, rebuild, allowed = asyncio.run(_measure())
    objects = NAMESPACE_COUNT * ROLES_PER_NAMESPACE * 2
    return Outcome((
        Figure(NAME, "per decision (mean)", per_decision * 1000, "ms", 0.2, "at_most",
               f"{objects:,} Roles+RoleBindings + bootstrap policy; {DECISIONS:,} decisions, "
               f"{allowed * 100 // DECISIONS}% allowed"),
        Figure(NAME, "first decision after an RBAC write", rebuild * 1000, "ms",
               note="rebuilds the indexed policy from the store"),
    ))


if __name__ == "__main__":
    from bench.figures import render_table

    print(render_table(bench_rbac_decisions().figures))
