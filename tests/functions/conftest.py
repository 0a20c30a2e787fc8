"""Function fixtures: signed ID tokens from a local certs URL, a fake Cloud Scheduler, a real MariaDB
database, the embedded catalog and local storage, and in-process Functions Framework clients."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import functions_framework
import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from functions import runtime
from shared.config import Config
from shared.dburl import DatabaseURL
from shared.models import BackupLog
from shared.notify.base import Notification
from shared.notify.safe import SafeNotifier
from shared.wiring import build_context
from tests.databases import fresh_mysql_database, mysql_admin
from tests.fakes.certs_server import CertsServer
from tests.fakes.scheduler_server import FakeCloudScheduler

AUDIENCE = "https://backup-functions.test"
JOB = "projects/demo-test/locations/europe-west1/jobs/database-backup"
ROOT = Path(__file__).resolve().parents[2]
FUNCTION_NAMES = (
    "list_backups",
    "create_backup",
    "delete_backup",
    "download_backup",
    "restore_backup",
    "cleanup_backups",
    "backup_settings",
    "scheduled_backup",
    "scheduled_cleanup",
)
OPERATOR = "ops@example.com"
SCHEDULER_SA = "scheduler@demo-test.iam.gserviceaccount.com"
ALL_PERMISSIONS = {
    "backups.view": [f"user:{OPERATOR}"],
    "backups.create": [f"user:{OPERATOR}"],
    "backups.delete": [f"user:{OPERATOR}"],
    "backups.restore": [f"user:{OPERATOR}"],
    "backups.download": [f"user:{OPERATOR}"],
    "backups.manage-settings": [f"user:{OPERATOR}"],
    "backups.run-scheduled": [f"serviceAccount:{SCHEDULER_SA}"],
}

_clients: dict[str, FlaskClient] = {}
_clients_lock = threading.Lock()


def client_for(target: str) -> FlaskClient:
    """One in-process client per target, made by the Functions Framework from main.py."""
    with _clients_lock:
        if target not in _clients:
            app = functions_framework.create_app(target=target, source=str(ROOT / "main.py"))  # type: ignore[no-untyped-call]
            _clients[target] = app.test_client()
        return _clients[target]


class RecordingNotifier:
    """Keeps what would be mailed, for counting (the notifier seam; SendGrid has its own tests)."""

    def __init__(self) -> None:
        self.sent: list[Notification] = []
        self._lock = threading.Lock()

    def send(self, notification: Notification) -> None:
        with self._lock:
            self.sent.append(notification)


@dataclass
class Api:
    certs: CertsServer
    runtime: runtime.Runtime
    notifier: RecordingNotifier
    database: DatabaseURL
    env: dict[str, str] = field(default_factory=dict)

    def token(self, email: str = OPERATOR, **claims: Any) -> str:
        return self.certs.mint(email, **claims)

    def call(
        self,
        target: str,
        method: str = "POST",
        *,
        body: Any = None,
        query: Mapping[str, str] | None = None,
        as_: str | None = OPERATOR,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
        raw: bytes | None = None,
    ) -> TestResponse:
        sent = dict(headers or {})
        if token is None and as_ is not None:
            token = self.token(as_)
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        if data is not None:
            sent.setdefault("Content-Type", "application/json")
        return client_for(target).open(
            f"/{target}", method=method, query_string=query, data=data, headers=sent
        )

    def logs(self) -> list[BackupLog]:
        return self.runtime.context.catalog.list_logs(limit=1000)


@pytest.fixture(scope="session")
def certs() -> Iterator[CertsServer]:
    with CertsServer(AUDIENCE) as server:
        yield server


@pytest.fixture(scope="session")
def scheduler() -> Iterator[FakeCloudScheduler]:
    with FakeCloudScheduler() as fake:
        yield fake


def database_env(url: DatabaseURL) -> str:
    return f"mysql://{url.user}@{url.host}:{url.port}/{url.database}"


def make_api(
    home: Path,
    url: DatabaseURL,
    certs: CertsServer,
    scheduler: FakeCloudScheduler,
    permissions: Mapping[str, list[str]] | None = None,
    extra: Mapping[str, str] | None = None,
) -> Api:
    scheduler.put_job(JOB)
    env = {
        "BACKUP_HOME": str(home),
        "BACKUP_DATABASE_URL": database_env(url),
        "BACKUP_AUTH_AUDIENCE": AUDIENCE,
        "BACKUP_AUTH_CERTS_URL": certs.url,
        "BACKUP_PERMISSIONS": json.dumps(permissions if permissions is not None else ALL_PERMISSIONS),
        "BACKUP_SCHEDULER_BACKUP_JOB": JOB,
        "BACKUP_SCHEDULER_ENDPOINT": scheduler.endpoint,
        "BACKUP_SECRETS": "files",
        "BACKUP_SECRETS_DIR": str(home),
        "BACKUP_LOCK_TTL_SECONDS": "60",
        **(extra or {}),
    }
    home.mkdir(parents=True, exist_ok=True)
    config = Config.from_env(env)
    context = build_context(config)
    notifier = RecordingNotifier()
    context.notifier = SafeNotifier(notifier)
    installed = runtime.Runtime.from_config(config, context)
    runtime.install(installed)
    return Api(certs, installed, notifier, url, env)


@pytest.fixture
def mysql_db() -> Iterator[DatabaseURL]:
    with fresh_mysql_database("fn") as url:
        with mysql_admin() as conn, conn.cursor() as cur:
            cur.execute(f"CREATE TABLE `{url.database}`.items (id INT PRIMARY KEY, name VARCHAR(40))")
            cur.execute(f"INSERT INTO `{url.database}`.items VALUES (1, 'one'), (2, 'two'), (3, 'three')")
        yield url


@pytest.fixture
def api(
    tmp_path: Path, mysql_db: DatabaseURL, certs: CertsServer, scheduler: FakeCloudScheduler
) -> Iterator[Api]:
    yield make_api(tmp_path / "home", mysql_db, certs, scheduler)
    runtime.reset()


@pytest.fixture
def schedule_on(api: Api) -> Api:
    """`api` with `schedule_enabled` saved on, as an operator would (scheduled runs skip while it is off)."""
    answer = api.call("backup_settings", "PUT", body={"schedule_enabled": True})
    assert answer.status_code == 200, answer.get_json()
    return api
