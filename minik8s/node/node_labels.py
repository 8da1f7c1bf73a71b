"""The labels a node agent puts on its Node: the defaults, `--node-labels`, and keeping them current.

Topology spread (and node affinity) find domains in node labels: `kubernetes.io/hostname`, which
every agent sets, and `topology.kubernetes.io/zone`/`region`, which a kubelet takes from its
cloud provider or `--node-labels`. So `--node-labels key=value,...` is read as the kubelet reads
it, refusing what a node may not label itself with (`kubernetes.io`/`k8s.io` keys other than the
kubelet's own and `*.kubelet.kubernetes.io`/`*.node.kubernetes.io`). As the kubelet's
`updateDefaultLabels`, an agent re-registering an existing Node brings its well-known labels
(hostname, zone, region, instance type, os, arch) back to what it would have registered with;
other labels, which an administrator may have changed, are left alone.
"""

from __future__ import annotations

from collections.abc import Mapping

from minik8s.api.formats import check_label_value, check_qualified_name

ZONE_LABEL = "topology.kubernetes.io/zone"
REGION_LABEL = "topology.kubernetes.io/region"

# The labels the kubelet reconciles on an existing Node (kubelet's updateDefaultLabels).
DEFAULT_LABELS = (
    "kubernetes.io/hostname", ZONE_LABEL, REGION_LABEL, "failure-domain.beta.kubernetes.io/zone",
    "failure-domain.beta.kubernetes.io/region", "node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type",
    "kubernetes.io/os", "kubernetes.io/arch", "node.kubernetes.io/windows-build", "beta.kubernetes.io/os",
    "beta.kubernetes.io/arch",
)
# What a kubelet may label its own Node with in the kubernetes.io and k8s.io namespaces.
KUBELET_LABELS = frozenset({
    "kubernetes.io/hostname", ZONE_LABEL, REGION_LABEL, "failure-domain.beta.kubernetes.io/zone",
    "failure-domain.beta.kubernetes.io/region", "node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type",
    "kubernetes.io/os", "kubernetes.io/arch", "beta.kubernetes.io/os", "beta.kubernetes.io/arch",
})
KUBELET_LABEL_NAMESPACES = ("kubelet.kubernetes.io", "node.kubernetes.io")


def parse_node_labels(text: str) -> dict[str, str]:
    """`--node-labels`: `key=value` pairs separated by commas; ValueError naming what is wrong."""
    labels: dict[str, str] = {}
    for pair in (part.strip() for part in text.split(",")):
        if not pair:
            continue
        key, equals, value = pair.partition("=")
        if not equals:
            raise ValueError(f"invalid --node-labels entry {pair!r}: must be key=value")
        problems = [f"key {problem}" for problem in check_qualified_name(key)]
        problems += [f"value {problem}" for problem in check_label_value(value)]
        if problems:
            raise ValueError(f"invalid --node-labels entry {pair!r}: {'; '.join(problems)}")
        labels[key] = value
    unknown = sorted(key for key in labels if not kubelet_may_set(key))
    if unknown:
        raise ValueError(f"unknown 'kubernetes.io' or 'k8s.io' labels specified with --node-labels: {unknown}\n"
                         "--node-labels in the 'kubernetes.io' namespace must begin with an allowed prefix "
                         f"({', '.join(KUBELET_LABEL_NAMESPACES)}) or be in the specifically allowed set "
                         f"({', '.join(sorted(KUBELET_LABELS))})")
    return labels


def kubelet_may_set(key: str) -> bool:
    """Keys outside kubernetes.io/k8s.io are free; inside, only the kubelet's own."""
    namespace = key.rpartition("/")[0]
    if not any(namespace == domain or namespace.endswith("." + domain) for domain in ("kubernetes.io", "k8s.io")):
        return True
    if key in KUBELET_LABELS:
        return True
    return any(namespace == allowed or namespace.endswith("." + allowed) for allowed in KUBELET_LABEL_NAMESPACES)


def default_label_updates(wanted: Mapping[str, str], existing: Mapping[str, str]) -> dict[str, str | None]:
    """The merge-patch of `metadata.labels` that brings an existing Node's well-known labels to `wanted`."""
    updates: dict[str, str | None] = {}
    for key in DEFAULT_LABELS:
        if key in wanted and existing.get(key) != wanted[key]:
            updates[key] = wanted[key] or None  # an empty value removes the label, as the kubelet does
    return updates
