"""Import refuses a dump cut short: its SQL must end with its dump tool's "completed" trailer.

Every file here is made by the real mariadb-dump or pg_dump, or by this tool's own engines, and every
test imports a complete file and refuses the same file cut before its last table.
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import zstandard

from shared.clock import FixedClock
from shared.compression import decompress_stream
from shared.dburl import DatabaseURL
from shared.errors import InvalidInputError
from shared.models import AuditAction, BackupLog, BackupStatus, StorageKind
from shared.services.backups import BackupService
from shared.services.context import ServiceContext
from shared.services.dump_trailers import TrailerCheck
from shared.services.importer import ImportService
from shared.services.restore import RestoreService
from tests.cli.running import Cli
from tests.databases import fresh_mysql_database, fresh_postgres_database, mysql_admin
from tests.sample_data import execute
from tests.services.conftest import make_context

_MYSQL_LAST_TABLE = b"-- Table structure for table `b`"
_OWN_MYSQL_LAST_TABLE = b"\n-- Table `b`\n"
_POSTGRES_LAST_TABLE = b"-- Name: b; Type: TABLE;"


def _fill(url: DatabaseURL) -> None:
    """Tables `a` and `b` (the last one dumped) and, in MySQL, a procedure `p` (dumped after them)."""
    rows = ", ".join(f"({n})" for n in range(1, 201))
    execute(url, ["CREATE TABLE a (x INT PRIMARY KEY)", f"INSERT INTO a VALUES {rows}"])
    execute(url, ["CREATE TABLE b (y INT PRIMARY KEY)", f"INSERT INTO b VALUES {rows}"])
    if url.engine == "mysql":
        execute(url, ["CREATE PROCEDURE p() SELECT COUNT(*) FROM b"])


@pytest.fixture
def mysql_url() -> Iterator[DatabaseURL]:
    with fresh_mysql_database("trl") as url:
        _fill(url)
        yield url


@pytest.fixture
def postgres_url() -> Iterator[DatabaseURL]:
    with fresh_postgres_database("trl") as url:
        _fill(url)
        yield url


def _mariadb_dump(url: DatabaseURL, *options: str) -> bytes:
    command = ["mariadb-dump", "-uroot", "-h", url.host, "-P", str(url.port), "--routines", *options]
    return subprocess.run([*command, url.database], check=True, capture_output=True).stdout


def _pg_dump(url: DatabaseURL) -> bytes:
    command = ["pg_dump", "-h", url.host, "-p", str(url.port), "-U", url.user, "--no-owner", url.database]
    return subprocess.run(command, check=True, capture_output=True).stdout


def _cut_before(sql: bytes, marker: bytes) -> bytes:
    assert marker in sql
    return sql[: sql.index(marker)]


def _import(context: ServiceContext, path: Path, content: bytes) -> str:
    path.write_bytes(content)
    backup = ImportService(context).import_file(path, "frank")
    assert backup.status is BackupStatus.COMPLETED and context.catalog.get_backup(backup.id) == backup
    return backup.id


def _refused(context: ServiceContext, path: Path, content: bytes, message: str) -> None:
    """The import fails with `message`; no file is stored and the catalog gains no record, only the entry
    of the refused import."""
    before = {backup.id for backup in context.catalog.list_backups().backups}
    refusals = len(_imports(context, "refused"))
    path.write_bytes(content)
    with pytest.raises(InvalidInputError, match=message) as info:
        ImportService(context).import_file(path, "frank")
    assert "Nothing was stored" in str(info.value) and path.name in str(info.value)
    assert {backup.id for backup in context.catalog.list_backups().backups} == before
    folder = context.config.local_backup_dir
    stored = {
        folder / location.ref
        for backup in context.catalog.list_backups().backups
        for location in backup.locations
        if location.kind is StorageKind.LOCAL
    }
    assert set(folder.iterdir() if folder.exists() else []) == stored  # no partial or hidden file either
    assert len(_imports(context, None)) == len(before)
    assert len(_imports(context, "refused")) == refusals + 1


def _imports(context: ServiceContext, outcome: str | None) -> list[BackupLog]:
    """The import entries with that `outcome` (None: the imports made)."""
    logs = context.catalog.list_logs(limit=1000)
    return [log for log in logs if log.action is AuditAction.IMPORT and log.details.get("outcome") == outcome]


_MYSQL_REFUSAL = "ends without the '-- Dump completed' line"
_POSTGRES_REFUSAL = "ends without pg_dump's '-- PostgreSQL database dump complete' line"


def test_a_complete_mariadb_dump_restores_whole_and_the_cut_one_is_refused(
    mysql_url: DatabaseURL, tmp_path: Path, clock: FixedClock
) -> None:
    """The audit's case: a mariadb-dump file cut just before its last table imported as `completed` and
    restored "successfully" with `b` and `p` missing."""
    context = make_context(tmp_path / "home", mysql_url, clock)
    dump = _mariadb_dump(mysql_url)
    _refused(context, tmp_path / "truncated.sql", _cut_before(dump, _MYSQL_LAST_TABLE), _MYSQL_REFUSAL)
    backup_id = _import(context, tmp_path / "complete.sql", dump)
    execute(mysql_url, ["DROP TABLE b", "DROP PROCEDURE p"])
    RestoreService(context, BackupService(context)).restore(backup_id, "frank")
    with mysql_admin() as conn, conn.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM `{mysql_url.database}`.b")
        assert cur.fetchone() == (200,)
        cur.execute(
            "SELECT COUNT(*) FROM information_schema.routines"
            " WHERE routine_schema = %s AND routine_name = 'p'",
            (mysql_url.database,),
        )
        assert cur.fetchone() == (1,)


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data)


def _zstd(data: bytes) -> bytes:
    return zstandard.ZstdCompressor().compress(data)


def _plain(data: bytes) -> bytes:
    return data


def _crlf(data: bytes) -> bytes:
    return data.replace(b"\n", b"\r\n")


def _blank_lines(data: bytes) -> bytes:
    return data + b"\n\n  \n\t\n"


def _crlf_blank_lines(data: bytes) -> bytes:
    return _crlf(data) + b"\r\n\r\n\r\n"


def _many_blank_lines(data: bytes) -> bytes:
    return data + b"\n" * (3 << 20)  # past the tail window and over several read chunks


def _no_final_newline(data: bytes) -> bytes:
    return data.rstrip(b"\n")


_COMPRESS = {".sql": _plain, ".sql.gz": _gzip, ".sql.zst": _zstd}


@pytest.mark.parametrize(
    ("suffix", "change"),
    [
        (".sql", _plain),
        (".sql.gz", _plain),
        (".sql.zst", _plain),
        (".sql", _crlf),
        (".sql", _blank_lines),
        (".sql.gz", _crlf_blank_lines),
        (".sql", _many_blank_lines),
        (".sql.zst", _many_blank_lines),
        (".sql", _no_final_newline),
    ],
    ids=["plain", "gzip", "zstd", "crlf", "blank", "gzip-crlf-blank", "many-blank", "zstd-many-blank", "eof"],
)
def test_mariadb_dump_line_ends_and_compression(
    mysql_url: DatabaseURL, tmp_path: Path, clock: FixedClock, suffix: str, change: Callable[[bytes], bytes]
) -> None:
    context = make_context(tmp_path / "home", mysql_url, clock)
    dump = _mariadb_dump(mysql_url)
    compress = _COMPRESS[suffix]
    _import(context, tmp_path / f"complete{suffix}", compress(change(dump)))
    cut = compress(change(_cut_before(dump, _MYSQL_LAST_TABLE)))
    _refused(context, tmp_path / f"truncated{suffix}", cut, _MYSQL_REFUSAL)


def test_a_mariadb_dump_without_its_dump_date_imports(
    mysql_url: DatabaseURL, tmp_path: Path, clock: FixedClock
) -> None:
    """--skip-dump-date ends the file with a bare `-- Dump completed`."""
    context = make_context(tmp_path / "home", mysql_url, clock)
    dump = _mariadb_dump(mysql_url, "--skip-dump-date")
    assert dump.rstrip().endswith(b"\n-- Dump completed")
    _import(context, tmp_path / "complete.sql", dump)
    _refused(context, tmp_path / "truncated.sql", _cut_before(dump, _MYSQL_LAST_TABLE), _MYSQL_REFUSAL)


def _own_backup_sql(context: ServiceContext) -> tuple[bytes, str]:
    """The SQL of a backup this tool just made of the context's database, and its file name."""
    made = BackupService(context).create("alice")
    location = made.location(StorageKind.LOCAL)
    assert location is not None
    stored = (context.config.local_backup_dir / location.ref).read_bytes()
    return b"".join(decompress_stream([stored])), location.ref


