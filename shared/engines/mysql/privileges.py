"""Find objects a dump would miss silently because the user may not see them, and say so."""

from __future__ import annotations

import pymysql

from shared.engines.mysql.schema import ROUTINE_TYPE_LIST, Cursor, text
from shared.errors import DumpError

_NEEDED = {
    "TRIGGER": "triggers",
    "EVENT": "events",
    "SHOW VIEW": "views",
}


def check_visibility(cursor: Cursor, database: str, visible_routines: int) -> list[str]:
    """Warnings for privileges the dump lacks; `DumpError` when routines are known to be hidden."""
    cursor.execute(
        "SELECT PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES "
        "UNION SELECT PRIVILEGE_TYPE FROM information_schema.SCHEMA_PRIVILEGES WHERE %s LIKE TABLE_SCHEMA",
        (database,),
    )
    held = {text(row[0]).upper() for row in cursor.fetchall()}
    warnings = [
        f"The user lacks the {privilege} privilege on {database!r}: "
        f"{kind} it cannot see are not in the backup."
        for privilege, kind in _NEEDED.items()
        if privilege not in held
    ]
    try:
        routines_in = f"SELECT COUNT(*) FROM mysql.proc WHERE db = %s AND type IN ({ROUTINE_TYPE_LIST})"
        cursor.execute(routines_in, (database,))
        stored = int(cursor.fetchone()[0])
    except pymysql.MySQLError:
        if {"SELECT", "SHOW_ROUTINE"} & held_globally(cursor):
            return warnings  # MySQL 8 has no mysql.proc; these privileges show every routine
        warnings.append(
            "Could not check that every stored routine is visible (no SELECT on mysql.proc); "
            "routines the user may not see are not in the backup."
        )
        return warnings
    if stored > visible_routines:
        raise DumpError(
            f"Database {database!r} has {stored} stored routines but the user can see only "
            f"{visible_routines}: grant SELECT on mysql.proc (MariaDB) or SHOW_ROUTINE (MySQL 8), "
            "or the backup would be incomplete."
        )
    return warnings


def held_globally(cursor: Cursor) -> set[str]:
    cursor.execute("SELECT PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES")
    return {text(row[0]).upper() for row in cursor.fetchall()}
