"""The ID-token certificates: a bounded fetch, only real certificates kept, the last good ones serving while
Google's endpoint fails, and 503 (not 401) when a token cannot be checked at all; rejected tokens are
logged without the token."""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from functions import runtime
from shared.auth.certs import CertsPolicy
from shared.auth.errors import AuthenticationError, TokenCheckUnavailableError
from shared.auth.tokens import TokenVerifier
from shared.dburl import DatabaseURL
from tests.fakes.certs_server import GOOGLE_ISSUER, CertsServer, SigningKey
from tests.fakes.scheduler_server import FakeCloudScheduler
from tests.functions.conftest import AUDIENCE, make_api
from tests.notify.examples import closed_port_url
from tests.ticks import ManualTicks

POLICY = CertsPolicy()
NOT_CERTIFICATES = [
    b"<html><body>Proxy login required</body></html>",
    b"[]",
    b"{}",
    b'{"test-key-1": "not a certificate"}',
]


@pytest.fixture
def endpoint() -> Iterator[CertsServer]:
    with CertsServer("aud") as server:
        yield server


@pytest.fixture
def ticks() -> ManualTicks:
    return ManualTicks()


def verifier_on(endpoint: CertsServer, ticks: ManualTicks, policy: CertsPolicy = POLICY) -> TokenVerifier:
    return TokenVerifier(["aud"], endpoint.url, certs_policy=policy, clock=ticks)


def accepts(verifier: TokenVerifier, endpoint: CertsServer) -> bool:
    return verifier.verify(endpoint.mint("a@example.com")).email == "a@example.com"


def test_a_hung_endpoint_is_given_up_after_the_fetch_timeout(
    endpoint: CertsServer, ticks: ManualTicks
) -> None:
    endpoint.hang(5)
    verifier = verifier_on(endpoint, ticks, CertsPolicy(fetch_timeout_seconds=0.5))
    started = time.monotonic()
    with pytest.raises(TokenCheckUnavailableError):
        verifier.verify(endpoint.mint("a@example.com"))
    assert time.monotonic() - started < 3


def test_the_default_fetch_timeout_is_bounded() -> None:
    assert 0 < POLICY.fetch_timeout_seconds <= 30


@pytest.mark.parametrize("body", NOT_CERTIFICATES)
def test_a_200_that_is_not_certificates_is_not_kept(
    endpoint: CertsServer, ticks: ManualTicks, body: bytes
) -> None:
    endpoint.answer_with(200, body)
    verifier = verifier_on(endpoint, ticks)
    with pytest.raises(TokenCheckUnavailableError):
        verifier.verify(endpoint.mint("a@example.com"))
    endpoint.recover()
    ticks.advance(POLICY.retry_interval_seconds)
    assert accepts(verifier, endpoint)


def test_the_last_good_certificates_serve_while_the_endpoint_fails(
    endpoint: CertsServer, ticks: ManualTicks
) -> None:
    verifier = verifier_on(endpoint, ticks)
    assert accepts(verifier, endpoint)
    endpoint.answer_with(503)
    ticks.advance(POLICY.ttl_seconds + 1)
    assert all(accepts(verifier, endpoint) for _ in range(5))
    assert endpoint.requests == 2, "one refetch per retry interval, not one per call"
    ticks.advance(POLICY.retry_interval_seconds)
    assert accepts(verifier, endpoint)
    assert endpoint.requests == 3
    endpoint.recover()
    ticks.advance(POLICY.retry_interval_seconds)
    assert accepts(verifier, endpoint)
    assert endpoint.requests == 4
    ticks.advance(POLICY.ttl_seconds - 1)
    assert accepts(verifier, endpoint)
    assert endpoint.requests == 4, "fresh again after the endpoint recovered"


def test_while_one_refetch_hangs_the_other_calls_use_the_last_good_certificates(
    endpoint: CertsServer, ticks: ManualTicks
) -> None:
    verifier = verifier_on(endpoint, ticks, CertsPolicy(fetch_timeout_seconds=5))
    assert accepts(verifier, endpoint)
    endpoint.hang(3)
    ticks.advance(POLICY.ttl_seconds)
    refetching = threading.Thread(target=accepts, args=(verifier, endpoint))
    refetching.start()
    while endpoint.requests < 2:
        time.sleep(0.01)
    started = time.monotonic()
    assert accepts(verifier, endpoint)
    assert time.monotonic() - started < 1
    refetching.join()


