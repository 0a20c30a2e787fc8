"""Fixtures: one fake Secret Manager per module, wiped before each test, and the real REST client on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from google.auth.credentials import AnonymousCredentials

from shared.secrets import SecretManagerSecrets, build_secret_manager_client
from tests.fakes.secret_manager_server import FakeSecretManager

PROJECT = "demo-backups"


@pytest.fixture(scope="module")
def secret_manager_server() -> Iterator[FakeSecretManager]:
    with FakeSecretManager() as server:
        yield server


@pytest.fixture
def secret_manager(secret_manager_server: FakeSecretManager) -> FakeSecretManager:
    secret_manager_server.reset()
    return secret_manager_server


@pytest.fixture
def manager_secrets(secret_manager: FakeSecretManager) -> SecretManagerSecrets:
    client = build_secret_manager_client(AnonymousCredentials(), secret_manager.endpoint)  # type: ignore[no-untyped-call]
    return SecretManagerSecrets(client, PROJECT)
