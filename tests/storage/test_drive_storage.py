"""DriveStorage driven through the real google-api-python-client against the local Drive v3 fake."""

from __future__ import annotations

import hashlib
import io
import os

import httplib2
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from googleapiclient.http import MediaIoBaseUpload
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import (
    ChecksumMismatchError,
    ConfigurationError,
    InvalidInputError,
    NotFoundError,
    StorageError,
)
from shared.storage.base import Storage
from shared.storage.drive import DriveStorage, build_drive_service
from shared.storage.drive_credentials import (
    OAuthRefreshToken,
    refresh_token_credentials,
    service_account_credentials,
)
from shared.storage.drive_upload import CHUNK_GRANULARITY
from shared.storage.retry import RetryPolicy
from tests.contracts.storage_contract import StorageContract
from tests.fakes.drive_fixtures import (
    TEST_CHUNK_SIZE,
    RecordedSleeps,
    drive_fake,
    drive_folder,
    drive_sleeps,
    drive_storage,
    make_drive_service,
)
from tests.fakes.drive_server import DriveFake, SeenRequest

__all__ = ["drive_fake", "drive_folder", "drive_sleeps", "drive_storage"]

MiB = 1024 * 1024


class TestDriveStorageContract(StorageContract):
    """DriveStorage passes the same suite as LocalStorage."""

    fake: DriveFake
    folder: str

    @pytest.fixture
    def storage(self, drive_fake: DriveFake, drive_folder: str, drive_storage: DriveStorage) -> Storage:
        self.fake, self.folder = drive_fake, drive_folder
        return drive_storage

    def visible_files(self, storage: Storage) -> set[str]:
        return {item.name for item in self.fake.files_in(self.folder)}

    def everything_stored(self, storage: Storage) -> set[str]:
        with self.fake.lock:
            partial = {
                str(session.metadata.get("name"))
                for session in self.fake.sessions.values()
                if session.file_id is None
            }
        return self.visible_files(storage) | partial


def upload(storage: DriveStorage, filename: str, data: bytes, piece: int = 100_000) -> str:
    """Push `data` through `begin`/`write`/`commit` in pieces that don't line up with chunks."""
    pending = storage.begin(filename)
    for start in range(0, len(data), piece):
        pending.write(data[start : start + piece])
    return pending.commit(hashlib.sha256(data).hexdigest(), len(data))


def stored_bytes(fake: DriveFake, ref: str) -> bytes:
    return fake.files[ref].content


def chunk_starts(fake: DriveFake) -> list[int]:
    return [int(str(seen.content_range).split()[1].split("-")[0]) for seen in fake.upload_chunks()]


def payload(size: int) -> bytes:
    return os.urandom(size)


def test_multi_chunk_upload_stores_our_bytes_in_256_kib_chunks_of_unknown_total(
    drive_fake: DriveFake, drive_storage: DriveStorage, drive_folder: str
) -> None:
    data = payload(5 * MiB + 12345)
    ref = upload(drive_storage, "db-2026-01-01.sql.gz", data)

    assert hashlib.sha256(stored_bytes(drive_fake, ref)).hexdigest() == hashlib.sha256(data).hexdigest()
    assert drive_fake.files[ref].parents == [drive_folder]
    assert drive_fake.files[ref].name == "db-2026-01-01.sql.gz"
    chunks = drive_fake.upload_chunks()
    assert chunk_starts(drive_fake) == [n * TEST_CHUNK_SIZE for n in range(len(chunks))]
    assert all(str(seen.content_range).endswith("/*") for seen in chunks[:-1])
    assert str(chunks[-1].content_range).endswith(f"/{len(data)}")
    assert all(seen.body_length == TEST_CHUNK_SIZE for seen in chunks[:-1])