@pytest.mark.parametrize("engine", ["mysql", "postgresql"])
def test_a_backup_file_this_tool_made_imports_and_cut_is_refused(
    engine: str, mysql_url: DatabaseURL, postgres_url: DatabaseURL, tmp_path: Path, clock: FixedClock
) -> None:
    url = mysql_url if engine == "mysql" else postgres_url
    made_here = make_context(tmp_path / "made", url, clock)
    sql, name = _own_backup_sql(made_here)
    elsewhere = make_context(tmp_path / "home", url, clock)
    copied = tmp_path / "copied.sql.gz"
    shutil.copy(made_here.config.local_backup_dir / name, copied)
    backup = ImportService(elsewhere).import_file(copied, "frank")
    assert backup.status is BackupStatus.COMPLETED
    mysql = engine == "mysql"
    marker = _OWN_MYSQL_LAST_TABLE if mysql else _POSTGRES_LAST_TABLE
    message = _MYSQL_REFUSAL if mysql else _POSTGRES_REFUSAL
    _refused(elsewhere, tmp_path / "truncated.sql.gz", _gzip(_cut_before(sql, marker)), message)


@pytest.mark.parametrize(("suffix", "change"), [(".sql", _plain), (".sql.gz", _gzip), (".sql", _crlf)])
def test_a_pg_dump_file_imports_and_cut_is_refused(
    postgres_url: DatabaseURL,
    tmp_path: Path,
    clock: FixedClock,
    suffix: str,
    change: Callable[[bytes], bytes],
) -> None:
    context = make_context(tmp_path / "home", postgres_url, clock)
    dump = _pg_dump(postgres_url)
    _import(context, tmp_path / f"complete{suffix}", change(dump))
    cut = change(_cut_before(dump, _POSTGRES_LAST_TABLE))
    _refused(context, tmp_path / f"truncated{suffix}", cut, _POSTGRES_REFUSAL)
    just_before_trailer = dump[: dump.index(b"-- PostgreSQL database dump complete")]
    _refused(context, tmp_path / f"no-trailer{suffix}", change(just_before_trailer), _POSTGRES_REFUSAL)


