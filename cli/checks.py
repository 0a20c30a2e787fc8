"""The answer of a `*-test` command: the check's fields, exit 0 when it passed, 2 when what it checks is not
configured (the configuration's to fix), 1 otherwise."""

from __future__ import annotations

from typing import Any, Protocol

from cli.app import Result
from cli.exit_codes import EXIT_FAILED, EXIT_USAGE
from shared.services.check_audit import Check as AuditedCheck


class Check(AuditedCheck, Protocol):
    def to_dict(self) -> dict[str, Any]: ...


def check_result(check: Check) -> Result:
    if check.ok:
        return Result(check.to_dict(), check.message)
    code = EXIT_FAILED if check.configured else EXIT_USAGE
    return Result(check.to_dict(), check.message, exit_code=code, error=check.message)
