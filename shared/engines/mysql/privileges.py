"""Prove that the dump's user sees everything in the database, or fail naming the GRANT that fixes it.

A MySQL/MariaDB user sees only the objects it holds some privilege on: information_schema and SHOW leave
the others out without a word. A dump of what they list would be a short backup marked completed, and
its restore would drop what it lacks. So before reading any definition the dump proves, for each kind of
object, that nothing is hidden from it, and otherwise fails with one `DumpError` that names every GRANT
missing (a warning would still leave a completed backup that is not complete):

- tables and columns: SELECT on the whole database (or on every database). Asked of the server itself:
  a query on a table that does not exist answers "doesn't exist" (1146) only to a user whose SELECT
  covers every table of the database; one with table- or column-level grants alone is told "command
  denied" (1142). So privileges that come from roles (MariaDB's default role and PUBLIC, MySQL 8's)
  count, as they do for the dump's own queries.
- stored routines: MariaDB lists in mysql.proc every routine, whoever may see it; the user must see as
  many. Where mysql.proc cannot be read (MySQL 8 has none), EXECUTE, ALTER ROUTINE, CREATE ROUTINE or
  SHOW CREATE ROUTINE on the database, or SELECT or SHOW_ROUTINE on every database, show every routine.
  A routine seen but whose body the user may not read fails later (`unreadable_definition`).
- triggers: only the TRIGGER privilege shows them, and nothing counts them, so it is needed wherever
  the database has a table (or may have one the user cannot see).
- events: SHOW EVENTS answers only a user with the EVENT privilege on the database; otherwise
  mysql.event must be readable and hold none of the database's events.

Views need no check of their own: a user that sees every table sees every view too, and SHOW CREATE VIEW
without SHOW VIEW is refused, which `unreadable_definition` turns into the GRANT to run.

Privileges the server does not test directly (TRIGGER, the routine ones) are read from SHOW GRANTS, which
lists the account's own grants, those of its active roles (MariaDB) and PUBLIC's; on MySQL 8 the active
roles' grants are added with `SHOW GRANTS ... USING`.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import pymysql

from shared.engines.mysql.connection import error_code
from shared.engines.mysql.schema import ROUTINE_TYPE_LIST, Cursor, Table, text
from shared.engines.mysql.value_formats import quote_identifier
from shared.errors import DumpError

NO_SUCH_TABLE = 1146
DENIED = frozenset({1044, 1142, 1143, 1227, 1370})
"""Access denied to the database; command denied on a table, a column, a routine; a missing privilege."""
ALL_PRIVILEGES = "ALL PRIVILEGES"
ROUTINES_SHOWN_BY_DATABASE_PRIVILEGES = ("EXECUTE", "ALTER ROUTINE", "CREATE ROUTINE", "SHOW CREATE ROUTINE")
ROUTINES_SHOWN_BY_GLOBAL_PRIVILEGES = ("SELECT", "SHOW_ROUTINE")

_GRANT_LINE = re.compile(
    r"^(GRANT|REVOKE)\s+(.+?)\s+ON\s+(\*|`(?:[^`]|``)*`)\.\*\s+(?:TO|FROM)\s", re.IGNORECASE | re.DOTALL
)


@dataclass(frozen=True)
class Missing:
    """What the user cannot see (or do), and the privilege on `target` that would show it (or allow it)."""

    reason: str
    privilege: str
    target: str
    kind: str = ""
    """The kind of object it is about: table (triggers included), routine or event."""


@dataclass(frozen=True)
class HeldPrivileges:
    """The privileges SHOW GRANTS shows the session holding on every database, and on the dump's one."""

    globally: frozenset[str]
    on_database: frozenset[str]
    """The global ones included, MySQL's partial revokes on the database taken off."""

    def on_database_has(self, privilege: str) -> bool:
        return privilege in self.on_database or ALL_PRIVILEGES in self.on_database

    def globally_has(self, privilege: str) -> bool:
        return privilege in self.globally or ALL_PRIVILEGES in self.globally


