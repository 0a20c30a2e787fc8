"""Every function by name: its endpoint description and handler (for `serve` and the OpenAPI check)."""

from __future__ import annotations

from collections.abc import Callable

import flask

from functions import (
    backup_settings,
    cleanup_backups,
    create_backup,
    delete_backup,
    download_backup,
    list_backups,
    restore_backup,
    scheduled_backup,
    scheduled_cleanup,
)
from functions.http import Endpoint

_MODULES = (
    list_backups,
    create_backup,
    delete_backup,
    download_backup,
    restore_backup,
    cleanup_backups,
    backup_settings,
    scheduled_backup,
    scheduled_cleanup,
)
FUNCTIONS: dict[str, tuple[Endpoint, Callable[[flask.Request], flask.Response]]] = {
    module.ENDPOINT.name: (module.ENDPOINT, module.handle) for module in _MODULES
}
