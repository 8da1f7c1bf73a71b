"""Services and Endpoints → one `iptables-restore --noflush` text: the proxy's whole decision, pure.

Everything the proxy decides lives here, free of side effects, so each feature (ClusterIP, NodePort
also on 127.0.0.1, ClientIP affinity, hairpin, REJECT without ready backends, TCP and UDP, stale
chains, partial syncs) is unit-tested on text, and a sync costs one process (one `iptables -A` per
rule would cost ~1.4 ms each). The rule set is the one docs/architecture.md ("Networking") describes.

Chains declared with `:NAME - [0:0]` are emptied and refilled by `iptables-restore --noflush`;
undeclared chains are left alone. A partial render (`changed`) re-declares only the chains of the
changed services, but always the complete dispatch chains (nat SERVICES and NODEPORTS, filter
SERVICES), so a service never vanishes because it did not change. Chains of ours that exist but
are no longer wanted are declared (emptied) and then deleted with `-X`.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import logging
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass, field
from typing import Any

from minik8s.api.meta import namespaced_key_of
from minik8s.proxy.services import ServicePort, index_endpoints, service_ports

logger = logging.getLogger(__name__)

MAX_CHAIN_NAME = 28  # iptables: "must be under 29 chars"
HASH_CHARS = 16
MIN_HASH_CHARS = 8
DEFAULT_PREFIX = "MINIK8S-"
DEFAULT_CLUSTER_CIDR = "10.244.0.0/16"
MASQ_MARK = "0x4000"
SERVICE_CHAIN_KINDS = ("SVC-", "EXT-", "SEP-")

Table = str  # "filter" or "nat"
ChainKey = tuple[Table, str]


@functools.lru_cache(maxsize=1 << 16)
def _digest(identity: str, length: int) -> str:
    """The first `length` base32 characters of the identity's sha256 (10 bytes make 16 characters)."""
    return base64.b32encode(hashlib.sha256(identity.encode()).digest()[:10]).decode()[:length]


class ChainNames:
    """The names of every chain of one prefix: fixed ones, and hashed per service port/endpoint."""

    __slots__ = ("firewall", "forward", "hash_chars", "mark_masq", "nodeports", "postrouting", "prefix",
                 "service_chain_prefixes", "services")

    def __init__(self, prefix: str = DEFAULT_PREFIX) -> None:
        room = MAX_CHAIN_NAME - len(prefix) - len("SVC-")
        if room < MIN_HASH_CHARS:
            raise ValueError(f"chain prefix {prefix!r} is too long: hashed names would not fit "
                             f"in {MAX_CHAIN_NAME} characters")
        self.prefix = prefix
        self.hash_chars = min(HASH_CHARS, room)
        self.services = prefix + "SERVICES"
        self.nodeports = prefix + "NODEPORTS"
        self.postrouting = prefix + "POSTROUTING"
        self.mark_masq = prefix + "MARK-MASQ"
        self.forward = prefix + "FORWARD"
        self.firewall = prefix + "FIREWALL"
        self.service_chain_prefixes = tuple(prefix + kind for kind in SERVICE_CHAIN_KINDS)

    def fixed(self) -> dict[ChainKey, None]:
        """Every fixed chain with its table, in declaration order."""
        return {("filter", self.services): None, ("filter", self.forward): None,
                ("filter", self.firewall): None, ("nat", self.services): None,
                ("nat", self.nodeports): None, ("nat", self.postrouting): None, ("nat", self.mark_masq): None}

    def service(self, identity: str) -> str:
        return f"{self.prefix}SVC-{_digest(identity, self.hash_chars)}"

    def external(self, identity: str) -> str:
        return f"{self.prefix}EXT-{_digest(identity, self.hash_chars)}"

    def endpoint(self, identity: str, ip: str, port: int) -> str:
        return f"{self.prefix}SEP-{_digest(f'{identity}/{ip}:{port}', self.hash_chars)}"

    def is_service_chain(self, name: str) -> bool:
        """A per-service chain (SVC/EXT/SEP) of exactly this prefix — never another prefix's."""
        return len(name) == len(self.prefix) + 4 + self.hash_chars and name.startswith(self.service_chain_prefixes)


