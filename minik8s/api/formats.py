"""String formats Kubernetes imposes on names, keys and values.

Selectors, validation and the apiserver's URL checks all need the same rules (DNS-1123
labels and subdomains, DNS-1035 labels, qualified names, label values, IANA port names,
config keys, environment variable names, percentages, IP addresses, and the addresses an
Endpoints object or a Service's externalIPs may send traffic to). Each check returns
the list of problems in Kubernetes' own wording, empty when the value is fine, so callers
can wrap the messages in whatever error shape they need.
"""

from __future__ import annotations

import ipaddress
import re

DNS1123_LABEL_MAX_LENGTH = 63
DNS1123_SUBDOMAIN_MAX_LENGTH = 253
DNS1035_LABEL_MAX_LENGTH = 63
LABEL_VALUE_MAX_LENGTH = 63
QUALIFIED_NAME_MAX_LENGTH = 63
PORT_NAME_MAX_LENGTH = 15

_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT = _DNS1123_LABEL_FMT + "(\\." + _DNS1123_LABEL_FMT + ")*"
_DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE_FMT = "(" + _QUALIFIED_NAME_FMT + ")?"
_CONFIG_KEY_FMT = "[-._a-zA-Z0-9]+"
_PERCENT_FMT = "[0-9]+%"

_DNS1123_LABEL = re.compile(_DNS1123_LABEL_FMT)
_DNS1123_SUBDOMAIN = re.compile(_DNS1123_SUBDOMAIN_FMT)
_DNS1035_LABEL = re.compile(_DNS1035_LABEL_FMT)
_QUALIFIED_NAME = re.compile(_QUALIFIED_NAME_FMT)
_LABEL_VALUE = re.compile(_LABEL_VALUE_FMT)
_CONFIG_KEY = re.compile(_CONFIG_KEY_FMT)
_PERCENT = re.compile(_PERCENT_FMT)
_PORT_NAME_CHARSET = re.compile("[-a-z0-9]+")
_PORT_NAME_LETTER = re.compile("[a-z]")

_DNS1123_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character"
)
_DNS1123_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character"
)
_DNS1035_LABEL_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
    "start with an alphabetic character, and end with an alphanumeric character"
)
_QUALIFIED_NAME_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)
_LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)
_CONFIG_KEY_MSG = "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"
_PERCENT_MSG = "a valid percent string must be a numeric string followed by an ending '%'"
_ENV_VAR_NAME_MSG = (
    "a valid environment variable name must consist only of printable ASCII characters other than '='"
)


def describe_regex_error(message: str, pattern: str, *examples: str) -> str:
    """Kubernetes' wording for a value that does not match `pattern`."""
    if not examples:
        return f"{message} (regex used for validation is '{pattern}')"
    shown = " or ".join(f"'{example}', " for example in examples)
    return f"{message} (e.g. {shown}regex used for validation is '{pattern}')"


def describe_max_length(length: int) -> str:
    return f"must be no more than {length} characters"


def describe_inclusive_range(low: int, high: int) -> str:
    return f"must be between {low} and {high}, inclusive"


def check_dns1123_label(value: str) -> list[str]:
    problems: list[str] = []
    if len(value) > DNS1123_LABEL_MAX_LENGTH:
        problems.append(describe_max_length(DNS1123_LABEL_MAX_LENGTH))
    if not _DNS1123_LABEL.fullmatch(value):
        if _DNS1123_SUBDOMAIN.fullmatch(value):
            problems.append("must not contain dots")
        else:
            problems.append(
                describe_regex_error(_DNS1123_LABEL_MSG, _DNS1123_LABEL_FMT, "my-name", "123-abc")
            )
    return problems


def check_dns1123_subdomain(value: str) -> list[str]:
    problems: list[str] = []
    if len(value) > DNS1123_SUBDOMAIN_MAX_LENGTH:
        problems.append(describe_max_length(DNS1123_SUBDOMAIN_MAX_LENGTH))
    if not _DNS1123_SUBDOMAIN.fullmatch(value):
        problems.append(describe_regex_error(_DNS1123_SUBDOMAIN_MSG, _DNS1123_SUBDOMAIN_FMT, "example.com"))
    return problems


def check_dns1035_label(value: str) -> list[str]:
    problems: list[str] = []
    if len(value) > DNS1035_LABEL_MAX_LENGTH:
        problems.append(describe_max_length(DNS1035_LABEL_MAX_LENGTH))
    if not _DNS1035_LABEL.fullmatch(value):
        problems.append(describe_regex_error(_DNS1035_LABEL_MSG, _DNS1035_LABEL_FMT, "my-name", "abc-123"))
    return problems


