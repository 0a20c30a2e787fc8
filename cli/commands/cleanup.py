"""`cleanup [--dry-run]`: apply the retention policy from the settings; print what is kept and why."""

from __future__ import annotations

import argparse

from cli.app import App, Result
from cli.exit_codes import EXIT_FAILED
from shared.services.cleanup import CleanupResult


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = sub.add_parser(
        "cleanup", parents=[common], help="delete backups the retention policy does not keep"
    )
    parser.add_argument("--dry-run", action="store_true", help="only show the plan; delete nothing")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, app: App) -> Result:
    result = app.cleanup.run(app.actor, dry_run=args.dry_run)
    if not result.failures:
        return Result(result.to_dict(), _describe(result))
    return Result(result.to_dict(), _describe(result), exit_code=EXIT_FAILED, error=_failed(result))


def _failed(result: CleanupResult) -> str:
    failures = "; ".join(f"{failure.backup_id}: {failure.error}" for failure in result.failures)
    return f"cleanup could not delete {len(result.failures)} backup(s): {failures}"


def _describe(result: CleanupResult) -> str:
    plan = result.plan
    lines = []
    if plan.policy.is_off:
        lines.append("Retention is off (daily, weekly and monthly are all 0): nothing is deleted.")
    for kept in plan.keep:
        reasons = ", ".join(kept.reasons) or "retention off"
        lines.append(f"keep    {kept.backup.id}  {kept.backup.created_at:%Y-%m-%d %H:%M}  ({reasons})")
    for backup in plan.delete:
        lines.append(f"delete  {backup.id}  {backup.created_at:%Y-%m-%d %H:%M}")
    for failure in result.failures:
        lines.append(f"FAILED  {failure.backup_id}: {failure.error}")
    verb = "Would delete" if result.dry_run else "Deleted"
    count = len(plan.delete) if result.dry_run else len(result.deleted)
    lines.append(f"{verb} {count} backup(s); kept {len(plan.keep)}.")
    return "\n".join(lines)
