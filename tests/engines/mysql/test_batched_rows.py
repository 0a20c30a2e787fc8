"""Tables with a one-column integer primary key are read in server-joined batches; no row is lost."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from shared.dburl import DatabaseURL
from shared.engines.mysql.batches import FIRST_BATCH_ROWS, RowReader, batched_values
from shared.engines.mysql.connection import Connection, connect
from shared.engines.mysql.dumper import STATEMENT_BYTES
from shared.engines.mysql.schema import Table, list_tables
from tests.databases import fresh_mysql_database
from tests.engines.mysql.inventory import connection, execute_script
from tests.engines.mysql.round_trip import dump, restores_identically, row_count


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