def test_upload_holds_at_most_one_chunk_plus_one_write_in_memory(
    drive_fake: DriveFake, drive_storage: DriveStorage
) -> None:
    data = payload(5 * MiB)
    piece = 64 * 1024
    pending = drive_storage.begin("bounded.sql.gz")
    most_buffered = 0
    for start in range(0, len(data), piece):
        pending.write(data[start : start + piece])
        most_buffered = max(most_buffered, pending.buffered_bytes)
    ref = pending.commit(hashlib.sha256(data).hexdigest(), len(data))

    assert most_buffered <= TEST_CHUNK_SIZE + piece
    assert stored_bytes(drive_fake, ref) == data


def test_upload_of_an_exact_multiple_of_the_chunk_size_ends_with_a_full_chunk_carrying_the_total(
    drive_fake: DriveFake, drive_storage: DriveStorage
) -> None:
    data = payload(3 * TEST_CHUNK_SIZE)
    ref = upload(drive_storage, "exact.sql.gz", data, piece=TEST_CHUNK_SIZE)

    assert stored_bytes(drive_fake, ref) == data
    assert [seen.content_range for seen in drive_fake.upload_chunks()][-1] == (
        f"bytes {2 * TEST_CHUNK_SIZE}-{3 * TEST_CHUNK_SIZE - 1}/{3 * TEST_CHUNK_SIZE}"
    )


def test_empty_file_round_trip(drive_fake: DriveFake, drive_storage: DriveStorage) -> None:
    ref = upload(drive_storage, "empty.sql.gz", b"")

    assert stored_bytes(drive_fake, ref) == b""
    assert b"".join(drive_storage.open(ref)) == b""


def test_5xx_in_the_middle_resumes_the_session_without_resending_from_zero(
    drive_fake: DriveFake, drive_storage: DriveStorage, drive_sleeps: RecordedSleeps
) -> None:
    data = payload(5 * MiB)
    drive_fake.failures.chunk_statuses[8] = 503
    ref = upload(drive_storage, "resumed.sql.gz", data)

    assert hashlib.sha256(stored_bytes(drive_fake, ref)).hexdigest() == hashlib.sha256(data).hexdigest()
    starts = chunk_starts(drive_fake)
    assert starts.count(0) == 1
    assert starts.count(7 * TEST_CHUNK_SIZE) == 2, "the failed chunk is sent again, and only it"
    assert len(starts) == len(set(starts)) + 1
    assert any(seen.content_range == "bytes */*" for seen in drive_fake.requests), "the session was queried"
    assert len(drive_sleeps.delays) == 1


@pytest.mark.parametrize("bytes_kept_before_drop", [True, False])
def test_dropped_connection_mid_upload_resumes_from_what_drive_holds(
    drive_fake: DriveFake, drive_storage: DriveStorage, bytes_kept_before_drop: bool
) -> None:
    data = payload(3 * MiB)
    # httplib2 resends a request once by itself when the connection drops, so drop it twice.
    drive_fake.failures.dropped_chunks.update({5: bytes_kept_before_drop, 6: bytes_kept_before_drop})
    ref = upload(drive_storage, "dropped.sql.gz", data)

    assert stored_bytes(drive_fake, ref) == data
    sent_after_the_drops = [seen for seen in drive_fake.requests[-20:] if seen.answer is not None]
    assert any(seen.content_range == "bytes */*" for seen in sent_after_the_drops)
    starts = [start for start, seen in zip(chunk_starts(drive_fake), drive_fake.upload_chunks(), strict=True)
              if seen.answer is not None]
    assert starts == sorted(set(starts)), "no range was sent twice once Drive had confirmed it"
    assert starts[0] == 0 and starts.count(0) == 1


def test_rate_limit_is_retried_with_growing_backoff_then_succeeds(
    drive_fake: DriveFake, drive_storage: DriveStorage, drive_sleeps: RecordedSleeps
) -> None:
    data = payload(MiB)
    drive_fake.failures.rate_limited_requests = 3
    ref = upload(drive_storage, "rate-limited.sql.gz", data)

    assert stored_bytes(drive_fake, ref) == data
    assert len(drive_sleeps.delays) == 3
    assert sum(1 for seen in drive_fake.requests if seen.answer == 403) == 3


