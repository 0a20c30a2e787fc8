"""One streaming upload to Drive v3 over the resumable protocol, unknown total length, one chunk in memory."""

from __future__ import annotations

import hashlib
import io
import json
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import httplib2
from googleapiclient.errors import HttpError
from googleapiclient.http import MediaIoBaseUpload

from shared.errors import ChecksumMismatchError, StorageError
from shared.storage.drive_errors import describe, is_transient, to_storage_error
from shared.storage.retry import RetryPolicy

T = TypeVar("T")

logger = logging.getLogger(__name__)

MAX_ROUNDS_WITHOUT_PROGRESS = 3

UPLOAD_FIELDS = "id,name,size,md5Checksum,sha256Checksum"
CHUNK_GRANULARITY = 256 * 1024
MIME_TYPES_BY_SUFFIX = {".gz": "application/gzip", ".zst": "application/zstd", ".sql": "application/sql"}


class UploadSessionLostError(StorageError):
    """Drive no longer holds bytes this upload has already discarded; the upload must start over."""


def files_named(service: Any, folder_id: str, filename: str) -> Any:
    """The Drive request that lists the ids of the untrashed files named `filename` in the folder."""
    quoted = filename.replace("\\", "\\\\").replace("'", "\\'")
    return service.files().list(
        q=f"'{folder_id}' in parents and name = '{quoted}' and trashed = false",
        fields="files(id)",
        pageSize=10,
        supportsAllDrives=True,
        includeItemsFromAllDrives=True,
    )


def mime_type_for(filename: str) -> str:
    for suffix, mime_type in MIME_TYPES_BY_SUFFIX.items():
        if filename.endswith(suffix):
            return mime_type
    return "application/octet-stream"


def received_end(response: httplib2.Response) -> int:
    """Bytes the session holds, from a 308's `Range: bytes=0-N`; no `Range` means none."""
    range_header = response.get("range")
    if not range_header:
        return 0
    return int(range_header.rsplit("-", 1)[1]) + 1