def check_visibility(cursor: Cursor, database: str, server_version: str, tables: list[Table]) -> None:
    """Raise `DumpError` naming every missing GRANT unless the user provably sees every table, column,
    routine, trigger and event of `database` (`tables`: what the user sees of it)."""
    if missing := hidden_from_user(cursor, database, server_version, tables):
        account = current_account(cursor)
        raise DumpError(
            f"The backup of {database!r} would be incomplete, so it is not taken: user {account} "
            f"{reasons(missing)}. Grant what is missing, then back up again: "
            f"{grant_statements(missing, account)}"
        )


def hidden_from_user(
    cursor: Cursor, database: str, server_version: str, tables: list[Table]
) -> list[Missing]:
    """What of `database` the user may not see, each with the GRANT that would show it."""
    held = held_privileges(cursor, database, server_version)
    on_database = f"{quote_identifier(database)}.*"
    missing: list[Missing] = []
    reads_every_table = _reads_every_table(cursor, database)
    if not reads_every_table:
        missing.append(
            Missing(
                "may read only some of the database's tables or columns (it has no SELECT on the whole "
                "database): the others would be missing from the backup, and a restore of it would drop them",
                "SELECT",
                on_database,
                "table",
            )
        )
    if hidden_routines := _hidden_routines(cursor, database, server_version, held):
        missing.append(hidden_routines)
    may_have_triggers = not reads_every_table or any(not t.is_view and not t.is_sequence for t in tables)
    if may_have_triggers and not held.on_database_has("TRIGGER"):
        missing.append(
            Missing(
                "has no TRIGGER privilege on the database, so none of its triggers can be seen",
                "TRIGGER",
                on_database,
                "table",
            )
        )
    if hidden_events := _hidden_events(cursor, database):
        missing.append(Missing(hidden_events, "EVENT", on_database, "event"))
    return missing


def reasons(missing: list[Missing]) -> str:
    """The reasons of `missing`, each once, as one clause after "user X"."""
    return "; it ".join(dict.fromkeys(item.reason for item in missing))


RESTORE_NEEDS = {
    "table": ("DROP", "CREATE", "INSERT", "TRIGGER"),
    "view": ("DROP", "CREATE VIEW"),
    "routine": ("ALTER ROUTINE", "CREATE ROUTINE"),
    "event": ("EVENT",),
}
"""The privileges on the database that dropping and re-creating each kind of object takes: a table's rows
are inserted, and its triggers, which nothing but TRIGGER shows, come with it; ALTER ROUTINE drops a
routine, CREATE ROUTINE makes one."""


def missing_for_restore(cursor: Cursor, database: str, server_version: str, kinds: set[str]) -> list[Missing]:
    """The privileges the user lacks to drop and re-create objects of these `kinds` (`RESTORE_NEEDS`)."""
    held = held_privileges(cursor, database, server_version)
    on_database = f"{quote_identifier(database)}.*"
    return [
        Missing(f"may not drop and re-create the database's {kind}s", privilege, on_database, kind)
        for kind in sorted(kinds)
        for privilege in RESTORE_NEEDS[kind]
        if not held.on_database_has(privilege)
    ]


DEFINER_PRIVILEGES = ("SUPER", "SET USER", "SET_USER_ID", "SET_ANY_DEFINER")
"""Any of these lets a user create an object that names another account as its DEFINER: MariaDB's SET
USER (10.5.2), MySQL 8's SET_USER_ID and, from 8.2, SET_ANY_DEFINER; SUPER before them."""
_DEFINERS = """
SELECT DEFINER FROM information_schema.VIEWS WHERE TABLE_SCHEMA = %(db)s
UNION SELECT DEFINER FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = %(db)s
UNION SELECT DEFINER FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %(db)s
UNION SELECT DEFINER FROM information_schema.EVENTS WHERE EVENT_SCHEMA = %(db)s
"""


