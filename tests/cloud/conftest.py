"""The cloud configuration end to end: Firestore emulator, fakes of the Google services, real MariaDB."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from shared.config import Config
from shared.dburl import DatabaseURL
from shared.services.context import ServiceContext
from shared.wiring import build_context
from tests.databases import fresh_mysql_database
from tests.emulators.firestore import FirestoreEmulator
from tests.fakes.drive_fixtures import drive_fake as drive_fake
from tests.fakes.drive_server import DriveFake
from tests.fakes.secret_manager_server import FakeSecretManager
from tests.fakes.sendgrid_server import FakeSendGrid
from tests.sample_data import load_sample

PROJECT = "demo-test"
DB_PASSWORD_SECRET = "database-password"


@pytest.fixture(scope="session")
def secret_manager() -> Iterator[FakeSecretManager]:
    with FakeSecretManager() as fake:
        yield fake


@pytest.fixture(scope="session")
def sendgrid() -> Iterator[FakeSendGrid]:
    with FakeSendGrid() as fake:
        yield fake


@pytest.fixture
def database() -> Iterator[DatabaseURL]:
    with fresh_mysql_database("cloud") as url:
        load_sample(url)
        yield url


CloudFactory = Callable[..., ServiceContext]


@pytest.fixture
def cloud(
    tmp_path: Path,
    database: DatabaseURL,
    firestore_emulator: FirestoreEmulator,
    drive_fake: DriveFake,
    secret_manager: FakeSecretManager,
    sendgrid: FakeSendGrid,
) -> CloudFactory:
    """Builds a context exactly as a function would, from environment variables alone."""
    firestore_emulator.wipe()
    drive_fake.reset()
    secret_manager.reset()
    sendgrid.reset()
    folder = drive_fake.add_folder("backups")
    secret_manager.put(PROJECT, DB_PASSWORD_SECRET, "")
    oauth = {
        "client_id": "fake-client-id",
        "client_secret": "fake-client-secret",
        "refresh_token": drive_fake.refresh_token,
        "token_uri": drive_fake.token_uri,
    }
    secret_manager.put(PROJECT, "drive-oauth", json.dumps(oauth))
    secret_manager.put(PROJECT, "sendgrid-api-key", sendgrid.api_key)

    def build(storage: str = "drive", **extra: str) -> ServiceContext:
        env = {
            "BACKUP_DATABASE_URL": f"mysql://{database.user}@{database.host}:{database.port}/{database.database}",
            "BACKUP_DATABASE_PASSWORD_SECRET": DB_PASSWORD_SECRET,
            "BACKUP_HOME": str(tmp_path / "home"),
            "BACKUP_CATALOG": "firestore",
            "BACKUP_GCP_PROJECT": PROJECT,
            "BACKUP_FIRESTORE_EMULATOR_HOST": firestore_emulator.host,
            "BACKUP_STORAGE": storage,
            "BACKUP_DRIVE_FOLDER_ID": folder,
            "BACKUP_DRIVE_ENDPOINT": drive_fake.api_endpoint,
            "BACKUP_DRIVE_CA_CERTS": str(drive_fake.tls.cert_path),
            "BACKUP_DRIVE_CREDENTIALS": "oauth",
            "BACKUP_DRIVE_RETRY_ATTEMPTS": "2",
            "BACKUP_DRIVE_RETRY_BASE_DELAY": "0.01",
            "BACKUP_SECRETS": "secret-manager",
            "BACKUP_SECRET_MANAGER_ENDPOINT": secret_manager.endpoint,
            "BACKUP_NOTIFIER": "sendgrid",
            "BACKUP_SENDGRID_HOST": sendgrid.host,
            "BACKUP_NOTIFY_FROM": "backups@example.com",
        }
        env.update(extra)
        return build_context(Config.from_env(env))

    return build
