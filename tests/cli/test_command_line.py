"""The command line as ops use it: `python main.py ...` in a subprocess; exit codes, JSON, one-line errors."""

from __future__ import annotations

import gzip
import json
import subprocess
from pathlib import Path

import pytest

from shared.catalog.sqlite import SQLiteCatalog
from shared.dburl import DatabaseURL
from shared.models import BackupStatus
from tests.catalog.strategies import make_backup
from tests.cli.running import Cli, on_terminal, with_tmpfs
from tests.fakes.scheduler_server import FakeCloudScheduler
from tests.sample_data import execute, fingerprint


def test_full_cycle_with_json(cli: Cli, database: DatabaseURL, tmp_path: Path) -> None:
    original = fingerprint(database)
    created = cli("create", "--protect", "--json")
    assert created.code == 0, created.stderr
    backup = created.json
    assert backup["status"] == "completed" and backup["is_protected"] is True and backup["source"] == "cli"

    listing = cli("list", "--json").json
    assert [b["id"] for b in listing["backups"]] == [backup["id"]] and listing["next_cursor"] is None
    assert cli("show", backup["id"], "--json").json["sha256"] == backup["sha256"]

    target = tmp_path / "copy.sql.gz"
    downloaded = cli("download", backup["id"], "-o", str(target), "--json")
    assert downloaded.code == 0 and downloaded.json["bytes"] == backup["file_size"]
    assert b"CREATE TABLE" in gzip.decompress(target.read_bytes())

    execute(database, ["DELETE FROM orders"])
    restored = cli("restore", backup["id"], "--force", "--json")
    assert restored.code == 0, restored.stderr
    assert restored.json["pre_restore_backup"]["source"] == "pre_restore"
    assert fingerprint(database) == original

    assert cli("unprotect", backup["id"], "--json").json["is_protected"] is False
    deleted = cli("delete", backup["id"], "--json")
    assert deleted.json == {"id": backup["id"], "deleted": True}
    assert cli("show", backup["id"]).code == 4


def test_paging_with_cursor(cli: Cli) -> None:
    ids = [cli("create", "--json").json["id"] for _ in range(3)]
    first = cli("list", "--limit", "2", "--json").json
    assert len(first["backups"]) == 2 and first["next_cursor"]
    second = cli("list", "--limit", "2", "--cursor", first["next_cursor"], "--json").json
    assert second["next_cursor"] is None
    assert sorted(b["id"] for b in first["backups"] + second["backups"]) == sorted(ids)


def test_restore_without_force_and_without_terminal_refuses(cli: Cli, database: DatabaseURL) -> None:
    backup = cli("create", "--json").json
    execute(database, ["DELETE FROM orders"])
    damaged = fingerprint(database)
    refused = cli("restore", backup["id"], stdin="")
    assert refused.code == 2 and "--force" in refused.stderr
    assert fingerprint(database) == damaged
    assert len(cli("list", "--json").json["backups"]) == 1


def test_a_restore_that_could_not_start_is_refused_before_anyone_is_asked(cli: Cli) -> None:
    failed = make_backup("00000000000000aa", status=BackupStatus.FAILED)
    SQLiteCatalog(cli.home / "catalog.sqlite3").add_backup(failed)
    refused = cli("restore", failed.id, stdin="")
    assert refused.code == 2 and "not completed" in refused.stderr and "--force" not in refused.stderr


def test_settings_are_shown_as_set_takes_them_back(cli: Cli) -> None:
    changed = cli("settings", "--set", "notification_emails=ops@example.com,dba@example.org")
    assert changed.code == 0, changed.stderr
    shown = {line[:24].strip(): line[24:].strip() for line in changed.stdout.splitlines()}
    assert shown["notification_emails"] == "ops@example.com,dba@example.org"
    assert shown["schedule_enabled"] == "false"
    again = cli("settings", "--set", f"notification_emails={shown['notification_emails']}", "--json")
    assert again.json["notification_emails"] == ["ops@example.com", "dba@example.org"]


