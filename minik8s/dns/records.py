"""Cluster DNS answers, computed from what the Service and Endpoints caches hold right now.

This is the whole of the DNS server's knowledge, kept pure so that every naming rule of
Kubernetes' DNS specification can be tested with built objects and no sockets. The rules are
those of CoreDNS's `kubernetes` plugin (its default settings), read from its source:

- `<svc>.<ns>.svc.<domain>` → the ClusterIPs (A, or AAAA for IPv6); a headless service →
  the ready addresses of its Endpoints; `<host>.<svc>.<ns>.svc.<domain>` → one endpoint,
  named by its `hostname` or its dashed IP (`10-244-1-5`); an ExternalName service → a CNAME.
- `_<port>._<proto>.<svc>.<ns>.svc.<domain>` → SRV records (priority 0, weight 100 split
  evenly) whose targets' addresses come as additional records.
- A name that exists without records of the asked type → NOERROR and no answers; a name
  that does not exist (a headless service without ready endpoints included) → NXDOMAIN;
  both carry the zone's SOA. Names outside the cluster domain → REFUSED: nothing is forwarded.
- Matching ignores case; answers are owned by the name exactly as asked.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from minik8s.api.meta import JsonObject, namespace_of, namespaced_key_of, spec_of
from minik8s.dnswire.message import (
    AAAA,
    CNAME,
    NS,
    SOA,
    SRV,
    TXT,
    A,
    Rcode,
    Record,
    labels_to_name,
    name_labels,
)

JsonObjects = list[JsonObject]

DEFAULT_DOMAIN = "cluster.local"
DEFAULT_TTL = 5  # CoreDNS's kubernetes plugin
DNS_SCHEMA_VERSION = b"1.1.0"  # github.com/kubernetes/dns docs/specification.md
DNS_SERVICE_KEY = "kube-system/kube-dns"
_VERSION_TTL = 28800
_MAX_CNAME_CHAIN = 8


class ObjectCache(Protocol):
    """What `resolve` reads: objects by `namespace/name`, and all of them (an `Informer` is one)."""

    def get(self, key: str) -> JsonObject | None: ...

    def list(self) -> JsonObjects: ...


@dataclass(frozen=True)
class StaticCache:
    """A fixed set of objects as an `ObjectCache`."""

    objects: Mapping[str, JsonObject]

    @classmethod
    def of(cls, objects: Iterable[JsonObject]) -> StaticCache:
        return cls({namespaced_key_of(obj): obj for obj in objects})

    def get(self, key: str) -> JsonObject | None:
        return self.objects.get(key)

    def list(self) -> JsonObjects:
        return list(self.objects.values())


@dataclass(frozen=True)
class Answer:
    """The records of one response; `records` is the answer section."""

    rcode: Rcode
    records: tuple[Record, ...] = ()
    authority: tuple[Record, ...] = ()
    additional: tuple[Record, ...] = ()

    @property
    def authoritative(self) -> bool:
        return self.rcode in (Rcode.NOERROR, Rcode.NXDOMAIN)


@dataclass(frozen=True)
class _Zone:
    services: ObjectCache
    endpoints: ObjectCache
    apex: tuple[bytes, ...]
    ttl: int
    serial: int

    @property
    def origin(self) -> str:
        return labels_to_name(self.apex)

    def soa(self) -> Record:
        data = SOA(primary="ns.dns." + self.origin, mailbox="hostmaster." + self.origin, serial=self.serial,
                   refresh=7200, retry=1800, expire=86400, minimum=self.ttl)
        return Record(self.origin, min(self.ttl, 300), data)

    def no_data(self) -> Answer:
        return Answer(Rcode.NOERROR, authority=(self.soa(),))

    def no_name(self) -> Answer:
        return Answer(Rcode.NXDOMAIN, authority=(self.soa(),))


@dataclass(frozen=True)
class _Target:
    """One address a name leads to: its port (None when no port was asked and none is listed)."""

    ip: str
    port: int | None
    host: str  # the name that owns the address: `<svc>.<ns>.svc.<domain>.` or `<host>.<svc>...`


def in_domain(name: str, domain: str = DEFAULT_DOMAIN) -> bool:
    """Whether `name` is the cluster domain or below it (False for a name that cannot be parsed)."""
    try:
        labels = tuple(label.lower() for label in name_labels(name))
        apex = tuple(label.lower() for label in name_labels(domain))
    except ValueError:
        return False
    return len(labels) >= len(apex) and labels[len(labels) - len(apex):] == apex


def resolve(
    name: str,
    qtype: str,
    *,
    services: ObjectCache,
    endpoints: ObjectCache,
    domain: str = DEFAULT_DOMAIN,
    ttl: int = DEFAULT_TTL,
    serial: int = 1,
) -> Answer:
    """The answer to `name`/`qtype` (`"A"`, `"SRV"`, … or `"TYPE65"`) from the caches."""
    try:
        apex = tuple(label.lower() for label in name_labels(domain))
        owner = labels_to_name(name_labels(name))
    except ValueError:
        return Answer(Rcode.FORMERR)
    if not in_domain(owner, domain):
        return Answer(Rcode.REFUSED)
    zone = _Zone(services, endpoints, apex, ttl, serial)
    return _answer(zone, owner, qtype.upper(), depth=0)


def _answer(zone: _Zone, owner: str, qtype: str, *, depth: int) -> Answer:
    labels = [label.lower().decode("latin-1") for label in name_labels(owner)]
    relative = labels[:len(labels) - len(zone.apex)]
    if not relative:
        return _apex_answer(zone, owner, qtype)
    if relative == ["dns-version"]:
        if qtype != "TXT":
            return zone.no_data()
        return Answer(Rcode.NOERROR, (Record(owner, _VERSION_TTL, TXT((DNS_SCHEMA_VERSION,))),))
    if relative == ["ns", "dns"]:
        return _address_answer(zone, owner, qtype, _dns_service_targets(zone))
    if relative[-1] == "pod":  # pod records are off, as in CoreDNS by default
        return zone.no_data() if len(relative) == 1 else zone.no_name()
    if relative[-1] != "svc":
        return zone.no_name()
    return _service_answer(zone, owner, qtype, relative[:-1], depth=depth)


def _apex_answer(zone: _Zone, owner: str, qtype: str) -> Answer:
    if qtype == "SOA":
        soa = zone.soa()
        return Answer(Rcode.NOERROR, (Record(owner, soa.ttl, soa.data),))
    if qtype == "NS":
        server = "ns.dns." + zone.origin
        glue = tuple(Record(server, zone.ttl, A(t.ip) if _is_ipv4(t.ip) else AAAA(t.ip))
                     for t in _dns_service_targets(zone))
        return Answer(Rcode.NOERROR, (Record(owner, zone.ttl, NS(server)),), additional=glue)
    return zone.no_data()


def _dns_service_targets(zone: _Zone) -> list[_Target]:
    service = zone.services.get(DNS_SERVICE_KEY)
    return [_Target(ip, None, "ns.dns." + zone.origin) for ip in _cluster_ips(service)] if service else []


def _service_answer(zone: _Zone, owner: str, qtype: str, parts: list[str], *, depth: int) -> Answer:
    """`parts` are the labels before `svc`: [ns], [svc, ns], [host, svc, ns] or [_port, _proto, svc, ns]."""
    if not parts:
        return zone.no_data()
    namespace = parts[-1]
    if len(parts) == 1:
        exists = any(namespace_of(s) == namespace for s in zone.services.list())
        return zone.no_data() if exists else zone.no_name()
    if len(parts) > 4:
        return zone.no_name()
    service = zone.services.get(f"{namespace}/{parts[-2]}")
    if service is None:
        return zone.no_name()
    endpoint = parts[0] if len(parts) == 3 else ""
    port_name, protocol = (parts[0].removeprefix("_"), parts[1].removeprefix("_")) if len(parts) == 4 else ("", "")
    spec = spec_of(service)
    if spec.get("type") == "ExternalName":
        if endpoint or port_name or protocol:
            return zone.no_name()
        return _external_answer(zone, owner, qtype, str(spec.get("externalName") or ""), depth=depth)
    host = f"{parts[-2]}.{namespace}.svc.{zone.origin}"
    if spec.get("clusterIP") == "None" or endpoint:
        endpoints = zone.endpoints.get(f"{namespace}/{parts[-2]}")
        targets = _endpoint_targets(endpoints, host=host, endpoint=endpoint, port_name=port_name,
                                    protocol=protocol)
    else:
        targets = _cluster_ip_targets(service, host=host, port_name=port_name, protocol=protocol)
    if not targets:
        return zone.no_name()
    if qtype == "SRV":
        return _srv_answer(zone, owner, targets)
    return _address_answer(zone, owner, qtype, targets)


def _cluster_ip_targets(service: JsonObject, *, host: str, port_name: str, protocol: str) -> list[_Target]:
    ips = _cluster_ips(service)
    ports = _ports(spec_of(service).get("ports"))
    if not port_name and not protocol and not ports:
        return [_Target(ip, None, host) for ip in ips]
    return [_Target(ip, number, host) for name, number, proto in ports
            if _port_matches(port_name, protocol, name, proto) for ip in ips]


def _endpoint_targets(endpoints: JsonObject | None, *, host: str, endpoint: str, port_name: str,
                      protocol: str) -> list[_Target]:
    targets: list[_Target] = []
    subsets = (endpoints or {}).get("subsets")
    for subset in subsets if isinstance(subsets, list) else []:
        if not isinstance(subset, dict):
            continue
        ports = _ports(subset.get("ports"))
        for address in _dicts(subset.get("addresses")):
            ip = str(address.get("ip") or "")
            label = _endpoint_label(address)
            if not ip or (endpoint and label != endpoint):
                continue
            if not port_name and not protocol and not ports:
                targets.append(_Target(ip, None, f"{label}.{host}"))
            targets.extend(_Target(ip, number, f"{label}.{host}") for name, number, proto in ports
                           if _port_matches(port_name, protocol, name, proto))
    return targets


def _external_answer(zone: _Zone, owner: str, qtype: str, target: str, *, depth: int) -> Answer:
    """A CNAME to the external name; followed here only while it stays inside the cluster domain."""
    if qtype == "SRV" or not target:
        return zone.no_data()
    try:
        target_name = labels_to_name(name_labels(target))
    except ValueError:
        return zone.no_data()
    alias = Record(owner, zone.ttl, CNAME(target_name))
    if qtype == "CNAME" or depth >= _MAX_CNAME_CHAIN or not in_domain(target_name, zone.origin):
        return Answer(Rcode.NOERROR, (alias,))
    chased = _answer(zone, target_name, qtype, depth=depth + 1)
    if chased.rcode not in (Rcode.NOERROR, Rcode.NXDOMAIN):
        return Answer(Rcode.NOERROR, (alias,))
    return Answer(chased.rcode, (alias, *chased.records), chased.authority, chased.additional)


def _address_answer(zone: _Zone, owner: str, qtype: str, targets: list[_Target]) -> Answer:
    wanted = {"A": (True, False), "AAAA": (False, True), "ANY": (True, True)}.get(qtype)
    if wanted is None:
        return zone.no_data()
    records = _address_records(owner, [t.ip for t in targets], ttl=zone.ttl, ipv4=wanted[0], ipv6=wanted[1])
    return Answer(Rcode.NOERROR, records) if records else zone.no_data()


def _address_records(owner: str, ips: Iterable[str], *, ttl: int, ipv4: bool = True,
                     ipv6: bool = True) -> tuple[Record, ...]:
    records: dict[str, Record] = {}
    for ip in ips:
        if ip in records:
            continue
        if _is_ipv4(ip) and ipv4:
            records[ip] = Record(owner, ttl, A(ip))
        elif _is_ipv6(ip) and ipv6:
            records[ip] = Record(owner, ttl, AAAA(ip))
    return tuple(records.values())


def _srv_answer(zone: _Zone, owner: str, targets: list[_Target]) -> Answer:
    unique: dict[tuple[int, str], _Target] = {}
    for target in targets:
        if target.port is not None:
            unique.setdefault((target.port, target.host), target)
    if not unique:
        return zone.no_data()
    weight = max(1, 100 // len(unique))
    answers = tuple(Record(owner, zone.ttl, SRV(0, weight, port, host)) for port, host in unique)
    additional: list[Record] = []
    for host in dict.fromkeys(host for _, host in unique):
        additional.extend(_address_records(host, [t.ip for t in targets if t.host == host], ttl=zone.ttl))
    return Answer(Rcode.NOERROR, answers, additional=tuple(additional))


# -- reading objects -----------------------------------------------------------------------------


def _cluster_ips(service: JsonObject | None) -> list[str]:
    spec = spec_of(service or {})
    listed = spec.get("clusterIPs")
    ips = [str(ip) for ip in listed] if isinstance(listed, list) and listed else [str(spec.get("clusterIP") or "")]
    return [ip for ip in ips if _is_ipv4(ip) or _is_ipv6(ip)]


def _ports(ports: object) -> list[tuple[str, int, str]]:
    """(name, port, protocol) of each well-formed entry; the protocol defaults to TCP."""
    found: list[tuple[str, int, str]] = []
    for port in _dicts(ports):
        number = port.get("port")
        if isinstance(number, int) and not isinstance(number, bool):
            found.append((str(port.get("name") or ""), number, str(port.get("protocol") or "TCP")))
    return found


def _port_matches(wanted_name: str, wanted_protocol: str, name: str, protocol: str) -> bool:
    """An empty wanted value matches anything (CoreDNS's matchPortAndProtocol)."""
    return ((not wanted_name or wanted_name == name.lower())
            and (not wanted_protocol or wanted_protocol == protocol.lower()))


def _endpoint_label(address: JsonObject) -> str:
    """The endpoint's own label: its hostname, else its IP with dashes (`10-244-1-5`)."""
    hostname = address.get("hostname")
    if isinstance(hostname, str) and hostname:
        return hostname.lower()
    ip = str(address.get("ip") or "")
    return ip.replace(".", "-") if "." in ip else ip.replace(":", "-")


def _dicts(value: object) -> list[JsonObject]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _is_ipv4(text: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(text), ipaddress.IPv4Address)
    except ValueError:
        return False


def _is_ipv6(text: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(text), ipaddress.IPv6Address)
    except ValueError:
        return False