@pytest.mark.parametrize("reason", ["userRateLimitExceeded", "rateLimitExceeded"])
def test_both_rate_limit_reasons_are_transient(
    drive_fake: DriveFake, drive_storage: DriveStorage, reason: str
) -> None:
    drive_fake.failures.rate_limited_requests = 1
    drive_fake.failures.rate_limit_reason = reason
    ref = upload(drive_storage, "limited.sql.gz", b"abc")

    assert stored_bytes(drive_fake, ref) == b"abc"


def test_retries_exhausted_raise_storage_error_and_leave_no_file(
    drive_fake: DriveFake, drive_storage: DriveStorage, drive_folder: str, drive_sleeps: RecordedSleeps
) -> None:
    data = payload(MiB)
    pending = drive_storage.begin("doomed.sql.gz")
    drive_fake.failures.chunk_statuses.update({n: 500 for n in range(1, 10)})
    with pytest.raises(StorageError, match="after 4 attempts") as raised:
        pending.write(data)
        pending.commit(hashlib.sha256(data).hexdigest(), len(data))
    pending.abort()

    assert "HTTP 500" in str(raised.value)
    assert drive_fake.files_in(drive_folder) == []
    assert drive_fake.sessions == {}, "abort cancels the upload session"
    assert len(drive_sleeps.delays) == 3


def test_failure_in_commit_leaves_nothing_behind(
    drive_fake: DriveFake, drive_storage: DriveStorage, drive_folder: str
) -> None:
    pending = drive_storage.begin("late-failure.sql.gz")
    pending.write(b"x" * 1000)
    drive_fake.failures.chunk_statuses.update({n: 502 for n in range(1, 10)})
    with pytest.raises(StorageError):
        pending.commit(hashlib.sha256(b"x" * 1000).hexdigest(), 1000)

    assert drive_fake.files_in(drive_folder) == []
    assert drive_fake.sessions == {}


def test_storage_quota_exceeded_is_a_permanent_error_that_says_to_use_a_shared_drive(
    drive_fake: DriveFake, drive_storage: DriveStorage, drive_sleeps: RecordedSleeps
) -> None:
    drive_fake.failures.storage_quota_exceeded = True
    with pytest.raises(StorageError, match="Shared Drive") as raised:
        upload(drive_storage, "no-quota.sql.gz", b"data")

    assert "Service accounts have no My Drive storage quota" in str(raised.value)
    assert drive_sleeps.delays == [], "a quota error is not retried"


def test_wrong_sha256_reported_by_drive_raises_checksum_mismatch_and_deletes_the_file(
    drive_fake: DriveFake, drive_storage: DriveStorage, drive_folder: str
) -> None:
    drive_fake.failures.checksums.wrong_sha256 = True
    with pytest.raises(ChecksumMismatchError, match="SHA-256"):
        upload(drive_storage, "corrupt.sql.gz", payload(300_000))

    assert drive_fake.files_in(drive_folder) == []


def test_md5_is_compared_when_drive_reports_no_sha256(
    drive_fake: DriveFake, drive_storage: DriveStorage, drive_folder: str
) -> None:
    drive_fake.failures.checksums.omit_sha256 = True
    data = payload(1000)
    ref = upload(drive_storage, "md5-only.sql.gz", data)
    assert stored_bytes(drive_fake, ref) == data

    drive_fake.failures.checksums.wrong_md5 = True
    with pytest.raises(ChecksumMismatchError, match="MD5"):
        upload(drive_storage, "md5-wrong.sql.gz", data)
    assert [item.name for item in drive_fake.files_in(drive_folder)] == ["md5-only.sql.gz"]