@dataclass(frozen=True)
class RenderResult:
    """The restore text, and what applying it leaves behind.

    `chains`: every chain of ours (both tables) that exists once the text is applied.
    `declared`: (table, chain) → number of rules, for each chain this text empties and refills.
    `deleted`: stale chains this text removes.
    `dispatch`: a fingerprint of each dispatch chain's wanted content (for the next partial render).
    """

    text: str
    chains: frozenset[str]
    declared: Mapping[ChainKey, int] = field(default_factory=dict)
    deleted: frozenset[str] = frozenset()
    dispatch: Mapping[ChainKey, str] = field(default_factory=dict)


@dataclass
class _Text:
    """Lines under construction, per table, with the rule count of each declared chain."""

    names: ChainNames
    cluster_cidr: str
    filter_dispatch: list[str] = field(default_factory=list)
    nat_rules: list[str] = field(default_factory=list)
    nat_dispatch: list[str] = field(default_factory=list)
    nodeport_dispatch: list[str] = field(default_factory=list)
    declared: dict[ChainKey, int] = field(default_factory=dict)
    wanted: set[str] = field(default_factory=set)

    def dispatch(self, port: ServicePort, *, rewrite: bool) -> None:
        """The port's rules in the dispatch chains; and its own chains too when `rewrite`."""
        names = self.names
        proto = port.protocol
        if not port.backends:
            self._reject(port)
            return
        identity = port.identity
        service_chain = names.service(identity)
        self.wanted.add(service_chain)
        self.nat_dispatch.append(
            f"-A {names.services} -d {port.cluster_ip}/32 -p {proto} -m comment --comment {identity} "
            f"-m {proto} --dport {port.port} -j {service_chain}")
        external_chain = None
        if port.node_port is not None:
            external_chain = names.external(identity)
            self.wanted.add(external_chain)
            self.nodeport_dispatch.append(
                f"-A {names.nodeports} -p {proto} -m comment --comment {identity} "
                f"-m {proto} --dport {port.node_port} -j {external_chain}")
        endpoint_chains = [names.endpoint(identity, backend.ip, backend.port) for backend in port.backends]
        self.wanted.update(endpoint_chains)
        if rewrite:
            self._service_chains(port, service_chain, external_chain, endpoint_chains)

    def _reject(self, port: ServicePort) -> None:
        """No ready backend: refuse at once (a TCP reset, or ICMP port unreachable for UDP)."""
        names, proto = self.names, port.protocol
        reject = "REJECT --reject-with tcp-reset" if proto == "tcp" else "REJECT --reject-with icmp-port-unreachable"
        self.filter_dispatch.append(
            f"-A {names.services} -d {port.cluster_ip}/32 -p {proto} -m comment --comment {port.identity} "
            f"-m {proto} --dport {port.port} -j {reject}")
        if port.node_port is not None:
            self.filter_dispatch.append(
                f"-A {names.services} -m addrtype --dst-type LOCAL -p {proto} -m comment --comment "
                f"{port.identity} -m {proto} --dport {port.node_port} -j {reject}")

    def _service_chains(self, port: ServicePort, service_chain: str, external_chain: str | None,
                        endpoint_chains: list[str]) -> None:
        names, proto, rules = self.names, port.protocol, self.nat_rules
        declared = self.declared
        declared["nat", service_chain] = 0  # declared before its EXT chain, for the reader
        rules.append(f"-A {service_chain} ! -s {self.cluster_cidr} -d {port.cluster_ip}/32 -p {proto} "
                     f"-m {proto} --dport {port.port} -j {names.mark_masq}")
        if external_chain is not None:
            rules.append(f"-A {external_chain} -j {names.mark_masq}")
            rules.append(f"-A {external_chain} -j {service_chain}")
            declared["nat", external_chain] = 2
        count = len(endpoint_chains)
        recent = "-m recent --mask 255.255.255.255 --rsource"
        if port.affinity_timeout is not None:
            for endpoint_chain in endpoint_chains:
                rules.append(f"-A {service_chain} {recent} --name {endpoint_chain} --rcheck "
                             f"--seconds {port.affinity_timeout} --reap -j {endpoint_chain}")
        for index, endpoint_chain in enumerate(endpoint_chains):
            if index < count - 1:
                rules.append(f"-A {service_chain} -m statistic --mode random --probability "
                             f"{1.0 / (count - index):0.10f} -j {endpoint_chain}")
            else:
                rules.append(f"-A {service_chain} -j {endpoint_chain}")
        declared["nat", service_chain] = 1 + count * (2 if port.affinity_timeout is not None else 1)
        remember = f"{recent} --name {{}} --set " if port.affinity_timeout is not None else ""
        for backend, endpoint_chain in zip(port.backends, endpoint_chains, strict=True):
            rules.append(f"-A {endpoint_chain} -s {backend.ip}/32 -j {names.mark_masq}")
            rules.append(f"-A {endpoint_chain} -p {proto} {remember.format(endpoint_chain)}-m {proto} "
                         f"-j DNAT --to-destination {backend.ip}:{backend.port}")
            declared["nat", endpoint_chain] = 2


