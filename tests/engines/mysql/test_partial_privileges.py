"""Backups taken by a user with partial privileges are complete, or fail naming the GRANT that fixes them.

A MySQL/MariaDB user sees only the objects it holds some privilege on; information_schema leaves out
the rest without a word. Each test here makes one database with every kind of object as root, then
backs it up as a restricted user (its privileges granted directly or through a default role), and checks
that the backup either holds everything (a restore gives back the same database) or fails.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from shared.dburl import DatabaseURL
from shared.engines.base import DumpOptions, DumpReport
from shared.engines.mysql import MySQLEngine
from shared.errors import DumpError, RestoreError
from tests.databases import fresh_mysql_database, mysql_admin, unique_name
from tests.engines.mysql.inventory import connection, execute_script, inventory
from tests.engines.mysql.round_trip import restores_identically

OBJECTS = [
    "CREATE TABLE orders (id INT PRIMARY KEY, total DECIMAL(10,2), note VARCHAR(20))",
    "CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(20))",
    "INSERT INTO orders VALUES (1, 9.50, 'a'), (2, 20.00, 'b')",
    "INSERT INTO customers VALUES (1, 'Ada')",
    "CREATE VIEW big_orders AS SELECT id, total FROM orders WHERE total > 10",
    "CREATE TRIGGER orders_note BEFORE INSERT ON orders FOR EACH ROW SET NEW.note = UPPER(NEW.note)",
    "CREATE FUNCTION vat(amount DECIMAL(10,2)) RETURNS DECIMAL(10,2) DETERMINISTIC RETURN amount * 0.2",
    "CREATE PROCEDURE close_day() UPDATE orders SET note = 'closed'",
    "CREATE EVENT nightly ON SCHEDULE EVERY 1 DAY DISABLE DO DELETE FROM customers WHERE id < 0",
]
ROWS = {"customers": 1, "orders": 2}


@contextmanager
def shop() -> Iterator[DatabaseURL]:
    """A database with two tables, a view, a trigger, a function, a procedure and an event."""
    with fresh_mysql_database("pv") as url:
        execute_script(url, OBJECTS)
        yield url


@contextmanager
def restricted(url: DatabaseURL, grants: list[str], *, via_role: bool = False) -> Iterator[DatabaseURL]:
    """`url` as a new user holding only `grants` (each e.g. "SELECT ON `db`.`t`"), given directly or
    through the user's default role; the user and role are dropped afterwards."""
    user, password, role = unique_name("pu"), "Pw-" + unique_name("s"), unique_name("pr")
    grantee = role if via_role else f"'{user}'@'%'"
    with mysql_admin() as conn, conn.cursor() as cursor:
        try:
            cursor.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'")
            if via_role:
                cursor.execute(f"CREATE ROLE {role}")
                cursor.execute(f"GRANT {role} TO '{user}'@'%'")
                cursor.execute(f"SET DEFAULT ROLE {role} FOR '{user}'@'%'")
            for grant in grants:
                cursor.execute(f"GRANT {grant} TO {grantee}")
            yield dataclasses.replace(url, user=user, password=password)
        finally:
            cursor.execute(f"DROP USER IF EXISTS '{user}'@'%'")
            cursor.execute(f"DROP ROLE IF EXISTS {role}")


def seen_by(url: DatabaseURL, sql: str) -> list[str]:
    """The first column of `sql`'s rows, as `url`'s user sees them."""
    with connection(url) as conn, conn.cursor() as cursor:
        cursor.execute(sql, (url.database,))
        return sorted(str(row[0]) for row in cursor.fetchall())


def dump(url: DatabaseURL) -> tuple[bytes, DumpReport]:
    report = DumpReport()
    return b"".join(MySQLEngine(url, DumpOptions()).dump(report)), report


def refused(url: DatabaseURL) -> str:
    """The dump's error message; fails the test if the dump ends normally."""
    with pytest.raises(DumpError) as caught:
        dump(url)
    message = str(caught.value)
    assert url.password not in message
    return message


def grant(privileges: str, target: str, url: DatabaseURL) -> str:
    """The GRANT the error must name for `url`'s user, as a regex."""
    return re.escape(f"GRANT {privileges} ON {target} TO '{url.user}'@'%';")


def on(url: DatabaseURL) -> str:
    return f"`{url.database}`.*"


# Everything a backup user needs on MariaDB, but for one thing each test leaves out.
NEEDED = ("SELECT", "SHOW VIEW", "TRIGGER", "EVENT")
ROUTINES = "SELECT ON `mysql`.`proc`"


