"""Errors of authentication (who are you?) and authorization (may you?); messages stay vague on purpose."""

from shared.errors import BackupServiceError, ServiceUnavailableError


class AuthenticationError(BackupServiceError):
    """No token, or a token that is not a valid Google ID token for this service (HTTP 401)."""


class PermissionDeniedError(BackupServiceError):
    """A verified caller lacks the operation's permission (HTTP 403).

    `explanation` is for a caller who was admitted and asks for more than the operation's own permission
    allows (a cleanup that deletes): it says which permission that needs, and is shown to them."""

    def __init__(self, message: str, explanation: str | None = None) -> None:
        super().__init__(message)
        self.explanation = explanation


class TokenCheckUnavailableError(ServiceUnavailableError):
    """The token could not be checked at all: no usable signing certificates (HTTP 503). Says nothing about
    whether the token is valid."""