class DriveUpload:
    """Pushes written bytes to a resumable session in chunks of `chunk_size` (a multiple of 256 KiB).
    A failed request is retried by `retry`; each retry first asks the session what it holds and
    resumes from there, so bytes Drive already has are never sent again."""

    def __init__(
        self,
        service: Any,
        folder_id: str,
        filename: str,
        chunk_size: int,
        retry: RetryPolicy,
        secret_name: str = "",
    ) -> None:
        if chunk_size <= 0 or chunk_size % CHUNK_GRANULARITY:
            raise ValueError(f"chunk_size must be a positive multiple of 256 KiB, not {chunk_size}")
        self._service = service
        self._filename = filename
        self._chunk_size = chunk_size
        self._retry = retry
        self._secret_name = secret_name
        self._sha256 = hashlib.sha256()
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._buffer = bytearray()
        self._buffer_start = 0
        self._written = 0
        self._session_needs_query = False
        self._file_id: str | None = None
        self._closed = False
        self._committed = False
        self._folder_id = folder_id
        self._refuse_existing_name(allowed_id=None)
        self._session_uri, self._http = self._run(
            lambda: self._start_session(folder_id), f"starting the upload of {filename}"
        )

    @property
    def buffered_bytes(self) -> int:
        """Bytes held in memory that Drive has not confirmed yet (at most a chunk plus one write)."""
        return len(self._buffer)

    def write(self, data: bytes) -> None:
        if self._closed:
            raise StorageError(f"the upload of {self._filename} is already finished or aborted")
        self._sha256.update(data)
        self._md5.update(data)
        self._written += len(data)
        self._buffer += data
        # Keep the last chunk back: the final request must carry at least one byte and the total.
        while len(self._buffer) > self._chunk_size:
            self._send(total=None)

    def commit(self, sha256: str, size: int) -> str:
        if self._closed:
            raise StorageError(f"the upload of {self._filename} is already finished or aborted")
        try:
            if size != self._written or sha256.lower() != self._sha256.hexdigest():
                raise ChecksumMismatchError(
                    f"{self._filename}: the caller expected {size} bytes with SHA-256 {sha256}, but "
                    f"{self._written} bytes with SHA-256 {self._sha256.hexdigest()} were written"
                )
            stored = self._send(total=self._written)
            if stored is None:
                raise StorageError(f"Drive did not confirm that the upload of {self._filename} finished")
            self._file_id = str(stored["id"])
            self._verify(self._complete_metadata(stored))
            self._refuse_existing_name(allowed_id=self._file_id)
        except BaseException:
            self.abort()
            raise
        self._closed = True
        self._committed = True
        self._buffer = bytearray()
        return self._file_id

    def abort(self) -> None:
        if self._committed:
            return
        self._closed = True
        self._buffer = bytearray()
        file_id, self._file_id = self._file_id, None
        session_uri, self._session_uri = self._session_uri, ""
        try:
            if file_id is not None:
                self._run(lambda: self._delete_file(file_id), f"deleting the partial upload {file_id}")
            elif session_uri:
                self._http.request(session_uri, "DELETE", headers={"Content-Length": "0"})
        except Exception as error:  # leaving a partial file behind must not hide the original error
            logger.error("could not clean up the Drive upload of %s: %s", self._filename, describe(error))

    def _run(self, operation: Callable[[], T], doing: str) -> T:
        try:
            return self._retry.call(operation, is_transient=is_transient, description=doing)
        except Exception as error:
            raise to_storage_error(error, doing, self._secret_name) from error

    def _start_session(self, folder_id: str) -> tuple[str, Any]:
        request = self._service.files().create(
            body={"name": self._filename, "parents": [folder_id]},
            media_body=MediaIoBaseUpload(
                io.BytesIO(), mimetype=mime_type_for(self._filename), resumable=True
            ),
            supportsAllDrives=True,
            fields=UPLOAD_FIELDS,
        )
        headers = dict(request.headers)
        headers["X-Upload-Content-Type"] = mime_type_for(self._filename)
        response, content = request.http.request(
            request.uri, method=request.method, body=request.body, headers=headers
        )
        if response.status != 200 or "location" not in response:
            raise HttpError(response, content, uri=request.uri)
        return str(response["location"]), request.http

    def _send(self, total: int | None) -> dict[str, Any] | None:
        """Without `total`, have the session take one more chunk (or part of one); with it, send the rest,
        finish the session and return the file's metadata."""
        doing = f"uploading {self._filename} to Google Drive"
        rounds_without_progress = 0
        while rounds_without_progress < MAX_ROUNDS_WITHOUT_PROGRESS:
            held_before = self._buffer_start
            finished = self._run(lambda: self._put(total), doing)
            progressed = self._buffer_start > held_before
            if finished is not None or (total is None and progressed):
                return finished
            rounds_without_progress = 0 if progressed else rounds_without_progress + 1
        raise StorageError(
            f"Google Drive stopped accepting bytes of {self._filename} at byte {self._buffer_start}"
        )

    def _put(self, total: int | None) -> dict[str, Any] | None:
        """One request: resume if needed, then send a whole chunk from where the session's bytes end (a
        chunk other than the last must be a multiple of 256 KiB, wherever Drive stopped), or with `total`
        all that is left."""
        held_before = self._buffer_start
        if self._session_needs_query:
            done = self._request(b"", "bytes */*" if total is None else f"bytes */{total}")
            if done is not None or (total is None and self._buffer_start > held_before):
                return done
        start = self._buffer_start
        body = bytes(self._buffer if total is not None else self._buffer[: self._chunk_size])
        end = start + len(body)
        if body:
            content_range = f"bytes {start}-{end - 1}/{'*' if total is None else total}"
        else:
            content_range = f"bytes */{total}"
        return self._request(body, content_range)

    def _request(self, body: bytes, content_range: str) -> dict[str, Any] | None:
        """PUT to the session; on 308 drop what Drive acknowledged, on 200/201 return the file."""
        self._session_needs_query = True
        headers = {"Content-Length": str(len(body)), "Content-Range": content_range}
        response, content = self._http.request(self._session_uri, "PUT", body=body, headers=headers)
        if response.status in (200, 201):
            self._session_needs_query = False
            return json.loads(content)  # type: ignore[no-any-return]
        if response.status != 308:
            raise HttpError(response, content, uri=self._session_uri)
        self._session_needs_query = False
        self._acknowledge(received_end(response))
        return None

    def _acknowledge(self, held: int) -> None:
        if held < self._buffer_start:
            raise UploadSessionLostError(
                f"Google Drive reports holding {held} bytes of {self._filename}, but bytes from "
                f"{self._buffer_start} on were already confirmed and discarded; start the backup again"
            )
        if held > self._buffer_start + len(self._buffer):
            raise StorageError(f"Google Drive reports more bytes of {self._filename} than were sent ({held})")
        del self._buffer[: held - self._buffer_start]
        self._buffer_start = held

    def _complete_metadata(self, stored: dict[str, Any]) -> dict[str, Any]:
        if "size" in stored and ("sha256Checksum" in stored or "md5Checksum" in stored):
            return stored
        file_id = str(stored["id"])
        return self._run(
            lambda: (
                self._service.files()
                .get(fileId=file_id, fields=UPLOAD_FIELDS, supportsAllDrives=True)
                .execute()
            ),
            f"reading the checksum of {self._filename}",
        )

    def _verify(self, stored: dict[str, Any]) -> None:
        """Compare Drive's size and checksum (SHA-256, else MD5) with what was written."""
        problems = []
        if int(stored.get("size", -1)) != self._written:
            problems.append(f"size {stored.get('size')} instead of {self._written}")
        if "sha256Checksum" in stored:
            if str(stored["sha256Checksum"]).lower() != self._sha256.hexdigest():
                problems.append(f"SHA-256 {stored['sha256Checksum']} instead of {self._sha256.hexdigest()}")
        elif "md5Checksum" in stored:
            if str(stored["md5Checksum"]).lower() != self._md5.hexdigest():
                problems.append(f"MD5 {stored['md5Checksum']} instead of {self._md5.hexdigest()}")
        else:
            problems.append("no checksum reported")
        if problems:
            raise ChecksumMismatchError(
                f"Google Drive stored {self._filename} with {', '.join(problems)}; the file was deleted"
            )

    def _refuse_existing_name(self, allowed_id: str | None) -> None:
        """Drive allows two files of one name in a folder; backups must not, so refuse a second one."""
        request = files_named(self._service, self._folder_id, self._filename)
        found = self._run(request.execute, f"looking for an existing {self._filename} on Google Drive")
        if any(item.get("id") != allowed_id for item in found.get("files", [])):
            raise StorageError(f"a backup file named {self._filename} exists already in the Drive folder")

    def _delete_file(self, file_id: str) -> None:
        try:
            self._service.files().delete(fileId=file_id, supportsAllDrives=True).execute()
        except HttpError as error:
            if int(error.resp.status) != 404:
                raise
