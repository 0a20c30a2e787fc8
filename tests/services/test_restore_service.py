"""Safe restore: Properties 10, 11 (through the service) and 12, and restores that are refused."""

from __future__ import annotations

import gzip
import threading
import time
from pathlib import Path

import pytest

from shared.catalog.base import BackupFilter
from shared.clock import FixedClock
from shared.config import Config
from shared.dburl import DatabaseURL
from shared.errors import ChecksumMismatchError, InvalidInputError, RestoreError
from shared.models import AuditAction, BackupSource, BackupStatus, StorageKind
from shared.notify.base import DatabaseAfter, NotificationKind
from shared.services.backups import BackupService
from shared.services.context import ServiceContext
from shared.services.importer import ImportService
from shared.services.restore import RestorePhase, RestoreService
from shared.wiring import build_context
from tests.databases import fresh_mysql_database, fresh_postgres_database, mysql_admin, postgres_admin
from tests.functions.conftest import RecordingNotifier
from tests.open_transactions import transaction_reading
from tests.sample_data import broken_dump, execute, fingerprint, load_sample


def _damage(url: DatabaseURL) -> None:
    execute(url, ["DELETE FROM orders WHERE id % 2 = 0", "UPDATE customers SET name = 'oops'"])


def test_property_10_pre_restore_backup_created(
    backups: BackupService, restores: RestoreService, context: ServiceContext, db_url: DatabaseURL
) -> None:
    original = fingerprint(db_url)
    backup = backups.create("alice")
    _damage(db_url)
    damaged = fingerprint(db_url)
    outcome = restores.restore(backup.id, "alice")
    assert fingerprint(db_url) == original
    pre = context.catalog.get_backup(outcome.pre_restore_backup.id)
    assert pre.source is BackupSource.PRE_RESTORE and pre.status is BackupStatus.COMPLETED
    assert pre.created_by == "alice"
    assert pre.restoring is None and not pre.is_protected  # an ended restore leaves no interrupted mark
    # the pre-restore backup holds the damaged state: restoring it brings the damage back
    restores.restore(pre.id, "alice")
    assert fingerprint(db_url) == damaged
    outcomes = [log.details.get("outcome") for log in context.catalog.list_logs(backup.id)]
    assert "started" in outcomes and "completed" in outcomes


def test_corrupted_file_is_refused_before_the_database_is_touched(
    backups: BackupService, restores: RestoreService, context: ServiceContext, db_url: DatabaseURL
) -> None:
    backup = backups.create("alice")
    location = backup.location(StorageKind.LOCAL)
    assert location is not None
    path = context.config.local_backup_dir / location.ref
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    _damage(db_url)
    before = fingerprint(db_url)
    with pytest.raises(ChecksumMismatchError):
        restores.restore(backup.id, "alice")
    assert fingerprint(db_url) == before
    assert [b.id for b in context.catalog.list_backups().backups] == [backup.id], "no pre-restore backup"
    refused = [log for log in context.catalog.list_logs(backup.id) if log.details.get("outcome") == "refused"]
    assert refused and refused[0].details["database_touched"] is False


def test_property_12_restore_failure_leaves_database_as_it_was(
    restores: RestoreService, context: ServiceContext, db_url: DatabaseURL, tmp_path: Path
) -> None:
    before = fingerprint(db_url)
    broken = ImportService(context).import_file(broken_dump(db_url, tmp_path), "alice")
    with pytest.raises(RestoreError) as info:
        restores.restore(broken.id, "alice")
    assert _says_how_the_database_was_kept(str(info.value), db_url)
    assert fingerprint(db_url) == before
    pre = context.catalog.list_backups(BackupFilter(source=BackupSource.PRE_RESTORE)).backups
    assert [backup.restoring for backup in pre] == [None]  # a failed restore ended too
    failed = [log for log in context.catalog.list_logs(broken.id) if log.details.get("outcome") == "failed"]
    assert failed and failed[0].action is AuditAction.RESTORE
    assert failed[0].details["put_back"] is (db_url.engine == "mysql")


def _says_how_the_database_was_kept(message: str, url: DatabaseURL) -> bool:
    """MySQL's restore is put back from the pre-restore backup; PostgreSQL's one transaction was rolled
    back, so its pre-restore backup is not restored needlessly (nor its tables locked again meanwhile)."""
    if url.engine == "mysql":
        return "put back as it was" in message
    return "left as it was" in message and "was not needed to put it back" in message


def test_backup_of_another_engine_is_refused(
    restores: RestoreService, context: ServiceContext, db_url: DatabaseURL, tmp_path: Path
) -> None:
    foreign_url = DatabaseURL(
        engine="postgresql" if db_url.engine == "mysql" else "mysql", database="x", user="u"
    )
    foreign = broken_dump(foreign_url, tmp_path)
    imported = ImportService(context).import_file(foreign, "alice")
    with pytest.raises(InvalidInputError, match="cannot be restored"):
        restores.restore(imported.id, "alice")


def _pre_restore_done(context: ServiceContext) -> bool:
    done = BackupFilter(status=BackupStatus.COMPLETED, source=BackupSource.PRE_RESTORE)
    return bool(context.catalog.list_backups(done).backups)


