"""A local Google-certs endpoint for a test RSA key, and a minter of ID tokens signed with that key; it can be
told to fail, to answer something else than certificates, or to hang."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import crypt, jwt

from tests.fakes.local_server import LocalFake
from tests.fakes.tls_cert import self_signed

GOOGLE_ISSUER = "https://accounts.google.com"


class SigningKey:
    """An RSA key with its self-signed certificate (PEM), as Google publishes its token-signing keys."""

    def __init__(self, kid: str) -> None:
        self.kid = kid
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        certificate = self_signed(key, f"test-signer-{kid}").sign(key, hashes.SHA256())
        self.certificate_pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
        private_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        self._signer = crypt.RSASigner.from_string(private_pem, key_id=kid)  # type: ignore[no-untyped-call]

    def sign(self, claims: dict[str, Any]) -> str:
        token: bytes = jwt.encode(self._signer, claims)  # type: ignore[no-untyped-call]
        return token.decode()


@dataclass(frozen=True)
class CannedAnswer:
    status: int
    body: bytes
    content_type: str


class CertsServer(LocalFake):
    """Serves `{"kid": "<PEM certificate>"}` for its key at `url`; `mint` makes tokens it vouches for.

    `answer_with` makes every answer something else (an error, a proxy's page) and `hang` delays each one,
    until `recover`."""

    def __init__(self, audience: str) -> None:
        self.audience = audience
        self.key = SigningKey("test-key-1")
        self.requests = 0
        self._canned: CannedAnswer | None = None
        self._delay = 0.0
        self._stopping = threading.Event()
        self._serve(self._handler(), "fake-certs")

    def answer_with(self, status: int, body: bytes = b"", content_type: str = "text/html") -> None:
        self._canned = CannedAnswer(status, body, content_type)

    def hang(self, seconds: float) -> None:
        self._delay = seconds

    def recover(self) -> None:
        self._canned, self._delay = None, 0.0

    def stop(self) -> None:
        self._stopping.set()
        super().stop()

    def answer(self) -> CannedAnswer:
        """What a GET gets now (after any delay)."""
        self.requests += 1
        if self._delay:
            self._stopping.wait(self._delay)
        if self._canned is not None:
            return self._canned
        body = json.dumps({self.key.kid: self.key.certificate_pem}).encode()
        return CannedAnswer(200, body, "application/json")

    @property
    def url(self) -> str:
        return f"{self.origin}/oauth2/v1/certs"

    def mint(
        self,
        email: str,
        *,
        audience: str | None = None,
        issuer: str = GOOGLE_ISSUER,
        email_verified: bool | None = True,
        lifetime: int = 600,
        issued_ago: int = 0,
        key: SigningKey | None = None,
        hosted_domain: str | None = None,
    ) -> str:
        """`hosted_domain`: the `hd` claim Google adds for a Google Workspace account."""
        now = int(time.time()) - issued_ago
        claims: dict[str, Any] = {
            "iss": issuer,
            "aud": audience or self.audience,
            "sub": str(abs(hash(email))),
            "email": email,
            "iat": now,
            "exp": now + lifetime,
        }
        if email_verified is not None:
            claims["email_verified"] = email_verified
        if hosted_domain is not None:
            claims["hd"] = hosted_domain
        return (key or self.key).sign(claims)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                answer = server.answer()
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", answer.content_type)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting

            def log_message(self, format: str, *args: Any) -> None:
                return None

        return Handler
