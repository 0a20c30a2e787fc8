"""The function instance's parts, built once from `Config.from_env(os.environ)` and cached; tests install
their own with `install` and drop it with `reset`."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

from shared.auth.permissions import AccessGuard
from shared.auth.tokens import TokenVerifier
from shared.config import Config
from shared.errors import ConfigurationError
from shared.schedule_sync import ScheduleSync
from shared.services.context import ServiceContext
from shared.wiring import build_context, build_schedule_sync


@dataclass
class Runtime:
    config: Config
    context: ServiceContext
    guard: AccessGuard
    schedule: ScheduleSync

    @classmethod
    def from_config(cls, config: Config, context: ServiceContext | None = None) -> Runtime:
        context = context or build_context(config)
        return cls(config, context, build_guard(config, context), build_schedule_sync(config))


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
    global _current
    with _lock:
        if _current is None:
            _current = Runtime.from_config(Config.from_env(os.environ))
        return _current


def install(runtime: Runtime) -> None:
    global _current
    with _lock:
        _current = runtime


def reset() -> None:
    global _current
    with _lock:
        _current = None
