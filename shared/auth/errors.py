"""Errors of authentication (who are you?) and authorization (may you?); messages stay vague on purpose."""

from shared.errors import BackupServiceError


class AuthenticationError(BackupServiceError):
    """No token, or a token that is not a valid Google ID token for this service (HTTP 401)."""


class PermissionDeniedError(BackupServiceError):
    """A verified caller lacks the operation's permission (HTTP 403)."""
