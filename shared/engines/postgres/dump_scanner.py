"""Read a plain-SQL pg_dump stream once, in chunks: count each COPY block's rows, drop the header's rejected
SET lines.

COPY data passes through as slices of the incoming chunks (rows are counted with `bytes.count`, never
split in Python); only the SQL text between COPY blocks is looked at line by line.
"""

from __future__ import annotations

import re

from shared.engines.postgres.header_filter import rejected_by_server

TRAILER = b"-- PostgreSQL database dump complete\n"
_DATA_COMMENT = b"-- Data for Name: "
SECTION_COMMENTS = (b"-- Name: ", _DATA_COMMENT)
"""The comment lines that open each object's part of the dump."""
LARGE_OBJECT_SECTIONS = (b"; Type: BLOBS;", b"; Type: LARGE OBJECTS;", b"; Type: BLOB DATA;")
_COPY_END = b"\n\\."
_IDENTIFIER = rb'"(?:[^"]|"")*"|[^\s."(]+'
_COPY_HEADER = re.compile(
    rb"COPY (" + _IDENTIFIER + rb")(?:\.(" + _IDENTIFIER + rb"))? .*FROM stdin;\r?\n", re.DOTALL
)


class PlainDumpScanner:
    """Feed it the dump's chunks in order; it returns them (adapted) and records what it saw.

    `server_release` drops the header's `SET` lines that a server of that major release rejects (version
    skew). Only the header's: further on, a line is not known to be a statement of its own (it may be a
    line of a function body or of a multi-line string), and pg_dump writes no setting there that the
    server it dumps from does not know.
    """

    def __init__(self, server_release: int) -> None:
        self.rows: dict[str, int] = {}
        self.trailer_seen = False
        self._server_release = server_release
        self._partial_line = bytearray()
        self._copy_table: str | None = None
        self._copy_tail = b""
        self._copy_may_follow = False
        self._copy_header = bytearray()
        self._in_header = True

    @property
    def inside_copy(self) -> bool:
        return self._copy_table is not None

    def feed(self, chunk: bytes) -> bytes:
        out: list[bytes] = []
        position = 0
        while position < len(chunk):
            if self._copy_table is not None:
                position = self._scan_copy_data(chunk, position, out)
            else:
                position = self._scan_sql_text(chunk, position, out)
        return out[0] if len(out) == 1 else b"".join(out)

    def finish(self) -> bytes:
        """The last line when the stream does not end with a newline."""
        if not self._partial_line or self._copy_table is not None:
            return b""
        line = bytes(self._partial_line)
        self._partial_line.clear()
        return line if self._keep(line) else b""

    def _scan_sql_text(self, chunk: bytes, position: int, out: list[bytes]) -> int:
        newline = chunk.find(b"\n", position)
        if newline < 0:
            self._partial_line += chunk[position:]
            return len(chunk)
        line = chunk[position : newline + 1]
        if self._partial_line:
            self._partial_line += line
            line = bytes(self._partial_line)
            self._partial_line.clear()
        if self._keep(line):
            out.append(line)
        return newline + 1

    def _keep(self, line: bytes) -> bool:
        """Note what `line` starts and say whether it stays in the stream."""
        if self._copy_header:
            self._add_to_copy_header(line)
            return True
        if line.startswith(b"--"):
            self._note_comment(line)
            return True
        if line.strip() == b"":
            return True
        copy_may_follow, self._copy_may_follow = self._copy_may_follow, False
        if copy_may_follow and line.startswith(b"COPY "):
            self._add_to_copy_header(line)
            return True
        rejected = self._in_header and line.startswith(b"SET ")
        return not (rejected and rejected_by_server(line, self._server_release))

    def _note_comment(self, line: bytes) -> None:
        if line == TRAILER:
            self.trailer_seen = True
        elif line.startswith(SECTION_COMMENTS):
            self._in_header = False
            self._copy_may_follow = line.startswith(_DATA_COMMENT) and b"; Type: TABLE DATA;" in line

    def _add_to_copy_header(self, line: bytes) -> None:
        """Collect the COPY line; a quoted column name may hold newlines, so it can span several lines."""
        self._copy_header += line
        if self._copy_header.count(b'"') % 2 == 0 and self._copy_header.rstrip().endswith(b" FROM stdin;"):
            header = bytes(self._copy_header)
            self._copy_header.clear()
            self._start_copy(header)

    def _start_copy(self, header: bytes) -> None:
        match = _COPY_HEADER.fullmatch(header)
        if match is None:
            return
        parts = [part for part in match.groups() if part is not None]
        table = ".".join(_unquote(part) for part in parts)
        self._copy_table = table
        self._copy_tail = b"\n"
        self.rows.setdefault(table, 0)

    def _scan_copy_data(self, chunk: bytes, position: int, out: list[bytes]) -> int:
        table = self._copy_table
        assert table is not None
        tail = self._copy_tail
        around_boundary = tail + chunk[position : position + 2]
        found = around_boundary.find(_COPY_END)
        if 0 <= found < len(tail):
            end = position + found + len(_COPY_END) - len(tail)
            out.append(chunk[position:end])
            self._copy_table = None
            return end
        found = chunk.find(_COPY_END, position)
        if found >= 0:
            end = found + len(_COPY_END)
            self.rows[table] += chunk.count(b"\n", position, found + 1)
            out.append(chunk[position:end])
            self._copy_table = None
            return end
        self.rows[table] += chunk.count(b"\n", position)
        out.append(chunk if position == 0 else chunk[position:])
        self._copy_tail = (tail + chunk[position:])[-2:] if len(chunk) - position < 2 else chunk[-2:]
        return len(chunk)


def _unquote(identifier: bytes) -> str:
    text = identifier.decode("utf-8", errors="replace")
    if text.startswith('"') and text.endswith('"'):
        return text[1:-1].replace('""', '"')
    return text