def static_filter_rules(names: ChainNames, cluster_cidr: str, chain: str) -> list[str]:
    """FORWARD lets pod and service traffic through Docker's policy; FIREWALL guards route_localnet."""
    return [rule for rule in _static_filter_rules(names, cluster_cidr) if rule.split(" ", 2)[1] == chain]


def _static_filter_rules(names: ChainNames, cluster_cidr: str) -> list[str]:
    return [
        f"-A {names.forward} -m conntrack --ctstate INVALID -j DROP",
        f"-A {names.forward} -s {cluster_cidr} -d {cluster_cidr} -j ACCEPT",
        f"-A {names.forward} -m mark --mark {MASQ_MARK}/{MASQ_MARK} -j ACCEPT",
        f"-A {names.forward} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        f"-A {names.firewall} -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack "
        "! --ctstate RELATED,ESTABLISHED,DNAT -j DROP",
    ]


def static_nat_rules(names: ChainNames, cluster_cidr: str, chain: str) -> list[str]:
    """Pod-to-pod keeps real source IPs; leaving the cluster CIDR or marked traffic is masqueraded."""
    return [rule for rule in _static_nat_rules(names, cluster_cidr) if rule.split(" ", 2)[1] == chain]


def _static_nat_rules(names: ChainNames, cluster_cidr: str) -> list[str]:
    unmarked = f"-m mark ! --mark {MASQ_MARK}/{MASQ_MARK}"
    return [
        f"-A {names.postrouting} -s {cluster_cidr} -d {cluster_cidr} {unmarked} -j ACCEPT",
        f"-A {names.postrouting} -s {cluster_cidr} ! -d {cluster_cidr} {unmarked} -j MASQUERADE",
        f"-A {names.postrouting} {unmarked} -j RETURN",
        f"-A {names.postrouting} -j MARK --xor-mark {MASQ_MARK}",
        f"-A {names.postrouting} -j MASQUERADE --random-fully",
        f"-A {names.mark_masq} -j MARK --or-mark {MASQ_MARK}",
    ]


def collect_ports(services: Iterable[Mapping[str, Any]],
                  endpoints: Iterable[Mapping[str, Any]]) -> list[ServicePort]:
    """Every programmable service port, in a stable order (service key, port, protocol)."""
    by_key = index_endpoints(endpoints)
    ports: list[ServicePort] = []
    for service in services:
        try:
            ports += service_ports(service, by_key.get(namespaced_key_of(service)))
        except (AttributeError, TypeError, ValueError) as error:  # malformed: skip it, keep the rest
            logger.warning("service %s skipped: malformed (%r)", namespaced_key_of(service), error)
    ports.sort(key=lambda port: (port.service_key, port.port, port.protocol))
    return ports