def test_the_command_line_refuses_the_cut_dump_with_exit_2(
    mysql_url: DatabaseURL, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKUP_")}
    env.update(
        BACKUP_DATABASE_URL=f"mysql://{mysql_url.user}@{mysql_url.host}:{mysql_url.port}/{mysql_url.database}",
        BACKUP_HOME=str(tmp_path / "home"),
    )
    cli = Cli(env)
    dump = _mariadb_dump(mysql_url)
    truncated = tmp_path / "truncated.sql"
    truncated.write_bytes(_cut_before(dump, _MYSQL_LAST_TABLE))
    run = cli("import", str(truncated))
    assert run.code == 2, run.stdout + run.stderr
    assert run.stderr.startswith("error: ") and _MYSQL_REFUSAL in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert cli("import", str(truncated), "--json").json["exit_code"] == 2
    assert cli("list", "--json").json["backups"] == []
    complete = tmp_path / "complete.sql"
    complete.write_bytes(dump)
    assert cli("import", str(complete), "--json").json["status"] == "completed"


@pytest.mark.parametrize("chunk_size", [1, 7, 4095, 4096, 4097, 1 << 20])
def test_the_trailer_check_keeps_a_small_tail_whatever_the_chunks(
    mysql_url: DatabaseURL, chunk_size: int
) -> None:
    dump = _mariadb_dump(mysql_url) + b"\r\n" * 5000
    for data, complete in ((dump, True), (_cut_before(dump, _MYSQL_LAST_TABLE), False)):
        check = TrailerCheck("mysql")
        for start in range(0, len(data), chunk_size):
            check.feed(data[start : start + chunk_size])
            assert len(check._tail) <= 4096 and len(check._whitespace) <= 4096
        if complete:
            check.verify("dump.sql")
        else:
            with pytest.raises(InvalidInputError, match=_MYSQL_REFUSAL):
                check.verify("dump.sql")
