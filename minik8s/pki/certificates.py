"""Making and reading certificates: a self-signed CA, serving and client leaves it signs.

The key type is ECDSA P-256 (kubeadm's `encryptionAlgorithm: ECDSA-P256`): Go's crypto/tls
(the real kubectl), OpenSSL (Python's `ssl`, hence httpx and the official `kubernetes`
client through urllib3) all accept it, and a key is made in a millisecond where RSA 2048
takes tens. Shapes follow kubeadm's pkiutil (cmd/kubeadm/app/util/pkiutil/pki_helpers.go):
the CA is backdated five minutes to tolerate small clock jumps and lives ten years; leaves
live one year from the CA's notBefore; serial numbers are random. Each certificate also
carries Subject/Authority Key Identifiers, which OpenSSL's strict mode (Python >= 3.13's
default context) requires.
"""

from __future__ import annotations

import datetime
import ipaddress
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_VALIDITY = datetime.timedelta(days=3650)
LEAF_VALIDITY = datetime.timedelta(days=365)
BACKDATE = datetime.timedelta(minutes=5)
DEFAULT_CA_NAME = "kubernetes"

PrivateKey = ec.EllipticCurvePrivateKey
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_Extension = TypeVar("_Extension", bound=x509.ExtensionType)


@dataclass(frozen=True)
class KeyPair:
    """A certificate and its private key, in memory."""

    certificate: x509.Certificate
    key: PrivateKey

    @property
    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())


@dataclass(frozen=True)
class SubjectAltNames:
    """The addresses and DNS names a serving certificate is valid for, deduplicated in order."""

    ips: tuple[IpAddress, ...] = ()
    dns_names: tuple[str, ...] = ()

    @classmethod
    def of(cls, names: Iterable[str]) -> SubjectAltNames:
        """Sort each name into IP or DNS, as kubeadm's appendSANsToAltNames does."""
        ips: list[IpAddress] = []
        dns_names: list[str] = []
        for name in names:
            try:
                address = ipaddress.ip_address(name.strip("[]"))
            except ValueError:
                if name and name not in dns_names:
                    dns_names.append(name)
                continue
            if address not in ips:
                ips.append(address)
        return cls(tuple(ips), tuple(dns_names))

    def same_as(self, other: SubjectAltNames) -> bool:
        return set(self.ips) == set(other.ips) and set(self.dns_names) == set(other.dns_names)


@dataclass(frozen=True)
class CertificateFacts:
    """What the rest of the project asks of a certificate, read back from it."""

    common_name: str
    organizations: tuple[str, ...]
    sans: SubjectAltNames
    not_before: datetime.datetime
    not_after: datetime.datetime
    is_ca: bool
    server_auth: bool
    client_auth: bool


def new_private_key() -> PrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def make_ca(*, common_name: str = DEFAULT_CA_NAME, now: datetime.datetime | None = None,
            validity: datetime.timedelta = CA_VALIDITY) -> KeyPair:
    """A self-signed CA: basicConstraints CA:true (critical), keyUsage keyCertSign + cRLSign."""
    key = new_private_key()
    issued_at = (now or _utcnow()) - BACKDATE
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    public_key = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(public_key)
        .serial_number(_serial()).not_valid_before(issued_at).not_valid_after(issued_at + validity)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    return KeyPair(builder.sign(key, hashes.SHA256()), key)


def issue_serving(ca: KeyPair, *, common_name: str, sans: SubjectAltNames,
                  now: datetime.datetime | None = None, validity: datetime.timedelta = LEAF_VALIDITY) -> KeyPair:
    """A serving certificate for `sans` (extendedKeyUsage serverAuth)."""
    if not sans.ips and not sans.dns_names:
        raise ValueError("a serving certificate needs at least one IP address or DNS name")
    general: list[x509.GeneralName] = [x509.DNSName(name) for name in sans.dns_names]
    general += [x509.IPAddress(address) for address in sans.ips]
    return _issue(ca, common_name=common_name, organizations=(), usage=ExtendedKeyUsageOID.SERVER_AUTH,
                  alt_names=general, now=now, validity=validity)


def issue_client(ca: KeyPair, *, user: str, groups: Sequence[str] = (),
                 now: datetime.datetime | None = None, validity: datetime.timedelta = LEAF_VALIDITY) -> KeyPair:
    """A client certificate: CN = the user name, one O per group (extendedKeyUsage clientAuth)."""
    return _issue(ca, common_name=user, organizations=tuple(groups), usage=ExtendedKeyUsageOID.CLIENT_AUTH,
                  alt_names=[], now=now, validity=validity)


def facts_of(certificate: x509.Certificate) -> CertificateFacts:
    """Read a certificate's subject, SANs, validity and usages."""
    subject = certificate.subject
    common_names = subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    organizations = tuple(str(a.value) for a in subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME))
    usages = _extension(certificate, x509.ExtendedKeyUsage)
    constraints = _extension(certificate, x509.BasicConstraints)
    alt_names = _extension(certificate, x509.SubjectAlternativeName)
    sans = SubjectAltNames()
    if alt_names is not None:
        addresses = alt_names.get_values_for_type(x509.IPAddress)
        sans = SubjectAltNames(tuple(a for a in addresses if isinstance(a, ipaddress.IPv4Address | ipaddress.IPv6Address)),
                               tuple(alt_names.get_values_for_type(x509.DNSName)))
    return CertificateFacts(
        common_name=str(common_names[0].value) if common_names else "",
        organizations=organizations,
        sans=sans,
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        is_ca=bool(constraints is not None and constraints.ca),
        server_auth=usages is not None and ExtendedKeyUsageOID.SERVER_AUTH in usages,
        client_auth=usages is not None and ExtendedKeyUsageOID.CLIENT_AUTH in usages,
    )


def is_signed_by(certificate: x509.Certificate, ca: x509.Certificate) -> bool:
    """True when `ca` issued `certificate` (issuer name and signature both match)."""
    if certificate.issuer != ca.subject:
        return False
    try:
        certificate.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def load_certificate(pem: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem)


def load_private_key(pem: bytes) -> PrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"expected an ECDSA private key, found {type(key).__name__}")
    return key


def _issue(ca: KeyPair, *, common_name: str, organizations: tuple[str, ...], usage: x509.ObjectIdentifier,
           alt_names: list[x509.GeneralName], now: datetime.datetime | None,
           validity: datetime.timedelta) -> KeyPair:
    if not common_name:
        raise ValueError("a certificate needs a common name")
    key = new_private_key()
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, group) for group in organizations]
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    not_before = min(ca.certificate.not_valid_before_utc, (now or _utcnow()) - BACKDATE)
    not_after = min((now or _utcnow()) + validity, ca.certificate.not_valid_after_utc)
    ca_identifier = ca.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attributes)).issuer_name(ca.certificate.subject).public_key(key.public_key())
        .serial_number(_serial()).not_valid_before(not_before).not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_identifier),
                       critical=False)
    )
    if alt_names:
        builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
    return KeyPair(builder.sign(ca.key, hashes.SHA256()), key)


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=cert_sign,
                         crl_sign=cert_sign, encipher_only=False, decipher_only=False)


def _extension(certificate: x509.Certificate, kind: type[_Extension]) -> _Extension | None:
    try:
        return certificate.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _serial() -> int:
    return secrets.randbits(127) + 1  # positive, below 2**159 as RFC 5280 asks


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)