def test_commit_with_a_checksum_other_than_the_written_bytes_fails_and_leaves_nothing(
    drive_fake: DriveFake, drive_storage: DriveStorage, drive_folder: str
) -> None:
    pending = drive_storage.begin("mismatch.sql.gz")
    pending.write(b"written bytes")
    with pytest.raises(ChecksumMismatchError):
        pending.commit(hashlib.sha256(b"other bytes").hexdigest(), len(b"written bytes"))

    assert drive_fake.files_in(drive_folder) == []


def test_second_file_of_the_same_name_is_refused(
    drive_fake: DriveFake, drive_storage: DriveStorage, drive_folder: str
) -> None:
    upload(drive_storage, "same.sql.gz", b"first")
    with pytest.raises(StorageError, match="exists already"):
        upload(drive_storage, "same.sql.gz", b"second")

    assert [item.content for item in drive_fake.files_in(drive_folder)] == [b"first"]


def test_download_streams_with_range_requests(drive_fake: DriveFake, drive_storage: DriveStorage) -> None:
    data = payload(MiB + 7)
    ref = upload(drive_storage, "download.sql.gz", data)
    drive_fake.requests.clear()

    pieces = list(drive_storage.open(ref, chunk_size=256 * 1024))

    assert b"".join(pieces) == data
    assert [len(piece) for piece in pieces] == [256 * 1024] * 4 + [7]
    ranges = [seen.range for seen in drive_fake.requests if seen.query.get("alt") == "media"]
    assert ranges == [f"bytes={n * 256 * 1024}-{(n + 1) * 256 * 1024 - 1}" for n in range(5)]
    assert all(seen.answer == 206 for seen in drive_fake.requests if seen.query.get("alt") == "media")


def test_download_retries_a_failed_range_without_starting_over(
    drive_fake: DriveFake, drive_storage: DriveStorage
) -> None:
    data = payload(MiB)
    ref = upload(drive_storage, "download-retry.sql.gz", data)
    iterator = drive_storage.open(ref, chunk_size=256 * 1024)
    first = next(iterator)
    drive_fake.failures.rate_limited_requests = 2
    rest = b"".join(iterator)

    assert first + rest == data
    ranges = [seen.range for seen in drive_fake.requests if seen.query.get("alt") == "media"]
    assert ranges.count("bytes=0-262143") == 1


def test_open_missing_file_raises_not_found(drive_storage: DriveStorage) -> None:
    with pytest.raises(NotFoundError):
        drive_storage.open("doesNotExist123")


def test_delete_then_exists_and_deleting_again_is_fine(
    drive_fake: DriveFake, drive_storage: DriveStorage
) -> None:
    ref = upload(drive_storage, "to-delete.sql.gz", b"bytes")
    assert drive_storage.exists(ref)

    drive_storage.delete(ref)
    drive_storage.delete(ref)

    assert not drive_storage.exists(ref)
    assert ref not in drive_fake.files
    assert [seen.answer for seen in drive_fake.requests if seen.method == "DELETE"][-2:] == [204, 404]


def test_refs_that_are_not_drive_ids_are_refused(drive_storage: DriveStorage) -> None:
    with pytest.raises(InvalidInputError):
        drive_storage.exists("../etc/passwd")


def test_abort_cancels_the_session_and_is_safe_twice(
    drive_fake: DriveFake, drive_storage: DriveStorage
) -> None:
    pending = drive_storage.begin("aborted.sql.gz")
    pending.write(payload(600_000))
    pending.abort()
    pending.abort()

    assert drive_fake.sessions == {}
    assert all(item.name != "aborted.sql.gz" for item in drive_fake.files.values())
    with pytest.raises(StorageError):
        pending.write(b"more")