def all_but(url: DatabaseURL, left_out: str) -> list[str]:
    return [f"{', '.join(p for p in NEEDED if p != left_out)} ON {on(url)}", ROUTINES]


def test_select_on_some_tables_only_fails_instead_of_leaving_the_others_out() -> None:
    """Table-level grants show only their tables: `customers`, the view and every routine, trigger and
    event would be missing from a backup marked completed, and its restore would drop them."""
    with shop() as url:
        grants = [f"SELECT ON `{url.database}`.`orders`", ROUTINES]
        with restricted(url, grants) as user:
            tables = "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s"
            assert seen_by(user, tables) == ["orders"]
            message = refused(user)
            assert "may read only some of the database's tables or columns" in message
            assert re.search(grant("SELECT, TRIGGER, EVENT", on(url), user), message)


def test_select_on_some_columns_fails_naming_the_grant() -> None:
    with shop() as url:
        grants = [f"SELECT (id, total), INSERT ON `{url.database}`.`orders`", ROUTINES]
        with restricted(url, grants) as user:
            message = refused(user)
            assert "may read only some of the database's tables or columns" in message
            assert re.search(grant("SELECT, TRIGGER, EVENT", on(url), user), message)


def test_routines_the_user_cannot_see_fail_the_dump() -> None:
    """mysqldump's usual grants (SELECT, SHOW VIEW, TRIGGER, EVENT) show no routine at all on MariaDB."""
    with shop() as url, restricted(url, [f"{', '.join(NEEDED)} ON {on(url)}"]) as user:
        routines = "SELECT ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = %s"
        assert seen_by(user, routines) == []
        message = refused(user)
        assert "may not see every stored routine" in message
        assert re.search(grant("SELECT", "`mysql`.`proc`", user) + "$", message)


def test_routine_whose_body_the_user_cannot_read_fails_naming_the_grant() -> None:
    """EXECUTE shows every routine, but SHOW CREATE gives its body as NULL."""
    with shop() as url:
        grants = [f"{', '.join(NEEDED)}, EXECUTE ON {on(url)}"]
        with restricted(url, grants) as user:
            message = refused(user)
            assert re.search(r"no definition for (function 'vat'|procedure 'close_day')", message)
            assert re.search(grant("SELECT", "`mysql`.`proc`", user), message)


def test_triggers_the_user_cannot_see_fail_the_dump() -> None:
    with shop() as url, restricted(url, all_but(url, "TRIGGER")) as user:
        triggers = "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s"
        assert seen_by(user, triggers) == []
        message = refused(user)
        assert "no TRIGGER privilege" in message
        assert re.search(grant("TRIGGER", on(url), user) + "$", message)


def test_events_the_user_cannot_see_fail_the_dump() -> None:
    with shop() as url, restricted(url, all_but(url, "EVENT")) as user:
        events = "SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = %s"
        assert seen_by(user, events) == []
        message = refused(user)
        assert "no EVENT privilege" in message
        assert re.search(grant("EVENT", on(url), user) + "$", message)


def test_view_without_show_view_fails_naming_the_grant() -> None:
    with shop() as url, restricted(url, all_but(url, "SHOW VIEW")) as user:
        message = refused(user)
        assert "no definition for view 'big_orders'" in message
        assert re.search(grant("SHOW VIEW", on(url), user) + "$", message)


def test_without_event_privilege_a_database_shown_to_have_no_events_is_complete() -> None:
    """mysql.event shows that no event is missing; LOCK TABLES is not needed either (one reader)."""
    with shop() as url:
        execute_script(url, ["DROP EVENT nightly"])
        grants = [*all_but(url, "EVENT"), "SELECT ON `mysql`.`event`"]
        with restricted(url, grants) as user:
            data, report = dump(user)
            assert report.warnings == []
            assert report.tables == ROWS
            assert report.readers == 1
            restores_identically(url, data)


def test_privileges_from_a_default_role_give_a_complete_dump() -> None:
    """A role's privileges count (here on a database name pattern), as they do for the dump's queries."""
    with shop() as url:
        pattern = url.database[:-3].replace("_", "\\_") + "%"
        grants = [f"{', '.join(NEEDED)}, LOCK TABLES ON `{pattern}`.*", ROUTINES]
        with restricted(url, grants, via_role=True) as user:
            data, report = dump(user)
            assert report.warnings == []
            assert report.tables == ROWS
            assert report.readers == DumpOptions().mysql_readers
            for name in (b"big_orders", b"orders_note", b"vat", b"close_day", b"nightly"):
                assert name in data
            restores_identically(url, data)


