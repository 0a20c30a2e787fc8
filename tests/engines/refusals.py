"""One assertion for a connection setting that every operation of an engine must refuse alike."""

from __future__ import annotations

import pytest

from shared.engines.base import DumpEngine, DumpReport
from shared.errors import DumpError, RestoreError


def assert_every_operation_refused(engine: DumpEngine, message: str) -> None:
    """The connection check and the dump fail with `DumpError`, the restore with `RestoreError`, each
    matching the regular expression `message`."""
    with pytest.raises(DumpError, match=message):
        engine.check_connection()
    with pytest.raises(DumpError, match=message):
        list(engine.dump(DumpReport()))
    with pytest.raises(RestoreError, match=message):
        engine.restore([b"SELECT 1;\n"])
