"""Fixtures: one fake SendGrid server per module, wiped before each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.sendgrid_server import FakeSendGrid


@pytest.fixture(scope="module")
def sendgrid_server() -> Iterator[FakeSendGrid]:
    with FakeSendGrid() as server:
        yield server


@pytest.fixture
def sendgrid(sendgrid_server: FakeSendGrid) -> FakeSendGrid:
    sendgrid_server.reset()
    return sendgrid_server
