"""Ctrl-C and SIGTERM (`timeout`, systemd) stop a command the ordinary way, exit 130: a backup is failed
with nothing left and its lock released, a restore puts the database back. The runs are real processes,
signalled while a table lock held by another session holds them up."""

from __future__ import annotations

import signal
import subprocess
import time
from contextlib import ExitStack

import pytest

from shared.catalog.base import BackupFilter
from shared.dburl import DatabaseURL
from shared.models import BackupSource, BackupStatus
from tests.cli.running import Cli, finished, on_terminal, wait_until
from tests.open_transactions import table_locked, transaction_reading
from tests.sample_data import execute, fingerprint

HELD_UP = 0.3
"""How long after reaching the held table the signal comes: well inside the statement it holds up."""


def _running_backup(cli: Cli) -> bool:
    catalog = cli.catalog()
    running = BackupFilter(status=BackupStatus.RUNNING)
    return catalog is not None and bool(catalog.list_backups(running).backups)


def _loading(cli: Cli) -> bool:
    """The restore has its pre-restore backup and loads the backup being restored."""
    catalog = cli.catalog()
    if catalog is None:
        return False
    pre_restore = catalog.list_backups(BackupFilter(source=BackupSource.PRE_RESTORE)).backups
    return any(pre.restoring and pre.status is BackupStatus.COMPLETED for pre in pre_restore)


def test_sigterm_fails_a_backup_cleanly_and_releases_its_lock(cli: Cli, database: DatabaseURL) -> None:
    with table_locked(database, "orders"):
        process = cli.start("create", "--json")
        wait_until(lambda: _running_backup(cli), process, "the dump")
        time.sleep(HELD_UP)
        process.send_signal(signal.SIGTERM)
        run = finished(process)
    assert run.code == 130, run.stderr
    assert run.json == {"error": "interrupted (SIGTERM)", "exit_code": 130}
    assert run.stderr.strip().splitlines()[-1] == "error: interrupted (SIGTERM)"  # after the failure mail
    [failed] = cli("list", "--json").json["backups"]
    assert failed["status"] == "failed" and failed["error_message"] == "interrupted (SIGTERM)"
    assert list(cli.files.iterdir()) == []
    assert cli("create", "--json").code == 0  # not busy: the lock went with the run


@pytest.mark.parametrize(
    ("stop", "said"), [(signal.SIGINT, "Ctrl-C"), (signal.SIGTERM, "SIGTERM"), (signal.SIGHUP, "SIGHUP")]
)
def test_a_stopped_restore_puts_the_database_back_and_shows_each_phase(
    cli: Cli, database: DatabaseURL, stop: signal.Signals, said: str
) -> None:
    backup = cli("create", "--json").json
    execute(database, ["DELETE FROM orders WHERE id % 2 = 0"])
    before = fingerprint(database)
    with ExitStack() as held:
        held.enter_context(transaction_reading(database, "orders"))  # the restore cannot drop it

        def stop_when_restoring(process: subprocess.Popen[bytes]) -> None:
            wait_until(lambda: _loading(cli), process, "the restore")
            time.sleep(HELD_UP)
            process.send_signal(stop)
            held.close()  # the put-back may now go ahead

        run = on_terminal(cli, "restore", backup["id"], "--force", "--json", meanwhile=stop_when_restoring)
    assert run.code == 130, run.shown
    error = run.json_error()
    assert error["exit_code"] == 130
    assert "interrupted" in error["error"] and said in error["error"]
    assert "put back as it was" in error["error"]
    assert fingerprint(database) == before
    for phase in ("checking the file", "pre-restore backup", "putting the database back"):
        assert f"restore ({phase}): " in run.shown, run.shown