def test_an_abbreviated_option_is_an_unknown_one(cli: Cli) -> None:
    run = cli("list", "--lim", "2")
    assert run.code == 2 and "unrecognized arguments: --lim 2" in run.stderr
    assert cli("--jso", "list").code == 2


def test_settings_and_cleanup(cli: Cli) -> None:
    changed = cli("settings", "--set", "retention_daily=1", "--set", "retention_weekly=0", "--json")
    assert changed.code == 0, changed.stderr
    assert changed.json["retention_daily"] == 1 and changed.json["retention_monthly"] == 6
    bad = cli("settings", "--set", "retention_daily=-3", "--set", "schedule_time=9am", "--json")
    assert bad.code == 2 and "retention_daily" in bad.stderr and "schedule_time" in bad.stderr
    assert cli("settings", "--json").json["retention_daily"] == 1

    ids = [cli("create", "--json").json["id"] for _ in range(2)]
    plan = cli("cleanup", "--dry-run", "--json").json
    assert plan["deleted"] == 0 and len(plan["keep"]) == 1 and len(plan["delete"]) == 1
    done = cli("cleanup", "--json").json
    assert done["deleted"] == 1
    assert [b["id"] for b in cli("list", "--json").json["backups"]] == [done["keep"][0]["id"]]
    assert set(ids) == {done["keep"][0]["id"], done["delete"][0]["id"]}


def test_import_then_show(cli: Cli, database: DatabaseURL, tmp_path: Path) -> None:
    dump = subprocess.run(
        ["mariadb-dump", "-uroot", "-h", database.host, "-P", str(database.port), database.database],
        check=True,
        capture_output=True,
    ).stdout
    path = tmp_path / "old.sql.gz"
    path.write_bytes(gzip.compress(dump))
    imported = cli("import", str(path), "--created-at", "2025-06-01T03:00:00Z", "--json")
    assert imported.code == 0, imported.stderr
    assert imported.json["source"] == "import" and imported.json["created_at"].startswith(
        "2025-06-01T03:00:00"
    )


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["show", "ffffffffffffffff"], 4, "ffffffffffffffff"),
        (["delete", "ffffffffffffffff"], 4, "ffffffffffffffff"),
        (["restore", "ffffffffffffffff", "--force"], 4, "ffffffffffffffff"),
        (["list", "--limit", "0"], 2, "limit"),
        (["list", "--cursor", "not-a-cursor"], 2, "cursor"),
        (["import", "/no/such/file.sql.gz"], 2, "is not a file"),
        (["import", "--created-at", "yesterday", "/etc/hostname"], 2, "--created-at"),
        (["settings", "--set", "nonsense"], 2, "KEY=VALUE"),
        (["import", "--created-at", "0001-01-01T00:00:00+01:00", "/etc/hostname"], 2, "out of range"),
        (["import", "--created-at", "1969-12-31T23:59:59Z", "/etc/hostname"], 2, "before 1970"),
        (["import", "--created-at", "2099-01-01T00:00:00Z", "/etc/hostname"], 2, "in the future"),
        (["settings", "--set", "retention_daily=1", "--set", "retention_daily=2"], 2, "retention_daily"),
        (["drive-test"], 2, "not configured"),
    ],
)
def test_bad_input_is_one_clear_line(cli: Cli, args: list[str], code: int, message: str) -> None:
    run = cli(*args)
    assert run.code == code
    assert message in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and "Traceback" not in run.stderr
    as_json = cli(*args, "--json")
    assert as_json.code == code and as_json.json["exit_code"] == code


def test_import_of_non_gzip_and_non_dump(cli: Cli, tmp_path: Path) -> None:
    text = tmp_path / "notes.sql"
    text.write_text("hello\n")
    fake_gz = tmp_path / "fake.sql.gz"
    fake_gz.write_bytes(b"\x1f\x8b\x08\x00" + b"\x00" * 40)
    for path, message in ((text, "does not look like a dump"), (fake_gz, "gzip")):
        run = cli("import", str(path))
        assert run.code == 2 and message in run.stderr
    assert cli("list", "--json").json["backups"] == []


