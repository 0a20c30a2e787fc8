"""Rewrite SHOW CREATE statements for a dump: strip DEFINER and trigger order clauses, pick a DELIMITER."""

from __future__ import annotations

import re

from shared.errors import DumpError

_QUOTED_NAME = r"(?:`(?:[^`]|``)*`|'(?:[^'\\]|\\.|'')*'|\"(?:[^\"\\]|\\.|\"\")*\"|[\w.$%-]+)"
_DEFINER_CLAUSE = re.compile(
    r"^(\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:ALGORITHM\s*=\s*\w+\s+)?)"
    rf"DEFINER\s*=\s*(?:CURRENT_USER(?:\s*\(\s*\))?|{_QUOTED_NAME}(?:\s*@\s*{_QUOTED_NAME})?)\s+"
    r"(?:SQL\s+SECURITY\s+DEFINER\s+)?",
    re.IGNORECASE,
)
_TRIGGER_ORDER = re.compile(
    rf"(\bFOR\s+EACH\s+ROW\s+)(?:FOLLOWS|PRECEDES)\s+{_QUOTED_NAME}\s+", re.IGNORECASE
)
_DELIMITER_CHOICES = (";;", "$$", "//", ";;;;", "$$$$", "@@@@@@")


def strip_definer(statement: str) -> str:
    """The CREATE statement without its `DEFINER=` clause (the restoring user becomes the definer)."""
    return _DEFINER_CLAUSE.sub(r"\1", statement, count=1)


def strip_trigger_order(statement: str) -> str:
    """Drop FOLLOWS/PRECEDES: triggers are written in ACTION_ORDER, which recreates the same order."""
    return _TRIGGER_ORDER.sub(r"\1", statement, count=1)


def choose_delimiter(statement: str) -> str:
    """A DELIMITER that does not occur anywhere in the statement: a usual one, or else `$$` and six
    digits (8 characters, the longest the restore takes), of which no statement holds all."""
    for delimiter in _DELIMITER_CHOICES:
        if delimiter not in statement:
            return delimiter
    for number in range(1_000_000):
        if (delimiter := f"$${number:06d}") not in statement:
            return delimiter
    raise DumpError("no DELIMITER of at most 8 characters is absent from a routine, trigger or event")
