"""Split a stream of SQL bytes into statements the way the stock `mysql`/`mariadb` client does.

Understands '...', "..." and `...` quoting (doubled quotes, backslash escapes), `-- `, `#` and
`/* */` comments, `/*!NNNNN ... */` and `/*M!NNNNNN ... */` conditional comments (passed to the
server, which runs them) and the client's `DELIMITER` command. Statements may span chunk
boundaries; only the statement being read is held in memory. Comments in front of a statement are
dropped; comments inside one are kept (routine bodies keep theirs).

Quotes are read the way the server will parse each statement, under the sql_mode the script has set
(`sql_modes`): after NO_BACKSLASH_ESCAPES a backslash is an ordinary character, after ANSI_QUOTES "..."
is a name. A SET changes the mode from the next statement on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import lru_cache

from shared.engines.mysql.sql_modes import Quoting, SqlModes, strings_pattern
from shared.errors import RestoreError

_LOOKAHEAD = 16
"""Bytes that must follow a token start before it is judged (longest delimiter or comment opener)."""
_MAX_DELIMITER = 8
_SPACE = re.compile(rb"\s*+")
_COMMENT_OPENER = re.compile(rb"--(?=\s)|#|/\*(?!!|M!|\+)")
_LEADING_COMMENT = re.compile(rb"(?:--(?=\s)|#)[^\n]*+\n|/\*(?!!|M!|\+).*?\*/", re.DOTALL)
_DELIMITER_COMMAND = re.compile(rb"delimiter[ \t]++([^\s]++)[^\n]*+\n", re.IGNORECASE)
_DELIMITER_WORD = re.compile(rb"delimiter\s", re.IGNORECASE)


@lru_cache(maxsize=16)
def _token_pattern(delimiter: bytes, quoting: Quoting) -> re.Pattern[bytes]:
    first = re.escape(delimiter[:1])
    return re.compile(
        rb"(?P<conditional_end>\*/)"  # closes a /*!...*/ before a delimiter that starts with '/'
        rb"|(?P<delimiter>" + re.escape(delimiter) + rb")"
        rb"|(?P<text>[^'\"`#/*\-" + first + rb"]++)"
        rb"|(?P<quoted>" + strings_pattern(quoting) + rb"|`(?:[^`]++|``)*+`)"
        rb"|(?P<conditional>/\*M?!)"
        rb"|(?P<comment>/\*.*?\*/|(?:--(?=\s)|#)[^\n]*+\n)"
        rb"|(?P<unfinished>['\"`]|/\*|--(?=\s)|#)"
        rb"|(?P<other>.)",
        re.DOTALL,
    )


@lru_cache(maxsize=16)
def _run_pattern(delimiter: bytes, quoting: Quoting) -> re.Pattern[bytes]:
    """Plain text and complete quoted strings in one match: the fast path through long INSERTs.

    Every lookahead is positive, so near the end of the scanned window the run stops rather than guess.
    """
    first = re.escape(delimiter[:1])
    visible = rb"(?=.{%d})(?!" % max(len(delimiter), 3) + re.escape(delimiter) + rb")"
    return re.compile(
        rb"(?:[^'\"`#/*\-" + first + rb"]++"
        rb"|" + strings_pattern(quoting) + rb"|`(?:[^`]++|``)*+`"
        rb"|" + visible + rb"(?:-(?!-\s)|/(?!\*)|\*(?!/)|" + first + rb"))++",
        re.DOTALL,
    )


def split_statements(
    chunks: Iterable[bytes], *, sql_mode: str = "", global_sql_mode: str | None = None
) -> Iterator[bytes]:
    """Yield each statement without its delimiter, leading comments or surrounding whitespace.

    `sql_mode` is the session's at the start (its quoting applies until the script sets another),
    `global_sql_mode` the server's, which `SET sql_mode = DEFAULT` puts back (None: unknown)."""
    return _Scanner(iter(chunks), SqlModes(sql_mode, global_sql_mode)).statements()