def missing_to_name_definers(cursor: Cursor, database: str, server_version: str) -> list[Missing]:
    """The privilege the user lacks to re-create the views, routines, triggers and events of `database`
    that name another account as their DEFINER, as a put-back of a backup that keeps DEFINERs must."""
    cursor.execute("SELECT CURRENT_USER()")
    me = text(cursor.fetchone()[0])
    cursor.execute(_DEFINERS, {"db": database})
    others = sorted({text(row[0]) for row in cursor.fetchall()} - {me})
    held = held_privileges(cursor, database, server_version)
    if not others or any(held.globally_has(privilege) for privilege in DEFINER_PRIVILEGES):
        return []
    privilege = "SET USER" if is_mariadb(server_version) else "SUPER"
    if not is_mariadb(server_version) and _major(server_version) >= 8:
        privilege = "SET_USER_ID"
    shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
    return [
        Missing(
            f"may not re-create the objects whose DEFINER is another account ({shown}), which putting the "
            "database back would have to (or back up with BACKUP_STRIP_DEFINERS=true)",
            privilege,
            "*.*",
        )
    ]


def unreadable_definition(
    cursor: Cursor, database: str, server_version: str, kind: str, name: str
) -> DumpError:
    """The error for a view, routine, trigger or event the user sees but whose definition it may not read."""
    on_database = f"{quote_identifier(database)}.*"
    privilege, target = {
        "VIEW": ("SHOW VIEW", on_database),
        "TRIGGER": ("TRIGGER", on_database),
        "EVENT": ("EVENT", on_database),
    }.get(kind) or routine_grant(server_version)
    account = current_account(cursor)
    return DumpError(
        f"The server returned no definition for {kind.lower()} {name!r}: user {account} may not read it, "
        "and the backup would be incomplete without it. Grant what is missing, then back up again: "
        f"{grant_statements([Missing('', privilege, target)], account)}"
    )


def grant_statements(missing: list[Missing], account: str) -> str:
    """One GRANT per target, its privileges in the order first needed: `GRANT SELECT, TRIGGER ON … TO …;`."""
    by_target: dict[str, list[str]] = {}
    for item in missing:
        privileges = by_target.setdefault(item.target, [])
        if item.privilege not in privileges:
            privileges.append(item.privilege)
    return " ".join(
        f"GRANT {', '.join(privileges)} ON {target} TO {account};" for target, privileges in by_target.items()
    )


def routine_grant(server_version: str) -> tuple[str, str]:
    """The privilege, and its target, that shows every routine and its body: SELECT on mysql.proc for
    MariaDB and MySQL before 8.0 (which keep routines there), SHOW_ROUTINE for MySQL 8."""
    if is_mariadb(server_version) or _major(server_version) < 8:
        return "SELECT", "`mysql`.`proc`"
    return "SHOW_ROUTINE", "*.*"


def is_mariadb(server_version: str) -> bool:
    return "mariadb" in server_version.lower()


def _major(server_version: str) -> int:
    digits = re.match(r"\d+", server_version)
    return int(digits.group()) if digits else 0


def current_account(cursor: Cursor) -> str:
    """The account the server matched the login to, quoted as GRANT takes it: `'backup'@'%'`."""
    cursor.execute("SELECT CURRENT_USER()")
    user, _, host = text(cursor.fetchone()[0]).rpartition("@")
    return f"{_string(user)}@{_string(host)}"


def _string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def _reads_every_table(cursor: Cursor, database: str) -> bool:
    """Whether the user's SELECT covers every table of `database`: the server answers a query on a table
    that does not exist with "doesn't exist" only then, and with "command denied" otherwise."""
    probe = f"{quote_identifier(database)}.{quote_identifier('backup_privilege_probe_' + uuid.uuid4().hex)}"
    try:
        cursor.execute(f"SELECT 1 FROM {probe} LIMIT 0")
    except pymysql.MySQLError as exc:
        if error_code(exc) == NO_SUCH_TABLE:
            return True
        if error_code(exc) in DENIED:
            return False
        raise
    return False  # a table of that name exists after all: the answer proves nothing


