"""Strip passwords, API keys and tokens from text before it reaches a log, an error or a mail."""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "***"

# scheme://user:PASSWORD@host — greedy up to the last "@" of the token, so a password with a raw "@" goes too.
_URL_PASSWORD = re.compile(r"(?P<keep>\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^:/\s@]*:)\S*@")

# password=…, "api_key": "…", PGPASSWORD=…, --password …, client_secret: …
_KEY_VALUE = re.compile(
    r"(?P<keep>[\w-]*(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|credentials?)[\"']?\s*[=:]\s*[\"']?)"
    r"(?P<value>[^\s\"',;&}\]]+)",
    re.IGNORECASE,
)
_PASSWORD_FLAG = re.compile(
    r"(?P<keep>(?:^|\s)--?[\w-]*(?:password|passwd|secret|token)\s+)\S+", re.IGNORECASE
)
_AUTH_HEADER = re.compile(r"(?P<keep>\b(?:Bearer|Basic|token)\s+)[A-Za-z0-9._~+/=\-]{8,}", re.IGNORECASE)
_PRIVATE_KEY = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.DOTALL
)
_TOKEN_SHAPES = re.compile(
    r"SG\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"  # SendGrid API key
    r"|AIza[0-9A-Za-z_\-]{30,}"  # Google API key
    r"|ya29\.[0-9A-Za-z_\-.]{10,}"  # Google OAuth access token
    r"|\b1//[0-9A-Za-z_\-]{20,}"  # Google OAuth refresh token
    r"|\bgh[pousr]_[A-Za-z0-9]{20,}"  # GitHub token
)


def redact(text: str, known_secrets: Iterable[str] = ()) -> str:
    """Return `text` with URL passwords, key=value secrets, bearer tokens, private keys and API keys masked.

    `known_secrets` are exact values (e.g. the configured API key) masked wherever they appear.
    """
    for secret in sorted((s for s in known_secrets if len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = _PRIVATE_KEY.sub("-----PRIVATE KEY " + MASK + "-----", text)
    text = _URL_PASSWORD.sub(lambda m: m.group("keep") + MASK + "@", text)
    text = _TOKEN_SHAPES.sub(MASK, text)
    text = _AUTH_HEADER.sub(lambda m: m.group("keep") + MASK, text)
    text = _PASSWORD_FLAG.sub(lambda m: m.group("keep") + MASK, text)
    text = _KEY_VALUE.sub(lambda m: m.group("keep") + MASK, text)
    return text