def render(
    services: Iterable[Mapping[str, Any]],
    endpoints: Iterable[Mapping[str, Any]],
    *,
    cluster_cidr: str = DEFAULT_CLUSTER_CIDR,
    changed: Set[str] | None = None,
    existing_chains: Set[str] = frozenset(),
    previous_dispatch: Mapping[ChainKey, str] | None = None,
    prefix: str = DEFAULT_PREFIX,
) -> RenderResult:
    """The restore text for these Services and Endpoints.

    `changed`: keys (`namespace/name`) of the services whose own chains to rewrite; None means all
    (a full sync, which also rewrites the fixed chains). `existing_chains`: chains of ours found in
    the kernel; the per-service ones nobody wants any more are deleted. `previous_dispatch`: the
    `dispatch` fingerprints of the last render applied; a partial text leaves out a dispatch chain
    whose content did not change (rewriting 1,000 dispatch rules costs ~0.1 s in the kernel), and
    writes it complete otherwise.
    """
    names = ChainNames(prefix)
    text = _Text(names, cluster_cidr)
    full = changed is None
    for port in collect_ports(services, endpoints):
        text.dispatch(port, rewrite=full or port.service_key in (changed or ()))
    text.nat_dispatch.append(f"-A {names.services} -m addrtype --dst-type LOCAL -j {names.nodeports}")
    stale = sorted(name for name in existing_chains if names.is_service_chain(name) and name not in text.wanted)
    return _assemble(text, full=full, stale=stale, previous_dispatch=previous_dispatch)


def fingerprint(lines: list[str]) -> str:
    return hashlib.blake2b("\n".join(lines).encode(), digest_size=16).hexdigest()


def _assemble(text: _Text, *, full: bool, stale: list[str],
              previous_dispatch: Mapping[ChainKey, str] | None) -> RenderResult:
    """Join the pieces; a partial text leaves out dispatch chains the kernel already holds as wanted."""
    names = text.names
    dispatch = {("filter", names.services): text.filter_dispatch, ("nat", names.services): text.nat_dispatch,
                ("nat", names.nodeports): text.nodeport_dispatch}
    digests = {key: fingerprint(lines) for key, lines in dispatch.items()}
    previous = previous_dispatch or {}
    written = {key: lines for key, lines in dispatch.items() if full or previous.get(key) != digests[key]}
    sections: dict[Table, dict[str, list[str]]] = {"filter": {}, "nat": {}}  # declared chain → its rules
    for (table, chain), rules in written.items():
        sections[table][chain] = rules
    if full:
        sections["filter"][names.forward] = static_filter_rules(names, text.cluster_cidr, names.forward)
        sections["filter"][names.firewall] = static_filter_rules(names, text.cluster_cidr, names.firewall)
        sections["nat"][names.postrouting] = static_nat_rules(names, text.cluster_cidr, names.postrouting)
        sections["nat"][names.mark_masq] = static_nat_rules(names, text.cluster_cidr, names.mark_masq)
    declared = {(table, chain): len(lines) for table, chains in sections.items() for chain, lines in chains.items()}
    declared.update(text.declared)
    lines: list[str] = []
    if sections["filter"]:
        lines.append("*filter")
        lines += [f":{chain} - [0:0]" for chain in sections["filter"]]
        lines += [rule for rules in sections["filter"].values() for rule in rules]
        lines.append("COMMIT")
    lines.append("*nat")
    lines += [f":{chain} - [0:0]" for chain in [*sections["nat"], *(c for _, c in text.declared), *stale]]
    lines += [rule for rules in sections["nat"].values() for rule in rules]
    lines += text.nat_rules
    lines += [f"-X {chain}" for chain in stale]
    lines += ["COMMIT", ""]
    chains = frozenset(chain for _, chain in names.fixed()) | frozenset(text.wanted)
    return RenderResult("\n".join(lines), chains, declared, frozenset(stale), digests)
