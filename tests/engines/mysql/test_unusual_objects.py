"""Objects and values that once made a MySQL backup wrong or unrestorable, each round-tripped through our
restore and the stock client: generated-only and MERGE tables, non-Unicode text, odd routines and views,
MariaDB packages, rows held against a CHECK constraint."""

from __future__ import annotations

from shared.engines.base import DumpOptions
from shared.engines.mysql import MySQLEngine
from tests.databases import fresh_mysql_database
from tests.engines.mysql.inventory import connection, execute_script, inventory, stock_client_load
from tests.engines.mysql.round_trip import dump, restores_identically, row_count


def test_a_table_of_only_generated_columns_keeps_its_rows() -> None:
    """Its rows are `()`: the dump once wrote `CONCAT('(',,')')`, and no backup of the database worked."""
    with fresh_mysql_database("bgen") as url:
        execute_script(
            url,
            [
                "CREATE TABLE g (a INT AS (1) VIRTUAL, b INT AS (2) PERSISTENT)",
                "INSERT INTO g VALUES (DEFAULT, DEFAULT), (DEFAULT, DEFAULT)",
            ],
        )
        data, report = dump(url)
        assert report.tables == {"g": 2}
        restores_identically(url, data)


def test_a_merge_tables_rows_are_its_underlying_tables_and_are_not_dumped_twice() -> None:
    with fresh_mysql_database("bmrg") as url:
        execute_script(
            url,
            [
                "CREATE TABLE m1 (id INT, v VARCHAR(10)) ENGINE=MyISAM",
                "CREATE TABLE m2 (id INT, v VARCHAR(10)) ENGINE=MyISAM",
                "INSERT INTO m1 VALUES (1, 'one')",
                "INSERT INTO m2 VALUES (2, 'two')",
                *(
                    f"CREATE TABLE {name} (id INT, v VARCHAR(10)) ENGINE=MRG_MyISAM UNION=(m1,m2)"
                    for name in ("all_m", "z_m")  # one before its underlying tables, one after
                ),
            ],
        )
        data, report = dump(url)
        assert report.tables == {"m1": 1, "m2": 1}
        restores_identically(url, data)
        with fresh_mysql_database("bmrgr") as restored:
            MySQLEngine(restored, DumpOptions()).restore([data])
            assert [row_count(restored, t) for t in ("m1", "m2", "all_m", "z_m")] == [1, 1, 2, 2]


def test_text_with_no_unicode_mapping_keeps_its_bytes() -> None:
    """sjis 0xF040, big5 0xF9FE, gbk 0xA140 once came back as '?' after a trip through utf8mb4; both the
    batched reads (an integer key) and the row-by-row ones (none) send such text as hex now."""
    values = (
        "(1, X'F040', X'F9FE', X'A140', 'b'), (2, '', '', '', 'a'), (3, NULL, NULL, NULL, NULL), "
        "(4, 'plain', 'text', 'ok', 'b')"
    )
    columns = (
        "s VARCHAR(10) CHARACTER SET sjis, b TEXT CHARACTER SET big5, g CHAR(4) CHARACTER SET gbk, "
        "e ENUM('a', 'b') CHARACTER SET sjis"
    )
    with fresh_mysql_database("bcs") as url:
        execute_script(
            url,
            [
                f"CREATE TABLE keyed (id INT PRIMARY KEY, {columns})",
                f"CREATE TABLE unkeyed (id INT, {columns})",
                *(f"INSERT INTO {table} VALUES {values}" for table in ("keyed", "unkeyed")),
            ],
        )
        data, report = dump(url)
        assert report.tables == {"keyed": 4, "unkeyed": 4}
        assert b"_sjis 0xF040" in data and b"_big5 0xF9FE" in data and b"_gbk 0xA140" in data
        restores_identically(url, data)


def test_a_routine_holding_every_usual_delimiter_gets_one_of_its_own() -> None:
    with fresh_mysql_database("bdl") as url:
        execute_script(
            url,
            [
                "CREATE PROCEDURE p() SELECT ';;', '$$', '//', ';;;;', '$$$$', '@@@@@@', '$$000000' AS s",
            ],
        )
        data, _ = dump(url)
        assert b"DELIMITER $$000001\n" in data
        restores_identically(url, data)


