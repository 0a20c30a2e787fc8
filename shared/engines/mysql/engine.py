"""`MySQLEngine`: the `DumpEngine` for MySQL and MariaDB."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import pymysql

from shared.dburl import DatabaseURL
from shared.engines.base import DumpOptions, DumpReport
from shared.engines.mysql.connection import connect, describe_connection_error
from shared.engines.mysql.dumper import MySQLDumper
from shared.engines.mysql.privileges import check_visibility
from shared.engines.mysql.restorer import MySQLRestorer
from shared.engines.mysql.schema import list_tables, text
from shared.errors import DumpError


class MySQLEngine:
    """Dumps with `MySQLDumper`, restores with `MySQLRestorer`, both over PyMySQL."""

    engine = "mysql"

    def __init__(self, url: DatabaseURL, options: DumpOptions | None = None) -> None:
        self._url = url
        self._options = options or DumpOptions()

    @property
    def restores_in_one_transaction(self) -> bool:
        return False  # every CREATE and DROP commits on its own

    def dump(self, report: DumpReport) -> Iterator[bytes]:
        return MySQLDumper(self._url, self._options).chunks(report)

    def restore(self, chunks: Iterable[bytes]) -> None:
        self._restorer().restore(chunks)

    def check_restore(self) -> None:
        self._restorer().check()

    def _restorer(self) -> MySQLRestorer:
        return MySQLRestorer(
            self._url, self._options.restore_lock_wait_seconds, definers_stripped=self._options.strip_definers
        )

    def check_connection(self) -> None:
        """Connect, and prove the user sees every object a backup must hold (`privileges`)."""
        try:
            connection = connect(self._url)
        except pymysql.MySQLError as exc:
            raise DumpError(describe_connection_error(exc, self._url)) from None
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT VERSION()")
                version = text(cursor.fetchone()[0])
                check_visibility(cursor, self._url.database, version, list_tables(cursor, self._url.database))
        except pymysql.MySQLError as exc:
            raise DumpError(describe_connection_error(exc, self._url)) from None
        finally:
            connection.close()
