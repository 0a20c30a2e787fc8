"""The function instance's parts, built once from `Config.from_env(os.environ)` and cached; tests install
their own with `install` and drop it with `reset`.

The storages depend on the settings (Drive folder, credentials, whether Drive gets new backups). Every
request looks at the settings' `updated_at` first (one catalog read, only when Drive is configured) and
builds the storages again when a save, in this instance or any other, changed it since.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from datetime import datetime

from shared.auth.permissions import AccessGuard
from shared.auth.tokens import TokenVerifier
from shared.config import Config
from shared.errors import ConfigurationError
from shared.redaction import redact
from shared.schedule_sync import SchedulerJobs
from shared.services.context import ServiceContext
from shared.wiring import (
    build_context_and_settings_time,
    build_schedule_sync,
    rebuild_storages,
    storages_follow_settings,
)

_log = logging.getLogger("backup.runtime")


@dataclass
class Runtime:
    config: Config
    context: ServiceContext
    guard: AccessGuard
    schedule: SchedulerJobs
    storages_from: datetime | None = None
    """`updated_at` of the settings the storages were built from."""

    @classmethod
    def from_config(cls, config: Config, context: ServiceContext | None = None) -> Runtime:
        if context is None:
            context, storages_from = build_context_and_settings_time(config)
        else:
            follows = storages_follow_settings(config)
            storages_from = context.catalog.get_settings().updated_at if follows else None
        return cls(
            config, context, build_guard(config, context), build_schedule_sync(config), storages_from
        )

    def follow_settings(self) -> None:
        """Build the storages again if the settings changed since they were built. If that fails (the
        catalog or the credentials secret unreadable, say), the request goes on with the storages as they
        were, and the next request tries again."""
        if not storages_follow_settings(self.config):
            return
        try:
            settings = self.context.catalog.get_settings()
            if settings.updated_at != self.storages_from:
                rebuild_storages(self.context, settings)
                self.storages_from = settings.updated_at
        except Exception as exc:
            _log.error(
                "could not bring the storages in step with the settings; going on with them as they were: %s",
                redact(str(exc)),
            )


def build_guard(config: Config, context: ServiceContext) -> AccessGuard:
    auth = config.auth
    if auth.disabled:
        return AccessGuard(None, auth.permissions, context.auditor)
    if not auth.audiences:
        raise ConfigurationError(
            "BACKUP_AUTH_AUDIENCE is not set; set it to the function's URL (the ID tokens' audience), "
            "or BACKUP_AUTH_DISABLED=true for local development"
        )
    return AccessGuard(TokenVerifier(auth.audiences, auth.certs_url), auth.permissions, context.auditor)


_lock = threading.Lock()
_current: Runtime | None = None


def current() -> Runtime:
    """The instance's runtime, its storages in step with the settings."""
    global _current
    with _lock:
        if _current is None:
            _current = Runtime.from_config(Config.from_env(os.environ))
        _current.follow_settings()
        return _current


def install(runtime: Runtime) -> None:
    global _current
    with _lock:
        _current = runtime


def reset() -> None:
    global _current
    with _lock:
        _current = None
