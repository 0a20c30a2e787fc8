"""The dump streams in bounded chunks and bounded INSERT statements; the restore reads chunk by chunk."""

from __future__ import annotations

from collections.abc import Iterator

from shared.engines.base import DumpOptions, DumpReport
from shared.engines.mysql import MySQLEngine
from shared.engines.mysql.dumper import CHUNK_BYTES, STATEMENT_BYTES
from tests.databases import fresh_mysql_database
from tests.engines.mysql.inventory import execute_script, inventory


def test_chunks_and_statements_stay_bounded_and_the_restore_pulls_lazily() -> None:
    with fresh_mysql_database("st") as url, fresh_mysql_database("st2") as target:
        execute_script(
            url,
            [
                "CREATE TABLE rows_table (id INT PRIMARY KEY, payload VARCHAR(300))",
                "INSERT INTO rows_table SELECT seq, REPEAT(CHAR(97 + seq % 26), 300) FROM seq_1_to_30000",
            ],
        )
        report = DumpReport()
        chunks = list(MySQLEngine(url, DumpOptions()).dump(report))
        assert report.tables == {"rows_table": 30000}
        assert len(chunks) >= 8
        assert max(len(chunk) for chunk in chunks) <= max(CHUNK_BYTES, STATEMENT_BYTES + 2)
        inserts = [line for line in b"".join(chunks).split(b"\n") if line.startswith(b"INSERT INTO")]
        assert len(inserts) >= 8 and max(len(line) for line in inserts) <= STATEMENT_BYTES + 1

        handed_out = 0

        def lazily() -> Iterator[bytes]:
            nonlocal handed_out
            for chunk in chunks:
                handed_out += 1
                yield chunk

        MySQLEngine(target, DumpOptions()).restore(lazily())
        assert handed_out == len(chunks)
        assert inventory(target) == inventory(url)
