"""A local Google-certs endpoint for a test RSA key, and a minter of ID tokens signed with that key."""

from __future__ import annotations

import json
import time
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


class CertsServer(LocalFake):
    """Serves `{"kid": "<PEM certificate>"}` for its key at `url`; `mint` makes tokens it vouches for."""

    def __init__(self, audience: str) -> None:
        self.audience = audience
        self.key = SigningKey("test-key-1")
        self.requests = 0
        self._serve(self._handler(), "fake-certs")

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
    ) -> str:
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
        return (key or self.key).sign(claims)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests += 1
                body = json.dumps({server.key.kid: server.key.certificate_pem}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        return Handler