def test_malformed_database_url_names_the_variable(cli: Cli) -> None:
    cli.env["BACKUP_DATABASE_URL"] = "mysql://root:hunter2@host:port/db"
    run = cli("create")
    assert run.code == 2 and "BACKUP_DATABASE_URL" in run.stderr and "hunter2" not in run.stderr


def test_wrong_password_fails_without_showing_it(cli: Cli, database: DatabaseURL) -> None:
    cli.env["BACKUP_DATABASE_URL"] = (
        f"mysql://nobody_here:Sup3rSecret@{database.host}:{database.port}/{database.database}"
    )
    run = cli("create", "--json")
    assert run.code == 1
    assert "Sup3rSecret" not in run.stderr + run.stdout
    failed = cli("list", "--json").json["backups"]
    assert failed[0]["status"] == "failed" and "Sup3rSecret" not in json.dumps(failed)


def test_debug_shows_the_traceback(cli: Cli) -> None:
    run = cli("show", "ffffffffffffffff", "--debug")
    assert run.code == 4 and "Traceback" in run.stderr


def test_full_disk_fails_the_backup_and_leaves_no_file(cli: Cli, database: DatabaseURL) -> None:
    """BACKUP_HOME/files is a 256 KiB tmpfs (a private mount namespace); the dump is ~2 MB of random data."""
    execute(database, ["CREATE TABLE noise AS SELECT seq, RANDOM_BYTES(1000) AS payload FROM seq_1_to_2000"])
    done = with_tmpfs(cli, cli.files, "size=256k", "create", "--json")
    assert done.code == 1, done.stderr
    assert "disk is full" in done.stderr
    assert done.stdout.strip().endswith("LEFTOVER:")
    [record] = cli("list", "--json").json["backups"]
    assert record["status"] == "failed" and "disk is full" in record["error_message"]
    assert record["locations"] == []


def test_progress_line_shows_on_a_terminal_only(cli: Cli, database: DatabaseURL) -> None:
    """~120 MB of SQL, so the backup outlasts the line's 0.2 s refresh several times and shows a rate (a
    40 MB one once ended within 0.2 s of its first line, which has no rate yet)."""
    execute(database, ["CREATE TABLE noise AS SELECT seq, RANDOM_BYTES(1000) AS payload FROM seq_1_to_60000"])
    done = on_terminal(cli, "create", "--json")
    assert done.code == 0
    assert "backup: " in done.shown and "read" in done.shown and "/s" in done.shown
    assert json.loads(done.stdout)["status"] == "completed"
    quiet = cli("create", "--json")
    assert quiet.code == 0 and "read" not in quiet.stderr


def test_settings_from_the_command_line_keep_the_scheduler_job_in_step(cli: Cli) -> None:
    job = "projects/demo/locations/europe-west1/jobs/db-backup"
    with FakeCloudScheduler() as scheduler:
        scheduler.put_job(job, schedule="0 2 * * *", paused=True)
        cli.env.update(BACKUP_SCHEDULER_BACKUP_JOB=job, BACKUP_SCHEDULER_ENDPOINT=scheduler.endpoint)
        changed = cli(
            "settings",
            "--set",
            "schedule_enabled=true",
            "--set",
            "schedule_time=03:30",
            "--set",
            "time_zone=Europe/Berlin",
            "--json",
        )
        assert changed.code == 0, changed.stderr
        state = scheduler.job(job)
        assert state["schedule"] == "30 3 * * *" and state["timeZone"] == "Europe/Berlin"
        assert state["state"] == "ENABLED"
        scheduler.fail("patch", 503)
        refused = cli("settings", "--set", "schedule_time=04:00", "--json")
        assert refused.code != 0
        assert cli("settings", "--json").json["schedule_time"] == "03:30"
        assert scheduler.job(job)["schedule"] == "30 3 * * *"
