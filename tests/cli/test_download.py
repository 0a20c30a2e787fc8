"""`download ID -o FILE`: private, never over anything already there (a symlink, another download's file),
and a target that cannot be written is the user's to fix (exit 2, naming it), with nothing left behind."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest

from shared.dburl import DatabaseURL
from tests.cli.running import Cli, finished, wait_until, with_tmpfs
from tests.sample_data import execute


def _noisy_backup(cli: Cli, database: DatabaseURL) -> Any:
    """A backup of some 2 MB of random data."""
    execute(database, ["CREATE TABLE noise AS SELECT seq, RANDOM_BYTES(1000) AS payload FROM seq_1_to_2000"])
    created = cli("create", "--json")
    assert created.code == 0, created.stderr
    return created.json


def test_a_download_is_readable_by_its_owner_only(cli: Cli, tmp_path: Path) -> None:
    backup = cli("create", "--json").json
    target = tmp_path / "copy.sql.gz"
    assert cli("download", backup["id"], "-o", str(target)).code == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert hashlib.sha256(target.read_bytes()).hexdigest() == backup["sha256"]


def test_a_download_never_replaces_what_is_there(cli: Cli, tmp_path: Path) -> None:
    backup = cli("create", "--json").json
    dangling = tmp_path / "link.sql.gz"
    dangling.symlink_to(tmp_path / "elsewhere.sql.gz")
    kept = tmp_path / "kept.sql.gz"
    kept.write_bytes(b"mine")
    for target in (dangling, kept):
        run = cli("download", backup["id"], "-o", str(target), "--json")
        assert run.code == 2 and "exists already" in run.json["error"] and str(target) in run.json["error"]
    assert dangling.is_symlink() and not (tmp_path / "elsewhere.sql.gz").exists()
    assert kept.read_bytes() == b"mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "kept.sql.gz", "link.sql.gz"]


def test_a_file_that_appears_while_the_download_runs_is_kept(cli: Cli, tmp_path: Path) -> None:
    """As when two downloads to one FILE race: the catalog held for writing stops this one after its first
    check that FILE does not exist (it has opened the catalog), and FILE appears meanwhile."""
    backup = cli("create", "--json").json
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "copy.sql.gz"
    with _catalog_held_for_writing(cli):
        process = cli.start("download", backup["id"], "-o", str(target), "--json")
        wait_until(lambda: _has_open(process, cli.home / "catalog.sqlite3"), process, "the catalog")
        target.write_bytes(b"the other download's")
    run = finished(process)
    assert run.code == 2, run.stderr
    assert run.json["error"] == (
        f"{target} exists already (it appeared while the download ran); choose another file name or remove it"
    )
    assert target.read_bytes() == b"the other download's"
    assert [p.name for p in folder.iterdir()] == ["copy.sql.gz"]


@contextmanager
def _catalog_held_for_writing(cli: Cli) -> Iterator[None]:
    """A write transaction on the command's catalog until the block ends: its audit entry must wait."""
    connection = sqlite3.connect(cli.home / "catalog.sqlite3", isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        yield
    finally:
        connection.close()


def _has_open(process: subprocess.Popen[bytes], path: Path) -> bool:
    descriptors = Path(f"/proc/{process.pid}/fd")
    with suppress(OSError):  # a descriptor closed while looking
        return any(os.readlink(fd) == str(path) for fd in descriptors.iterdir())
    return False


def test_an_unwritable_target_is_named_with_the_reason(cli: Cli) -> None:
    backup = cli("create", "--json").json
    run = cli("download", backup["id"], "-o", "/sys/copy.sql.gz", "--json")
    assert run.code == 2, run.stderr
    assert run.json["error"].startswith("cannot write /sys/copy.sql.gz: ") and ".partial" not in run.stderr


@pytest.mark.parametrize(
    ("options", "reason"), [("size=64k", "No space left on device"), ("ro", "Read-only file system")]
)
def test_a_full_or_read_only_disk_is_named_and_left_clean(
    cli: Cli, database: DatabaseURL, tmp_path: Path, options: str, reason: str
) -> None:
    backup = _noisy_backup(cli, database)
    folder = tmp_path / "small"
    target = folder / "copy.sql.gz"
    run = with_tmpfs(cli, folder, options, "download", backup["id"], "-o", str(target))
    assert run.code == 2, run.stderr
    assert run.stderr.strip() == f"error: cannot write {target}: {reason}"
    assert run.stdout.strip() == "LEFTOVER:"