def test_a_view_the_server_cannot_use_is_left_out_with_a_warning_so_the_backup_restores() -> None:
    """A view over a dropped table once made a completed backup that no restore could load."""
    with fresh_mysql_database("bvw") as url:
        execute_script(
            url,
            [
                "CREATE TABLE gone (id INT)",
                "CREATE TABLE kept (id INT)",
                "INSERT INTO kept VALUES (1)",
                "CREATE VIEW broken AS SELECT id FROM gone",
                "CREATE VIEW on_broken AS SELECT id FROM broken",
                "CREATE VIEW fine AS SELECT id FROM kept",
                "DROP TABLE gone",
            ],
        )
        data, report = dump(url)
        left_out = [warning for warning in report.warnings if "is left out" in warning]
        assert len(left_out) == 2 and "'broken'" in left_out[0] + left_out[1]
        assert b"-- View `broken` is left out: it references a table" in data
        assert b"--   CREATE ALGORITHM=UNDEFINED" in data
        with fresh_mysql_database("bvwo") as ours, fresh_mysql_database("bvws") as stock:
            MySQLEngine(ours, DumpOptions()).restore([data])
            stock_client_load(stock, data)
            for restored in (ours, stock):
                assert inventory(restored).views.keys() == {"fine"}
                assert row_count(restored, "fine") == 1


PACKAGE = [
    "SET SESSION sql_mode = 'ORACLE'",
    "CREATE PACKAGE pkg AS FUNCTION answer RETURN INT; END",
    "CREATE PACKAGE BODY pkg AS FUNCTION answer RETURN INT AS BEGIN RETURN 42; END; END",
    "SET SESSION sql_mode = DEFAULT",
]


def test_mariadb_packages_are_backed_up_and_those_the_backup_lacks_go() -> None:
    """Packages (sql_mode=ORACLE) were left out of the backup without a word, and survived a restore."""
    with fresh_mysql_database("bpk") as url:
        execute_script(url, ["CREATE TABLE t (id INT)", *PACKAGE])
        data, _ = dump(url)
        assert b"CREATE DEFINER=" in data and b'PACKAGE BODY "pkg"' in data
        with fresh_mysql_database("bpko") as ours, fresh_mysql_database("bpks") as stock:
            execute_script(ours, [p.replace("pkg", "stale") for p in PACKAGE])
            MySQLEngine(ours, DumpOptions()).restore([data])
            stock_client_load(stock, data)
            for restored in (ours, stock):
                assert inventory(restored) == inventory(url)
                with connection(restored) as conn, conn.cursor() as cursor:
                    cursor.execute("SET SESSION sql_mode = 'ORACLE'")
                    cursor.execute("SELECT pkg.answer()")
                    assert cursor.fetchone() == (42,)


def test_a_view_with_check_option_over_a_view_named_after_it_restores() -> None:
    """Views once loaded in name order, so `a` WITH CHECK OPTION met `z` still a placeholder (error 1368)."""
    with fresh_mysql_database("bwco") as url:
        execute_script(
            url,
            [
                "CREATE TABLE t (a INT)",
                "INSERT INTO t VALUES (1)",
                "CREATE VIEW z AS SELECT a FROM t",
                "CREATE VIEW a AS SELECT a FROM z WITH CHECK OPTION",
                "CREATE VIEW m AS SELECT a.a AS z FROM a",  # an alias named after a view is no reference
            ],
        )
        data, _ = dump(url)
        assert data.index(b"-- View `z`") < data.index(b"-- View `a`") < data.index(b"-- View `m`")
        restores_identically(url, data)


def test_rows_held_against_a_check_constraint_restore() -> None:
    """Written while the checks were off, they are the database's rows: a restore must load them too."""
    with fresh_mysql_database("bchk") as url:
        execute_script(
            url,
            [
                "CREATE TABLE prices (id INT PRIMARY KEY, amount INT CHECK (amount >= 0))",
                "SET SESSION check_constraint_checks = 0",
                "INSERT INTO prices VALUES (1, 5), (2, -3)",
            ],
        )
        data, report = dump(url)
        assert report.tables == {"prices": 2}
        restores_identically(url, data)
