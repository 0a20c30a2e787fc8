"""`LocalStorage` against the storage contract, plus what only a local folder can show."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from shared.errors import InvalidInputError, StorageError
from shared.storage.base import Storage
from shared.storage.local import PARTIAL_PREFIX, LocalStorage
from tests.contracts.storage_contract import StorageContract, put, read, sha256_of

PROJECT = Path(__file__).resolve().parents[2]


class TestLocalStorage(StorageContract):
    @pytest.fixture
    def storage(self, tmp_path: Path) -> Storage:
        return LocalStorage(tmp_path / "backups")

    def visible_files(self, storage: Storage) -> set[str]:
        return {path.name for path in self._files(storage) if not path.name.startswith(".")}

    def everything_stored(self, storage: Storage) -> set[str]:
        return {path.name for path in self._files(storage)}

    @staticmethod
    def _files(storage: Storage) -> list[Path]:
        assert isinstance(storage, LocalStorage)
        return list(storage.root.iterdir()) if storage.root.exists() else []


def test_the_ref_is_the_file_name_and_the_file_is_in_the_root(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    ref = put(storage, "db-2026.sql.gz", b"content")
    assert ref == "db-2026.sql.gz"
    assert (tmp_path / ref).read_bytes() == b"content"


def test_a_partial_file_is_hidden_in_the_root_while_writing(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    upload = storage.begin("db.sql.gz")
    upload.write(b"x" * 10)
    names = [path.name for path in tmp_path.iterdir()]
    assert len(names) == 1 and names[0].startswith(PARTIAL_PREFIX)
    upload.abort()
    assert list(tmp_path.iterdir()) == []


def test_the_partial_file_of_a_killed_upload_is_discarded(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    storage.begin("killed.sql.gz").write(b"x" * 10)
    other = storage.begin("killed.sql.gz.more")
    storage.discard_leftovers("killed.sql.gz")
    [left] = [path.name for path in tmp_path.iterdir()]
    assert left.startswith(f"{PARTIAL_PREFIX}killed.sql.gz.more-")
    other.abort()
    storage.discard_leftovers("killed.sql.gz")
    LocalStorage(tmp_path / "never-made").discard_leftovers("killed.sql.gz")


def test_an_existing_file_is_never_replaced(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    put(storage, "db.sql.gz", b"original")
    with pytest.raises(StorageError, match="exists already"):
        put(storage, "db.sql.gz", b"newer")
    assert read(storage, "db.sql.gz") == b"original"
    assert [path.name for path in tmp_path.iterdir()] == ["db.sql.gz"]


@pytest.mark.parametrize("ref", ["../outside", "/etc/passwd", "..", ".partial-x"])
def test_refs_cannot_leave_the_root(tmp_path: Path, ref: str) -> None:
    storage = LocalStorage(tmp_path / "root")
    (tmp_path / "outside").write_text("secret")
    with pytest.raises(InvalidInputError):
        read(storage, ref)
    with pytest.raises(InvalidInputError):
        storage.delete(ref)
    assert (tmp_path / "outside").exists()


def test_connection_creates_a_missing_folder(tmp_path: Path) -> None:
    root = tmp_path / "a" / "b"
    LocalStorage(root).test_connection()
    assert root.is_dir()
    assert list(root.iterdir()) == []


def test_connection_fails_when_the_root_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(StorageError, match="file"):
        LocalStorage(tmp_path / "file").test_connection()
    with pytest.raises(StorageError):
        LocalStorage(tmp_path / "file" / "below").begin("db.sql")


def _run_on_small_tmpfs(tmp_path: Path, options: str, script: str) -> dict[str, Any]:
    """Run `script` in a private mount namespace where `tmp_path/mnt` is a tmpfs with `options`."""
    if shutil.which("unshare") is None:
        pytest.skip("LOUD SKIP: `unshare` is missing, so no small file system can be mounted here")
    mount_point = tmp_path / "mnt"
    mount_point.mkdir()
    program = f"import json, sys; from pathlib import Path; ROOT = Path({str(mount_point)!r})\n"
    program += textwrap.dedent(script)
    shell = f'mount -t tmpfs -o {options} tmpfs "$1" && exec "$2" -c "$3"'
    result = subprocess.run(
        ["unshare", "-rm", "sh", "-c", shell, "sh", str(mount_point), sys.executable, program],
        cwd=PROJECT, capture_output=True, text=True, timeout=60, check=False,
    )
    if result.returncode != 0 and "mount" in result.stderr and "Traceback" not in result.stderr:
        pytest.skip(f"LOUD SKIP: cannot mount a test tmpfs here: {result.stderr.strip()}")
    assert result.returncode == 0, result.stderr
    answer: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return answer


def test_a_full_disk_is_reported_and_the_partial_file_removed(tmp_path: Path) -> None:
    answer = _run_on_small_tmpfs(tmp_path, "size=256k", """
        from shared.errors import StorageError
        from shared.storage.local import LocalStorage
        storage = LocalStorage(ROOT)
        error = ""
        upload = storage.begin("big.sql.gz")
        try:
            for _ in range(16):
                upload.write(b"x" * 65536)
            upload.commit("0" * 64, 16 * 65536)
        except StorageError as exc:
            error = str(exc)
        print(json.dumps({"error": error, "left": sorted(p.name for p in ROOT.iterdir())}))
    """)
    assert "disk is full" in answer["error"]
    assert answer["left"] == []


def test_a_read_only_folder_fails_the_connection_test(tmp_path: Path) -> None:
    answer = _run_on_small_tmpfs(tmp_path, "ro,size=64k", """
        from shared.errors import StorageError
        from shared.storage.local import LocalStorage
        try:
            LocalStorage(ROOT).test_connection()
            error = ""
        except StorageError as exc:
            error = str(exc)
        print(json.dumps({"error": error}))
    """)
    assert "not writable" in answer["error"]


def test_commit_checks_what_was_written(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    upload = storage.begin("db.sql")
    upload.write(b"abc")
    assert upload.commit(sha256_of(b"abc"), 3) == "db.sql"
