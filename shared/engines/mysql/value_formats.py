"""SQL expressions that make the server print each column as a ready-to-load SQL literal."""

from __future__ import annotations

import re
from dataclasses import dataclass

HEX_TYPES = frozenset(
    {
        "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob",
        "geometry", "point", "linestring", "polygon", "multipoint", "multilinestring",
        "multipolygon", "geometrycollection",
    }
)  # fmt: skip
NUMBER_TYPES = frozenset(
    {"tinyint", "smallint", "mediumint", "int", "integer", "bigint", "decimal", "numeric", "double", "year"}
)
SINGLE_PRECISION_TYPES = frozenset({"float"})
BIT_TYPES = frozenset({"bit"})
TEMPORAL_TYPES = frozenset({"date", "datetime", "timestamp", "time"})
FLOAT_DIGITS = 9
"""Significant digits that always load back as the same single-precision float."""
SMALLEST_FIXED_POINT_FLOAT = "1e-29"
"""Below this, nine digits of a FLOAT would need more than FORMAT's 38 decimals (one spare for LOG10's
rounding)."""


UNICODE_SAFE_CHARSETS = frozenset(
    {"utf8mb4", "utf8mb3", "utf8", "ascii", "latin1", "ucs2", "utf16", "utf16le", "utf32"}
)
"""Character sets whose every value converts to utf8mb4 and back unchanged. Others may not: sjis 0xF040,
big5 0xF9FE and gbk 0xA140 have no Unicode mapping here and become '?', so such text is dumped as hex
with its character set's introducer (`_sjis 0xF040`), which loads back byte for byte."""
_CHARSET_NAME = re.compile(r"[a-z0-9_]+")
EMPTY_TEXT_LITERAL = "''''''"
"""SQL text for a string holding `''`, the empty value's literal."""


@dataclass(frozen=True)
class Column:
    """One column of a table as information_schema describes it."""

    name: str
    data_type: str
    generated: bool
    charset: str = ""
    """CHARACTER_SET_NAME; empty for columns that have none (numbers, dates, binary strings)."""

    @property
    def text_as_hex(self) -> bool:
        """Text in a character set that may not survive a trip through utf8mb4 (`UNICODE_SAFE_CHARSETS`)."""
        charset = self.charset.lower()
        return bool(_CHARSET_NAME.fullmatch(charset)) and charset not in UNICODE_SAFE_CHARSETS


def quote_identifier(name: str) -> str:
    """Backtick-quote a name, doubling any backtick inside it."""
    return "`" + name.replace("`", "``") + "`"


def quote_string(text: str) -> str:
    """A single-quoted SQL string literal that both sql_mode defaults and the stock client read back."""
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def literal_expression(column: Column) -> str:
    """An expression that yields the column's value as SQL text, `NULL` for NULL; never NULL itself."""
    name = quote_identifier(column.name)
    kind = column.data_type.lower()
    if kind in HEX_TYPES:
        # `0x` alone is not a valid literal, so the empty value is written as ''.
        return f"IF({name} IS NULL,'NULL',IF(OCTET_LENGTH({name})=0,'''''',CONCAT('0x',HEX({name}))))"
    if kind in NUMBER_TYPES:
        return f"IFNULL({name},'NULL')"
    if kind in SINGLE_PRECISION_TYPES:
        return f"IFNULL({single_precision_text(name)},'NULL')"
    if kind in BIT_TYPES:
        return f"IF({name} IS NULL,'NULL',CONCAT('b''',BIN({name}+0),''''))"
    if kind in TEMPORAL_TYPES:
        return f"QUOTE({name})"
    if column.text_as_hex:
        return text_in_hex(column)
    # QUOTE() leaves CR alone, and the stock client turns CRLF inside a literal into LF: escape it.
    return rf"REPLACE(QUOTE(CONVERT({name} USING utf8mb4)),'\r','\\r')"


def text_in_hex(column: Column, empty: str = EMPTY_TEXT_LITERAL) -> str:
    """The text as `_charset 0x…`, its bytes unconverted. `empty` is an SQL expression giving the empty
    value's literal (`''` by default), since `0x` alone is none."""
    name = quote_identifier(column.name)
    introducer = f"_{column.charset.lower()} "
    return (
        f"IF({name} IS NULL,'NULL',IF(OCTET_LENGTH({name})=0,CONCAT('{introducer}',{empty}),"
        f"CONCAT('{introducer}0x',HEX({name}))))"
    )


def single_precision_text(name: str) -> str:
    """A FLOAT as decimal text that loads back as the very same float.

    The FLOAT's own text has 6 significant digits, which load back as a different float; nine always
    identify a single-precision value. FORMAT prints them in fixed point at well under half the server's
    cost of printing the value as a DOUBLE (shortest round-trip digits, up to 17 of them). FORMAT allows
    at most 38 decimals, so tiny values, 0 and -0 are printed as a DOUBLE.
    """
    decimals = f"GREATEST(0,{FLOAT_DIGITS - 1}-FLOOR(LOG10(ABS({name}))))"
    fixed_point = f"REPLACE(FORMAT({name},{decimals},'en_US'),',','')"
    return f"IF(ABS({name})>={SMALLEST_FIXED_POINT_FLOAT},{fixed_point},CAST({name} AS DOUBLE))"


def row_literal(columns: list[Column]) -> str:
    """An expression giving one row as a `(v1,v2,...)` text (NULL when it exceeds max_allowed_packet)."""
    # CONCAT, not CONCAT_WS: a value too large for max_allowed_packet turns NULL, and CONCAT_WS would
    # silently skip it while CONCAT makes the whole row NULL, which the dumper reports.
    if not columns:  # every column is generated: the row is `()`, as in INSERT INTO t () VALUES ()
        return "'()'"
    values = ",',',".join(literal_expression(column) for column in columns)
    return f"CONCAT('(',{values},')')"


def row_select(database: str, table: str, columns: list[Column]) -> str:
    """SELECT returning one `(v1,v2,...)` text per row (NULL when the row exceeds max_allowed_packet)."""
    return f"SELECT {row_literal(columns)} FROM {quote_identifier(database)}.{quote_identifier(table)}"
