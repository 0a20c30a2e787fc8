"""Properties 1 and 11 for MySQL: random schemas and rows dump to a loadable file and restore identically."""

from __future__ import annotations

import datetime
import decimal
import json
from dataclasses import dataclass
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from shared.dburl import DatabaseURL
from shared.engines.base import DumpOptions, DumpReport
from shared.engines.mysql import MySQLEngine
from tests.databases import fresh_mysql_database
from tests.engines.mysql.inventory import connection, inventory, quote, stock_client_load

_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=20) | st.sampled_from(
    ["NULL", "", "a\r\nb", "back\\slash", "it's", '"', "\r", "🙂"]
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=5,
).map(json.dumps)


def _time(seconds: int) -> str:
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    return f"{sign}{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


COLUMN_TYPES: dict[str, st.SearchStrategy[Any]] = {
    "INT": st.integers(-(2**31), 2**31 - 1),
    "BIGINT UNSIGNED": st.integers(0, 2**64 - 1),
    "DECIMAL(24,6)": st.decimals(min_value=-(10**17), max_value=10**17, places=6, allow_nan=False),
    "FLOAT": st.floats(width=32, allow_nan=False, allow_infinity=False),
    "DOUBLE": st.floats(allow_nan=False, allow_infinity=False),
    "VARCHAR(40)": _TEXT,
    "TEXT CHARACTER SET latin1": st.text(
        st.characters(max_codepoint=255, exclude_characters="\x81\x8d\x8f\x90\x9d"), max_size=20
    ),
    "VARBINARY(40)": st.binary(max_size=40),
    "BLOB": st.binary(max_size=200),
    "BINARY(3)": st.binary(min_size=3, max_size=3),
    "BIT(12)": st.integers(0, 4095),
    "DATETIME(6)": st.datetimes(datetime.datetime(1000, 1, 1), datetime.datetime(9999, 12, 31)),
    "DATE": st.dates(datetime.date(1000, 1, 1)) | st.just("0000-00-00"),
    "TIME": st.integers(-(838 * 3600 + 3599), 838 * 3600 + 3599).map(_time),
    "YEAR": st.integers(1901, 2155),
    "ENUM('a','b','c d')": st.sampled_from(["a", "b", "c d"]),
    "SET('x','y','z')": st.sets(st.sampled_from("xyz")).map(",".join),
    "JSON": _JSON,
}
TABLE_NAMES = ["plain", "wé`ird ☃", "select", "with space"]


@dataclass(frozen=True)
class TableSpec:
    name: str
    column_types: list[str]
    rows: list[list[Any]]
    with_objects: bool = False
    """Also a view, a view on that view, a trigger, a function and an event that use the table."""

    def create(self) -> str:
        columns = ", ".join(f"`c{i}` {kind}" for i, kind in enumerate(self.column_types))
        return f"CREATE TABLE {quote(self.name)} (id INT AUTO_INCREMENT PRIMARY KEY, {columns}) "

    def objects(self, number: int) -> list[str]:
        table = quote(self.name)
        return [
            f"CREATE FUNCTION f{number}(x INT) RETURNS INT DETERMINISTIC RETURN x * {number + 2}",
            f"CREATE VIEW v{number} AS SELECT id, f{number}(id) AS scaled, `c0` FROM {table}",
            f"CREATE VIEW `v{number} on view` AS SELECT scaled FROM v{number} WHERE scaled > 1",
            f"CREATE TRIGGER t{number} BEFORE DELETE ON {table} FOR EACH ROW SET @deleted = OLD.id",
            f"CREATE EVENT e{number} ON SCHEDULE EVERY {number + 1} HOUR DISABLE "
            f"DO DELETE FROM {table} WHERE id < 0",
        ]

    def insert(self) -> str:
        names = ", ".join(f"`c{i}`" for i in range(len(self.column_types)))
        marks = ", ".join(["%s"] * len(self.column_types))
        return f"INSERT INTO {quote(self.name)} ({names}) VALUES ({marks})"


@st.composite
def table_specs(draw: st.DrawFn, name: str) -> TableSpec:
    kinds = draw(st.lists(st.sampled_from(list(COLUMN_TYPES)), min_size=1, max_size=6))
    row = st.tuples(*(st.none() | COLUMN_TYPES[kind] for kind in kinds)).map(list)
    return TableSpec(name, kinds, draw(st.lists(row, max_size=6)), draw(st.booleans()))


@st.composite
def schemas(draw: st.DrawFn) -> list[TableSpec]:
    names = draw(st.lists(st.sampled_from(TABLE_NAMES), min_size=1, max_size=3, unique=True))
    return [draw(table_specs(name)) for name in names]


def load(url: DatabaseURL, tables: list[TableSpec]) -> None:
    with connection(url) as conn, conn.cursor() as cursor:
        cursor.execute("SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION', time_zone = '+00:00'")
        for number, table in enumerate(tables):
            cursor.execute(table.create())
            for statement in table.objects(number) if table.with_objects else []:
                cursor.execute(statement)
            for row in table.rows:
                cursor.execute(table.insert(), [_bindable(value) for value in row])
            cursor.execute(f"ALTER TABLE {quote(table.name)} AUTO_INCREMENT = 1000")


def _bindable(value: Any) -> Any:
    return str(value) if isinstance(value, decimal.Decimal) else value


@given(schemas())
def test_property_1_backup_creation_produces_valid_file_mysql(tables: list[TableSpec]) -> None:
    with fresh_mysql_database("p1") as source, fresh_mysql_database("p1s") as target:
        load(source, tables)
        report = DumpReport()
        chunks = list(MySQLEngine(source, DumpOptions()).dump(report))
        data = b"".join(chunks)
        assert all(chunks) and data.endswith(b"-- Dump completed: %d tables\n" % len(tables))
        assert report.tables == {table.name: len(table.rows) for table in tables}
        assert report.server_version
        stock_client_load(target, data)
        assert inventory(target) == inventory(source)


@given(schemas(), st.sampled_from([1, 7, 4096, 1 << 20]))
def test_property_11_restore_round_trip_mysql(tables: list[TableSpec], chunk_size: int) -> None:
    with fresh_mysql_database("p11") as source, fresh_mysql_database("p11r") as target:
        load(source, tables)
        data = b"".join(MySQLEngine(source, DumpOptions()).dump(DumpReport()))
        MySQLEngine(target, DumpOptions()).restore(
            data[i : i + chunk_size] for i in range(0, len(data), chunk_size)
        )
        assert inventory(target) == inventory(source)
