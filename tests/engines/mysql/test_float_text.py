"""FLOAT values come back as the very same single-precision floats, in batches and row by row."""

from __future__ import annotations

import math
import random
import struct

from hypothesis import given
from hypothesis import strategies as st

from shared.dburl import DatabaseURL
from shared.engines.base import DumpOptions, DumpReport
from shared.engines.mysql import MySQLEngine
from tests.databases import fresh_mysql_database
from tests.engines.mysql.inventory import connection, stock_client_load


def single(value: float) -> float:
    """The float32 nearest to `value`, as the exact Python float."""
    result: float = struct.unpack("<f", struct.pack("<f", value))[0]
    return result


def from_bits(bits: int) -> float:
    result: float = struct.unpack("<f", struct.pack("<I", bits))[0]
    return result


def just_below(value: float) -> float:
    """The largest float32 under the positive float32 nearest to `value`."""
    (bits,) = struct.unpack("<I", struct.pack("<f", value))
    return from_bits(bits - 1)


EDGES = [
    0.0, -0.0, from_bits(1), -from_bits(1), from_bits(0x007FFFFF), from_bits(0x00800000),
    single(3.4028235e38), -single(3.4028235e38), single(1e-29), just_below(1e-29),
    single(1 / 3), single(0.1), single(9.9999994e8), single(1e9), single(999999.94), single(1e-7),
    single(16777216.0), single(123456.789), single(-2.5e-12), single(7.0e30), single(0.999999940),
]  # fmt: skip
_FINITE_SINGLES = st.integers(0, 2**32 - 1).map(from_bits).filter(math.isfinite)


def load_floats(url: DatabaseURL, values: list[float]) -> None:
    """The values in a table read in key-range batches (`keyed`) and one read row by row (`unkeyed`)."""
    with connection(url) as conn, conn.cursor() as cursor:
        cursor.execute("CREATE TABLE keyed (id INT PRIMARY KEY, x FLOAT, y FLOAT NOT NULL)")
        cursor.execute("CREATE TABLE unkeyed (x FLOAT)")
        rows = [(number, value, value) for number, value in enumerate(values)]
        cursor.executemany("INSERT INTO keyed VALUES (%s, %s, %s)", rows)
        cursor.executemany("INSERT INTO unkeyed VALUES (%s)", [(value,) for value in values])
        cursor.execute("INSERT INTO keyed VALUES (-1, NULL, 0)")
        cursor.execute("INSERT INTO unkeyed VALUES (NULL)")


def stored(url: DatabaseURL) -> dict[str, list[bytes | None]]:
    """Each table's FLOATs, as the bytes of their exact doubles (so 0 and -0 differ); `unkeyed` sorted by
    those bytes, as SQL would order 0 and -0 either way."""
    found: dict[str, list[bytes | None]] = {}
    with connection(url) as conn, conn.cursor() as cursor:
        for query, name in (
            ("SELECT CAST(x AS DOUBLE), CAST(y AS DOUBLE) FROM keyed ORDER BY id", "keyed"),
            ("SELECT CAST(x AS DOUBLE) FROM unkeyed", "unkeyed"),
        ):
            cursor.execute(query)
            found[name] = [
                None if value is None else struct.pack("<d", value)
                for row in cursor.fetchall()
                for value in row
            ]
    found["unkeyed"].sort(key=lambda value: (value is not None, value or b""))
    return found


def dumped(url: DatabaseURL) -> bytes:
    return b"".join(MySQLEngine(url, DumpOptions()).dump(DumpReport()))


def test_every_kind_of_float_comes_back_identical_through_our_restore_and_the_stock_client() -> None:
    generator = random.Random(20261202)
    values = EDGES + [from_bits(generator.getrandbits(32)) for _ in range(5000)]
    values = [value for value in values if math.isfinite(value)]
    with (
        fresh_mysql_database("fl") as source,
        fresh_mysql_database("fo") as ours,
        fresh_mysql_database("fs") as stock,
    ):
        load_floats(source, values)
        expected = stored(source)
        assert len(expected["keyed"]) == 2 * len(values) + 2
        data = dumped(source)
        MySQLEngine(ours, DumpOptions()).restore([data])
        stock_client_load(stock, data)
        assert stored(ours) == expected
        assert stored(stock) == expected


def test_a_float_is_written_with_nine_significant_digits() -> None:
    with fresh_mysql_database("fd") as source:
        load_floats(source, [single(0.1), single(-123456.789), single(3.0e-20)])
        data = dumped(source)
    assert b"(0,0.100000001,0.100000001)" in data
    assert b"(1,-123456.789,-123456.789)" in data
    assert b"(2,0.0000000000000000000299999990,0.0000000000000000000299999990)" in data
    assert b"(-1,NULL,0)" in data


@given(st.lists(_FINITE_SINGLES, min_size=1, max_size=40))
def test_random_single_precision_floats_round_trip(values: list[float]) -> None:
    with fresh_mysql_database("fh") as source, fresh_mysql_database("fr") as target:
        load_floats(source, values)
        MySQLEngine(target, DumpOptions()).restore([dumped(source)])
        assert stored(target) == stored(source)
