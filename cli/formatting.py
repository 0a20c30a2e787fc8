"""Text shown to people: a backup as lines, a list of backups as a table, sizes in units."""

from __future__ import annotations

from shared.models import Backup
from shared.sizes import human_size


def describe_backup(backup: Backup) -> str:
    lines = [
        f"id:           {backup.id}",
        f"status:       {backup.status}",
        f"file:         {backup.filename}",
        f"size:         {human_size(backup.file_size)} ({human_size(backup.raw_size)} of SQL)",
        f"sha256:       {backup.sha256 or '-'}",
        f"database:     {backup.database.engine} {backup.database.name}",
        f"source:       {backup.source}",
        f"protected:    {'yes' if backup.is_protected else 'no'}",
        f"created:      {backup.created_at.isoformat()} by {backup.created_by}",
        f"completed:    {backup.completed_at.isoformat() if backup.completed_at else '-'}",
        "stored in:    " + (", ".join(f"{loc.kind} ({loc.ref})" for loc in backup.locations) or "-"),
    ]
    if backup.table_rows:
        lines.append(f"tables:       {len(backup.table_rows)} ({sum(backup.table_rows.values())} rows)")
    if backup.error_message:
        lines.append(f"error:        {backup.error_message}")
    lines.extend(f"warning:      {warning}" for warning in backup.warnings)
    return "\n".join(lines)


def backup_table(backups: list[Backup]) -> str:
    if not backups:
        return "No backups."
    header = (
        f"{'ID':<16}  {'CREATED (UTC)':<19}  {'STATUS':<9}  {'SOURCE':<11}  {'SIZE':>10}  {'P':<1}  WHERE"
    )
    rows = [header]
    for b in backups:
        where = ",".join(str(loc.kind) for loc in b.locations) or "-"
        rows.append(
            f"{b.id:<16}  {b.created_at:%Y-%m-%d %H:%M:%S}  {b.status!s:<9}  {b.source!s:<11}  "
            f"{human_size(b.file_size):>10}  {'P' if b.is_protected else ' '}  {where}"
        )
    return "\n".join(rows)
