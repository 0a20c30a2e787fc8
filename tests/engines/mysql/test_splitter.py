"""The statement splitter: quotes, escapes, comments, conditional comments, DELIMITER, any chunking."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.engines.mysql.splitter import split_statements
from shared.errors import RestoreError


def split(sql: bytes, chunk_size: int | None = None) -> list[bytes]:
    if chunk_size is None:
        return list(split_statements([sql]))
    return list(split_statements(sql[i : i + chunk_size] for i in range(0, len(sql), chunk_size)))


def test_quotes_hide_delimiters() -> None:
    sql = b'SELECT \'a;b\', "c;d", `e;f`; SELECT \'it\'\'s;\', "say ""x;""", `tick``;`; SELECT 2'
    assert split(sql) == [
        b"SELECT 'a;b', \"c;d\", `e;f`",
        b'SELECT \'it\'\'s;\', "say ""x;""", `tick``;`',
        b"SELECT 2",
    ]


def test_backslash_escapes_inside_strings() -> None:
    sql = b"INSERT INTO t VALUES ('a\\';b', \"c\\\";d\", 'e\\\\');SELECT 1;"
    assert split(sql) == [b"INSERT INTO t VALUES ('a\\';b', \"c\\\";d\", 'e\\\\')", b"SELECT 1"]


def test_comments_in_front_are_dropped_and_inside_are_kept() -> None:
    sql = (
        b"-- header; 'unbalanced\n# hash; comment\n/* block; ' */\n"
        b"SELECT 1 -- trailing; comment\n, 2 /* inner; */;\n"
        b"SELECT 3 # end;\n;--not-a-comment\n"
    )
    assert split(sql) == [
        b"SELECT 1 -- trailing; comment\n, 2 /* inner; */",
        b"SELECT 3 # end;",
        b"--not-a-comment",
    ]


def test_double_dash_needs_whitespace_to_start_a_comment() -> None:
    assert split(b"SELECT 1--1;SELECT 2") == [b"SELECT 1--1", b"SELECT 2"]


def test_conditional_comments_are_sent_to_the_server() -> None:
    sql = (
        b"/*!40101 SET NAMES utf8mb4 */;\n/*M!100616 SET NOTE_VERBOSITY=@@NOTE_VERBOSITY */;\n"
        b"/*!50003 SELECT ';' */;"
    )
    assert split(sql) == [
        b"/*!40101 SET NAMES utf8mb4 */",
        b"/*M!100616 SET NOTE_VERBOSITY=@@NOTE_VERBOSITY */",
        b"/*!50003 SELECT ';' */",
    ]


@pytest.mark.parametrize("delimiter", [b";;", b"$$", b"//"])
def test_delimiter_command(delimiter: bytes) -> None:
    sql = (
        b"delimiter " + delimiter + b"\n"
        b"CREATE PROCEDURE p() BEGIN SELECT 1; SELECT ';'; END " + delimiter + b"\n"
        b"CREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW SET @a = 1" + delimiter + b"\n"
        b"DELIMITER ;\nSELECT 2;"
    )
    assert split(sql) == [
        b"CREATE PROCEDURE p() BEGIN SELECT 1; SELECT ';'; END",
        b"CREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW SET @a = 1",
        b"SELECT 2",
    ]


def test_unterminated_string_fails() -> None:
    with pytest.raises(RestoreError, match="unterminated"):
        split(b"SELECT 'abc;")


def test_last_statement_without_delimiter_and_empty_statements() -> None:
    assert split(b";;  ;\nSELECT 1;\n\nSELECT 2\n") == [b"SELECT 1", b"SELECT 2"]


def test_mariadb_dump_sandbox_line() -> None:
    sql = b"/*!999999\\- enable the sandbox mode */ \n-- MariaDB dump\n/*!40101 SET NAMES utf8mb4 */;\n"
    assert split(sql) == [
        b"/*!999999\\- enable the sandbox mode */ \n-- MariaDB dump\n/*!40101 SET NAMES utf8mb4 */"
    ]


_ATOMS = st.sampled_from(
    [
        "SELECT",
        " ",
        "\n",
        "x",
        "1",
        "-1",
        "- 1",
        "2/3",
        "2*3",
        "$x",
        "@",
        "'a;b'",
        "'it''s'",
        "'\\';'",
        "'\\\\'",
        '"q;"',
        '"\\";"',
        "`t;`",
        "`a``b`",
        "/* c; */",
        "-- c; 'x\n",
        "# c; `\n",
        "/*!40101 x */",
        "'ü☃'",
        "'\r\n'",
        "--1",
        "'$$'",
        "';;'",
    ]
)


@st.composite
def scripts(draw: st.DrawFn) -> tuple[bytes, list[bytes]]:
    """A script of statements under changing delimiters, and the statements it must split into."""
    parts: list[str] = []
    expected: list[bytes] = []
    delimiter = ";"
    for _ in range(draw(st.integers(1, 8))):
        new = draw(st.sampled_from([";", ";;", "$$", "//"]))
        if new != delimiter:
            parts.append(f"DELIMITER {new}\n")
            delimiter = new
        body = "SELECT" + "".join(draw(st.lists(_ATOMS, max_size=12)))
        if draw(st.booleans()):
            parts.append(draw(st.sampled_from(["-- lead; '\n", "# lead\n", "/* lead; */ ", "\n  "])))
        parts.append(body + delimiter + "\n")
        stripped = body.strip()
        expected.append(stripped.encode())
    return "".join(parts).encode(), expected


@given(scripts(), st.integers(min_value=1, max_value=64))
def test_any_chunking_gives_the_same_statements(script: tuple[bytes, list[bytes]], chunk_size: int) -> None:
    sql, expected = script
    assert split(sql) == expected
    assert split(sql, chunk_size) == expected
