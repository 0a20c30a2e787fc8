"""Verifying a Google ID token: signature, audience and expiry (google-auth), issuer and verified e-mail."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import google.auth.transport.requests
import requests
from google.auth import exceptions as google_auth_errors
from google.oauth2 import id_token

from shared.auth.certs import CachingCertsRequest, CertsPolicy
from shared.auth.errors import AuthenticationError
from shared.redaction import MASK, redact

_log = logging.getLogger("backup.auth")
GOOGLE_ISSUERS = ("https://accounts.google.com", "accounts.google.com")
SERVICE_ACCOUNT_SUFFIX = ".gserviceaccount.com"
CLOCK_SKEW_SECONDS = 10
# google-auth puts the token, or a decoded segment of it, into its messages as a bytes literal.
_BYTES_LITERAL = re.compile(r"""\bb'(?:[^'\\]|\\.)*'?|\bb"(?:[^"\\]|\\.)*"?""")


class CallerKind(StrEnum):
    USER = "user"
    SERVICE_ACCOUNT = "serviceAccount"


@dataclass(frozen=True)
class Caller:
    email: str
    kind: CallerKind
    hosted_domain: str | None = None
    """The token's verified `hd` claim: the Google Workspace (Cloud Identity) domain of the account; None
    for a consumer Google account or a service account, whatever the domain of its e-mail."""

    @property
    def member(self) -> str:
        """The IAM-style member string the allow-lists hold, e.g. `user:a@b.c`."""
        return f"{self.kind}:{self.email}"

    @classmethod
    def from_email(cls, email: str, hosted_domain: str | None = None) -> Caller:
        email = email.strip().lower()
        kind = CallerKind.SERVICE_ACCOUNT if email.endswith(SERVICE_ACCOUNT_SUFFIX) else CallerKind.USER
        return cls(email, kind, (hosted_domain or "").strip().lower() or None)


class TokenVerifier:
    """Checks bearer tokens against the accepted audiences and one certificate URL (Google's, or a test
    server's)."""

    def __init__(
        self,
        audiences: Sequence[str],
        certs_url: str,
        session: requests.Session | None = None,
        certs_policy: CertsPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`clock` (monotonic seconds) ages the cached certificates; token expiry is checked on wall time."""
        if not audiences:
            raise ValueError("an audience is required to verify ID tokens")
        self._audiences = list(audiences)
        self._certs_url = certs_url
        self._request = CachingCertsRequest(
            google.auth.transport.requests.Request(session or requests.Session()),
            certs_url,
            certs_policy,
            clock,
        )

    def verify(self, token: str) -> Caller:
        """The caller named by `token`; raises `AuthenticationError` (the reason is logged, not returned), or
        `TokenCheckUnavailableError` when no signing certificates can be had to check it."""
        try:
            try:
                claims = self._verify(token)
            except ValueError as exc:
                if "Certificate for key id" not in str(exc) or not self._request.refresh_allowed():
                    raise
                claims = self._verify(token)  # a key Google published since the certificates were fetched
        except (ValueError, TypeError, google_auth_errors.GoogleAuthError) as exc:
            # TypeError: google-auth's arithmetic on a signed but malformed claim, e.g. `"exp": "..."`.
            _log.warning("rejected an ID token: %s", rejection_reason(exc, token))
            raise AuthenticationError("invalid or expired ID token") from None
        return caller_from_claims(claims)

    def _verify(self, token: str) -> Mapping[str, Any]:
        claims: Mapping[str, Any] = id_token.verify_token(
            token,
            self._request,
            audience=self._audiences,
            certs_url=self._certs_url,
            clock_skew_in_seconds=CLOCK_SKEW_SECONDS,
        )
        return claims


def rejection_reason(error: Exception, token: str) -> str:
    """google-auth's reason, without the token or any part of it."""
    text = redact(f"{type(error).__name__}: {error}", [token])
    return _BYTES_LITERAL.sub("b'" + MASK + "'", text)[:200]


def caller_from_claims(claims: Mapping[str, Any]) -> Caller:
    """The checks `verify_token` leaves to us: Google as issuer, an e-mail, and that it is verified."""
    if claims.get("iss") not in GOOGLE_ISSUERS:
        _log.warning("rejected an ID token from issuer %r", claims.get("iss"))
        raise AuthenticationError("invalid or expired ID token")
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        _log.warning("rejected an ID token without an e-mail claim (request the token with the email scope)")
        raise AuthenticationError("invalid or expired ID token")
    if claims.get("email_verified") is not True:
        _log.warning("rejected an ID token whose e-mail %s is not verified", email)
        raise AuthenticationError("invalid or expired ID token")
    hosted_domain = claims.get("hd")
    return Caller.from_email(email, hosted_domain if isinstance(hosted_domain, str) else None)


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header; raises `AuthenticationError`."""
    if not authorization:
        raise AuthenticationError("an ID token is required (Authorization: Bearer <token>)")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError("an ID token is required (Authorization: Bearer <token>)")
    return token.strip()
