"""`MySQLEngine`: the `DumpEngine` for MySQL and MariaDB."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import pymysql

from shared.dburl import DatabaseURL
from shared.engines.base import DumpOptions, DumpReport
from shared.engines.mysql.connection import connect, describe_connection_error
from shared.engines.mysql.dumper import MySQLDumper
from shared.engines.mysql.restorer import MySQLRestorer
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
        MySQLRestorer(self._url, self._options.restore_lock_wait_seconds).restore(chunks)

    def check_connection(self) -> None:
        try:
            connection = connect(self._url)
        except pymysql.MySQLError as exc:
            raise DumpError(describe_connection_error(exc, self._url)) from None
        try:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()"
                )
        except pymysql.MySQLError as exc:
            raise DumpError(describe_connection_error(exc, self._url)) from None
        finally:
            connection.close()
