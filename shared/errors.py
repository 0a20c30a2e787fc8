"""Error types of the backup core; each message says what went wrong and, where it can, what to fix."""


class BackupServiceError(Exception):
    """Base class for every error the core raises on purpose."""


class ConfigurationError(BackupServiceError):
    """A setting is missing or malformed; the message names the setting."""


class InvalidInputError(BackupServiceError):
    """A caller passed something unusable (bad id, bad file, bad value)."""


class NotFoundError(BackupServiceError):
    """The named backup (or file) does not exist."""


class BusyError(BackupServiceError):
    """Another backup or restore holds the database's lock."""


class LockLostError(BackupServiceError):
    """A run's lock on its database lapsed or passed to another run, so the run stopped."""


class RecordChangedError(BackupServiceError):
    """A record was not written because it was no longer as its writer expected (another run changed it)."""


class DumpError(BackupServiceError):
    """A dump could not be taken completely; the backup must fail."""


class RestoreError(BackupServiceError):
    """A restore could not be applied. `database_unchanged`: the engine knows it changed nothing (a
    PostgreSQL restore's one transaction rolled back, a MySQL restore that could not lock the tables, no
    connection at all), so there is nothing to put back."""

    def __init__(self, message: str, database_unchanged: bool = False) -> None:
        super().__init__(message)
        self.database_unchanged = database_unchanged


class StorageError(BackupServiceError):
    """A storage location could not be written, read or deleted."""


class ChecksumMismatchError(StorageError):
    """Stored bytes do not match the checksum recorded for them."""


class TimeLimitError(BackupServiceError):
    """An operation reached its time limit (`BACKUP_TIME_LIMIT_SECONDS`) and was stopped cleanly."""


class ServiceUnavailableError(BackupServiceError):
    """Something the request depends on cannot be reached right now; retrying later may succeed (HTTP 503)."""

    def __init__(self, message: str, retry_after_seconds: int | None = None) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class CatalogUnavailableError(StorageError, ServiceUnavailableError):
    """The catalog did not answer in time; retrying later may succeed (HTTP 503)."""
