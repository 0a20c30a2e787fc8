"""Read a table with a one-column integer primary key in batches the server joins into one value list each.

One result row per batch instead of one per table row, so the client decodes a few large packets
instead of one per row. A batch is a key range `start <= key < start + width`, read inside the dump's
snapshot as `SELECT COUNT(*), GROUP_CONCAT(<row literal> SEPARATOR ',')`; the ranges tile the keys from
MIN to MAX (the last one open-ended), an empty range jumps to the next existing key, and the width
adapts to the rows per key and bytes per row seen. (Finding each range's end with
`ORDER BY key LIMIT 1 OFFSET N-1` read every page twice: ~1 s more server time per 300 MB.)
Values come marked, not quoted (`marked_values.py`); escaping lengthens the text, so a batch that
comes out longer than the budget is cut down like one GROUP_CONCAT cut.
No ORDER BY inside GROUP_CONCAT: it costs the server a sort, and the order of rows within one INSERT
does not matter (the primary-key range scan gives key order anyway).

GROUP_CONCAT cuts a result longer than group_concat_max_len with nothing but a warning, so every
warning is looked at: a cut batch is asked again with fewer rows; a single row too long for a batch,
and any other warning (a row over max_allowed_packet turns NULL and GROUP_CONCAT skips it), send
that key range through the per-row reader, which writes or rejects each row itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from shared.engines.mysql.marked_values import marked_pairs_count, marked_row_literal, unmark
from shared.engines.mysql.schema import Table
from shared.engines.mysql.value_formats import quote_identifier, row_literal

CUT_BY_GROUP_CONCAT = 1260
FIRST_BATCH_ROWS = 256
"""Key width of the first range; later widths follow the rows per key and bytes per row seen so far."""
MAX_BATCH_ROWS = 50_000
GROWTH = 4
"""At most this factor of width growth per batch, so a sudden run of denser keys costs little to cut back."""
FILL = 0.7
"""Share of the byte budget a batch aims at, so rows of varying size rarely overflow it."""

RowReader = Callable[[str, tuple[object, ...]], Iterator[bytes]]
"""Streams the row literals of a `SELECT <row literal> FROM ...` (SQL, arguments), one per row."""


KeySpan = tuple[int, int | None]
"""Keys `start <= key < stop`; no upper bound when stop is None."""


@dataclass
class BatchWidth:
    """The key width for the next batch, learnt from the batches read so far (shared by a table's readers)."""

    keys: int = FIRST_BATCH_ROWS


def batched_values(
    cursor: Any,
    database: str,
    table: Table,
    key: str,
    budget: int,
    read_rows: RowReader,
    span: KeySpan | None = None,
    learnt: BatchWidth | None = None,
) -> Iterator[tuple[bytes, int]]:
    """`(values, rows)` pieces by ascending key range; `values` (`(..),(..)`) fit `budget` unless one row.

    All the table's rows, or those whose key lies in `span`.
    """
    source = f"{quote_identifier(database)}.{quote_identifier(table.name)}"
    quoted_key = quote_identifier(key)
    literal = row_literal(table.insertable_columns)
    marked = marked_row_literal(table.insertable_columns)
    pairs = marked_pairs_count(table.insertable_columns)
    cursor.execute(f"SET SESSION group_concat_max_len = {int(budget)}")
    stop = span[1] if span else None
    within = _span_condition(quoted_key, span)
    cursor.execute(f"SELECT MIN({quoted_key}), MAX({quoted_key}) FROM {source}{within}")
    lowest, highest = cursor.fetchone()
    if lowest is None:
        return
    start, highest = int(lowest), int(highest)
    learnt = learnt or BatchWidth()
    width = learnt.keys
    while True:
        end = start + width
        # The last range ends where the span does (open without one), so no key argument ever falls
        # outside the column's type.
        upper = stop if end > highest else end
        where = _span_condition(quoted_key, (start, upper))
        cursor.execute(
            f"SELECT COUNT(*), GROUP_CONCAT(CAST({marked} AS BINARY) SEPARATOR ','), "
            f"CAST({pairs} AS SIGNED) FROM {source}{where}"
        )
        count, values, marked_pairs = cursor.fetchone()
        count = int(count)
        warnings = _warning_codes(cursor) if cursor.warning_count else set()
        # A cut value would not end with a row's `)`: a second guard beside the warning.
        complete = not warnings and isinstance(values, bytes | bytearray) and values.endswith(b")")
        escaped = unmark(bytes(values), int(marked_pairs)) if count and complete else None
        # Escaping makes the text longer than GROUP_CONCAT measured it: too long counts as cut too.
        too_long = escaped is not None and len(escaped) > budget
        if escaped is not None and not too_long:
            yield escaped, count
            rows_per_key = count / width
            rows_wanted = min(MAX_BATCH_ROWS, budget * FILL * count / max(len(escaped), 1))
            width = max(1, min(width * GROWTH, int(rows_wanted / rows_per_key)))
            learnt.keys = width
        elif count > 1 and (too_long or warnings == {CUT_BY_GROUP_CONCAT}):
            width = max(1, width // 2)
            continue
        elif count:
            for value in read_rows(f"SELECT {literal} FROM {source}{where} ORDER BY {quoted_key}", ()):
                yield value, 1
        if end > highest:
            return
        if count == 0:  # a gap in the keys: continue at the next key there is
            beyond = _span_condition(quoted_key, (end, stop))
            cursor.execute(f"SELECT MIN({quoted_key}) FROM {source}{beyond}")
            (following,) = cursor.fetchone()
            if following is None:
                return
            end = int(following)
        start = end


def _warning_codes(cursor: Any) -> set[int]:
    counted = int(cursor.warning_count)
    cursor.execute("SHOW WARNINGS")
    listed = cursor.fetchall()
    codes = {int(row[1]) for row in listed}
    return codes | {0} if len(listed) < counted else codes  # 0: some warnings were not listed


def _span_condition(quoted_key: str, span: KeySpan | None) -> str:
    """The keys are integers, written into the SQL: with parameters, PyMySQL would read every `%` of the
    quoted names around them (a table `p%%`, a column `50%off`) as a placeholder."""
    if span is None:
        return ""
    start, stop = span
    if stop is None:
        return f" WHERE {quoted_key} >= {int(start)}"
    return f" WHERE {quoted_key} >= {int(start)} AND {quoted_key} < {int(stop)}"
