"""Pytest fixtures for the Drive fake: the server, a clean folder per test, a client and a `DriveStorage`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httplib2
import pytest

from shared.storage.drive import DriveStorage, build_drive_service
from shared.storage.drive_credentials import OAuthRefreshToken, refresh_token_credentials
from shared.storage.retry import RetryPolicy
from tests.fakes.drive_server import DriveFake

TEST_CHUNK_SIZE = 256 * 1024
TEST_SECRET_NAME = "projects/demo/secrets/drive-oauth"


class RecordedSleeps:
    """An injectable `sleep` that records the delays instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture(scope="session")
def drive_fake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DriveFake]:
    fake = DriveFake(tmp_path_factory.mktemp("drive-fake-tls")).start()
    yield fake
    fake.stop()


@pytest.fixture
def drive_folder(drive_fake: DriveFake) -> str:
    drive_fake.reset()
    return drive_fake.add_folder("backups")


def make_drive_service(fake: DriveFake) -> Any:
    """A real google-api-python-client Drive service pointed at the fake, trusting its certificate."""
    token = OAuthRefreshToken(
        client_id="fake-client-id",
        client_secret="fake-client-secret",
        refresh_token=fake.refresh_token,
        token_uri=fake.token_uri,
        secret_name=TEST_SECRET_NAME,
    )
    http = httplib2.Http(ca_certs=str(fake.tls.cert_path), timeout=10)
    return build_drive_service(refresh_token_credentials(token), endpoint=fake.api_endpoint, http=http)


@pytest.fixture
def drive_sleeps() -> RecordedSleeps:
    return RecordedSleeps()


@pytest.fixture
def drive_storage(drive_fake: DriveFake, drive_folder: str, drive_sleeps: RecordedSleeps) -> DriveStorage:
    retry = RetryPolicy(attempts=4, base_delay=0.5, max_delay=8.0, sleep=drive_sleeps)
    return DriveStorage(
        make_drive_service(drive_fake),
        drive_folder,
        chunk_size=TEST_CHUNK_SIZE,
        retry=retry,
        secret_name=TEST_SECRET_NAME,
    )
