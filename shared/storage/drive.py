"""`DriveStorage`: backups as files in one Google Drive folder (Drive v3, Shared Drive aware)."""

from __future__ import annotations

import hashlib
import io
import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import google.auth.credentials
import google_auth_httplib2  # type: ignore[import-untyped]
import httplib2
from googleapiclient.discovery import build
from googleapiclient.http import MediaIoBaseDownload

from shared.errors import ConfigurationError, InvalidInputError, NotFoundError, StorageError
from shared.models import StorageKind
from shared.storage.drive_errors import is_transient, to_storage_error
from shared.storage.drive_upload import DriveUpload, files_named
from shared.storage.filenames import check_filename
from shared.storage.retry import RetryPolicy

T = TypeVar("T")

DEFAULT_ENDPOINT = "https://www.googleapis.com/drive/v3/"
FOLDER_MIME_TYPE = "application/vnd.google-apps.folder"
DEFAULT_CHUNK_SIZE = 8 * 256 * 1024
HTTP_TIMEOUT_SECONDS = 120
FILE_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,200}")


def check_file_id(ref: str) -> str:
    """Return `ref` when it looks like a Drive file id; raise `InvalidInputError` otherwise."""
    if not FILE_ID_PATTERN.fullmatch(ref):
        raise InvalidInputError(f"{ref!r} is not a Google Drive file id")
    return ref


def build_drive_service(
    credentials: google.auth.credentials.Credentials,
    endpoint: str = DEFAULT_ENDPOINT,
    http: httplib2.Http | None = None,
) -> Any:
    """A Drive v3 client for `endpoint` (keep its `/drive/v3/` path) authorized by `credentials`.
    Pass `http` to choose TLS roots or timeouts; 308 is never followed as a redirect, since the
    resumable upload protocol uses it for "resume incomplete"."""
    transport = http if http is not None else httplib2.Http(timeout=HTTP_TIMEOUT_SECONDS)
    transport.redirect_codes = set(transport.redirect_codes) - {308}
    authorized = google_auth_httplib2.AuthorizedHttp(credentials, http=transport)
    return build(
        "drive",
        "v3",
        http=authorized,
        static_discovery=True,
        cache_discovery=False,
        client_options={"api_endpoint": endpoint},
    )


class DriveStorage:
    """Files in the Drive folder `folder_id`; a file's reference is its Drive file id."""

    kind = StorageKind.DRIVE

    def __init__(
        self,
        service: Any,
        folder_id: str,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        retry: RetryPolicy | None = None,
        secret_name: str = "",
    ) -> None:
        if not folder_id:
            raise ConfigurationError("no Google Drive folder id configured; set the backup folder's id")
        self._service = service
        self._folder_id = folder_id
        self._chunk_size = chunk_size
        self._retry = retry if retry is not None else RetryPolicy()
        self._secret_name = secret_name

    def begin(self, filename: str) -> DriveUpload:
        return self._upload(check_filename(filename))

    def open(self, ref: str, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        if chunk_size < 1:
            raise InvalidInputError(f"chunk_size must be positive (got {chunk_size})")
        if not self.exists(check_file_id(ref)):
            raise NotFoundError(f"backup file {ref} is not on Google Drive (deleted or trashed)")
        return self._chunks(ref, chunk_size)

    def _chunks(self, ref: str, chunk_size: int) -> Iterator[bytes]:
        """Ranged GETs of `chunk_size` bytes each; a failed range is retried, not the whole file."""
        buffer = io.BytesIO()
        request = self._service.files().get_media(fileId=ref, supportsAllDrives=True)
        downloader = MediaIoBaseDownload(buffer, request, chunksize=chunk_size)
        done = False
        while not done:
            _status, done = self._run(downloader.next_chunk, f"downloading Drive file {ref}")
            if buffer.tell():
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()

    def delete(self, ref: str) -> None:
        check_file_id(ref)
        try:
            self._run(
                lambda: self._service.files().delete(fileId=ref, supportsAllDrives=True).execute(),
                f"deleting Drive file {ref}",
            )
        except NotFoundError:
            return

    def discard_leftovers(self, filename: str) -> None:
        """Delete the files of that name in the folder. An unfinished resumable upload left no file (Drive
        creates it with the last chunk) and its session expires by itself."""
        request = files_named(self._service, self._folder_id, check_filename(filename))
        found = self._run(request.execute, f"looking for {filename} on Google Drive")
        for item in found.get("files", []):
            self.delete(str(item["id"]))

    def exists(self, ref: str) -> bool:
        try:
            metadata = self._metadata(check_file_id(ref), "id,trashed")
        except NotFoundError:
            return False
        return not metadata.get("trashed", False)

    def test_connection(self) -> None:
        try:
            folder = self._metadata(self._folder_id, "id,mimeType,trashed")
        except NotFoundError as error:
            raise StorageError(
                f"the Google Drive folder {self._folder_id} was not found: check the folder id, and share "
                "the folder (or its Shared Drive) with the account the service uses"
            ) from error
        if folder.get("mimeType") != FOLDER_MIME_TYPE:
            raise StorageError(
                f"the Google Drive item {self._folder_id} is a {folder.get('mimeType')}, not a folder; "
                "configure the id of a folder"
            )
        if folder.get("trashed"):
            raise StorageError(f"the Google Drive folder {self._folder_id} is in the trash; restore it")
        probe = b"drive connection test\n"
        upload = self._upload(f".connection-test-{uuid.uuid4().hex}")
        try:
            upload.write(probe)
            ref = upload.commit(hashlib.sha256(probe).hexdigest(), len(probe))
        except BaseException:
            upload.abort()
            raise
        self.delete(ref)

    def _upload(self, filename: str) -> DriveUpload:
        return DriveUpload(
            self._service, self._folder_id, filename, self._chunk_size, self._retry, self._secret_name
        )

    def _metadata(self, file_id: str, fields: str) -> dict[str, Any]:
        request = self._service.files().get(fileId=file_id, fields=fields, supportsAllDrives=True)
        return self._run(request.execute, f"reading Drive file {file_id}")

    def _run(self, operation: Callable[[], T], doing: str) -> T:
        try:
            return self._retry.call(operation, is_transient=is_transient, description=doing)
        except Exception as error:
            raise to_storage_error(error, doing, self._secret_name) from error
