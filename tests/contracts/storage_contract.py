"""The one test suite every `Storage` implementation must pass (subclass it, provide `storage` and hooks)."""

from __future__ import annotations

import hashlib
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.errors import ChecksumMismatchError, InvalidInputError, NotFoundError, StorageError
from shared.storage.base import Storage

MIB = 1 << 20


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def put(storage: Storage, filename: str, data: bytes, chunk_size: int = 256 * 1024) -> str:
    upload = storage.begin(filename)
    for start in range(0, len(data), chunk_size):
        upload.write(data[start : start + chunk_size])
    return upload.commit(sha256_of(data), len(data))


def read(storage: Storage, ref: str, chunk_size: int = MIB) -> bytes:
    return b"".join(storage.open(ref, chunk_size))


shared_by_subclasses = settings(
    suppress_health_check=[
        HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.differing_executors
    ]
)
"""Each implementation's subclass runs the same property test: a different executor on purpose."""


class StorageContract:
    """Subclasses provide the fixture `storage` (empty and reachable) and override the two hooks."""

    def visible_files(self, storage: Storage) -> set[str]:
        """Names of the committed files the storage holds."""
        raise NotImplementedError

    def everything_stored(self, storage: Storage) -> set[str]:
        """Names of everything the storage holds, partial uploads included."""
        raise NotImplementedError

    def test_round_trip_of_a_small_file(self, storage: Storage) -> None:
        ref = put(storage, "small.sql.gz", b"hello backup")
        assert storage.exists(ref)
        assert read(storage, ref) == b"hello backup"
        assert self.visible_files(storage) == {"small.sql.gz"}
        assert self.everything_stored(storage) == {"small.sql.gz"}

    def test_large_multi_chunk_file_round_trips_with_its_sha256(self, storage: Storage) -> None:
        data = os.urandom(5 * MIB + 12345)
        upload = storage.begin("large.sql.gz")
        position = 0
        for size in [1, 300_000, 1, MIB, 7, 2 * MIB + 3] * 3:
            upload.write(data[position : position + size])
            position += size
            if position >= len(data):
                break
        upload.write(data[position:])
        ref = upload.commit(sha256_of(data), len(data))
        chunks = list(storage.open(ref, chunk_size=MIB))
        assert len(chunks) == 6
        assert all(len(chunk) <= MIB for chunk in chunks)
        assert sha256_of(b"".join(chunks)) == sha256_of(data)

    def test_small_chunks_when_asked(self, storage: Storage) -> None:
        ref = put(storage, "chunks.sql", b"x" * 1000)
        chunks = list(storage.open(ref, chunk_size=300))
        assert [len(chunk) for chunk in chunks] == [300, 300, 300, 100]

    def test_empty_file_round_trips(self, storage: Storage) -> None:
        ref = put(storage, "empty.sql", b"")
        assert storage.exists(ref)
        assert read(storage, ref) == b""

    def test_checksum_in_upper_case_is_accepted(self, storage: Storage) -> None:
        upload = storage.begin("upper.sql")
        upload.write(b"data")
        ref = upload.commit(sha256_of(b"data").upper(), 4)
        assert read(storage, ref) == b"data"

    @shared_by_subclasses
    @given(data=st.binary(max_size=50_000), cut=st.integers(1, 20_000))
    def test_property_8_stored_bytes_read_back_unchanged(
        self, storage: Storage, data: bytes, cut: int
    ) -> None:
        ref = put(storage, f"prop-{sha256_of(data)[:16]}-{cut}.sql.gz", data, chunk_size=cut)
        try:
            assert read(storage, ref, chunk_size=cut) == data
        finally:
            storage.delete(ref)

    def test_nothing_is_visible_before_commit(self, storage: Storage) -> None:
        upload = storage.begin("pending.sql.gz")
        upload.write(b"part of it")
        assert self.visible_files(storage) == set()
        upload.write(b" and the rest")
        ref = upload.commit(sha256_of(b"part of it and the rest"), 23)
        assert self.visible_files(storage) == {"pending.sql.gz"}
        assert read(storage, ref) == b"part of it and the rest"

    def test_abort_leaves_nothing_and_can_repeat(self, storage: Storage) -> None:
        upload = storage.begin("aborted.sql.gz")
        upload.write(os.urandom(MIB + 1))
        upload.abort()
        upload.abort()
        assert self.everything_stored(storage) == set()
        with pytest.raises(StorageError):
            upload.write(b"more")

    def test_leftovers_of_a_killed_run_go_and_nothing_else(self, storage: Storage) -> None:
        """A run that died after its upload's commit, before its record was completed, left the file:
        discarding the leftovers of its name removes it, and touches neither other files nor an upload
        of another name under way."""
        finished = put(storage, "finished.sql.gz", b"an earlier, finished file")
        put(storage, "killed.sql.gz", b"committed, never recorded")
        other = storage.begin("other.sql.gz")
        other.write(b"still")
        storage.discard_leftovers("killed.sql.gz")
        storage.discard_leftovers("never-begun.sql.gz")
        assert read(storage, finished) == b"an earlier, finished file"
        other.write(b" being written")
        other.commit(sha256_of(b"still being written"), 19)
        assert self.visible_files(storage) == {"finished.sql.gz", "other.sql.gz"}

    def test_abort_after_commit_keeps_the_file(self, storage: Storage) -> None:
        upload = storage.begin("kept.sql")
        upload.write(b"keep me")
        ref = upload.commit(sha256_of(b"keep me"), 7)
        upload.abort()
        assert read(storage, ref) == b"keep me"

    def test_wrong_sha256_fails_the_commit_and_leaves_nothing(self, storage: Storage) -> None:
        upload = storage.begin("corrupt.sql.gz")
        upload.write(b"actual bytes")
        with pytest.raises(ChecksumMismatchError):
            upload.commit(sha256_of(b"other bytes"), len(b"actual bytes"))
        upload.abort()
        assert self.everything_stored(storage) == set()

    def test_wrong_size_fails_the_commit_and_leaves_nothing(self, storage: Storage) -> None:
        upload = storage.begin("short.sql.gz")
        upload.write(b"actual bytes")
        with pytest.raises(ChecksumMismatchError):
            upload.commit(sha256_of(b"actual bytes"), 999)
        assert self.everything_stored(storage) == set()

    @pytest.mark.parametrize(
        "filename", ["", "a/b.sql", "../up.sql", "..", ".", ".hidden.sql", "a\\b", "a\nb"]
    )
    def test_unsafe_filenames_are_refused(self, storage: Storage, filename: str) -> None:
        with pytest.raises(InvalidInputError):
            storage.begin(filename)
        assert self.everything_stored(storage) == set()

    def test_deleted_file_is_gone_and_deleting_again_is_fine(self, storage: Storage) -> None:
        ref = put(storage, "gone.sql.gz", b"bye")
        storage.delete(ref)
        assert not storage.exists(ref)
        storage.delete(ref)
        with pytest.raises(NotFoundError):
            read(storage, ref)
        assert self.everything_stored(storage) == set()

    def test_files_are_independent(self, storage: Storage) -> None:
        first = put(storage, "one.sql", b"first")
        second = put(storage, "two.sql", b"second")
        assert first != second
        storage.delete(first)
        assert read(storage, second) == b"second"
        assert self.visible_files(storage) == {"two.sql"}

    def test_connection_of_a_healthy_storage(self, storage: Storage) -> None:
        storage.test_connection()
        assert self.everything_stored(storage) == set()
