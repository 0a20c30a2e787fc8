"""The checklist database: our dump round-trips, loads with the stock client and matches mariadb-dump's."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

import pytest

from shared.dburl import DatabaseURL
from shared.engines.base import DumpOptions, DumpReport
from shared.engines.mysql import MySQLEngine
from tests.databases import fresh_mysql_database
from tests.engines.mysql.fixture_schema import CHECKLIST_SCHEMA
from tests.engines.mysql.inventory import (
    connection,
    execute_script,
    inventory,
    stock_client_load,
    stock_dump,
)


@pytest.fixture(scope="module")
def checklist_db() -> Iterator[DatabaseURL]:
    with fresh_mysql_database("ck") as url:
        execute_script(url, CHECKLIST_SCHEMA)
        yield url


@pytest.fixture(scope="module")
def checklist_dump(checklist_db: DatabaseURL) -> tuple[bytes, DumpReport]:
    report = DumpReport()
    data = b"".join(MySQLEngine(checklist_db, DumpOptions()).dump(report))
    return data, report


def test_report_counts_rows_and_warns_about_myisam(checklist_dump: tuple[bytes, DumpReport]) -> None:
    _, report = checklist_dump
    assert report.tables["child"] == 3
    assert report.tables["parent"] == 3
    assert report.tables["empty_table"] == 0
    assert report.tables["wéird `name` ☃"] == 2
    assert "ticket_numbers" not in report.tables  # a sequence has a value, not rows
    assert any("'legacy'" in warning and "MyISAM" in warning for warning in report.warnings)
    assert any("'versioned'" in warning and "history" in warning for warning in report.warnings)
    assert report.tables["versioned"] == 2
    assert report.server_version.startswith(("10.", "11.", "8."))


def test_dump_layout(checklist_dump: tuple[bytes, DumpReport]) -> None:
    data, _ = checklist_dump
    text = data.decode()
    assert text.index("SET NAMES utf8mb4") < text.index("CREATE TABLE")
    assert "foreign_key_checks=0" in text and "unique_checks=0" in text and "NO_AUTO_VALUE_ON_ZERO" in text
    assert "GTID" not in text.upper() and "SET GLOBAL" not in text.upper()
    last_insert = text.rindex("INSERT INTO `")
    assert all(text.index(f"-- Trigger `{name}`") > last_insert for name in ("audit_first", "child_guard"))
    assert text.index("-- Function `add_tax`") < text.index("-- View `base_view`")
    assert "`secret`" in text.split("INSERT INTO `child`")[1].split("VALUES")[0]
    assert "`doubled`" not in text.split("INSERT INTO `child`")[1].split("VALUES")[0]
    assert re.search(r"0x00FF10", text) and ",''," in text  # hex blobs, empty binary as ''


def test_round_trip_through_our_restore(
    checklist_db: DatabaseURL, checklist_dump: tuple[bytes, DumpReport]
) -> None:
    data, _ = checklist_dump
    with fresh_mysql_database("ckr") as target:
        execute_script(
            target,
            [
                "CREATE TABLE stale (id INT)",
                "CREATE TRIGGER stale_trigger BEFORE INSERT ON stale FOR EACH ROW SET @x = 1",
                "CREATE VIEW stale_view AS SELECT 1 AS x",
                "CREATE PROCEDURE stale_procedure() SELECT 1",
                "CREATE FUNCTION stale_function() RETURNS INT DETERMINISTIC RETURN 1",
                "CREATE EVENT stale_event ON SCHEDULE EVERY 1 DAY DISABLE DO SELECT 1",
                "CREATE TABLE parent (stale_column INT)",
            ],
        )
        chunks = [data[i : i + 7919] for i in range(0, len(data), 7919)]
        MySQLEngine(target, DumpOptions()).restore(chunks)
        assert inventory(target) == inventory(checklist_db)
        with connection(target) as conn, conn.cursor() as cursor:
            cursor.execute("SELECT NEXTVAL(ticket_numbers)")
            # like after a server restart, the sequence resumes past its cached values: never a reused number
            assert cursor.fetchone()[0] >= 1005
            cursor.execute("INSERT INTO parent (name) VALUES ('fires')")
            cursor.execute("SELECT message FROM audit ORDER BY id")
            assert [row[0] for row in cursor.fetchall()] == ["zero", "first fires", "second fires"]
            cursor.execute("SELECT CAST(ratio AS DOUBLE) FROM child ORDER BY id")
            assert [row[0] for row in cursor.fetchall()][:2] == [0.10000000149011612, 3.4028234663852886e38]


def test_our_dump_loads_with_the_stock_client_like_mariadb_dump(
    checklist_db: DatabaseURL, checklist_dump: tuple[bytes, DumpReport]
) -> None:
    data, _ = checklist_dump
    expected = inventory(checklist_db)
    with fresh_mysql_database("cko") as ours, fresh_mysql_database("cks") as stock:
        stock_client_load(ours, data)
        stock_client_load(stock, stock_dump(checklist_db))
        ours_loaded, stock_loaded = inventory(ours), inventory(stock)
        # The stock client drops comments inside routine bodies (without --comments), for either dump.
        assert ours_loaded == dataclasses.replace(expected, routines=stock_loaded.routines)
        # mariadb-dump's own FLOAT output loses precision: compare every other table exactly.
        assert {k: v for k, v in ours_loaded.checksums.items() if k != "child"} == {
            k: v for k, v in stock_loaded.checksums.items() if k != "child"
        }
        assert ours_loaded.views == stock_loaded.views
        assert ours_loaded.routines == stock_loaded.routines
        assert ours_loaded.triggers == stock_loaded.triggers
        assert ours_loaded.events.keys() == stock_loaded.events.keys()


def test_our_restore_loads_a_mariadb_dump_file(checklist_db: DatabaseURL) -> None:
    with fresh_mysql_database("ckm") as ours, fresh_mysql_database("cks") as stock:
        dumped = stock_dump(checklist_db)
        MySQLEngine(ours, DumpOptions()).restore(dumped[i : i + 4096] for i in range(0, len(dumped), 4096))
        stock_client_load(stock, dumped)
        # Same result as the stock client, except that we keep comments inside routine bodies.
        original_routines = inventory(checklist_db).routines
        assert inventory(ours) == dataclasses.replace(inventory(stock), routines=original_routines)


def test_strip_definers_leaves_no_definer(checklist_db: DatabaseURL) -> None:
    data = b"".join(MySQLEngine(checklist_db, DumpOptions(strip_definers=True)).dump(DumpReport()))
    assert b"DEFINER" not in data.upper()
    with_definers = b"".join(MySQLEngine(checklist_db, DumpOptions()).dump(DumpReport()))
    assert b"DEFINER=" in with_definers
    with fresh_mysql_database("ckd") as target:
        MySQLEngine(target, DumpOptions()).restore([data])
        assert inventory(target) == inventory(checklist_db)