# What a restore takes to drop and re-create tables and views, but not routines or events.
RESTORES_TABLES_AND_VIEWS = ("DROP", "CREATE", "INSERT", "CREATE VIEW")


STRIPPED = DumpOptions(strip_definers=True)
"""The backups leave DEFINER clauses out: root's objects are no obstacle to a put-back by another user."""


def restore_refused(url: DatabaseURL, data: bytes, options: DumpOptions = STRIPPED) -> str:
    """The restore's error message, after checking that it says the database was not touched."""
    with pytest.raises(RestoreError) as caught:
        MySQLEngine(url, options).restore([data])
    message = str(caught.value)
    assert caught.value.database_unchanged and "nothing was changed" in message
    assert url.password not in message
    return message


def test_a_restore_the_user_could_not_put_back_is_refused_before_anything_is_dropped() -> None:
    """Without ALTER ROUTINE and CREATE ROUTINE the tables would go, the routines stay (and their
    re-creation fail), and putting the database back would fail the same way."""
    with shop() as url:
        data, _ = dump(url)
        execute_script(url, ["INSERT INTO customers VALUES (2, 'after the backup')"])
        before = inventory(url)
        grants = [*all_but(url, ""), f"{', '.join(RESTORES_TABLES_AND_VIEWS)} ON {on(url)}"]
        with restricted(url, grants) as user:
            message = restore_refused(user, data)
        assert "may not drop and re-create the database's routines" in message
        assert re.search(grant("ALTER ROUTINE, CREATE ROUTINE", on(url), user) + "$", message)
        assert inventory(url) == before


def test_a_restore_by_a_user_that_may_not_see_every_object_is_refused() -> None:
    """Routines it cannot see could be neither dropped nor re-created: both grants are named at once."""
    with shop() as url:
        data, _ = dump(url)
        before = inventory(url)
        grants = [f"{', '.join((*NEEDED, *RESTORES_TABLES_AND_VIEWS))} ON {on(url)}"]
        with restricted(url, grants) as user:
            message = restore_refused(user, data)
        assert "may not see every stored routine" in message
        assert grant("ALTER ROUTINE, CREATE ROUTINE", on(url), user)[:-1] in re.escape(message)
        assert re.search(grant("SELECT", "`mysql`.`proc`", user), message)
        assert inventory(url) == before


def test_a_user_that_may_re_create_every_kind_of_object_there_is_restores() -> None:
    """No routines or events in the database: the privileges for tables and views are enough."""
    with shop() as url:
        execute_script(url, ["DROP FUNCTION vat", "DROP PROCEDURE close_day", "DROP EVENT nightly"])
        # Without DEFINER clauses: the view's definer is root, which this user may not name.
        data = b"".join(MySQLEngine(url, DumpOptions(strip_definers=True)).dump(DumpReport()))
        expected = inventory(url)
        execute_script(url, ["DELETE FROM orders", "DROP VIEW big_orders"])
        grants = [*all_but(url, ""), f"{', '.join(RESTORES_TABLES_AND_VIEWS)} ON {on(url)}"]
        with restricted(url, grants) as user:
            MySQLEngine(user, STRIPPED).restore([data])
        assert inventory(url) == expected


def test_objects_defined_by_another_account_need_set_user_unless_definers_are_stripped() -> None:
    """A backup that keeps DEFINER clauses puts root's view, trigger, routines and event back only for a
    user that may name root as their definer."""
    with shop() as url:
        data, _ = dump(url)
        before = inventory(url)
        restores_all = ", ".join((*RESTORES_TABLES_AND_VIEWS, "ALTER ROUTINE", "CREATE ROUTINE"))
        grants = [*all_but(url, ""), f"{restores_all} ON {on(url)}"]
        with restricted(url, grants) as user:
            message = restore_refused(user, data, DumpOptions())
            assert "whose DEFINER is another account (root@" in message
            assert "BACKUP_STRIP_DEFINERS=true" in message
            assert re.search(grant("SET USER", "*.*", user) + "$", message)
            assert inventory(url) == before
            stripped = b"".join(MySQLEngine(url, STRIPPED).dump(DumpReport()))
            MySQLEngine(user, STRIPPED).restore([stripped])
        after = inventory(url)  # the same, but for the DEFINERs, now the restoring user
        assert (after.checksums, after.tables) == (before.checksums, before.tables)
        assert (after.views.keys(), after.routines.keys(), after.events.keys()) == (
            before.views.keys(),
            before.routines.keys(),
            before.events.keys(),
        )
        assert len(after.triggers) == len(before.triggers)