def _kill_restore_sessions(
    url: DatabaseURL, context: ServiceContext, stop: threading.Event, killed: list[int]
) -> None:
    """Once the pre-restore backup is done, kill the busy session on the database: the restore's."""
    while not stop.is_set() and not _pre_restore_done(context):
        time.sleep(0.002)
    while not stop.is_set() and not killed:
        if url.engine == "mysql":
            with mysql_admin() as conn, conn.cursor() as cur:
                cur.execute(
                    "SELECT id FROM information_schema.processlist WHERE db = %s AND command = 'Query' "
                    "AND id <> CONNECTION_ID() AND info NOT LIKE '%%processlist%%'",
                    (url.database,),
                )
                for (session,) in cur.fetchall():
                    cur.execute(f"KILL {int(session)}")
                    killed.append(int(session))
        else:
            with postgres_admin() as conn:
                rows = conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s AND state = 'active' "
                    "AND pid <> pg_backend_pid() AND application_name = 'db-backup-service'",
                    (url.database,),
                ).fetchall()
                for (pid,) in rows:
                    conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
                    killed.append(int(str(pid)))
        time.sleep(0.005)


def test_property_12_killed_connection_during_restore(
    backups: BackupService, restores: RestoreService, context: ServiceContext, db_url: DatabaseURL
) -> None:
    bulk = "REPEAT('x', 2000)" if db_url.engine == "mysql" else "repeat('x', 2000)"
    series = (
        "SELECT seq AS n FROM seq_1_to_30000"
        if db_url.engine == "mysql"
        else "SELECT generate_series(1, 30000) AS n"
    )
    execute(db_url, [f"CREATE TABLE bulk AS SELECT n, {bulk} AS padding FROM ({series}) AS numbers"])
    backup = backups.create("alice")
    _damage(db_url)
    before = fingerprint(db_url)
    stop = threading.Event()
    killed: list[int] = []
    killer = threading.Thread(target=_kill_restore_sessions, args=(db_url, context, stop, killed))
    killer.start()
    try:
        with pytest.raises(RestoreError) as info:
            restores.restore(backup.id, "alice")
    finally:
        stop.set()
        killer.join()
    assert killed, "the restore's session was never seen, so it was not killed"
    assert _says_how_the_database_was_kept(str(info.value), db_url)
    assert fingerprint(db_url) == before


def test_a_parallel_postgres_restore_that_fails_after_committing_is_put_back(
    tmp_path: Path, clock: FixedClock
) -> None:
    """With BACKUP_POSTGRES_RESTORE_CONNECTIONS > 1 a large table is committed before the failure comes."""
    rows = "".join(f"{n}\t{'p' * 100}\n" for n in range(1, 120_001))  # ~12 MB of COPY data, over 8 MiB
    sql = (
        "-- PostgreSQL database dump\n"
        "CREATE TABLE public.orders (id int PRIMARY KEY, pad text);\n"
        f"COPY public.orders (id, pad) FROM stdin;\n{rows}\\.\n"
        "INSERT INTO public.no_such_table VALUES (1);\n"
        "-- PostgreSQL database dump complete\n"
    )
    path = tmp_path / "broken.sql.gz"
    path.write_bytes(gzip.compress(sql.encode(), compresslevel=1))
    with fresh_postgres_database("svcpar") as url:
        load_sample(url)
        config = Config(database_url=url, home=tmp_path / "home", postgres_restore_connections=2)
        context = build_context(config, clock)
        restores = RestoreService(context, BackupService(context))
        before = fingerprint(url)
        broken = ImportService(context).import_file(path, "alice")
        with pytest.raises(RestoreError) as info:
            restores.restore(broken.id, "alice")
        message = str(info.value)
        assert "database is incomplete" in message and "put back" in message
        assert fingerprint(url) == before


def test_a_restore_held_up_by_an_open_transaction_changes_nothing_and_puts_nothing_back(
    tmp_path: Path, clock: FixedClock, db_url: DatabaseURL
) -> None:
    config = Config(database_url=db_url, home=tmp_path / "home", restore_lock_wait_seconds=1)
    context = build_context(config, clock)
    backups = BackupService(context)
    backup = backups.create("alice")
    _damage(db_url)
    before = fingerprint(db_url)
    with transaction_reading(db_url, "orders"), pytest.raises(RestoreError) as info:
        RestoreService(context, backups).restore(backup.id, "alice")
    message = str(info.value)
    assert "waited 1 s for a lock another session holds" in message and "session " in message
    assert "was not needed to put it back" in message and ".." not in message
    assert fingerprint(db_url) == before
    [failed] = [log for log in context.catalog.list_logs(backup.id) if log.details.get("outcome") == "failed"]
    assert failed.details["put_back"] is False


def test_a_put_back_stopped_by_a_second_ctrl_c_protects_and_reports_the_pre_restore_backup(
    tmp_path: Path, clock: FixedClock
) -> None:
    with fresh_mysql_database("svcstop") as url:
        load_sample(url)
        context = build_context(Config(database_url=url, home=tmp_path / "home"), clock)
        notifier = RecordingNotifier()
        context.notifier = notifier
        broken = ImportService(context).import_file(broken_dump(url, tmp_path), "alice")

        def stopped_while_putting_back(phase: RestorePhase, read: int, stored: int) -> None:
            if phase is RestorePhase.PUT_BACK:
                raise KeyboardInterrupt

        restores = RestoreService(context, BackupService(context))
        with pytest.raises(RestoreError) as info:
            restores.restore(broken.id, "alice", phase_progress=stopped_while_putting_back)
    message = str(info.value)
    assert "could NOT be put back: putting it back was stopped, interrupted from the keyboard" in message
    [pre] = context.catalog.list_backups(BackupFilter(source=BackupSource.PRE_RESTORE)).backups
    assert pre.is_protected and pre.restoring is None
    [failed] = [log for log in context.catalog.list_logs(broken.id) if log.details.get("outcome") == "failed"]
    assert failed.details["database_as_before"] is False
    assert [mail.kind for mail in notifier.sent] == [NotificationKind.RESTORE_FAILED]
    assert notifier.sent[0].variant == DatabaseAfter.MAY_BE_INCOMPLETE
