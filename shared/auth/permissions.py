"""The permission check: a verified caller against the operation's allow-list; denials are audited."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from shared.audit import Auditor
from shared.auth.errors import AuthenticationError, PermissionDeniedError
from shared.auth.tokens import Caller, CallerKind, TokenVerifier, bearer_token
from shared.models import AuditAction

_log = logging.getLogger("backup.auth")
LOCAL_DEVELOPER = Caller("local-developer@localhost", CallerKind.USER)
"""The caller when authentication is switched off (local development only)."""


def is_allowed(caller: Caller, permission: str, permissions: Mapping[str, Sequence[str]]) -> bool:
    """Listed as `user:`/`serviceAccount:` member, or by Google Workspace domain (`domain:example.com`), as
    IAM matches it: the token's verified `hd` claim, never the e-mail's domain (a consumer Google account
    can be registered with any address)."""
    members = {member.lower() for member in permissions.get(permission, ())}
    in_domain = caller.hosted_domain is not None and f"domain:{caller.hosted_domain}" in members
    return caller.member.lower() in members or in_domain


class AccessGuard:
    """Token → caller → permission, in that order; a denied (verified) caller leaves an audit entry."""

    def __init__(
        self,
        verifier: TokenVerifier | None,
        permissions: Mapping[str, Sequence[str]],
        auditor: Auditor,
    ) -> None:
        """`verifier=None` switches authentication off: every call is allowed, with a warning."""
        self._verifier = verifier
        self._permissions = permissions
        self._auditor = auditor

    @property
    def disabled(self) -> bool:
        return self._verifier is None

    def admit(self, authorization: str | None, permission: str, operation: str) -> Caller:
        """The caller, allowed to do `operation`; raises `AuthenticationError` or `PermissionDeniedError`."""
        if self._verifier is None:
            _log.warning(
                "authentication is DISABLED (BACKUP_AUTH_DISABLED): %s ran without checking the caller",
                operation,
            )
            return LOCAL_DEVELOPER
        try:
            caller = self._verifier.verify(bearer_token(authorization))
        except AuthenticationError:
            _log.warning("unauthenticated call to %s refused", operation)
            raise
        self.require(caller, permission, operation)
        return caller

    def require(self, caller: Caller, permission: str, operation: str, because: str | None = None) -> None:
        """Raises `PermissionDeniedError`, audited, unless `caller` has `permission`. `because` is for an
        admitted caller whose request also does what `permission` guards ("a cleanup deletes backups"):
        then the error tells them which permission that takes."""
        if self._verifier is None or is_allowed(caller, permission, self._permissions):
            return
        self._auditor.record(
            caller.email,
            AuditAction.ACCESS_DENIED,
            None,
            {"operation": operation, "permission": permission, "member": caller.member},
            severity="WARNING",
        )
        explanation = f"{because}, which also takes the {permission} permission" if because else None
        raise PermissionDeniedError("the caller lacks the permission this operation needs", explanation)
