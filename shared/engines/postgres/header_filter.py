"""Which `SET name = value;` lines of a plain-SQL dump a server of a given major version would reject."""

from __future__ import annotations

import re

# Settings a newer pg_dump writes into its output, with the first server major version that knows them.
SETTING_INTRODUCED_IN: dict[bytes, int] = {
    b"row_security": 10,
    b"idle_in_transaction_session_timeout": 10,
    b"default_table_access_method": 12,
    b"default_toast_compression": 14,
    b"transaction_timeout": 17,
}

_SET_LINE = re.compile(rb"SET ([a-z_]+) = [^;\n]*;\r?\n?")


def rejected_by_server(line: bytes, server_major: int) -> bool:
    """True for a `SET` line naming a setting the server (of `server_major`) does not know."""
    match = _SET_LINE.fullmatch(line)
    if match is None:
        return False
    return SETTING_INTRODUCED_IN.get(match.group(1), 0) > server_major
