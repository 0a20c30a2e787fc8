"""Reading Drive v3 errors: which are worth retrying, and what each means for the person fixing it."""

from __future__ import annotations

import http.client
import json
import ssl

import google.auth.exceptions
import httplib2
from googleapiclient.errors import HttpError

from shared.errors import BackupServiceError, NotFoundError, StorageError
from shared.storage.drive_credentials import explain_refresh_error
from shared.storage.retry import RetriesExhaustedError

RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "sharingRateLimitExceeded"})
STORAGE_QUOTA_REASONS = frozenset({"storageQuotaExceeded", "quotaExceeded", "teamDriveFileLimitExceeded"})
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})

STORAGE_QUOTA_MESSAGE = (
    "Google Drive refused the file: the storage quota is exceeded ({reason}). Service accounts have no "
    "My Drive storage quota: put the backup folder in a Shared Drive and add the service account as a "
    "member (Manager, which deleting old backups takes), or use OAuth user credentials; otherwise free "
    "space in the Drive"
)


def error_reasons(error: HttpError) -> list[str]:
    """The `errors[].reason` values of a Drive error body (`{"error": {"errors": [{"reason": ..}]}}`)."""
    content = error.content
    try:
        body = json.loads(content.decode("utf-8") if isinstance(content, bytes) else content)
        items = body["error"].get("errors", [])
        return [str(item["reason"]) for item in items if isinstance(item, dict) and "reason" in item]
    except (ValueError, KeyError, TypeError, AttributeError):
        return []


def is_transient(error: BaseException) -> bool:
    """True for failures a later attempt can get past: rate limits, 5xx, timeouts, broken connections,
    failed name lookups."""
    if isinstance(error, HttpError):
        status = int(error.resp.status)
        if status in TRANSIENT_STATUSES:
            return True
        return status == 403 and any(reason in RATE_LIMIT_REASONS for reason in error_reasons(error))
    if isinstance(error, google.auth.exceptions.TransportError):
        return True
    if isinstance(error, ssl.SSLCertVerificationError):
        return False
    # httplib2 reports a failed name lookup, often momentary (EAI_AGAIN), as a plain Exception
    return isinstance(error, OSError | http.client.HTTPException | httplib2.ServerNotFoundError)


def to_storage_error(error: BaseException, doing: str, secret_name: str = "") -> BackupServiceError:
    """An error for the caller: what failed (`doing`), why, and what to do about it."""
    if isinstance(error, BackupServiceError):
        return error
    if isinstance(error, RetriesExhaustedError):
        cause = error.__cause__ if error.__cause__ is not None else error
        return StorageError(
            f"{doing} failed on Google Drive after {error.attempts} attempts: {describe(cause)}"
        )
    if isinstance(error, google.auth.exceptions.RefreshError):
        return explain_refresh_error(error, secret_name)
    if isinstance(error, HttpError):
        reasons = error_reasons(error)
        quota = [reason for reason in reasons if reason in STORAGE_QUOTA_REASONS]
        if quota:
            return StorageError(STORAGE_QUOTA_MESSAGE.format(reason=quota[0]))
        if int(error.resp.status) == 404:
            return NotFoundError(f"{doing}: Google Drive has no such file or folder ({describe(error)})")
        if int(error.resp.status) in (401, 403):
            return StorageError(
                f"{doing}: Google Drive denied access ({describe(error)}); share the backup folder with the "
                "account the service uses, with permission to add files"
            )
    return StorageError(f"{doing} failed on Google Drive: {describe(error)}")


def describe(error: BaseException) -> str:
    """A one-line account of an error: HTTP status, Drive's reason and message, or the exception."""
    if isinstance(error, HttpError):
        reasons = ", ".join(error_reasons(error))
        return f"HTTP {error.resp.status}{f' {reasons}' if reasons else ''}: {error.reason}"
    return f"{type(error).__name__}: {error}"