def test_connection_test_passes_and_leaves_no_probe(
    drive_fake: DriveFake, drive_storage: DriveStorage, drive_folder: str
) -> None:
    drive_storage.test_connection()

    assert drive_fake.files_in(drive_folder) == []
    probe_writes = [seen for seen in drive_fake.requests if seen.method == "PUT" and seen.answer == 200]
    assert len(probe_writes) == 1


def test_connection_test_reports_a_missing_folder(
    drive_fake: DriveFake, drive_folder: str, drive_sleeps: RecordedSleeps
) -> None:
    storage = DriveStorage(
        make_drive_service(drive_fake), "noSuchFolder", retry=RetryPolicy(sleep=drive_sleeps)
    )
    with pytest.raises(StorageError, match="noSuchFolder was not found"):
        storage.test_connection()


def test_connection_test_reports_a_file_that_is_not_a_folder(
    drive_fake: DriveFake, drive_folder: str, drive_sleeps: RecordedSleeps
) -> None:
    file_id = drive_fake.add_file("notes.txt", b"hi", drive_folder, "text/plain")
    storage = DriveStorage(make_drive_service(drive_fake), file_id, retry=RetryPolicy(sleep=drive_sleeps))
    with pytest.raises(StorageError, match="not a folder"):
        storage.test_connection()


def test_connection_test_reports_missing_quota(drive_fake: DriveFake, drive_storage: DriveStorage) -> None:
    drive_fake.failures.storage_quota_exceeded = True
    with pytest.raises(StorageError, match="Shared Drive"):
        drive_storage.test_connection()


def test_every_drive_request_asks_for_shared_drive_support(
    drive_fake: DriveFake, drive_storage: DriveStorage
) -> None:
    drive_fake.failures.chunk_statuses[2] = 503
    ref = upload(drive_storage, "shared-drive.sql.gz", payload(700_000))
    b"".join(drive_storage.open(ref))
    drive_storage.exists(ref)
    drive_storage.test_connection()
    drive_storage.delete(ref)

    api_requests: list[SeenRequest] = [seen for seen in drive_fake.requests if seen.path != "/token"]
    assert len(api_requests) > 10
    assert [seen for seen in api_requests if seen.query.get("supportsAllDrives") != "true"] == []


def test_revoked_refresh_token_gives_an_actionable_error(
    drive_fake: DriveFake, drive_folder: str, drive_sleeps: RecordedSleeps
) -> None:
    drive_fake.failures.refresh_token_revoked = True
    storage = DriveStorage(
        make_drive_service(drive_fake),
        drive_folder,
        retry=RetryPolicy(sleep=drive_sleeps),
        secret_name="projects/demo/secrets/drive-oauth",
    )
    with pytest.raises(StorageError) as raised:
        storage.test_connection()

    message = str(raised.value)
    assert "refresh token was revoked or expired" in message
    assert "Secret Manager as projects/demo/secrets/drive-oauth" in message
    assert drive_fake.refresh_token not in message


def test_oauth_material_never_shows_in_repr() -> None:
    token = OAuthRefreshToken.from_mapping(
        {"client_id": "id", "client_secret": "s3cret-value", "refresh_token": "r3fresh-value"}
    )
    assert "s3cret-value" not in repr(token)
    assert "r3fresh-value" not in repr(token)


def test_chunk_size_must_be_a_multiple_of_256_kib(drive_fake: DriveFake, drive_folder: str) -> None:
    storage = DriveStorage(make_drive_service(drive_fake), drive_folder, chunk_size=300_000)
    with pytest.raises(ValueError, match="256 KiB"):
        storage.begin("odd.sql.gz")


