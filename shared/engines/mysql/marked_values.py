"""Row literals whose quoting the client finishes: the server marks where each quoted value starts and ends.

`QUOTE()` is the most expensive thing the server does in a dump (it walks every character, and
`REPLACE`/`CONVERT` around it walk them again). Here the server only wraps each string, temporal and
BIT value in a byte 0xFF, which never occurs in UTF-8, and the client escapes the whole batch with a
few `bytes.replace` passes (C loops over ~1 MiB at a time), turning the marks into quotes at the end.
The result is byte for byte what `value_formats.row_literal` (QUOTE) gives.

Text reaches the client as UTF-8: utf8mb4/utf8mb3/ascii columns as stored, other character sets
converted, except those that may not survive that (`Column.text_as_hex`), which are sent as hex. The
server replaces bytes that are not valid in a column's character set on the way in, so a stored text
value cannot hold 0xFF; the batch still carries the number of marks it should have, and a batch whose
count differs is not used (`unmark` returns None).
"""

from __future__ import annotations

from shared.engines.mysql.value_formats import (
    BIT_TYPES,
    HEX_TYPES,
    NUMBER_TYPES,
    SINGLE_PRECISION_TYPES,
    TEMPORAL_TYPES,
    Column,
    literal_expression,
    quote_identifier,
    text_in_hex,
)

MARK = b"\xff"
_MARK_SQL = "X'FF'"
"""A binary string (a quoted '\xff' would be read as invalid utf8mb4 text). A literal, unlike CHAR(255),
which the server calls again for every value (~8% of its time on a text-heavy table)."""
UTF8_CHARSETS = frozenset({"utf8mb4", "utf8mb3", "utf8", "ascii"})

# In this order: the backslash first, the marks last. The same escapes as QUOTE(), plus CR, which the
# stock client would otherwise turn into LF inside a literal.
_ESCAPES = (
    (b"\\", b"\\\\"),
    (b"'", b"\\'"),
    (b"\x00", b"\\0"),
    (b"\x1a", b"\\Z"),
    (b"\r", b"\\r"),
    (MARK, b"'"),
)


def _marked(expression: str) -> str:
    # Every marked value is a binary string, or CONCAT may convert the marks into the value's (or a
    # neighbouring value's) character set: '?'. Which operand wins depends on the whole row's types.
    return f"IFNULL(CONCAT({_MARK_SQL},CAST({expression} AS BINARY),{_MARK_SQL}),'NULL')"


def marked_expression(column: Column) -> str:
    """The column's value as SQL text, its quoting left to `unmark`; `NULL` for NULL, never NULL itself."""
    name = quote_identifier(column.name)
    kind = column.data_type.lower()
    if kind in HEX_TYPES:
        # `0x` alone is not a valid literal: the empty value is written as '' (two marks).
        return (
            f"IF({name} IS NULL,'NULL',IF(OCTET_LENGTH({name})=0,"
            f"CAST(CONCAT({_MARK_SQL},{_MARK_SQL}) AS BINARY),CONCAT('0x',HEX({name}))))"
        )
    if kind in NUMBER_TYPES or kind in SINGLE_PRECISION_TYPES:
        return literal_expression(column)  # numbers have no quotes to mark
    if kind in BIT_TYPES:
        return f"IF({name} IS NULL,'NULL',CONCAT('b',{_MARK_SQL},CAST(BIN({name}+0) AS BINARY),{_MARK_SQL}))"
    if column.text_as_hex and kind not in TEMPORAL_TYPES:
        return text_in_hex(column, empty=f"CAST(CONCAT({_MARK_SQL},{_MARK_SQL}) AS BINARY)")
    if kind in TEMPORAL_TYPES or column.charset.lower() in UTF8_CHARSETS:
        return _marked(name)
    return _marked(f"CONVERT({name} USING utf8mb4)")


def mark_pair_count(column: Column) -> str | None:
    """An aggregate counting the batch's rows whose literal of this column is wrapped in a pair of marks.

    None if it never is. `COUNT(col)`, not `SUM(col IS NOT NULL)`, which took ~9% more of the server's
    time for a whole batch query on the benchmark's tables.
    """
    name = quote_identifier(column.name)
    kind = column.data_type.lower()
    if kind in HEX_TYPES or (column.text_as_hex and kind not in TEMPORAL_TYPES):
        return f"COUNT(IF(OCTET_LENGTH({name})=0,1,NULL))"
    if kind in NUMBER_TYPES or kind in SINGLE_PRECISION_TYPES:
        return None
    return f"COUNT({name})"


def marked_row_literal(columns: list[Column]) -> str:
    """One row as `(v1,v2,...)` with marks for quotes (NULL when it exceeds max_allowed_packet).

    Read it through `CAST(... AS BINARY)`, or the server converts the marks into text ('?').
    """
    if not columns:  # every column is generated
        return "'()'"
    values = ",',',".join(marked_expression(column) for column in columns)
    return f"CONCAT('(',{values},')')"


def marked_pairs_count(columns: list[Column]) -> str:
    """An aggregate: how many values of a batch's rows are wrapped in a pair of marks, to check it by."""
    counts = [count for column in columns if (count := mark_pair_count(column)) is not None]
    return "+".join(counts) if counts else "0"


def unmark(values: bytes, pairs: int) -> bytes | None:
    """Escape the marked text and turn its marks into quotes; None if it holds other than `pairs` pairs."""
    if values.count(MARK) != 2 * pairs:
        return None
    for plain, escaped in _ESCAPES:
        if plain in values:
            values = values.replace(plain, escaped)
    return values
