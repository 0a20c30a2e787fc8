"""Tables with a one-column integer primary key are read in server-joined batches; no row is lost."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from shared.dburl import DatabaseURL
from shared.engines.base import DumpOptions, DumpReport
from shared.engines.mysql import MySQLEngine
from shared.engines.mysql.batches import FIRST_BATCH_ROWS, RowReader, batched_values
from shared.engines.mysql.connection import Connection, connect
from shared.engines.mysql.dumper import STATEMENT_BYTES
from shared.engines.mysql.schema import Table, list_tables
from tests.databases import fresh_mysql_database
from tests.engines.mysql.inventory import connection, execute_script, inventory, stock_client_load


def dump(url: DatabaseURL) -> tuple[bytes, DumpReport]:
    report = DumpReport()
    return b"".join(MySQLEngine(url, DumpOptions()).dump(report)), report


def restores_identically(url: DatabaseURL, data: bytes) -> None:
    with fresh_mysql_database("bt") as ours, fresh_mysql_database("bs") as stock:
        MySQLEngine(ours, DumpOptions()).restore([data])
        assert inventory(ours) == inventory(url)
        stock_client_load(stock, data)
        assert inventory(stock) == inventory(url)


def row_count(url: DatabaseURL, table: str) -> int:
    with connection(url) as conn, conn.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM `{table}`")
        return int(cursor.fetchone()[0])


def test_keys_with_gaps_negatives_and_extremes_round_trip() -> None:
    with fresh_mysql_database("bg") as url:
        execute_script(
            url,
            [
                "CREATE TABLE signed_keys (id BIGINT PRIMARY KEY, note VARCHAR(40))",
                "INSERT INTO signed_keys VALUES (-9223372036854775808, 'min'), (9223372036854775807, 'max'),"
                " (0, 'zero'), (-1, NULL)",
                "INSERT INTO signed_keys SELECT CAST(seq AS SIGNED) * 7919 - 20000000, CONCAT('n', seq)"
                " FROM seq_1_to_5000",
                "CREATE TABLE unsigned_keys (id BIGINT UNSIGNED PRIMARY KEY, flag TINYINT)",
                "INSERT INTO unsigned_keys VALUES (0, 1), (18446744073709551615, 2),"
                " (9223372036854775808, 3)",
                "CREATE TABLE tiny_keys (id TINYINT PRIMARY KEY, payload BLOB)",
                "INSERT INTO tiny_keys VALUES (-128, ''), (127, 0x00FF), (5, NULL)",
            ],
        )
        tables = {table.name: table for table in _tables(url)}
        assert {name: table.integer_key for name, table in tables.items()} == {
            "signed_keys": "id",
            "unsigned_keys": "id",
            "tiny_keys": "id",
        }
        data, report = dump(url)
        assert report.tables == {"signed_keys": 5004, "unsigned_keys": 3, "tiny_keys": 3}
        restores_identically(url, data)


def test_rows_larger_than_a_batch_go_out_alone_and_round_trip() -> None:
    big = STATEMENT_BYTES + 300_000
    with fresh_mysql_database("bl") as url:
        execute_script(
            url,
            [
                "CREATE TABLE mixed (id INT PRIMARY KEY, body LONGTEXT, raw LONGBLOB)",
                "INSERT INTO mixed SELECT seq, REPEAT('ä', seq % 50), NULL FROM seq_1_to_3000",
                f"UPDATE mixed SET body = REPEAT('x', {big}) WHERE id IN (1, 1500, 3000)",
                "UPDATE mixed SET raw = RANDOM_BYTES(1024) WHERE id = 1501",
                f"UPDATE mixed SET raw = REPEAT(0x41, {big // 2}) WHERE id = 1502",
            ],
        )
        data, report = dump(url)
        assert report.tables == {"mixed": 3000}
        inserts = [line for line in data.split(b";\n") if line.lstrip().startswith(b"INSERT INTO")]
        oversized = [line for line in inserts if len(line) > STATEMENT_BYTES]
        assert len(oversized) == 4 and all(line.count(b"),(") == 0 for line in oversized)
        restores_identically(url, data)


def test_batches_beyond_group_concat_max_len_are_split_not_cut() -> None:
    row_bytes = 6000
    assert FIRST_BATCH_ROWS * row_bytes > STATEMENT_BYTES  # the first batch must overflow the budget
    with fresh_mysql_database("bc") as url:
        execute_script(
            url,
            [
                "CREATE TABLE wide (id INT PRIMARY KEY, body TEXT)",
                f"INSERT INTO wide SELECT seq, REPEAT(CHAR(65 + seq % 26), {row_bytes}) FROM seq_1_to_2000",
            ],
        )
        data, report = dump(url)
        assert report.tables == {"wide": 2000}
        inserts = [line for line in data.split(b";\n") if line.startswith(b"INSERT INTO")]
        assert max(len(line) for line in inserts) <= STATEMENT_BYTES
        assert sum(line.count(b"),(") + 1 for line in inserts) == 2000
        restores_identically(url, data)


def test_small_budget_batches_stay_within_it_and_hold_every_key_once() -> None:
    budget = 2000
    with fresh_mysql_database("bb") as url:
        execute_script(
            url,
            [
                "CREATE TABLE t (id INT PRIMARY KEY, body VARCHAR(3000))",
                "INSERT INTO t SELECT CAST(seq AS SIGNED) * 3 - 900, REPEAT('q', seq % 97) FROM seq_1_to_600",
                "INSERT INTO t VALUES (100000, REPEAT('w', 2500)), (100001, REPEAT('e', 1999))",
            ],
        )
        (table,) = _tables(url)
        assert table.integer_key == "id"
        per_row_ranges: list[str] = []

        def row_reader_for(conn: Connection) -> RowReader:
            def read_rows(sql: str, args: tuple[object, ...]) -> Iterator[bytes]:
                per_row_ranges.append(sql)
                with conn.cursor() as rows:
                    rows.execute(sql, args or None)
                    return iter([bytes(value) for (value,) in rows.fetchall()])

            return read_rows

        pieces = read_batches(url, table, budget, row_reader_for)
        assert sum(rows for _, rows in pieces) == 602
        assert all(len(values) <= budget for values, rows in pieces if rows > 1)
        assert len(per_row_ranges) >= 1  # the 2500-byte row cannot share or fit a batch
        keys = [int(row.split(b",", 1)[0]) for values, _ in pieces for row in values[1:-1].split(b"),(")]
        with connection(url) as conn, conn.cursor() as cursor:
            cursor.execute("SELECT id FROM t")
            assert sorted(keys) == sorted(key for (key,) in cursor.fetchall()) and len(set(keys)) == 602


def test_batches_that_escaping_makes_too_long_are_split() -> None:
    budget = 2000
    with fresh_mysql_database("bq") as url:
        execute_script(
            url,
            [
                "CREATE TABLE quotes (id INT PRIMARY KEY, body VARCHAR(300))",
                # Each quote and backslash doubles when escaped: the server measures half the final length.
                "INSERT INTO quotes SELECT seq, REPEAT('\\'\\\\', 40 + seq % 60) FROM seq_1_to_500",
            ],
        )
        (table,) = _tables(url)
        pieces = read_batches(url, table, budget, lambda conn: _no_row_reads)
        assert sum(rows for _, rows in pieces) == 500
        assert all(len(values) <= budget for values, _ in pieces)
        assert max(rows for _, rows in pieces) > 1
        data, report = dump(url)
        assert report.tables == {"quotes": 500}
        restores_identically(url, data)


def read_batches(
    url: DatabaseURL, table: Table, budget: int, row_reader_for: Callable[[Connection], RowReader]
) -> list[tuple[bytes, int]]:
    """All of `table`'s batches, read on a connection with the dumper's own settings (text as bytes)."""
    conn = connect(url)
    try:
        return list(batched_values(conn.cursor(), url.database, table, "id", budget, row_reader_for(conn)))
    finally:
        conn.close()


def _no_row_reads(sql: str, args: tuple[object, ...]) -> Iterator[bytes]:
    raise AssertionError(f"no range should need the per-row reader here: {sql} {args}")


def test_empty_composite_key_no_key_and_myisam_tables_stay_correct() -> None:
    with fresh_mysql_database("be") as url:
        execute_script(
            url,
            [
                "CREATE TABLE empty_keyed (id INT PRIMARY KEY, v INT)",
                "CREATE TABLE composite (a INT, b INT, v VARCHAR(10), PRIMARY KEY (a, b))",
                "INSERT INTO composite SELECT seq % 7, seq, 'c' FROM seq_1_to_2000",
                "CREATE TABLE no_key (v VARCHAR(10))",
                "INSERT INTO no_key SELECT 'same' FROM seq_1_to_1500",
                "CREATE TABLE text_key (k VARCHAR(10) PRIMARY KEY)",
                "INSERT INTO text_key VALUES ('a'), ('b')",
                "CREATE TABLE myisam_keyed (id INT PRIMARY KEY) ENGINE=MyISAM",
                "INSERT INTO myisam_keyed SELECT seq FROM seq_1_to_10",
            ],
        )
        assert {table.name: table.integer_key for table in _tables(url)} == {
            "composite": None,
            "empty_keyed": "id",
            "myisam_keyed": None,
            "no_key": None,
            "text_key": None,
        }
        data, report = dump(url)
        assert report.tables == {
            "composite": 2000,
            "empty_keyed": 0,
            "myisam_keyed": 10,
            "no_key": 1500,
            "text_key": 2,
        }
        assert b"INSERT INTO `empty_keyed`" not in data
        restores_identically(url, data)
        assert row_count(url, "no_key") == 1500


def _tables(url: DatabaseURL) -> list[Table]:
    with connection(url) as conn, conn.cursor() as cursor:
        return list(list_tables(cursor, url.database))


def test_percent_signs_in_names_are_names_not_placeholders() -> None:
    """`p%%` once read `p%`'s rows into a backup that said completed; `50%off` failed the dump."""
    with fresh_mysql_database("b50%off") as url:
        execute_script(
            url,
            [
                "CREATE TABLE `p%` (id INT, v VARCHAR(10))",
                "CREATE TABLE `p%%` (id INT PRIMARY KEY, v VARCHAR(10))",
                "CREATE TABLE `100%sure` (`50%off` INT PRIMARY KEY, `%s` VARCHAR(10))",
                "INSERT INTO `p%` VALUES (1, 'single'), (2, 'single')",
                "INSERT INTO `p%%` VALUES (10, 'double')",
                "INSERT INTO `100%sure` SELECT seq, CONCAT('%s', seq) FROM seq_1_to_3000",
            ],
        )
        data, report = dump(url)
        assert report.tables == {"p%": 2, "p%%": 1, "100%sure": 3000}
        restores_identically(url, data)


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
