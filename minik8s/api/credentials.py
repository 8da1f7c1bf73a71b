"""From presented credentials to one user: the chain every minik8s server that authenticates runs.

The apiserver and each node agent authenticate alike, as Kubernetes' authenticator union does (the
kubelet's delegating authenticator is built from the same pieces): a verified x509 client certificate
first (CommonNameUserConversion: CN is the name, each O a group), then the bearer-token authenticators
in order; the first that recognises the credentials wins and `system:authenticated` is added.
Credentials that were presented and that nothing accepts are `InvalidCredentials` (a 401), never a
fall-through to anonymous; with none at all the request is `system:anonymous` where the server allows
it. Only the token authenticators differ per server: the apiserver checks tokens itself, a node agent
asks the apiserver (TokenReview). Pure, so both may import it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from minik8s.api.user import ANONYMOUS, UserInfo, authenticated


class InvalidCredentials(Exception):
    """Credentials were presented and are not valid: the request is refused (401), never anonymous."""


# A bearer token → its user, None when the token is not of this kind; InvalidCredentials when it is, but bad.
TokenAuthenticator = Callable[[str], Awaitable[UserInfo | None]]


def user_from_certificate(pem: str) -> UserInfo | None:
    """The user a verified client certificate names, or None when its subject has no CN.

    A certificate whose extended key usage excludes client authentication is refused, as Go's chain
    verification with `ExtKeyUsageClientAuth` refuses it; one without the extension is allowed.
    """
    cert = x509.load_pem_x509_certificate(pem.encode())
    try:
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        usages = None
    if usages is not None and ExtendedKeyUsageOID.CLIENT_AUTH not in usages \
            and ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in usages:
        raise InvalidCredentials("x509: certificate specifies an incompatible key usage")
    names = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    if not names or not names[0]:
        return None
    groups = tuple(str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME))
    return authenticated(names[0], groups)


async def authenticate(certificate: str | None, token: str | None, *, tokens: Sequence[TokenAuthenticator],
                       anonymous: bool) -> UserInfo:
    """The user the credentials prove; InvalidCredentials when they prove nobody.

    With no token authenticator a bearer header is no credential at all (the server does not take tokens).
    """
    failures: list[str] = []
    if certificate is not None:
        try:
            user = user_from_certificate(certificate)
            if user is not None:
                return user
        except InvalidCredentials as error:
            failures.append(str(error))
    if token is not None and tokens:
        for authenticator in tokens:
            try:
                found = await authenticator(token)
            except InvalidCredentials as error:
                failures.append(str(error))
                continue
            if found is not None:
                return found
        failures.append("invalid bearer token")
    if failures:
        raise InvalidCredentials(", ".join(failures))
    if not anonymous:
        raise InvalidCredentials("anonymous requests are not allowed")
    return ANONYMOUS
