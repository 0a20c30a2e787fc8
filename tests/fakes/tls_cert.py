"""A self-signed TLS certificate for 127.0.0.1, made at test time, for fakes reached by https."""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import NameOID

UNNAMED_ADDRESS = "127.0.0.2"
"""A loopback address the certificate does not name: servers that listen here too test host-name checks."""


@dataclass(frozen=True)
class TLSFiles:
    cert_path: Path
    key_path: Path


def self_signed(key: CertificateIssuerPrivateKeyTypes, common_name: str) -> x509.CertificateBuilder:
    """A certificate for `key`, issued by itself, valid from five minutes ago for a day."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
    )


def make_localhost_certificate(directory: Path) -> TLSFiles:
    """Write `cert.pem` and `key.pem` into `directory`: valid for IP 127.0.0.1 and `localhost`."""
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        self_signed(key, "127.0.0.1")
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    files = TLSFiles(cert_path=directory / "cert.pem", key_path=directory / "key.pem")
    files.cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    files.key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files
