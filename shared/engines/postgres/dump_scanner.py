"""Read a plain-SQL pg_dump stream once, in chunks, as the backup passes it on: drop the header's `SET`
lines the server rejects, count each COPY block's rows, and find out whether our restore could read it.

Past the header the chunks pass through unchanged. They are also read by the restore's own `DumpSplitter`
(statements by the SQL lexer, COPY data by `bytes.find`), so text inside a function body or a string that
reads like a COPY block or the trailer is taken for what it is, and a backup our restore would refuse
(cut short, or holding what only psql could follow) fails now, not when it is needed.
"""

from __future__ import annotations

import re

from shared.engines.postgres.dump_comments import SECTION_COMMENTS, TRAILER
from shared.engines.postgres.dump_splitter import CopyRows, CopyStart, DumpSplitter
from shared.engines.postgres.header_filter import rejected_by_server
from shared.errors import RestoreError

_IDENTIFIER = rb'"(?:[^"]|"")*"|[^\s."(]+'
_COPY_TABLE = re.compile(rb"COPY\s+(" + _IDENTIFIER + rb")(?:\.(" + _IDENTIFIER + rb"))?", re.DOTALL)


class PlainDumpScanner:
    """Feed it the dump's chunks in order; it returns them (adapted) and records what it saw.

    `server_release` drops the header's `SET` lines that a server of that major release rejects (version
    skew). Only the header's: the header ends at the first object's comment, before any body or string,
    and further on pg_dump writes no setting that the server it dumps from does not know.
    `addition` (SQL) goes in after the header's settings, before the first object's comment block (or
    the trailer's, in the dump of an empty database).
    `unreadable` says why the restore would refuse what was fed, once it does (`finish` tells the rest).
    """

    def __init__(self, server_release: int, addition: bytes = b"") -> None:
        self.rows: dict[str, int] = {}
        self.unreadable: str | None = None
        self._server_release = server_release
        self._addition = addition
        self._in_header = True
        self._partial_line = bytearray()
        self._held_rule = b""
        self._reader: DumpSplitter | None = DumpSplitter(server_release, count_rows=True)
        self._table = ""

    def feed(self, chunk: bytes) -> bytes:
        adapted = self._filter_header(chunk) if self._in_header else chunk
        if adapted and self._reader is not None:
            self._read(adapted, final=False)
        return adapted

    def finish(self) -> bytes:
        """The header's last line when the stream ends without a newline; `unreadable` is final now."""
        line = bytes(self._partial_line)
        self._partial_line.clear()
        last = self._held_rule + (line if line and self._keep(line) else b"")
        self._held_rule = b""
        if last and self._reader is not None:
            self._read(last, final=False)
        if self._reader is not None:
            self._read(b"", final=True)
        return last

    def _filter_header(self, chunk: bytes) -> bytes:
        out: list[bytes] = []
        position = 0
        while self._in_header:
            newline = chunk.find(b"\n", position)
            if newline < 0:
                self._partial_line += chunk[position:]
                return b"".join(out)
            line = chunk[position : newline + 1]
            if self._partial_line:
                self._partial_line += line
                line = bytes(self._partial_line)
                self._partial_line.clear()
            self._pass_header_line(line, out)
            position = newline + 1
        out.append(chunk[position:])
        return b"".join(out)

    def _pass_header_line(self, line: bytes, out: list[bytes]) -> None:
        """Append `line` to `out` unless the server rejects it; a `--` line waits for the next, since the
        addition goes in before the `--` that opens the first comment block."""
        if line.rstrip(b"\r\n") == b"--" and self._addition:
            out.append(self._held_rule)
            self._held_rule = line
            return
        if self._addition and (line.startswith(SECTION_COMMENTS) or line == TRAILER):
            out.append(self._addition)
            self._addition = b""
        out.append(self._held_rule)
        self._held_rule = b""
        if self._keep(line):
            out.append(line)

    def _keep(self, line: bytes) -> bool:
        if line.startswith(SECTION_COMMENTS):
            self._in_header = False
            return True
        return not (line.startswith(b"SET ") and rejected_by_server(line, self._server_release))

    def _read(self, data: bytes, *, final: bool) -> None:
        assert self._reader is not None
        try:
            pieces = self._reader.finish() if final else self._reader.feed(data)
        except RestoreError as error:
            self.unreadable = str(error)
            self._reader = None
            return
        for piece in pieces:
            if isinstance(piece, CopyRows):
                self.rows[self._table] += piece.rows
            elif isinstance(piece, CopyStart):
                self._table = _table_key(piece.statement)
                self.rows.setdefault(self._table, 0)


def _table_key(copy_statement: bytes) -> str:
    """`schema.table`; a part holding a dot or a quote is double-quoted, so no two tables share a key."""
    match = _COPY_TABLE.match(copy_statement)
    if match is None:
        return copy_statement.decode("utf-8", errors="replace")
    return ".".join(_name(part) for part in match.groups() if part is not None)


def _name(identifier: bytes) -> str:
    text = identifier.decode("utf-8", errors="replace")
    if not (text.startswith('"') and text.endswith('"')):
        return text
    unquoted = text[1:-1].replace('""', '"')
    return text if "." in unquoted or '"' in unquoted else unquoted