@given(
    size=st.integers(min_value=1, max_value=6 * TEST_CHUNK_SIZE),
    piece=st.integers(min_value=1, max_value=400_000),
    failing_chunk=st.integers(min_value=1, max_value=7),
    failure=st.sampled_from(["503", "drop-kept", "drop-lost", "rate-limit"]),
)
def test_property_3_drive_upload_succeeds_despite_one_transient_failure_at_any_chunk(
    drive_fake: DriveFake, drive_folder: str, size: int, piece: int, failing_chunk: int, failure: str
) -> None:
    drive_fake.reset()
    folder = drive_fake.add_folder("property")
    storage = DriveStorage(
        make_drive_service(drive_fake), folder, chunk_size=TEST_CHUNK_SIZE,
        retry=RetryPolicy(attempts=4, sleep=lambda _seconds: None),
    )
    if failure == "503":
        drive_fake.failures.chunk_statuses[failing_chunk] = 503
    elif failure == "rate-limit":
        drive_fake.failures.chunk_statuses[failing_chunk] = 429
    else:
        kept = failure == "drop-kept"
        drive_fake.failures.dropped_chunks.update({failing_chunk: kept, failing_chunk + 1: kept})
    data = payload(size)

    ref = upload(storage, "property.sql.gz", data, piece=piece)

    assert hashlib.sha256(stored_bytes(drive_fake, ref)).hexdigest() == hashlib.sha256(data).hexdigest()
    chunks = drive_fake.upload_chunks()
    starts = zip(chunk_starts(drive_fake), chunks, strict=True)
    accepted = [start for start, seen in starts if seen.answer in (200, 308)]
    assert accepted == sorted(set(accepted)), "no byte range was accepted twice"
    assert sum(seen.body_length for seen in chunks) <= size + 2 * TEST_CHUNK_SIZE, "resumed, not restarted"


def test_session_that_lost_confirmed_bytes_fails_clearly_instead_of_restarting_from_zero(
    drive_fake: DriveFake, drive_storage: DriveStorage, drive_folder: str
) -> None:
    pending = drive_storage.begin("lost.sql.gz")
    pending.write(payload(3 * TEST_CHUNK_SIZE))
    (session,) = drive_fake.sessions.values()
    session.received.clear()
    drive_fake.failures.chunk_statuses[drive_fake.chunks_seen + 1] = 503

    with pytest.raises(StorageError, match="start the backup again"):
        pending.write(payload(TEST_CHUNK_SIZE))
    pending.abort()

    assert chunk_starts(drive_fake).count(0) == 1
    assert drive_fake.files_in(drive_folder) == []


def test_an_untrusted_certificate_is_a_permanent_error_not_retried(
    drive_fake: DriveFake, drive_folder: str, drive_sleeps: RecordedSleeps
) -> None:
    credentials = refresh_token_credentials(
        OAuthRefreshToken("id", "secret", drive_fake.refresh_token, token_uri=drive_fake.token_uri)
    )
    untrusting = httplib2.Http(timeout=5)
    service = build_drive_service(credentials, endpoint=drive_fake.api_endpoint, http=untrusting)
    storage = DriveStorage(service, drive_folder, retry=RetryPolicy(sleep=drive_sleeps))

    with pytest.raises(StorageError, match=r"(?i)certificate verify failed"):
        storage.test_connection()
    assert drive_sleeps.delays == []


@pytest.mark.parametrize("kept", [CHUNK_GRANULARITY, 100_000, 0])
def test_a_chunk_drive_keeps_only_part_of_resumes_with_whole_chunks_from_there(
    drive_fake: DriveFake, drive_folder: str, drive_storage: DriveStorage, kept: int
) -> None:
    """Drive may keep fewer bytes of a chunk than were sent, at any offset; the upload goes on from there,
    each chunk but the last still a multiple of 256 KiB, and the file arrives whole."""
    drive_fake.failures.kept_of_chunks[1] = kept
    data = payload(5 * TEST_CHUNK_SIZE + 1234)
    pending = drive_storage.begin("partial.sql.gz")
    pending.write(data)
    ref = pending.commit(hashlib.sha256(data).hexdigest(), len(data))

    assert drive_fake.files[ref].content == data
    chunks = drive_fake.upload_chunks()
    assert chunk_starts(drive_fake)[:2] == [0, kept]
    assert all(chunk.body_length % CHUNK_GRANULARITY == 0 for chunk in chunks[:-1]), chunks
    assert all(chunk.answer in (200, 308) for chunk in chunks)


