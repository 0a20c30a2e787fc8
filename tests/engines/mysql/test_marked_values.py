"""Marked batches, escaped by the client, are byte for byte the rows the server would have QUOTE()d."""

from __future__ import annotations

from hypothesis import example, given

from shared.dburl import DatabaseURL
from shared.engines.mysql.connection import connect
from shared.engines.mysql.marked_values import MARK, marked_pairs_count, marked_row_literal, unmark
from shared.engines.mysql.schema import list_tables
from shared.engines.mysql.value_formats import quote_identifier, row_literal
from tests.databases import fresh_mysql_database
from tests.engines.mysql.inventory import execute_script
from tests.engines.mysql.test_round_trip_properties import TableSpec, load, table_specs


def test_unmark_escapes_like_quote_and_turns_marks_into_quotes() -> None:
    marked = b"(1,\xffit's a \\ \x00 \x1a \r\n line\xff,NULL,\xff\xff,0x00FF)"
    assert unmark(marked, 2) == b"(1,'it\\'s a \\\\ \\0 \\Z \\r\n line',NULL,'',0x00FF)"


def test_unmark_leaves_text_without_specials_alone() -> None:
    assert unmark(b"(1,\xffplain\xff)", 1) == b"(1,'plain')"


def test_unmark_refuses_a_batch_whose_marks_do_not_pair_up() -> None:
    assert unmark(b"(1,\xffa\xffb\xff)", 1) is None  # a stray mark inside a value
    assert unmark(b"(1,\xffa\xff)", 2) is None  # a mark lost on the way
    assert unmark(b"(1,2)", 0) == b"(1,2)"


def batch_texts(url: DatabaseURL, table_name: str) -> tuple[bytes | None, int, bytes | None]:
    """The whole table as one marked batch, its mark pairs, and the same rows QUOTE()d by the server."""
    conn = connect(url)
    try:
        cursor = conn.cursor()
        (table,) = [found for found in list_tables(cursor, url.database) if found.name == table_name]
        columns = table.insertable_columns
        marked = f"CAST({marked_row_literal(columns)} AS BINARY)"
        cursor.execute(
            f"SELECT GROUP_CONCAT({marked} ORDER BY id SEPARATOR ','),"
            f" CAST({marked_pairs_count(columns)} AS SIGNED),"
            f" GROUP_CONCAT({row_literal(columns)} ORDER BY id SEPARATOR ',')"
            f" FROM {quote_identifier(table_name)}"
        )
        marked_text, pairs, quoted_text = cursor.fetchone()
    finally:
        conn.close()
    return marked_text, int(pairs or 0), quoted_text


# Which operand's character set CONCAT converts to depends on the whole row's types: rows where the
# only marks come from an empty binary value, a BIT or a date once turned them into '?'.
@example(TableSpec("t", ["INT", "VARCHAR(40)", "VARBINARY(40)"], [[None, None, b""]]))
@example(TableSpec("t", ["VARBINARY(40)"], [[b""], [b"\xff"], [None]]))
@example(TableSpec("t", ["INT", "BIT(12)"], [[1, 5], [None, None]]))
@example(TableSpec("t", ["DATE", "VARCHAR(40)"], [["2020-01-02", None]]))
@given(table_specs("t"))
def test_marked_batches_equal_server_quoted_rows(table: TableSpec) -> None:
    with fresh_mysql_database("mv") as url:
        load(url, [table])
        marked, pairs, quoted = batch_texts(url, table.name)
        if not table.rows:
            assert marked is None and quoted is None
            return
        assert marked is not None and unmark(bytes(marked), pairs) == quoted


def test_text_in_other_character_sets_arrives_as_utf8_without_stray_marks() -> None:
    with fresh_mysql_database("mc") as url:
        execute_script(
            url,
            [
                "CREATE TABLE t (id INT PRIMARY KEY, l VARCHAR(5) CHARACTER SET latin1,"
                " g VARCHAR(5) CHARACTER SET greek, u VARCHAR(5) CHARACTER SET utf16,"
                " b BIT(3), e VARBINARY(4))",
                "INSERT INTO t VALUES (1, 0xFF, 0xE1, 'ÿ', b'101', ''), (2, NULL, NULL, NULL, NULL, NULL)",
            ],
        )
        marked, pairs, quoted = batch_texts(url, "t")
        assert marked is not None and marked.count(MARK) == 2 * pairs == 8
        # greek, which has bytes of no Unicode character, arrives unconverted, as hex with its introducer
        expected = "(1,'ÿ',_greek 0xE1,'ÿ',b'101',''),(2,NULL,NULL,NULL,NULL,NULL)".encode()
        assert unmark(bytes(marked), pairs) == expected == quoted
