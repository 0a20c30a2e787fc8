"""Whether an imported dump's SQL ends with its dump tool's "completed" trailer, seen in a small tail.

A dump cut short (a copy that stopped, a full disk, a killed dump) is still valid SQL up to the cut and
says nothing about it. What every complete dump has is its last comment: `-- Dump completed on DATE`
(mariadb-dump/mysqldump; `-- Dump completed` with --skip-dump-date), `-- Dump completed: N tables` (this
tool's MySQL dumps) and `-- PostgreSQL database dump complete` (pg_dump's plain format, which newer
releases follow with a `\\unrestrict KEY` line).
"""

from __future__ import annotations

from shared.engines.postgres.dump_comments import TRAILER as POSTGRES_TRAILER
from shared.errors import InvalidInputError

MYSQL_TRAILER_PREFIX = b"-- Dump completed"
_POSTGRES_TRAILER_LINE = POSTGRES_TRAILER.rstrip(b"\n")
_TAIL_BYTES = 4096
_WHITESPACE = b" \t\r\n\f\v"
_WHAT_TO_DO = "Nothing was stored; import a complete copy of the file, or take the dump again"


class TrailerCheck:
    """Feed it the dump's SQL (decompressed) in order; `verify` then raises unless it ended complete.

    Only the last `_TAIL_BYTES` before the trailing whitespace are kept, however large the file."""

    def __init__(self, engine: str) -> None:
        self._engine = engine
        self._tail = b""
        """The last bytes up to the last non-whitespace byte seen."""
        self._whitespace = b""
        """The whitespace after `_tail` so far (only its last `_TAIL_BYTES` are kept)."""

    def feed(self, chunk: bytes) -> None:
        content = len(chunk.rstrip(_WHITESPACE))
        if content == 0:
            self._whitespace = (self._whitespace + chunk)[-_TAIL_BYTES:]
            return
        if content >= _TAIL_BYTES:
            self._tail = chunk[content - _TAIL_BYTES : content]
        else:
            self._tail = (self._tail + self._whitespace + chunk[:content])[-_TAIL_BYTES:]
        self._whitespace = chunk[content:][-_TAIL_BYTES:]

    def verify(self, name: str) -> None:
        lines = [line.rstrip(b"\r") for line in self._tail.split(b"\n")]
        if self._engine == "postgresql":
            while lines and (lines[-1].strip() in (b"", b"--") or lines[-1].startswith(b"\\unrestrict ")):
                lines.pop()
            if lines and lines[-1] == _POSTGRES_TRAILER_LINE:
                return
            raise InvalidInputError(
                f"{name} ends without pg_dump's '{_POSTGRES_TRAILER_LINE.decode()}' line: the file is cut "
                f"short (an interrupted dump or copy), so objects after the cut would be missing. "
                f"{_WHAT_TO_DO}"
            )
        if lines and lines[-1].startswith(MYSQL_TRAILER_PREFIX):
            return
        raise InvalidInputError(
            f"{name} ends without the '{MYSQL_TRAILER_PREFIX.decode()}' line that mariadb-dump/mysqldump "
            "and this tool write last: the file is cut short (an interrupted dump or copy), so objects "
            "after the cut would be missing, or it was written with --skip-comments/--compact, which "
            f"leave the line out. {_WHAT_TO_DO} (with comments on, the default)"
        )

