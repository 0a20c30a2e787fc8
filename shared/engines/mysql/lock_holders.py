"""Who holds the locks a restore waited for: the other sessions using the database, for the person to end."""

from __future__ import annotations

from typing import Any

from shared.engines.mysql.schema import text

HOLDERS_QUERY = (
    "SELECT ID, USER, COMMAND, TIME FROM information_schema.PROCESSLIST"
    " WHERE DB = %s AND ID <> CONNECTION_ID() ORDER BY TIME DESC, ID LIMIT 5"
)
"""No statement text: another application's statements may hold data or passwords. Without the PROCESS
privilege a user sees only its own sessions."""


def lock_holders(cursor: Any, database: str) -> str:
    """The other sessions using `database`, longest idle or busy first."""
    cursor.execute(HOLDERS_QUERY, (database,))
    rows = cursor.fetchall()
    if not rows:
        return f"no other session visible to this user is using {database!r} now"
    return "; ".join(
        f"session {session} (user {text(user)!r}, {text(command).lower()} for {seconds} s)"
        for session, user, command, seconds in rows
    )
