"""`redact`: URL passwords, key=value secrets, bearer tokens, API keys and private keys never survive."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.redaction import MASK, redact


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("connect mysql://root:hunter2@db.internal:3306/shop failed", "hunter2"),
        ("postgresql://backup:p@ss@w0rd@10.0.0.5/app", "p@ss@w0rd"),
        ("password=Tr0ub4dor; user=bob", "Tr0ub4dor"),
        ('{"api_key": "k-123456", "x": 1}', "k-123456"),
        ("PGPASSWORD=pg-secret-1 pg_dump app", "pg-secret-1"),
        ("mysqldump --password hunter22 shop", "hunter22"),
        ("Authorization: Bearer abcdefghijklmnop", "abcdefghijklmnop"),
        ("key SG.abcdefghijk.lmnopqrstuvwxyz0123 refused", "SG.abcdefghijk.lmnopqrstuvwxyz0123"),
        ("google key AIzaSyA1234567890abcdefghijklmnopqrstu", "AIzaSyA1234567890abcdefghijklmnopqrstu"),
        ("invalid_grant for refresh token 1//0gAbCdEfGhIjKlMnOpQrStUvWx", "1//0gAbCdEfGhIjKlMnOpQrStUvWx"),
        ("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----", "MIIEvQIBADANBg"),
        ('"client_secret": "GOCSPX-abcdef"', "GOCSPX-abcdef"),
    ],
)
def test_secret_is_masked(text: str, secret: str) -> None:
    cleaned = redact(text)
    assert secret not in cleaned
    assert MASK in cleaned


@pytest.mark.parametrize(
    "text",
    [
        "HTTP Error 401: Unauthorized",
        "mysql://root@localhost/shop",
        "table `orders` has 5 rows; mail ops@example.com",
        "Lost connection to MySQL server during query",
    ],
)
def test_harmless_text_is_unchanged(text: str) -> None:
    assert redact(text) == text


def test_known_secrets_are_masked_wherever_they_appear() -> None:
    assert redact("sent with plainvalue99 in it", known_secrets=["plainvalue99"]) == f"sent with {MASK} in it"


passwords = st.text(
    st.characters(codec="ascii", categories=["L", "N", "P", "S"], exclude_characters="/\\"),
    min_size=6,
    max_size=40,
).filter(lambda p: p.strip() == p)


@given(
    password=passwords,
    scheme=st.sampled_from(["mysql", "postgresql", "postgres", "mariadb+pymysql", "https"]),
)
def test_url_password_never_survives(password: str, scheme: str) -> None:
    template = "Error: could not connect to {scheme}://backup:{pw}@db.example.com:5432/app (timeout)"
    assert password not in template.format(scheme=scheme, pw="")
    cleaned = redact(template.format(scheme=scheme, pw=password))
    assert password not in cleaned
    assert f"{scheme}://backup:{MASK}@db.example.com:5432/app" in cleaned