def _hidden_routines(
    cursor: Cursor, database: str, server_version: str, held: HeldPrivileges
) -> Missing | None:
    cursor.execute(
        "SELECT COUNT(*) FROM information_schema.ROUTINES "
        f"WHERE ROUTINE_SCHEMA = %s AND ROUTINE_TYPE IN ({ROUTINE_TYPE_LIST})",
        (database,),
    )
    visible = int(cursor.fetchone()[0])
    privilege, target = routine_grant(server_version)
    try:
        cursor.execute(
            f"SELECT COUNT(*) FROM mysql.proc WHERE db = %s AND type IN ({ROUTINE_TYPE_LIST})", (database,)
        )
        stored = int(cursor.fetchone()[0])
    except pymysql.MySQLError as exc:
        if error_code(exc) not in DENIED | {NO_SUCH_TABLE}:  # MySQL 8 has no mysql.proc
            raise
        if any(held.on_database_has(p) for p in ROUTINES_SHOWN_BY_DATABASE_PRIVILEGES) or any(
            held.globally_has(p) for p in ROUTINES_SHOWN_BY_GLOBAL_PRIVILEGES
        ):
            return None
        return Missing(
            "may not see every stored routine of the database (routines are listed only to users with a "
            "privilege on them), so some may be missing from the backup",
            privilege,
            target,
            "routine",
        )
    if stored > visible:
        return Missing(
            f"sees only {visible} of the database's {stored} stored routines, so the others would be "
            "missing from the backup",
            privilege,
            target,
            "routine",
        )
    return None


def _hidden_events(cursor: Cursor, database: str) -> str | None:
    """Why events may be missing, or None when the user sees them all (or there are none)."""
    try:
        cursor.execute(f"SHOW EVENTS FROM {quote_identifier(database)}")
        cursor.fetchall()
        return None
    except pymysql.MySQLError as exc:
        if error_code(exc) not in DENIED:
            raise
    try:
        cursor.execute("SELECT COUNT(*) FROM mysql.event WHERE db = %s", (database,))
        stored = int(cursor.fetchone()[0])
    except pymysql.MySQLError as exc:
        if error_code(exc) not in DENIED | {NO_SUCH_TABLE}:  # MySQL 8 has no mysql.event
            raise
        return "has no EVENT privilege on the database, so none of its events can be seen"
    if stored:
        return f"has no EVENT privilege on the database, so its {stored} events cannot be seen"
    return None


def held_privileges(cursor: Cursor, database: str, server_version: str) -> HeldPrivileges:
    """What SHOW GRANTS says the session holds on every database and on `database` (database-level
    grants only: table, column and routine grants cover single objects)."""
    globally: set[str] = set()
    granted: set[str] = set()
    revoked: set[str] = set()
    for line in _grant_lines(cursor, server_version):
        found = _GRANT_LINE.match(line)
        if found is None:
            continue
        verb, listed, target = found.groups()
        privileges = {" ".join(p.split()).upper() for p in listed.split(",")}
        if "ALL" in privileges:
            privileges.add(ALL_PRIVILEGES)
        if target == "*":
            if verb.upper() == "GRANT":
                globally |= privileges
        elif _pattern_matches(target[1:-1].replace("``", "`"), database):
            (granted if verb.upper() == "GRANT" else revoked).update(privileges)
    on_database = (globally | granted) - revoked
    if revoked:
        on_database.discard(ALL_PRIVILEGES)  # only what is left after a partial revoke counts
    return HeldPrivileges(frozenset(globally), frozenset(on_database))


def _grant_lines(cursor: Cursor, server_version: str) -> list[str]:
    cursor.execute("SHOW GRANTS")
    lines = [text(row[0]) for row in cursor.fetchall()]
    if is_mariadb(server_version):
        return lines  # MariaDB's SHOW GRANTS includes the active roles' grants and PUBLIC's
    try:
        cursor.execute("SELECT CURRENT_ROLE()")
        roles = text(cursor.fetchone()[0])
        if roles and roles.upper() != "NONE":
            cursor.execute(f"SHOW GRANTS FOR CURRENT_USER() USING {roles}")
            lines += [text(row[0]) for row in cursor.fetchall()]
    except pymysql.MySQLError:
        pass  # MySQL 5.7 has no roles; the account's own grants are what it holds
    return lines


def _pattern_matches(pattern: str, name: str) -> bool:
    """Whether a database-level grant's name pattern (`_` and `%` wildcards, `\\` escaping) covers `name`."""
    parts: list[str] = []
    escaped = False
    for char in pattern:
        if escaped:
            parts.append(re.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "_":
            parts.append(".")
        elif char == "%":
            parts.append(".*")
        else:
            parts.append(re.escape(char))
    return re.fullmatch("".join(parts), name, re.DOTALL) is not None
