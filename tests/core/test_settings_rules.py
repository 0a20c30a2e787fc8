"""Settings validation: good changes apply, every bad field is named, nothing is half-applied."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.cron import cron_problem
from shared.models import BackupSettings, ScheduleFrequency
from shared.settings_rules import (
    MAX_RETENTION,
    SettingsValidationError,
    apply_changes,
    drive_credentials_problems,
    parse_drive_credentials,
)


def test_text_values_from_the_command_line_are_parsed() -> None:
    settings = apply_changes(
        BackupSettings(),
        {
            "retention_daily": "14",
            "schedule_enabled": "yes",
            "schedule_frequency": "custom",
            "cron_expression": "30  3 * * 1-5",
            "time_zone": "Europe/Berlin",
            "notification_emails": "ops@example.com, dba@example.org",
        },
    )
    assert settings.retention_daily == 14
    assert settings.schedule_enabled is True
    assert settings.schedule_frequency is ScheduleFrequency.CUSTOM
    assert settings.cron_expression == "30 3 * * 1-5"
    assert settings.notification_emails == ["ops@example.com", "dba@example.org"]


def test_every_bad_field_is_reported_and_nothing_changes() -> None:
    current = BackupSettings()
    with pytest.raises(SettingsValidationError) as info:
        apply_changes(
            current,
            {
                "retention_daily": -1,
                "schedule_time": "25:00",
                "notification_emails": ["not-an-email"],
                "time_zone": "Mars/Olympus",
                "colour": "blue",
            },
        )
    assert set(info.value.errors) == {
        "retention_daily",
        "schedule_time",
        "notification_emails",
        "time_zone",
        "colour",
    }
    assert current == BackupSettings()


def test_custom_schedule_needs_a_cron_expression() -> None:
    with pytest.raises(SettingsValidationError) as info:
        apply_changes(BackupSettings(), {"schedule_frequency": "custom"})
    assert "cron_expression" in info.value.errors


def test_drive_needs_a_folder() -> None:
    with pytest.raises(SettingsValidationError) as info:
        apply_changes(BackupSettings(), {"google_drive_enabled": True})
    assert "google_drive_folder_id" in info.value.errors


@pytest.mark.parametrize(
    "expression", ["* * * * *", "0 2 * * *", "*/15 0-6 1,15 jan-jun mon-fri", "0 0 * * 7", "5 4 * * sun"]
)
def test_valid_cron(expression: str) -> None:
    assert cron_problem(expression) is None


@pytest.mark.parametrize(
    "expression",
    ["* * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *", "*/0 * * * *", "5-1 * * * *"],
)
def test_invalid_cron(expression: str) -> None:
    assert cron_problem(expression)


@given(minute=st.integers(0, 59), hour=st.integers(0, 23), dom=st.integers(1, 31))
def test_any_in_range_cron_is_valid(minute: int, hour: int, dom: int) -> None:
    assert cron_problem(f"{minute} {hour} {dom} * *") is None


@pytest.mark.parametrize("zone", ["localtime", "posixrules", "Factory", "right/UTC", "posix/Europe/Berlin"])
def test_tz_folder_entries_that_are_no_iana_zone_are_refused(zone: str) -> None:
    with pytest.raises(SettingsValidationError) as info:
        apply_changes(BackupSettings(), {"time_zone": zone})
    assert "IANA" in info.value.errors["time_zone"]


@pytest.mark.parametrize("zone", ["UTC", "Etc/UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires"])
def test_iana_zones_are_accepted(zone: str) -> None:
    assert apply_changes(BackupSettings(), {"time_zone": f" {zone} "}).time_zone == zone


@pytest.mark.parametrize("expression", ["0 0 31 2 *", "0 0 30 feb *", "0 0 31 4,6,9,11 *", "0 0 30-31 2 *"])
def test_a_cron_that_never_fires_is_refused(expression: str) -> None:
    with pytest.raises(SettingsValidationError) as info:
        apply_changes(BackupSettings(), {"schedule_frequency": "custom", "cron_expression": expression})
    assert "never run" in info.value.errors["cron_expression"]


@pytest.mark.parametrize(
    "expression", ["0 0 29 2 *", "0 0 31 2 1", "0 0 31 1-2 *", "0 0 31 */2 *", "0 0 5/30 2 *", "0 0 31 2 mon"]
)
def test_a_cron_that_fires_sometimes_is_accepted(expression: str) -> None:
    custom = {"schedule_frequency": "custom", "cron_expression": expression}
    assert apply_changes(BackupSettings(), custom).cron_expression == expression


@pytest.mark.parametrize("text", ["--5", "+-5", "5-", "²", "٣", "1" * 5000, "1.5", ""])
def test_malformed_numbers_get_one_clear_message(text: str) -> None:
    with pytest.raises(SettingsValidationError) as info:
        apply_changes(BackupSettings(), {"retention_daily": text, "schedule_weekday": text})
    for field in ("retention_daily", "schedule_weekday"):
        message = info.value.errors[field]
        assert message.startswith("must be a whole number") and "invalid literal" not in message
        assert len(message) < 100


def test_signed_numbers_from_the_command_line_still_parse() -> None:
    assert apply_changes(BackupSettings(), {"retention_daily": " +5 "}).retention_daily == 5
    with pytest.raises(SettingsValidationError) as info:
        apply_changes(BackupSettings(), {"retention_daily": "-5"})
    assert info.value.errors["retention_daily"] == f"must be between 0 and {MAX_RETENTION}, got -5"


SECRET = "very-secret-value"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("oops", "not JSON"),
        ("", "got nothing"),
        ("{}", "lack client_id, client_secret, refresh_token"),
        ("[1]", "not an object"),
        ("[" * 5000 + "]" * 5000, "nested too deeply"),
        (json.dumps({"client_id": "c", "client_secret": SECRET}), "lack refresh_token"),
        (json.dumps({"client_id": 1, "client_secret": SECRET, "refresh_token": "r"}), "client_id must be"),
        (f'{{"client_id": "c", "client_secret": "{SECRET}", "refresh_token": ', "not JSON (line 1, column"),
    ],
)
def test_drive_credentials_must_be_what_the_wiring_reads(text: str, says: str) -> None:
    problems = drive_credentials_problems(text)
    assert says in problems["drive_credentials"]
    assert SECRET not in problems["drive_credentials"]


def test_oauth_tool_json_is_accepted() -> None:
    fields = {"client_id": "c", "client_secret": SECRET, "refresh_token": "r", "type": "authorized_user"}
    text = json.dumps(fields)
    assert drive_credentials_problems(text) == {}
    assert parse_drive_credentials(text).refresh_token == "r"


@pytest.mark.parametrize(
    "pasted", ["['ops@example.com']", '["ops@example.com"]', "Ops <ops@example.com>", "'ops@example.com'"]
)
def test_an_address_pasted_with_brackets_quotes_or_a_name_is_refused(pasted: str) -> None:
    with pytest.raises(SettingsValidationError) as info:
        apply_changes(BackupSettings(), {"notification_emails": pasted})
    assert set(info.value.errors) == {"notification_emails"}


def test_an_apostrophe_in_an_address_is_fine() -> None:
    settings = apply_changes(BackupSettings(), {"notification_emails": "o'brien@example.com"})
    assert settings.notification_emails == ["o'brien@example.com"]
