"""Settings validation: good changes apply, every bad field is named, nothing is half-applied."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.cron import cron_problem
from shared.models import BackupSettings, ScheduleFrequency
from shared.settings_rules import SettingsValidationError, apply_changes


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