def test_a_name_that_does_not_resolve_is_retried_like_a_dropped_connection(
    drive_fake: DriveFake, drive_folder: str, drive_sleeps: RecordedSleeps
) -> None:
    """httplib2 reports a failed lookup (a momentary DNS failure, EAI_AGAIN) as ServerNotFoundError, which is
    no OSError: it is retried all the same, then reported."""
    credentials = refresh_token_credentials(
        OAuthRefreshToken("id", "secret", drive_fake.refresh_token, token_uri=drive_fake.token_uri)
    )
    trusting = httplib2.Http(ca_certs=str(drive_fake.tls.cert_path), timeout=5)
    service = build_drive_service(credentials, endpoint="https://drive.invalid/drive/v3/", http=trusting)
    storage = DriveStorage(service, drive_folder, retry=RetryPolicy(attempts=4, sleep=drive_sleeps))

    with pytest.raises(StorageError, match=r"drive\.invalid"):
        storage.test_connection()
    assert len(drive_sleeps.delays) == 3


def test_service_account_key_gets_a_token_and_reaches_drive(drive_fake: DriveFake, drive_folder: str) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    info = {
        "type": "service_account",
        "client_email": "backups@demo.iam.gserviceaccount.com",
        "private_key": pem,
        "private_key_id": "key-1",
        "token_uri": drive_fake.token_uri,
    }
    http = httplib2.Http(ca_certs=str(drive_fake.tls.cert_path), timeout=10)
    service = build_drive_service(service_account_credentials(info), drive_fake.api_endpoint, http)

    DriveStorage(service, drive_folder).test_connection()

    token_requests = [seen for seen in drive_fake.requests if seen.path == "/token"]
    assert len(token_requests) == 1


def test_oauth_material_missing_a_field_names_it() -> None:
    with pytest.raises(ConfigurationError, match="refresh_token") as raised:
        OAuthRefreshToken.from_mapping({"client_id": "id", "client_secret": "s3cret"}, "drive-oauth")
    assert "s3cret" not in str(raised.value)


def test_fake_lists_with_query_and_paging_through_the_real_client(
    drive_fake: DriveFake, drive_folder: str
) -> None:
    service = make_drive_service(drive_fake)
    for number in range(5):
        drive_fake.add_file(f"b{number}.sql.gz", b"x", drive_folder)
    drive_fake.add_file("elsewhere.sql.gz", b"x", "root")

    names: list[str] = []
    page_token = None
    pages = 0
    while True:
        reply = service.files().list(
            q=f"'{drive_folder}' in parents and trashed = false", pageSize=2, pageToken=page_token,
            fields="nextPageToken,files(id,name)", supportsAllDrives=True, includeItemsFromAllDrives=True,
        ).execute()
        names += [item["name"] for item in reply["files"]]
        pages += 1
        page_token = reply.get("nextPageToken")
        if not page_token:
            break

    assert sorted(names) == [f"b{number}.sql.gz" for number in range(5)]
    assert pages == 3


def test_fake_accepts_a_multipart_upload_from_the_real_client(
    drive_fake: DriveFake, drive_folder: str
) -> None:
    service = make_drive_service(drive_fake)
    created = service.files().create(
        body={"name": "small.txt", "parents": [drive_folder]},
        media_body=MediaIoBaseUpload(io.BytesIO(b"multipart body"), mimetype="text/plain"),
        fields="id,size,md5Checksum",
        supportsAllDrives=True,
    ).execute()

    assert drive_fake.files[created["id"]].content == b"multipart body"
    assert created["size"] == "14"
    assert created["md5Checksum"] == hashlib.md5(b"multipart body", usedforsecurity=False).hexdigest()
