"""Settings → Cloud Scheduler schedule: daily and weekly at the set time, custom cron as given, paused
when disabled; and the ID-token claim checks that google-auth leaves to us."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.auth.errors import AuthenticationError
from shared.auth.permissions import is_allowed
from shared.auth.tokens import Caller, CallerKind, bearer_token, caller_from_claims
from shared.config import Config
from shared.cron import cron_problem
from shared.models import BackupSettings, ScheduleFrequency
from shared.schedule_sync import ScheduleSpec, schedule_for


@given(
    hour=st.integers(0, 23),
    minute=st.integers(0, 59),
    weekday=st.integers(0, 6),
    enabled=st.booleans(),
    frequency=st.sampled_from([ScheduleFrequency.DAILY, ScheduleFrequency.WEEKLY]),
)
def test_daily_and_weekly_become_valid_cron(
    hour: int, minute: int, weekday: int, enabled: bool, frequency: ScheduleFrequency
) -> None:
    settings = BackupSettings(
        schedule_enabled=enabled,
        schedule_frequency=frequency,
        schedule_time=f"{hour:02d}:{minute:02d}",
        schedule_weekday=weekday,
        time_zone="Europe/Berlin",
    )
    spec = schedule_for(settings)
    assert cron_problem(spec.cron) is None
    fields = spec.cron.split()
    assert (int(fields[0]), int(fields[1])) == (minute, hour)
    if frequency is ScheduleFrequency.WEEKLY:
        assert int(fields[4]) == (weekday + 1) % 7  # 0 = Monday in settings, 1 = Monday in cron
    else:
        assert fields[4] == "*"
    assert spec.paused is not enabled and spec.time_zone == "Europe/Berlin"


def test_custom_uses_the_cron_expression() -> None:
    settings = BackupSettings(
        schedule_enabled=True, schedule_frequency=ScheduleFrequency.CUSTOM, cron_expression="*/30 1-5 * * 1-5"
    )
    assert schedule_for(settings) == ScheduleSpec("*/30 1-5 * * 1-5", "UTC", paused=False)


GOOD = {"iss": "https://accounts.google.com", "email": "Ops@Example.com", "email_verified": True}


@pytest.mark.parametrize(
    "claims",
    [
        {**GOOD, "iss": "https://evil.example"},
        {**GOOD, "email_verified": False},
        {**GOOD, "email_verified": "true"},
        {k: v for k, v in GOOD.items() if k != "email"},
        {k: v for k, v in GOOD.items() if k != "email_verified"},
    ],
)
def test_claims_we_check_ourselves(claims: dict[str, object]) -> None:
    with pytest.raises(AuthenticationError):
        caller_from_claims(claims)


def test_callers_become_members() -> None:
    assert caller_from_claims(GOOD) == Caller("ops@example.com", CallerKind.USER)
    assert caller_from_claims({**GOOD, "hd": "Example.com"}).hosted_domain == "example.com"
    assert caller_from_claims({**GOOD, "hd": ["example.com"]}).hosted_domain is None
    assert caller_from_claims({**GOOD, "hd": " "}).hosted_domain is None
    assert caller_from_claims({**GOOD, "iss": "accounts.google.com"}).member == "user:ops@example.com"
    robot = Caller.from_email("sched@p.iam.gserviceaccount.com")
    assert robot.member == "serviceAccount:sched@p.iam.gserviceaccount.com"


@pytest.mark.parametrize(
    ("caller", "allowed"),
    [
        (Caller("a@example.com", CallerKind.USER, hosted_domain="example.com"), True),
        (Caller("a@example.com", CallerKind.USER), False),
        (Caller("a@other.test", CallerKind.USER, hosted_domain="example.com"), True),
        (Caller("a@example.com", CallerKind.USER, hosted_domain="example.org"), False),
    ],
)
def test_domain_members_match_the_hosted_domain(caller: Caller, allowed: bool) -> None:
    assert is_allowed(caller, "backups.view", {"backups.view": ["domain:example.com"]}) is allowed


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer   ", "Basic abc", "token abc"])
def test_malformed_authorization_headers(header: str | None) -> None:
    with pytest.raises(AuthenticationError):
        bearer_token(header)


def test_max_retries_setting() -> None:
    from shared.config import Config
    from shared.errors import ConfigurationError

    assert Config.from_env({}).scheduler.max_retries == 3
    assert Config.from_env({"BACKUP_SCHEDULER_MAX_RETRIES": "5"}).scheduler.max_retries == 5
    with pytest.raises(ConfigurationError, match="BACKUP_SCHEDULER_MAX_RETRIES"):
        Config.from_env({"BACKUP_SCHEDULER_MAX_RETRIES": "-1"})


def test_certificates_are_fetched_once_not_per_call() -> None:
    from shared.auth.tokens import TokenVerifier
    from tests.fakes.certs_server import CertsServer, SigningKey

    with CertsServer("aud") as certs:
        verifier = TokenVerifier(["aud"], certs.url)
        for _ in range(5):
            assert verifier.verify(certs.mint("a@example.com")).email == "a@example.com"
        with pytest.raises(AuthenticationError):
            verifier.verify(certs.mint("a@example.com", key=SigningKey("unknown-kid")))
        assert certs.requests == 1


def test_every_configured_audience_is_accepted_and_no_other() -> None:
    from shared.auth.tokens import TokenVerifier
    from tests.fakes.certs_server import CertsServer

    gcloud_client = "32555940559.apps.googleusercontent.com"
    config = Config.from_env({"BACKUP_AUTH_AUDIENCE": f"https://fn.example.test, {gcloud_client}"})
    assert config.auth.audiences == ("https://fn.example.test", gcloud_client)
    with CertsServer("https://fn.example.test") as certs:
        verifier = TokenVerifier(config.auth.audiences, certs.url)
        for audience in config.auth.audiences:
            assert verifier.verify(certs.mint("a@example.com", audience=audience)).email == "a@example.com"
        with pytest.raises(AuthenticationError):
            verifier.verify(certs.mint("a@example.com", audience="https://other.test"))
