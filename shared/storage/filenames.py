"""The rule every storage applies to a backup file's name: one plain, visible name with no folders."""

from __future__ import annotations

from shared.errors import InvalidInputError

MAX_FILENAME_LENGTH = 200


def check_filename(filename: str) -> str:
    """Return `filename` unchanged when it is a plain name; raise `InvalidInputError` saying why not."""
    if not filename:
        raise InvalidInputError("a backup file name must not be empty")
    if "/" in filename or "\\" in filename:
        raise InvalidInputError(f"backup file name {filename!r} must not contain a folder separator")
    if filename.startswith("."):
        raise InvalidInputError(f"backup file name {filename!r} must not start with a dot")
    if any(ord(char) < 32 or ord(char) == 127 for char in filename):
        raise InvalidInputError(f"backup file name {filename!r} must not contain control characters")
    if len(filename.encode()) > MAX_FILENAME_LENGTH:
        raise InvalidInputError(f"backup file name must be at most {MAX_FILENAME_LENGTH} bytes long")
    return filename
