"""Find where the statements of a PostgreSQL script end, the way psql does, without running them.

A `;` ends a statement unless it is inside '...' or E'...' strings, "..." identifiers, $tag$...$tag$
bodies, `--` or nested `/* */` comments, parentheses, or the BEGIN ... END body of a
`CREATE [OR REPLACE] FUNCTION|PROCEDURE` (SQL-standard bodies; psql counts BEGIN/CASE/END there too).
An unquoted backslash starts a psql meta-command. The scan jumps between the few bytes that matter with
compiled patterns, so long literals (large objects' hex) cost one regex match each, not a Python loop.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import Enum, auto

NEWLINE = 0x0A
_SEMICOLON, _QUOTE, _DOUBLE_QUOTE, _DOLLAR = 0x3B, 0x27, 0x22, 0x24
_DASH, _SLASH, _STAR, _BACKSLASH, _OPEN, _CLOSE = 0x2D, 0x2F, 0x2A, 0x5C, 0x28, 0x29
_IDENTIFIER_BYTES = frozenset(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_$" + bytes(range(0x80, 0x100))
)

_NON_SPACE = re.compile(rb"\S")
_SPECIAL = re.compile(rb"[;'\"$\-/\\()]")
_SPECIAL_OR_WORD = re.compile(rb"[;'\"$\-/\\()A-Za-z_\x80-\xff]")
_WORD = re.compile(rb"[A-Za-z_\x80-\xff][A-Za-z0-9_$\x80-\xff]*+")
_STANDARD_STRING_REST = re.compile(rb"(?:[^']++|'')*+'")
_ESCAPE_STRING_REST = re.compile(rb"(?:[^'\\]++|\\.|'')*+'", re.DOTALL)
_IDENTIFIER_REST = re.compile(rb'(?:[^"]++|"")*+"')
_DOLLAR_TAG = re.compile(rb"\$(?:[A-Za-z_\x80-\xff][A-Za-z0-9_\x80-\xff]*+)?\$")
_COMMENT_MARK = re.compile(rb"/\*|\*/")
_CREATE_ROUTINE = re.compile(rb"CREATE\s+(?:OR\s+REPLACE\s+)?(?:FUNCTION|PROCEDURE)\b", re.IGNORECASE)


class Stop(Enum):
    """Why `StatementLexer.scan` returned, with the position it names."""

    END = auto()
    """A statement ends just before the position (after its `;`); its first byte is `statement_start`."""
    META = auto()
    """A backslash outside quotes at the position: a psql meta-command."""
    MORE = auto()
    """The rest from the position cannot be judged without the bytes that follow; scan it again then."""
    DONE = auto()
    """Everything was scanned and no statement is pending (only blanks and comments were left)."""
    UNTERMINATED = auto()
    """At the end of the input: a statement, quote or comment is still open from the position."""


class StatementLexer:
    """Scans a buffer from a position to the next statement end.

    State kept between calls is that of the statement being read; after `Stop.MORE` the caller scans
    again from the position it names (with more bytes), so the lexer starts that statement afresh. That is
    why a token cut by the buffer's end needs no care inside a statement (no `;` can follow it in this
    buffer, so the statement is scanned again whole), only between statements: a comment, a psql command.
    `on_line_comment` sees each `--` comment that starts a line, newline included.
    """

    def __init__(self, on_line_comment: Callable[[bytes], None], *, standard_strings: bool = True) -> None:
        self.standard_strings = standard_strings
        """As the server's `standard_conforming_strings`: off makes backslashes escape in '...' too."""
        self._on_line_comment = on_line_comment
        self.statement_start = -1
        self._parentheses = 0
        self._begins = 0
        self._routine = False

    @property
    def in_statement(self) -> bool:
        return self.statement_start >= 0

    def reset(self) -> None:
        self.statement_start = -1
        self._parentheses = 0
        self._begins = 0
        self._routine = False

    def scan(self, text: bytes, position: int, final: bool, before: int = NEWLINE) -> tuple[Stop, int]:
        """Scan `text` from `position`; `before` is the byte just before `text[0]`; `final`: no more input."""
        while True:
            if self.statement_start < 0:
                pattern = _NON_SPACE
            else:
                pattern = _SPECIAL_OR_WORD if self._routine else _SPECIAL
            found = pattern.search(text, position)
            if found is None:
                if self.statement_start < 0:
                    return Stop.DONE, len(text)
                return self._open_to_the_end(final)
            at = found.start()
            byte = text[at]
            if byte == _BACKSLASH:
                return Stop.META, at
            if byte in (_DASH, _SLASH):
                comment = self._comment(text, at, final, before)
                if comment is not None:
                    stop, position = comment
                    if stop is not None:
                        return stop, position
                    continue
            if self.statement_start < 0:
                self.statement_start = at
                self._routine = _CREATE_ROUTINE.match(text, at) is not None
            stop, position = self._token(text, at, final, before)
            if stop is not None:
                return stop, position

    def _token(self, text: bytes, at: int, final: bool, before: int) -> tuple[Stop | None, int]:
        """Step over the token at `at` (inside a statement), or stop."""
        byte = text[at]
        if byte == _SEMICOLON:
            if self._parentheses == 0 and self._begins == 0:
                return Stop.END, at + 1
        elif byte == _QUOTE:
            escapes = not self.standard_strings or _escape_prefix(text, at, before)
            return self._closed(text, (_ESCAPE_STRING_REST if escapes else _STANDARD_STRING_REST), at, final)
        elif byte == _DOUBLE_QUOTE:
            return self._closed(text, _IDENTIFIER_REST, at, final)
        elif byte == _DOLLAR:
            return self._dollar(text, at, final, before)
        elif byte == _OPEN:
            self._parentheses += 1
        elif byte == _CLOSE:
            self._parentheses = max(0, self._parentheses - 1)
        elif self._routine and (word := _WORD.match(text, at)) is not None:
            self._count_block_word(word.group())
            return None, word.end()
        return None, at + 1

    def _closed(self, text: bytes, rest: re.Pattern[bytes], at: int, final: bool) -> tuple[Stop | None, int]:
        closing = rest.match(text, at + 1)
        if closing is None:
            return self._open_to_the_end(final)
        return None, closing.end()

    def _open_to_the_end(self, final: bool) -> tuple[Stop, int]:
        return (Stop.UNTERMINATED if final else Stop.MORE), self.statement_start

    def _resume(self, at: int) -> int:
        return self.statement_start if self.statement_start >= 0 else at

    def _comment(self, text: bytes, at: int, final: bool, before: int) -> tuple[Stop | None, int] | None:
        """Step over the comment starting at `at`; None when the dash or slash starts none."""
        if at + 1 == len(text):
            return None if final else (Stop.MORE, self._resume(at))
        follower = text[at + 1]
        if text[at] == _DASH and follower == _DASH:
            return self._line_comment(text, at, final, before)
        if text[at] == _SLASH and follower == _STAR:
            return self._block_comment(text, at, final)
        return None

    def _line_comment(self, text: bytes, at: int, final: bool, before: int) -> tuple[Stop | None, int]:
        newline = text.find(b"\n", at)
        if newline < 0 and not final:
            return Stop.MORE, self._resume(at)
        after = len(text) if newline < 0 else newline + 1
        previous = text[at - 1] if at > 0 else before
        if previous == NEWLINE:
            self._on_line_comment(text[at:after])
        return None, after

    def _block_comment(self, text: bytes, at: int, final: bool) -> tuple[Stop | None, int]:
        depth = 0
        position = at
        while True:
            mark = _COMMENT_MARK.search(text, position)
            if mark is None:
                return (Stop.UNTERMINATED if final else Stop.MORE), self._resume(at)
            depth += 1 if text[mark.start()] == _SLASH else -1
            position = mark.end()
            if depth == 0:
                return None, position

    def _dollar(self, text: bytes, at: int, final: bool, before: int) -> tuple[Stop | None, int]:
        previous = text[at - 1] if at > 0 else before
        if previous in _IDENTIFIER_BYTES:
            return None, at + 1  # `$` inside an identifier such as a$b
        tag = _DOLLAR_TAG.match(text, at)
        if tag is None:
            return None, at + 1  # a parameter such as $1, or a lone dollar
        closing = text.find(tag.group(), tag.end())
        if closing < 0:
            return self._open_to_the_end(final)
        return None, closing + len(tag.group())

    def _count_block_word(self, word: bytes) -> None:
        """psql's rule: in a routine, outside parentheses, BEGIN (and CASE within one) opens, END closes."""
        if self._parentheses:
            return
        lowered = word.lower()
        if lowered == b"begin" or (lowered == b"case" and self._begins > 0):
            self._begins += 1
        elif lowered == b"end" and self._begins > 0:
            self._begins -= 1


def _escape_prefix(text: bytes, quote: int, before: int) -> bool:
    """True for E'...': the quote follows an `e` or `E` that starts a token (no identifier byte before)."""
    if quote == 0 or text[quote - 1] not in b"eE":
        return False  # at 0 the quote cannot have a prefix: buffers start at a token
    prior = text[quote - 2] if quote >= 2 else before
    return prior not in _IDENTIFIER_BYTES
