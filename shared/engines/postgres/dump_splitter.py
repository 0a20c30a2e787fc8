"""Cut a plain-SQL pg_dump stream into what a restore sends: batches of statements, and COPY blocks.

Statements (found by `sql_lexer`) go out in batches of about 1 MiB, so memory stays flat however long
the schema or large-object part is. COPY data passes through as views of the incoming chunks up to its
`\\.` line, found with `bytes.find`. Adapted as the restore needs: `SET` statements the server would
reject (version skew), the header's `SET lock_timeout = 0` (the restore keeps its own limit on lock
waits) and the BEGIN/COMMIT pg_dump writes around large objects are dropped, psql's
`\\restrict`/`\\unrestrict` lines are skipped, and anything else that only psql could follow is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared.engines.postgres.dump_comments import LARGE_OBJECT_SECTIONS, SECTION_COMMENTS, TRAILER
from shared.engines.postgres.header_filter import rejected_by_server
from shared.engines.postgres.sql_lexer import NEWLINE, StatementLexer, Stop
from shared.errors import RestoreError

BATCH_BYTES = 1 << 20
BATCH_STATEMENTS = 200
"""At most this many statements per batch, so a restore can count its locks between batches (`lock_steps`)."""
_BACKSLASH = 0x5C
_END_OF_DATA = b"\\."
_COPY_FROM_STDIN = re.compile(rb"COPY\s.*\sFROM\s+STDIN\b", re.IGNORECASE | re.DOTALL)
_TRANSACTION_CONTROL = re.compile(
    rb"(?:BEGIN|START\s+TRANSACTION|COMMIT|END|ROLLBACK|ABORT|PREPARE\s+TRANSACTION)\b", re.IGNORECASE
)
_LARGE_OBJECT_TRANSACTION = (b"BEGIN;", b"COMMIT;")
_LARGE_OBJECT_OPEN = b"SELECT pg_catalog.lo_open("
_LARGE_OBJECT_CLOSE = b"SELECT pg_catalog.lo_close("
_STRING_STYLE = re.compile(
    rb"(?:SET\s+(?:SESSION\s+|LOCAL\s+)?standard_conforming_strings\s*(?:=|TO)\s*'?(\w+)'?"
    rb"|RESET\s+standard_conforming_strings)\s*;",
    re.IGNORECASE,
)
_META_COMMAND = re.compile(rb"\\([A-Za-z]*)")
_SKIPPED_META_COMMANDS = (b"restrict", b"unrestrict")
_LINE_BLANKS = frozenset(b" \t\r\f\v")


@dataclass(frozen=True, slots=True)
class Statements:
    """Complete statements, run together with the simple query protocol."""

    sql: bytes
    may_end_transaction: bool = True
    """False when the batch ends with a large object open (`lo_open` without its `lo_close`): its descriptor
    lives only as long as the transaction."""


@dataclass(frozen=True, slots=True)
class CopyStart:
    """A `COPY ... FROM stdin;` statement: CopyRows follow, then CopyEnd."""

    statement: bytes


@dataclass(frozen=True, slots=True)
class CopyRows:
    data: memoryview
    rows: int = 0
    """The rows that end in `data`: counted only for a splitter made with `count_rows`."""


@dataclass(frozen=True, slots=True)
class CopyEnd:
    pass


Piece = Statements | CopyStart | CopyRows | CopyEnd
COPY_END = CopyEnd()


class DumpSplitter:
    """Feed it the dump's chunks in order; each call returns the pieces that are complete so far.

    `server_release` drops `SET` statements a server of that major release rejects; `standard_strings` is
    the server's `standard_conforming_strings` before the dump changes it. `finish` raises `RestoreError`
    unless the dump ended complete: outside COPY data and any statement, after pg_dump's trailer.
    `count_rows` fills `CopyRows.rows`, for a reader that records them (the backup's `dump_scanner`).
    """

    def __init__(
        self,
        server_release: int,
        *,
        standard_strings: bool = True,
        batch_bytes: int = BATCH_BYTES,
        count_rows: bool = False,
    ) -> None:
        self.trailer_seen = False
        self._count_rows = count_rows
        self._server_release = server_release
        self._batch_bytes = batch_bytes
        self._lexer = StatementLexer(self._note_comment, standard_strings=standard_strings)
        self._in_large_objects = False
        self._large_object_open = False
        self._in_copy = False
        self._copy_at_line_start = True
        self._held = b""
        """The tail that needs the next chunk: an unfinished statement, or a possibly split `\\.` line."""
        self._waiting: list[bytes] = []
        self._waiting_bytes = 0
        self._before = NEWLINE
        """The byte before `_held`, or before the next chunk when nothing is held."""
        self._batch: list[bytes] = []
        self._batch_size = 0
        self._out: list[Piece] = []

    def feed(self, chunk: bytes) -> list[Piece]:
        if not chunk:
            return []
        if self._held:
            self._waiting.append(chunk)
            self._waiting_bytes += len(chunk)
            if self._waiting_bytes < len(self._held):
                return []  # a very long statement is scanned again only once its bytes have doubled
            chunk = self._take_held()
        self._scan(chunk, final=False)
        return self._take_output()

    def finish(self) -> list[Piece]:
        self._scan(self._take_held(), final=True)
        if self._in_copy:
            raise _incomplete("it ends inside the data of a COPY block")
        if not self.trailer_seen:
            raise _incomplete("no 'dump complete' trailer")
        self._flush()
        return self._take_output()

    def _take_held(self) -> bytes:
        text = b"".join([self._held, *self._waiting])
        self._held = b""
        self._waiting.clear()
        self._waiting_bytes = 0
        return text

    def _take_output(self) -> list[Piece]:
        out, self._out = self._out, []
        return out

    def _scan(self, text: bytes, *, final: bool) -> None:
        before = self._before
        position: int | None = 0
        while position is not None:
            if self._in_copy:
                position = self._copy_data(text, position, final, before)
            else:
                position = self._statements(text, position, final, before)
        if not self._held and text:
            self._before = text[-1]

    def _hold(self, text: bytes, start: int, before: int) -> None:
        self._held = text[start:]
        self._before = text[start - 1] if start > 0 else before

    def _statements(self, text: bytes, position: int, final: bool, before: int) -> int | None:
        """Collect statements from `position`; the position where COPY data starts, or None at the end."""
        lexer = self._lexer
        while True:
            stop, at = lexer.scan(text, position, final, before)
            if stop is Stop.END:
                start = lexer.statement_start
                lexer.reset()
                after = self._statement(text, start, at, final)
                if after is None:
                    self._hold(text, start, before)
                    return None
                if self._in_copy:
                    return after
                position = after
            elif stop is Stop.META:
                after = self._meta_command(text, at, final, before)
                if after is None:
                    return None
                position = after
            elif stop is Stop.MORE:
                lexer.reset()
                self._hold(text, at, before)
                return None
            elif stop is Stop.DONE:
                return None
            else:
                raise _incomplete("it ends inside a statement, a quoted text or a comment")

    def _statement(self, text: bytes, start: int, end: int, final: bool) -> int | None:
        """Take the statement `text[start:end]`; where reading goes on, or None to wait for more bytes."""
        statement = text[start:end]
        if _COPY_FROM_STDIN.match(statement):
            newline = text.find(b"\n", end)
            if newline < 0:
                if final:
                    raise _incomplete("it ends right after a COPY statement")
                return None
            if text[end:newline].strip():
                raise RestoreError(f"Unexpected text after {_preview(statement)} on the same line.")
            self._flush()
            self._out.append(CopyStart(statement))
            self._in_copy = True
            self._copy_at_line_start = True
            return newline + 1
        if self._dropped(statement):
            return end
        self._batch.append(statement)
        self._batch_size += len(statement)
        if statement.startswith(_LARGE_OBJECT_OPEN):
            self._large_object_open = True
        elif statement.startswith(_LARGE_OBJECT_CLOSE):
            self._large_object_open = False
        string_style = _STRING_STYLE.match(statement)
        if string_style is not None:
            # The server parses a whole batch before running it: what follows must go in a new one.
            value = (string_style.group(1) or b"default").lower()
            self._lexer.standard_strings = value not in (b"off", b"false", b"no", b"0")
            self._flush()
        elif self._batch_size >= self._batch_bytes or len(self._batch) >= BATCH_STATEMENTS:
            self._flush()
        return end

    def _dropped(self, statement: bytes) -> bool:
        if statement == b";":
            return True
        if statement.startswith(b"SET ") and rejected_by_server(statement, self._server_release):
            return True
        if statement.startswith(b"SET lock_timeout "):  # pg_dump's 0 would undo the restore's own limit
            return True
        if _TRANSACTION_CONTROL.match(statement):
            if self._in_large_objects and statement in _LARGE_OBJECT_TRANSACTION:
                return True
            raise RestoreError(
                f"The dump controls transactions itself ({_preview(statement)}), which would commit part of "
                "the restore; a plain pg_dump of one database does so only around large objects."
            )
        return False

    def _meta_command(self, text: bytes, at: int, final: bool, before: int) -> int | None:
        """Skip a `\\restrict`/`\\unrestrict` line; refuse any other psql command."""
        line_start = text.rfind(b"\n", 0, at) + 1
        at_line_start = all(byte in _LINE_BLANKS for byte in text[line_start:at]) and (
            line_start > 0 or before == NEWLINE
        )
        if self._lexer.in_statement or not at_line_start:
            raise RestoreError(
                "The dump holds a backslash outside quotes in the middle of a line or statement, near "
                f"{_preview(text[line_start : at + 40])}; it is not a plain SQL dump that pg_dump wrote."
            )
        newline = text.find(b"\n", at)
        if newline < 0 and not final:
            self._hold(text, line_start, before)
            return None
        command = _META_COMMAND.match(text, at)
        assert command is not None
        # A last line cut short inside `\restrict` is left to the completeness check.
        cut_short = newline < 0 and any(name.startswith(command.group(1)) for name in _SKIPPED_META_COMMANDS)
        if command.group(1) not in _SKIPPED_META_COMMANDS and not cut_short:
            raise RestoreError(
                f"The dump holds the psql command \\{command.group(1).decode('ascii')}, which only psql can "
                "follow (a dump made with --create, or by pg_dumpall?). Restore a plain dump of one database."
            )
        return len(text) if newline < 0 else newline + 1

    def _copy_data(self, text: bytes, position: int, final: bool, before: int) -> int | None:
        """Pass COPY data on up to its `\\.` line; where the SQL after it starts, or None at the end."""
        if self._copy_at_line_start and text.startswith(_END_OF_DATA, position):
            marker = position
        else:
            found = text.find(b"\n" + _END_OF_DATA, position)
            marker = found + 1 if found >= 0 else -1
        if marker < 0:
            self._pass_data(text, position, final, before)
            return None
        if marker > position:
            self._pass_rows(text, position, marker)
        after = marker + len(_END_OF_DATA)
        rest = text[after : after + 2]
        if rest.startswith(b"\n") or rest == b"\r\n":
            end = after + (1 if rest.startswith(b"\n") else 2)
        elif final and not rest:
            end = after
        elif not final and rest in (b"", b"\r"):
            self._copy_at_line_start = True
            self._hold(text, marker, before)
            return None
        else:
            raise RestoreError(
                f"A COPY block's end line is not '\\.' alone: {_preview(text[marker : marker + 40])}"
            )
        self._out.append(COPY_END)
        self._in_copy = False
        return end

    def _pass_data(self, text: bytes, position: int, final: bool, before: int) -> None:
        """All of `text` from `position` is data, but for a last backslash that may start `\\.`."""
        end = len(text)
        last_starts_a_line = end - 1 > position and text[end - 2] == NEWLINE
        if (
            not final
            and end > position
            and text[end - 1] == _BACKSLASH
            and (last_starts_a_line or (end - 1 == position and self._copy_at_line_start))
        ):
            end -= 1
        if end > position:
            self._pass_rows(text, position, end)
            self._copy_at_line_start = text[end - 1] == NEWLINE
        if end < len(text):
            self._hold(text, end, before)

    def _pass_rows(self, text: bytes, start: int, end: int) -> None:
        rows = text.count(b"\n", start, end) if self._count_rows else 0
        self._out.append(CopyRows(memoryview(text)[start:end], rows))

    def _flush(self) -> None:
        if self._batch:
            self._out.append(Statements(b"\n".join(self._batch), not self._large_object_open))
            self._batch.clear()
            self._batch_size = 0

    def _note_comment(self, line: bytes) -> None:
        if line == TRAILER:
            self.trailer_seen = True
        elif line.startswith(SECTION_COMMENTS):
            self._in_large_objects = any(marker in line for marker in LARGE_OBJECT_SECTIONS)


def _incomplete(why: str) -> RestoreError:
    return RestoreError(f"the dump is incomplete ({why})")


def _preview(text: bytes, limit: int = 80) -> str:
    shown = text.decode("utf-8", "replace").strip()
    return repr(shown if len(shown) <= limit else shown[:limit] + "…")
