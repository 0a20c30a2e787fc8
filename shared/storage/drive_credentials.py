"""Credentials for Google Drive: the function's service account, explicit ones, or an OAuth refresh token."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import google.auth
import google.auth.credentials
import google.auth.exceptions
import google.oauth2.credentials
import google.oauth2.service_account

from shared.errors import ConfigurationError, StorageError

DRIVE_SCOPE = "https://www.googleapis.com/auth/drive"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"


@dataclass(frozen=True)
class OAuthRefreshToken:
    """OAuth user credentials for Drive, read from Secret Manager; `repr` never shows the secrets."""

    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)
    token_uri: str = GOOGLE_TOKEN_URI
    secret_name: str = ""
    """Where the refresh token is stored (e.g. the Secret Manager secret), named in error messages."""

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], secret_name: str = "") -> OAuthRefreshToken:
        """Build from the JSON an OAuth tool writes (`client_id`, `client_secret`, `refresh_token`)."""
        missing = [key for key in ("client_id", "client_secret", "refresh_token") if not data.get(key)]
        if missing:
            where = f" in {secret_name}" if secret_name else ""
            raise ConfigurationError(f"Drive OAuth credentials{where} lack {', '.join(missing)}")
        return cls(
            client_id=str(data["client_id"]),
            client_secret=str(data["client_secret"]),
            refresh_token=str(data["refresh_token"]),
            token_uri=str(data.get("token_uri") or GOOGLE_TOKEN_URI),
            secret_name=secret_name,
        )


def refresh_token_credentials(token: OAuthRefreshToken) -> google.auth.credentials.Credentials:
    """User credentials that get access tokens from `token.refresh_token` when needed."""
    return google.oauth2.credentials.Credentials(  # type: ignore[no-untyped-call]
        token=None,
        refresh_token=token.refresh_token,
        client_id=token.client_id,
        client_secret=token.client_secret,
        token_uri=token.token_uri,
        scopes=[DRIVE_SCOPE],
    )


def service_account_credentials(info: Mapping[str, Any] | None = None) -> google.auth.credentials.Credentials:
    """The given service account key, or (no key) the identity the function runs as."""
    if info is not None:
        return google.oauth2.service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call, no-any-return]
            dict(info), scopes=[DRIVE_SCOPE]
        )
    try:
        credentials, _project = google.auth.default(scopes=[DRIVE_SCOPE])
    except google.auth.exceptions.DefaultCredentialsError as error:
        raise ConfigurationError(
            "no Google credentials found for Drive: run inside Cloud Functions/Run with a service account, "
            "or configure a Drive OAuth refresh token"
        ) from error
    return credentials


def explain_refresh_error(error: google.auth.exceptions.RefreshError, secret_name: str = "") -> StorageError:
    """Turn a failed token refresh into an error that says what to do. Never includes the token."""
    if "invalid_grant" in str(error):
        where = secret_name or "the Drive OAuth secret"
        return StorageError(
            "the Drive refresh token was revoked or expired; create a new one (run the OAuth consent flow "
            f"again) and store it in Secret Manager as {where}"
        )
    return StorageError(f"could not get a Drive access token: {error}")
