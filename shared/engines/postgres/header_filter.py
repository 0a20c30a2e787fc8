"""Which `SET name = value;` lines of a plain-SQL dump a server of a given major release would reject."""

from __future__ import annotations

import re

from shared.engines.postgres.releases import release

# Settings a newer pg_dump writes into its output, with the first major release that knows them.
SETTING_INTRODUCED_IN: dict[bytes, int] = {
    b"row_security": release(9, 5),
    b"idle_in_transaction_session_timeout": release(9, 6),
    b"default_table_access_method": release(12),
    b"default_toast_compression": release(14),
    b"transaction_timeout": release(17),
}

_SET_LINE = re.compile(rb"SET ([a-z_]+) = [^;\n]*;\r?\n?")


def rejected_by_server(line: bytes, server_release: int) -> bool:
    """True for a `SET` line naming a setting the server (of major release `server_release`) does not know."""
    match = _SET_LINE.fullmatch(line)
    if match is None:
        return False
    return SETTING_INTRODUCED_IN.get(match.group(1), 0) > server_release