def check_qualified_name(value: str) -> list[str]:
    """A label key: an optional DNS-subdomain prefix and '/', then a name of at most 63 characters."""
    problems: list[str] = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            problems.append("prefix part must be non-empty")
        else:
            problems.extend(f"prefix part {problem}" for problem in check_dns1123_subdomain(prefix))
    else:
        return [
            "a valid label key "
            + describe_regex_error(_QUALIFIED_NAME_MSG, _QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        problems.append("name part must be non-empty")
    elif len(name) > QUALIFIED_NAME_MAX_LENGTH:
        problems.append("name part " + describe_max_length(QUALIFIED_NAME_MAX_LENGTH))
    if not _QUALIFIED_NAME.fullmatch(name):
        problems.append(
            "name part "
            + describe_regex_error(_QUALIFIED_NAME_MSG, _QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
        )
    return problems


def check_label_value(value: str) -> list[str]:
    problems: list[str] = []
    if len(value) > LABEL_VALUE_MAX_LENGTH:
        problems.append(describe_max_length(LABEL_VALUE_MAX_LENGTH))
    if not _LABEL_VALUE.fullmatch(value):
        problems.append(
            describe_regex_error(_LABEL_VALUE_MSG, _LABEL_VALUE_FMT, "MyValue", "my_value", "12345")
        )
    return problems


def check_port_name(value: str) -> list[str]:
    """An IANA_SVC_NAME: at most 15 of [-a-z0-9], at least one letter, no '--', no edge hyphen."""
    problems: list[str] = []
    if len(value) > PORT_NAME_MAX_LENGTH:
        problems.append(describe_max_length(PORT_NAME_MAX_LENGTH))
    if not _PORT_NAME_CHARSET.fullmatch(value):
        problems.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not _PORT_NAME_LETTER.search(value):
        problems.append("must contain at least one letter (a-z)")
    if "--" in value:
        problems.append("must not contain consecutive hyphens")
    if value and (value[0] == "-" or value[-1] == "-"):
        problems.append("must not begin or end with a hyphen")
    return problems


def check_port_number(port: int) -> list[str]:
    return [] if 1 <= port <= 65535 else [describe_inclusive_range(1, 65535)]


def check_config_map_key(value: str) -> list[str]:
    problems: list[str] = []
    if len(value) > DNS1123_SUBDOMAIN_MAX_LENGTH:
        problems.append(describe_max_length(DNS1123_SUBDOMAIN_MAX_LENGTH))
    if not _CONFIG_KEY.fullmatch(value):
        problems.append(
            describe_regex_error(_CONFIG_KEY_MSG, _CONFIG_KEY_FMT, "key.name", "KEY_NAME", "key-name")
        )
    problems.extend(_check_chdir_prefix(value))
    return problems


def check_env_var_name(value: str) -> list[str]:
    """Relaxed rule (default since Kubernetes 1.32): printable ASCII except '='."""
    if not value:
        return ["environment variable name must be non-empty"]
    if any(not (" " <= char <= "~") or char == "=" for char in value):
        return [_ENV_VAR_NAME_MSG]
    return []


def check_percent(value: str) -> list[str]:
    if _PERCENT.fullmatch(value):
        return []
    return [describe_regex_error(_PERCENT_MSG, _PERCENT_FMT, "1%", "93%")]


def check_ip_address(value: str) -> list[str]:
    if _parse_ip(value) is None:
        return ["must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"]
    return []


def _parse_ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An IP address as Go's net.ParseIP reads one: no IPv6 zone (`fe80::1%eth0`), which Python accepts."""
    if "%" in value:
        return None
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def check_non_special_ip(value: str) -> list[str]:
    """Kubernetes' ValidateNonSpecialIP (once ValidateEndpointIP) for a valid IP: an address traffic may be
    sent to on a Service's behalf is not unspecified, loopback, link-local or link-local multicast — those
    mean "this host" or its node-local services (169.254.169.254 is the cloud metadata server), never a
    backend. Go's rules: an IPv4-mapped IPv6 address counts as the IPv4 address it carries."""
    address = _parse_ip(value)
    if address is None:
        return ["must be a valid IP address"]
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    problems = []
    if address.is_unspecified:
        problems.append(f"may not be unspecified ({value})")
    if address.is_loopback:
        problems.append("may not be in the loopback range (127.0.0.0/8, ::1/128)")
    if address.is_link_local:
        problems.append("may not be in the link-local range (169.254.0.0/16, fe80::/10)")
    if _is_link_local_multicast(address):
        problems.append("may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)")
    return problems


def _is_link_local_multicast(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Go's net.IP.IsLinkLocalMulticast: 224.0.0.0/24, or an IPv6 multicast address of link-local scope."""
    packed = address.packed
    if isinstance(address, ipaddress.IPv4Address):
        return packed[:3] == bytes((224, 0, 0))
    return packed[0] == 0xFF and packed[1] & 0x0F == 0x02


def check_cidr(value: str) -> list[str]:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return ["must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"]
    if "/" not in value:
        return ["must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"]
    return []


def _check_chdir_prefix(value: str) -> list[str]:
    if value == ".":
        return ["must not be '.'"]
    if value == "..":
        return ["must not be '..'"]
    if value.startswith(".."):
        return ["must not start with '..'"]
    return []


def check_path_segment_name(value: str) -> list[str]:
    """Kubernetes' IsValidPathSegmentName: the name rule of RBAC objects (`system:kube-scheduler` is fine)."""
    if value in (".", ".."):
        return [f"may not be '{value}'"]
    return [f"may not contain '{part}'" for part in ("/", "%") if part in value]
