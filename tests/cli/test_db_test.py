"""`db-test`: whether the configured database can be reached and fully backed up, without a backup."""

from __future__ import annotations

import getpass
import os
from pathlib import Path

from shared.catalog.sqlite import SQLiteCatalog
from shared.dburl import DatabaseURL
from shared.models import AuditAction
from tests.cli.running import Cli
from tests.databases import fresh_postgres_database, limited_user


def _cli_for(url: str, home: Path) -> Cli:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKUP_")}
    env.update(BACKUP_DATABASE_URL=url, BACKUP_HOME=str(home))
    return Cli(env)


def test_a_database_a_backup_can_read_whole_passes_and_takes_no_backup(cli: Cli) -> None:
    run = cli("db-test", "--json")
    assert run.code == 0, run.stderr
    assert run.json["ok"] is True and run.json["restore_ok"] is True and run.json["engine"] == "mysql"
    assert "a backup there can be complete" in run.json["message"]
    assert cli("list", "--json").json["backups"] == []


def test_a_user_that_cannot_see_every_object_fails_naming_the_grant(
    database: DatabaseURL, tmp_path: Path
) -> None:
    with limited_user(database.database, [f"SELECT ON `{database.database}`.*"]) as (user, password):
        url = f"mysql://{user}:{password}@{database.host}:{database.port}/{database.database}"
        run = _cli_for(url, tmp_path)("db-test")
    assert run.code == 1
    assert f"GRANT TRIGGER, EVENT ON `{database.database}`.* TO '{user}'@'%'" in run.stderr
    assert password not in run.stderr + run.stdout
    assert len(run.stderr.strip().splitlines()) == 1


def test_a_user_that_may_back_up_but_not_restore_is_told_which_grant_a_restore_needs(
    database: DatabaseURL, tmp_path: Path
) -> None:
    on_database = f"`{database.database}`.*"
    backup_grants = [f"SELECT, SHOW VIEW, TRIGGER, EVENT ON {on_database}", "SELECT ON `mysql`.`proc`"]
    with limited_user(database.database, backup_grants) as (user, password):
        url = f"mysql://{user}:{password}@{database.host}:{database.port}/{database.database}"
        run = _cli_for(url, tmp_path)("db-test", "--json")
    assert run.code == 1
    found = run.json
    assert found["ok"] is False and found["restore_ok"] is False
    assert "a backup of" in found["message"].lower() and "a restore would be refused" in found["message"]
    assert f"GRANT DROP, CREATE, INSERT, CREATE VIEW ON {on_database} TO '{user}'@'%'" in found["message"]
    assert "whose DEFINER is another account" in found["message"]  # the sample's view is root's
    assert password not in run.stdout + run.stderr


def test_a_wrong_password_fails_without_showing_it(database: DatabaseURL, tmp_path: Path) -> None:
    wrong = f"mysql://root:Not-The-Password-42@{database.host}:{database.port}/{database.database}"
    run = _cli_for(wrong, tmp_path)("db-test", "--json")
    assert run.code == 1 and run.json["ok"] is False
    assert "refused the login" in run.json["message"]
    assert "Not-The-Password-42" not in run.stdout + run.stderr


def test_a_postgres_database_passes(tmp_path: Path) -> None:
    with fresh_postgres_database("clidb") as url:
        run = _cli_for(f"postgresql://{url.user}@{url.host}:{url.port}/{url.database}", tmp_path)("db-test")
    assert run.code == 0, run.stderr
    assert "is reachable" in run.stdout


def test_no_database_configured_is_a_usage_error(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKUP_")}
    env.update(BACKUP_HOME=str(tmp_path))
    run = Cli(env)("db-test")
    assert run.code == 2
    assert "set BACKUP_DATABASE_URL" in run.stderr


def test_each_check_is_audited_with_its_outcome(cli: Cli) -> None:
    assert cli("db-test").code == 0
    assert cli("drive-test").code == 2
    logs = SQLiteCatalog(cli.home / "catalog.sqlite3").list_logs()
    found = {log.action: log.details["outcome"] for log in logs}
    assert found == {AuditAction.TEST_DATABASE: "passed", AuditAction.TEST_DRIVE: "not configured"}
    assert {log.actor for log in logs} == {getpass.getuser()}