class _Scanner:
    """Walks a growing buffer token by token; `start` marks where the current statement began."""

    def __init__(self, source: Iterator[bytes], modes: SqlModes) -> None:
        self.source = source
        self.modes = modes
        self.buffer = b""
        self.position = 0
        self.start = 0
        self.earlier: list[bytes] = []  # parts of the current statement from previous buffers
        self.in_statement = False
        self.at_end = False
        self.use_delimiter(b";")

    def use_delimiter(self, delimiter: bytes) -> None:
        if len(delimiter) > _MAX_DELIMITER:
            raise RestoreError(f"DELIMITER {delimiter[:40]!r} is too long")
        self.delimiter = delimiter
        self.use_patterns()

    def use_patterns(self) -> None:
        """Lex with the current delimiter and the quoting of the sql_mode the server is in."""
        self.tokens = _token_pattern(self.delimiter, self.modes.quoting)
        self.run = _run_pattern(self.delimiter, self.modes.quoting)

    @property
    def window(self) -> int:
        """Bytes the scan may judge now: all of them at the end, else all but the lookahead."""
        return len(self.buffer) - (0 if self.at_end else _LOOKAHEAD)

    def statements(self) -> Iterator[bytes]:
        while True:
            if self.position >= self.window:
                if self.at_end:
                    break
                self.refill(0)
            elif not self.in_statement:
                self.before_statement()
            elif fast := self.run.match(self.buffer, self.position, self.window):
                self.position = fast.end()
            else:
                statement = self.token()
                if statement:
                    yield statement
        statement = self.current(len(self.buffer)).strip()
        if self.in_statement and statement:
            yield statement

    def before_statement(self) -> None:
        """Skip whitespace and comments, obey DELIMITER, or mark the start of a statement."""
        buffer = self.buffer
        self.position = self.start = _SPACE.match(buffer, self.position).end()  # type: ignore[union-attr]
        if self.position >= self.window:
            return
        if _COMMENT_OPENER.match(buffer, self.position):
            comment = _LEADING_COMMENT.match(buffer, self.position)
            if comment:
                self.position = self.start = comment.end()
            elif self.at_end:
                raise RestoreError(
                    f"The SQL ends inside an unterminated comment: {preview(buffer[self.position :])}"
                )
            else:
                self.refill(len(buffer) - self.position)
            return
        if _DELIMITER_WORD.match(buffer, self.position):
            command = _DELIMITER_COMMAND.match(buffer, self.position)
            if command:
                self.use_delimiter(command.group(1))
                self.position = self.start = command.end()
                return
            if b"\n" not in buffer[self.position :] and not self.at_end:
                self.refill(len(buffer) - self.position)
                return
        self.in_statement = True

    def token(self) -> bytes | None:
        """Consume one token; return the statement it completes, if it is a delimiter."""
        token = self.tokens.match(self.buffer, self.position)
        assert token is not None  # the last alternative matches any byte
        if token.lastgroup == "delimiter":
            statement = self.current(token.start()).strip()
            self.earlier = []
            self.in_statement = False
            self.position = self.start = token.end()
            if self.modes.follow(statement):  # the server parses the next statement in the new mode
                self.use_patterns()
            return statement
        if token.lastgroup == "unfinished":
            if self.at_end:
                raise RestoreError(
                    "The SQL ends inside an unterminated quote or comment, in the statement starting "
                    f"{preview(self.current(len(self.buffer)))}"
                )
            self.refill(len(self.buffer) - self.position)
        else:
            self.position = token.end()
        return None

    def current(self, end: int) -> bytes:
        return b"".join((*self.earlier, self.buffer[self.start : end]))

    def refill(self, pending: int) -> None:
        """Keep the unscanned rest, add at least `pending` new bytes (long literals are rescanned rarely)."""
        if self.in_statement:
            self.earlier.append(self.buffer[self.start : self.position])
        parts = [self.buffer[self.position :]]
        added = 0
        for chunk in self.source:
            parts.append(chunk)
            added += len(chunk)
            if added > max(pending, _LOOKAHEAD):
                break
        else:
            parts.append(b"\n")  # ends a trailing `--` or `#` comment
            self.at_end = True
        self.buffer = b"".join(parts)
        self.position = self.start = 0


def preview(statement: bytes, limit: int = 200) -> str:
    """The statement's start, quoted, for error messages."""
    text = statement.decode("utf-8", "replace").strip()
    return repr(text if len(text) <= limit else text[:limit] + "…")
