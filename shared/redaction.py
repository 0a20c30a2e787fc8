"""Strip passwords, API keys and tokens from text before it reaches a log, an error or a mail."""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "***"

# The port of `scheme://host:PORT/path` is not a password, even when an "@" follows later in the path (a
# password of digits and a "/" reads as a port, then; the known-secrets list still masks it).
_NOT_A_PORT = r"(?!\d{1,5}/)"

# scheme://user:PASSWORD@host — without spaces, greedy up to the last "@" (a password with a raw "@" goes
# too); a password with spaces or tabs only when no "@" comes before the first space.
_URL_PASSWORD = re.compile(
    r"(?P<keep>\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^:/\s@]*:)" + _NOT_A_PORT + r"(?:\S*|[^@\n]{0,128}?)@"
)

# Values that name an outcome, not a secret: MySQL's "(using password: YES)", OAuth error codes.
_PLAIN_OUTCOMES = (
    r"(?:YES|NO|invalid_grant|invalid_client|invalid_request|invalid_scope|invalid_token|"
    r"unauthorized_client|unsupported_grant_type|access_denied|insufficient_scope)"
    r"(?=[)\]},;]?(?:\s|$))"
)
# A Python repr after the colon ("access token: HTTPSConnectionPool(host=...)", "...: ('reason', {...})")
# is an explanation, not a value.
_PYTHON_REPR = r"(?:[A-Z][A-Za-z]*(?:Error|Exception|Pool|Warning)\(|\(['\"])"

# A quoted value up to its closing quote, escapes (\' and SQL's '') included; to the end of the line when
# it was cut off.
_QUOTED = r"\"(?:[^\"\\\n]|\\.)*\"?|'(?:[^'\\\n]|\\.|'')*'?"

# password=…, "api_key": "…", PGPASSWORD='…', client_secret: …, X-Goog-Signature=…, upload_id=… (a resumable
# upload's session, which lets its holder write the file); a quoted value is
# masked up to its closing quote (escapes included), an unquoted one up to the next whitespace.
_KEY_VALUE = re.compile(
    r"(?P<keep>[\w-]*(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|credentials?|signature|upload_id)"
    r"[\"']?\s*[=:]\s*)"
    r"(?P<value>" + _QUOTED + "|(?!" + _PLAIN_OUTCOMES + "|" + _PYTHON_REPR + r")\S+)",
    re.IGNORECASE,
)
_PASSWORD_FLAG = re.compile(
    r"(?P<keep>(?:^|\s)--?[\w-]*(?:password|passwd|secret|token)\s+)\S+", re.IGNORECASE
)
# `mysql -pSECRET` (attached: `-p SECRET` means "ask", and SECRET is then the database name).
_MYSQL_PASSWORD_FLAG = re.compile(r"(?P<keep>\bmysql\w*\b[^\n]*?\s-p)\S+")
# CREATE USER … IDENTIFIED BY '…', ALTER ROLE … PASSWORD '…'
_SQL_PASSWORD = re.compile(
    r"(?P<keep>\b(?:IDENTIFIED\s+(?:WITH\s+\S+\s+)?(?:BY|AS)(?:\s+PASSWORD)?|PASSWORD)\s+)"
    r"(?P<value>" + _QUOTED + ")",
    re.IGNORECASE,
)
_AUTH_HEADER = re.compile(
    r"(?P<keep>\b(?:Bearer|Basic)\s+|\bAuthorization[\"']?\s*[:=]\s*[\"']?(?:token\s+)?)"
    r"[A-Za-z0-9._~+/=\-]{8,}",
    re.IGNORECASE,
)
_PRIVATE_KEY = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.DOTALL
)
_TOKEN_SHAPES = re.compile(
    r"SG\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"  # SendGrid API key
    r"|AIza[0-9A-Za-z_\-]{30,}"  # Google API key
    r"|ya29\.[0-9A-Za-z_\-.]{10,}"  # Google OAuth access token
    r"|\b1//[0-9A-Za-z_\-]{20,}"  # Google OAuth refresh token
    r"|\bGOCSPX-[0-9A-Za-z_\-]{4,}"  # Google OAuth client secret
    r"|\beyJ[0-9A-Za-z_\-]{8,}(?:\.[0-9A-Za-z_\-]*)*"  # JWT (or its first segments): base64url of '{"'
    r"|\bgh[pousr]_[A-Za-z0-9]{20,}"  # GitHub token
)


def _keep_and_mask(match: re.Match[str]) -> str:
    return match.group("keep") + MASK


def _mask_value(match: re.Match[str]) -> str:
    """Masks the value, keeping the quotes around it."""
    value = match.group("value")
    quote = value[0] if value[0] in "'\"" else ""
    closing = quote if len(value) > 1 and value.endswith(quote) else ""
    return match.group("keep") + quote + MASK + closing


def redact(text: str, known_secrets: Iterable[str] = ()) -> str:
    """Return `text` with URL passwords, key=value secrets, bearer tokens, private keys and API keys masked.

    `known_secrets` are exact values (e.g. the configured API key) masked wherever they appear.
    """
    for secret in sorted((s for s in known_secrets if len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = _PRIVATE_KEY.sub("-----PRIVATE KEY " + MASK + "-----", text)
    text = _URL_PASSWORD.sub(lambda m: m.group("keep") + MASK + "@", text)
    text = _TOKEN_SHAPES.sub(MASK, text)
    text = _AUTH_HEADER.sub(_keep_and_mask, text)
    text = _PASSWORD_FLAG.sub(_keep_and_mask, text)
    text = _MYSQL_PASSWORD_FLAG.sub(_keep_and_mask, text)
    text = _SQL_PASSWORD.sub(_mask_value, text)
    text = _KEY_VALUE.sub(_mask_value, text)
    return text
