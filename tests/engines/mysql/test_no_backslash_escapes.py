"""Objects made under NO_BACKSLASH_ESCAPES or ANSI_QUOTES restore: the splitter follows sql_mode."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.dburl import DatabaseURL
from shared.engines.base import DumpOptions, DumpReport
from shared.engines.mysql import MySQLEngine
from shared.engines.mysql.splitter import split_statements
from tests.databases import fresh_mysql_database
from tests.engines.mysql.inventory import connection, execute_script, inventory, stock_dump

# Every `\` below is one backslash in the SQL: a plain character under NO_BACKSLASH_ESCAPES.
_SCHEMA = [
    "CREATE TABLE files (id INT PRIMARY KEY, path VARCHAR(40))",
    "INSERT INTO files VALUES (1, 'a\\\\b'), (2, 'it\\'s')",  # made in the default mode: escaped
    "SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES'",
    "CREATE PROCEDURE p() SELECT 'C:\\' AS path, \"D:\\\" AS other, 'it''s;' AS quoted",
    "CREATE FUNCTION f() RETURNS VARCHAR(20) DETERMINISTIC RETURN CONCAT('x\\', ';\\')",
    "CREATE TRIGGER t_bi BEFORE INSERT ON files FOR EACH ROW SET NEW.path = CONCAT(NEW.path, '\\')",
    "CREATE VIEW v AS SELECT 'C:\\' AS path, id FROM files",
    "CREATE EVENT e ON SCHEDULE EVERY 1 DAY DISABLE DO INSERT INTO files VALUES (9, 'e\\')",
    "SET SESSION sql_mode = 'ANSI_QUOTES'",  # "..." is a name: a backslash in it escapes nothing
    'CREATE PROCEDURE q() SELECT 1 AS "odd\\", \'it\\\'s;\' AS s',
    "SET SESSION sql_mode = DEFAULT",
    "CREATE PROCEDURE r() SELECT 'it\\'s;' AS s, 'a\\\\' AS t",  # escapes again
]


@pytest.fixture(scope="module")
def source() -> Iterator[DatabaseURL]:
    with fresh_mysql_database("nbe") as url:
        execute_script(url, _SCHEMA)
        yield url


def shown(url: DatabaseURL) -> dict[str, object]:
    """SHOW CREATE of every object, with their sql_mode, and what each gives back."""
    found: dict[str, object] = {}
    with connection(url) as conn, conn.cursor() as cursor:
        for kind, name in [
            ("PROCEDURE", "p"), ("PROCEDURE", "q"), ("PROCEDURE", "r"), ("FUNCTION", "f"),
            ("TRIGGER", "t_bi"), ("EVENT", "e"), ("VIEW", "v"),
        ]:  # fmt: skip
            cursor.execute(f"SHOW CREATE {kind} {name}")
            row = cursor.fetchone()
            found[f"{kind} {name}"] = row[:-1] if kind == "TRIGGER" else row  # not its Created time
        for call in ("CALL p()", "CALL q()", "CALL r()", "SELECT f()", "SELECT * FROM v ORDER BY id"):
            cursor.execute(call)
            found[call] = cursor.fetchall()
            while cursor.nextset():
                pass
        cursor.execute("SELECT path FROM files ORDER BY id")
        found["files"] = cursor.fetchall()
    return found


def fires_trigger(url: DatabaseURL) -> str:
    with connection(url) as conn, conn.cursor() as cursor:
        cursor.execute("INSERT INTO files (id, path) VALUES (3, 'new')")
        cursor.execute("SELECT path FROM files WHERE id = 3")
        value: str = cursor.fetchone()[0]
        cursor.execute("DELETE FROM files WHERE id = 3")
    return value


@pytest.mark.parametrize("chunk_size", [5, 4096])
def test_our_dump_round_trips(source: DatabaseURL, chunk_size: int) -> None:
    data = b"".join(MySQLEngine(source, DumpOptions()).dump(DumpReport()))
    assert b"sql_mode='NO_BACKSLASH_ESCAPES'" in data
    with fresh_mysql_database("nbr") as target:
        MySQLEngine(target, DumpOptions()).restore(
            data[i : i + chunk_size] for i in range(0, len(data), chunk_size)
        )
        assert inventory(target) == inventory(source)
        results = shown(target)
        assert results == shown(source)
        assert fires_trigger(target) == fires_trigger(source) == "new\\"
    assert results["CALL p()"] == (("C:\\", "D:\\", "it's;"),)
    assert results["CALL q()"] == ((1, "it's;"),)
    assert results["CALL r()"] == (("it's;", "a\\"),)
    assert results["SELECT f()"] == (("x\\;\\",),)
    assert results["files"] == (("a\\b",), ("it's",))


def test_a_mariadb_dump_file_loads_through_our_restore(source: DatabaseURL) -> None:
    dumped = stock_dump(source)
    assert b"SET sql_mode              = 'NO_BACKSLASH_ESCAPES'" in dumped
    with fresh_mysql_database("nbm") as target:
        MySQLEngine(target, DumpOptions()).restore(dumped[i : i + 7] for i in range(0, len(dumped), 7))
        assert inventory(target) == inventory(source)
        assert shown(target) == shown(source)
        assert fires_trigger(target) == "new\\"


def split(sql: bytes, chunk_size: int | None = None, sql_mode: str = "") -> list[bytes]:
    if chunk_size is None:
        return list(split_statements([sql], sql_mode=sql_mode))
    chunks = (sql[i : i + chunk_size] for i in range(0, len(sql), chunk_size))
    return list(split_statements(chunks, sql_mode=sql_mode))


def test_escapes_come_back_with_the_saved_mode() -> None:
    sql = (
        b"/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */;\n"
        b"SELECT 'a\\';b';\n"
        b"/*!50003 SET @saved_sql_mode       = @@sql_mode */ ;\n"
        b"/*!50003 SET sql_mode              = 'NO_BACKSLASH_ESCAPES' */ ;\n"
        b"DELIMITER ;;\nCREATE PROCEDURE p() SELECT 'C:\\' AS path\n;;\nDELIMITER ;\n"
        b"/*!50003 SET sql_mode              = @saved_sql_mode */ ;\n"
        b"INSERT INTO t VALUES ('x\\';y', \"q\\\";r\");\n"
        # the SET itself is parsed in the mode before it
        b"SET SESSION sql_mode='NO_BACKSLASH_ESCAPES', time_zone='+00:00', @x='a\\';b';\n"
        b"SELECT '\\';\n"
        b"SET @@SESSION.sql_mode=@saved_sql_mode;\nSELECT '\\\\';\n"
        b"/*!40101 SET SQL_MODE=@OLD_SQL_MODE */;\nSELECT 'C:\\';\n"  # the session's own mode, below
    )
    expected = [
        b"/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */",
        b"SELECT 'a\\';b'",
        b"/*!50003 SET @saved_sql_mode       = @@sql_mode */",
        b"/*!50003 SET sql_mode              = 'NO_BACKSLASH_ESCAPES' */",
        b"CREATE PROCEDURE p() SELECT 'C:\\' AS path",
        b"/*!50003 SET sql_mode              = @saved_sql_mode */",
        b"INSERT INTO t VALUES ('x\\';y', \"q\\\";r\")",
        b"SET SESSION sql_mode='NO_BACKSLASH_ESCAPES', time_zone='+00:00', @x='a\\';b'",
        b"SELECT '\\'",
        b"SET @@SESSION.sql_mode=@saved_sql_mode",
        b"SELECT '\\\\'",
        b"/*!40101 SET SQL_MODE=@OLD_SQL_MODE */",
        b"SELECT 'C:\\'",
    ]
    for chunk_size in (None, 1, 3, 16):
        assert split(sql, chunk_size, sql_mode="STRICT_TRANS_TABLES,NO_BACKSLASH_ESCAPES") == expected


def test_ansi_quotes_and_forms_that_change_nothing() -> None:
    sql = (
        b"SET sql_mode = 'ANSI';\nSELECT 1 AS \"a\\\";\n"
        b"SET STATEMENT sql_mode='NO_BACKSLASH_ESCAPES' FOR SELECT '\\\\';\n"  # only that one statement
        b"SET GLOBAL sql_mode = 'NO_BACKSLASH_ESCAPES';\nSELECT 'it\\'s';\n"  # not this session's
        b"SET sql_mode = CONCAT(@@sql_mode, ',X');\nSELECT \"b\\\";\n"  # not worked out: unchanged
        b"SET sql_mode = '';\nSELECT \"c\\\";\"\n"
    )
    assert split(sql) == [
        b"SET sql_mode = 'ANSI'",
        b'SELECT 1 AS "a\\"',
        b"SET STATEMENT sql_mode='NO_BACKSLASH_ESCAPES' FOR SELECT '\\\\'",
        b"SET GLOBAL sql_mode = 'NO_BACKSLASH_ESCAPES'",
        b"SELECT 'it\\'s'",
        b"SET sql_mode = CONCAT(@@sql_mode, ',X')",
        b'SELECT "b\\"',
        b"SET sql_mode = ''",
        b'SELECT "c\\";"',
    ]


_COMMON = ["x", " ", "\n", "'a;b'", "'it''s'", '"q;"', "`t;`", "/* c; */", "-- c; 'x\n", "/*!40101 x */"]
_ESCAPING = [*_COMMON, "'\\';'", "'\\\\'", '"\\";"', "'\\''"]
_NOT_ESCAPING = [*_COMMON, "'C:\\'", "'\\'';'", '"D:\\"', "'\\\\'", "'x\\' ';'"]
_ENTER = [
    "SET sql_mode = 'NO_BACKSLASH_ESCAPES'",
    "/*!50003 SET sql_mode              = 'NO_BACKSLASH_ESCAPES' */ ",
    "SET SESSION collation_connection='utf8mb4_bin', sql_mode='STRICT_ALL_TABLES,NO_BACKSLASH_ESCAPES'",
    "SET @@session.sql_mode = \"NO_BACKSLASH_ESCAPES\"",
    "SET LOCAL sql_mode := 'no_backslash_escapes'",
]
_LEAVE = [
    "SET sql_mode = @saved_sql_mode",
    "/*!50003 SET sql_mode              = @saved_sql_mode */ ",
    "SET time_zone=@saved_time_zone, sql_mode=@SAVED_SQL_MODE, sql_notes=@saved_sql_notes",
    "SET @@sql_mode = @saved_sql_mode",
]


@st.composite
def scripts(draw: st.DrawFn) -> tuple[bytes, list[bytes]]:
    """Statements in and out of NO_BACKSLASH_ESCAPES under changing delimiters, and their split."""
    parts: list[str] = []
    expected: list[str] = []
    delimiter, escaping = ";", True

    def statement(text: str) -> None:
        parts.append(text + delimiter + "\n")
        expected.append(text.strip())

    for _ in range(draw(st.integers(1, 10))):
        new = draw(st.sampled_from([";", ";;", "$$"]))
        if new != delimiter:
            parts.append(f"DELIMITER {new}\n")
            delimiter = new
        if draw(st.integers(0, 3)) == 0:
            if escaping:
                statement("/*!50003 SET @saved_sql_mode = @@sql_mode */")
                statement(draw(st.sampled_from(_ENTER)))
            else:
                statement(draw(st.sampled_from(_LEAVE)))
            escaping = not escaping
        atoms = st.sampled_from(_ESCAPING if escaping else _NOT_ESCAPING)
        statement("SELECT " + "".join(draw(st.lists(atoms, max_size=10))))
    return "".join(parts).encode(), [text.encode() for text in expected]


@given(scripts(), st.integers(min_value=1, max_value=40))
def test_any_chunking_follows_the_mode(script: tuple[bytes, list[bytes]], chunk_size: int) -> None:
    sql, expected = script
    assert split(sql) == expected
    assert split(sql, chunk_size) == expected
