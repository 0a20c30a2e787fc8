"""Which quoting the server applies to a script's statements, followed through its `SET sql_mode`s.

NO_BACKSLASH_ESCAPES makes a backslash an ordinary character inside quotes; ANSI_QUOTES makes "..." a
name. Both dump styles set each routine's, trigger's and event's own mode before it and put the saved one
back after it (`SET sql_mode = @saved_sql_mode`, `@OLD_SQL_MODE`), so the user variables that hold a
saved mode are followed too. A value that is not a literal, DEFAULT or such a variable (an expression)
leaves the quoting as it was; conditional comments (`/*!NNNNN`, `/*M!`) are taken to run whatever their
version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_ANSI_QUOTES_MODES = frozenset({"ANSI_QUOTES", "ANSI", "DB2", "MAXDB", "MSSQL", "ORACLE", "POSTGRESQL"})
"""sql_mode values that turn ANSI_QUOTES on (the combination modes include it)."""


@dataclass(frozen=True)
class Quoting:
    """How the server reads quotes under an sql_mode: NO_BACKSLASH_ESCAPES and ANSI_QUOTES."""

    backslash_escapes: bool = True
    ansi_quotes: bool = False

    @classmethod
    def of(cls, sql_mode: str) -> Quoting:
        modes = {mode.strip().upper() for mode in sql_mode.split(",")}
        return cls("NO_BACKSLASH_ESCAPES" not in modes, not modes.isdisjoint(_ANSI_QUOTES_MODES))


def quoted_pattern(quote: bytes, backslash_escapes: bool) -> bytes:
    """A complete quoted string or name: doubled quotes, and backslash escapes when they apply."""
    if backslash_escapes:
        return quote + rb"(?:[^" + quote + rb"\\]++|\\.|" + quote + quote + rb")*+" + quote
    return quote + rb"(?:[^" + quote + rb"]++|" + quote + quote + rb")*+" + quote


def strings_pattern(quoting: Quoting) -> bytes:
    """'...' and "..." as the server reads them ("..." is a name under ANSI_QUOTES: no escapes)."""
    escapes = quoting.backslash_escapes
    return quoted_pattern(b"'", escapes) + b"|" + quoted_pattern(b'"', escapes and not quoting.ansi_quotes)


_SET_START = re.compile(rb"(?:/\*M?!\d*\s*)?SET(?![\w$])", re.IGNORECASE)
_SCOPES = frozenset({"global", "session", "local"})


@lru_cache(maxsize=8)
def _set_token_pattern(quoting: Quoting) -> re.Pattern[bytes]:
    """The tokens of a SET statement; comments and conditional-comment markers are skipped."""
    names = rb"`(?:[^`]|``)*+`" + (rb'|"(?:[^"]|"")*+"' if quoting.ansi_quotes else b"")
    strings = quoted_pattern(b"'", quoting.backslash_escapes)
    if not quoting.ansi_quotes:
        strings += b"|" + quoted_pattern(b'"', quoting.backslash_escapes)
    return re.compile(
        rb"(?P<skip>\s++|/\*M?!\d*|\*/|/\*.*?\*/|(?:--\s|#)[^\n]*+)"
        rb"|(?P<string>" + strings + rb")"
        rb"|(?P<system>@@(?:[\w$]++\.)?(?:[\w$]++|`(?:[^`]|``)*+`))"
        rb"|(?P<user>@(?:[\w$.]++|" + strings + b"|" + names + rb"))"
        rb"|(?P<name>[\w$]++|" + names + rb")"
        rb"|(?P<assign>:?=)"
        rb"|(?P<open>\()|(?P<close>\))|(?P<comma>,)"
        rb"|(?P<other>.)",
        re.DOTALL,
    )


def _unquoted(token: bytes, backslash_escapes: bool = False) -> str:
    """A name or string token's text: quotes removed, doubled quotes and escapes undone."""
    if token[:1] in (b"'", b'"', b"`"):
        quote = token[:1]
        token = token[1:-1].replace(quote + quote, quote)
        if backslash_escapes and quote != b"`":
            token = re.sub(rb"\\(.)", rb"\1", token, flags=re.DOTALL)
    return token.decode("utf-8", "replace")


class SqlModes:
    """The quoting the server applies after each statement, followed through the script's SETs."""

    def __init__(self, sql_mode: str, global_sql_mode: str | None) -> None:
        self.quoting = Quoting.of(sql_mode)
        self.default = None if global_sql_mode is None else Quoting.of(global_sql_mode)
        self.variables: dict[str, Quoting | None] = {}  # user variables, by lower-case name

    def follow(self, statement: bytes) -> bool:
        """Take in a statement the server runs next; True when the quoting for later ones changed."""
        if not _SET_START.match(statement):
            return False
        before = self.quoting
        tokens = [
            (str(token.lastgroup), token.group())
            for token in _set_token_pattern(before).finditer(statement)
            if token.lastgroup != "skip"
        ]
        self.assign(tokens[1:])
        return self.quoting != before

    def assign(self, tokens: list[tuple[str, bytes]]) -> None:
        """Every value is read before any is set, as the server does; a scope keyword holds for the
        assignments after it until the next one."""
        segments: list[list[tuple[str, bytes]]] = [[]]
        depth = 0
        for kind, token in tokens:
            depth += (kind == "open") - (kind == "close")
            if kind == "comma" and depth == 0:
                segments.append([])
            else:
                segments[-1].append((kind, token))
        scope = "session"
        updates: list[tuple[str, Quoting | None]] = []
        for segment in segments:
            word = _unquoted(segment[0][1]).lower() if segment and segment[0][0] == "name" else ""
            if word == "statement":
                return  # SET STATEMENT ... FOR: only for the one statement, parsed as a whole
            if word in _SCOPES:
                scope = word
                segment = segment[1:]
            if len(segment) < 3 or segment[1][0] != "assign":
                continue  # SET NAMES, SET PASSWORD, SET TRANSACTION...
            if target := self.target(*segment[0], scope):
                updates.append((target, self.value(segment[2:])))
        for target, value in updates:
            if target == "@@session":
                if value is not None:
                    self.quoting = value
            elif target == "@@global":
                self.default = value
            else:
                self.variables[target] = value

    @staticmethod
    def target(kind: str, token: bytes, scope: str) -> str | None:
        """`@@session` or `@@global` for sql_mode, `@name` for a user variable, None for anything else."""
        if kind == "user":
            return "@" + _unquoted(token[1:]).lower()
        if kind == "system":
            prefix, _, token = token[2:].rpartition(b".")
            scope = prefix.decode().lower() or "session"
        elif kind != "name":
            return None
        if _unquoted(token).lower() != "sql_mode":
            return None
        return "@@global" if scope == "global" else "@@session"

    def value(self, tokens: list[tuple[str, bytes]]) -> Quoting | None:
        """The sql_mode a value stands for, if it is a literal, DEFAULT or a variable; else None."""
        kinds = {kind for kind, _ in tokens}
        if kinds == {"string"}:  # adjacent literals are one string
            escapes = self.quoting.backslash_escapes
            return Quoting.of("".join(_unquoted(token, escapes) for _, token in tokens))
        if len(tokens) != 1:
            return None
        kind, token = tokens[0]
        if kind == "name":
            word = _unquoted(token)
            return self.default if word.lower() == "default" else Quoting.of(word)
        if kind == "user":
            return self.variables.get("@" + _unquoted(token[1:]).lower())
        if kind == "system" and (target := self.target(kind, token, "session")):
            return self.default if target == "@@global" else self.quoting
        return None