def test_a_rotated_key_is_fetched_once_a_minute_at_most(endpoint: CertsServer, ticks: ManualTicks) -> None:
    verifier = verifier_on(endpoint, ticks)
    assert accepts(verifier, endpoint)
    endpoint.key = SigningKey("rotated-2")
    with pytest.raises(AuthenticationError):
        verifier.verify(endpoint.mint("a@example.com"))
    ticks.advance(POLICY.min_refresh_seconds)
    assert accepts(verifier, endpoint)
    assert endpoint.requests == 2


def test_a_rotated_key_cannot_be_fetched_while_the_endpoint_fails(
    endpoint: CertsServer, ticks: ManualTicks
) -> None:
    verifier = verifier_on(endpoint, ticks)
    assert accepts(verifier, endpoint)
    old_key = endpoint.key
    endpoint.key = SigningKey("rotated-2")
    endpoint.answer_with(503)
    ticks.advance(POLICY.min_refresh_seconds)
    with pytest.raises(AuthenticationError):
        verifier.verify(endpoint.mint("a@example.com"))
    assert verifier.verify(endpoint.mint("a@example.com", key=old_key)).email == "a@example.com"


def test_certificates_older_than_the_staleness_bound_are_not_used(
    endpoint: CertsServer, ticks: ManualTicks
) -> None:
    verifier = verifier_on(endpoint, ticks)
    assert accepts(verifier, endpoint)
    endpoint.answer_with(500)
    ticks.advance(POLICY.max_stale_seconds + 1)
    with pytest.raises(TokenCheckUnavailableError, match="could not be checked"):
        verifier.verify(endpoint.mint("a@example.com"))


def test_without_certificates_a_token_cannot_be_checked_and_retries_are_spaced(
    endpoint: CertsServer, ticks: ManualTicks
) -> None:
    endpoint.answer_with(503)
    verifier = verifier_on(endpoint, ticks)
    for _ in range(3):
        with pytest.raises(TokenCheckUnavailableError) as caught:
            verifier.verify(endpoint.mint("a@example.com"))
        assert "could not be checked" in str(caught.value) and "invalid" not in str(caught.value)
    assert endpoint.requests == 1
    ticks.advance(POLICY.retry_interval_seconds)
    with pytest.raises(TokenCheckUnavailableError):
        verifier.verify(endpoint.mint("a@example.com"))
    assert endpoint.requests == 2


def test_an_unreachable_endpoint_is_unavailable_not_unauthenticated(ticks: ManualTicks) -> None:
    verifier = TokenVerifier(["aud"], closed_port_url() + "/oauth2/v1/certs", clock=ticks)
    with pytest.raises(TokenCheckUnavailableError):
        verifier.verify("a.b.c")


def test_functions_answer_503_when_the_token_cannot_be_checked(
    tmp_path: Path, mysql_db: DatabaseURL, scheduler: FakeCloudScheduler
) -> None:
    with CertsServer(AUDIENCE) as down:
        down.answer_with(503)
        api = make_api(tmp_path / "home", mysql_db, down, scheduler)
        try:
            answer = api.call("list_backups", "GET")
        finally:
            runtime.reset()
    assert answer.status_code == 503
    assert "could not be checked" in answer.get_json()["error"]
    assert int(answer.headers["Retry-After"]) > 0
    assert "WWW-Authenticate" not in answer.headers


def _segment(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_rejected_tokens_are_logged_without_token_material(
    endpoint: CertsServer, ticks: ManualTicks, caplog: pytest.LogCaptureFixture
) -> None:
    verifier = verifier_on(endpoint, ticks)
    good = endpoint.mint("a@example.com")
    undecodable_header = "secret-ish-header-material-4711"
    tokens = {
        "access token": "ya29.a0AfB_byC" + "X" * 200,
        "four segments": good + ".x",
        "header not JSON": ".".join([_segment(undecodable_header.encode()), *good.split(".")[1:]]),
    }
    with caplog.at_level(logging.WARNING, logger="backup.auth"):
        for token in tokens.values():
            with pytest.raises(AuthenticationError):
                verifier.verify(token)
    logged = caplog.text
    assert len([r for r in caplog.records if "rejected an ID token" in r.getMessage()]) == len(tokens)
    for token in tokens.values():
        assert all(part[:16] not in logged for part in token.split(".") if len(part) >= 16)
    assert undecodable_header not in logged


def test_a_signed_token_with_a_malformed_expiry_is_rejected_not_a_crash(
    endpoint: CertsServer, ticks: ManualTicks
) -> None:
    now = int(time.time())
    claims = {"iss": GOOGLE_ISSUER, "aud": "aud", "email": "a@example.com", "email_verified": True}
    with pytest.raises(AuthenticationError):
        verifier_on(endpoint, ticks).verify(endpoint.key.sign({**claims, "iat": now, "exp": str(now + 60)}))
