"""Variable checks that fail `terraform plan` on an obvious mistake, before any function is built, and
accept every valid value."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from zoneinfo import available_timezones

import pytest

from shared.cron import cron_problem
from shared.models import BackupSettings
from tests.infra.terraform_console import evaluate, evaluate_json, terraform_binary
from tests.infra.terraform_files import local_values, resource, single_block, variables

needs_terraform = pytest.mark.skipif(terraform_binary() is None, reason="terraform binary not found; skipped")


def _expression(condition: str) -> str:
    assert condition.startswith("${") and condition.endswith("}"), condition
    return condition[2:-1]


def refused(name: str, values: list[Any], workdir: Path) -> list[Any]:
    """The `values` that one of variable `name`'s own validation conditions refuses, evaluated by Terraform in
    one call (each condition with `var.<name>` bound to the value)."""
    conditions = [_expression(check["condition"]) for check in variables()[name]["validation"]]
    test = " && ".join(f"({condition.replace(f'var.{name}', 'value')})" for condition in conditions)
    found: list[Any] = evaluate_json(f"[for value in {json.dumps(values)} : value if !({test})]", {}, workdir)
    return found


def message_for(name: str, value: Any, workdir: Path, **others: Any) -> str:
    """Terraform's complaint (whitespace folded) when `name` is set to `value` in terraform.tfvars."""
    result = evaluate(f"var.{name}", {name: value, **others}, workdir)  # console reports, but exits with 0
    return " ".join(result.stderr.split())


# catalog_timeout_seconds


def _catalog_timeout_cap() -> float:
    [check] = variables()["catalog_timeout_seconds"]["validation"]
    match = re.search(r"var\.catalog_timeout_seconds <= ([0-9.]+)", check["condition"])
    assert match, check["condition"]
    return float(match.group(1))


def test_the_catalog_timeout_cap_leaves_the_designed_503_inside_the_shortest_function_timeout() -> None:
    """A lock or run claim is a read then a conditional write: about two catalog calls. Both at the cap must
    end, and the function answer its 503 with Retry-After, with a third of the shortest timeout (60 s for
    list_backups and backup_settings) still left; past it Cloud Run answers a bare 504 instead."""
    shortest = min(spec["timeout_seconds"] for spec in local_values()["functions"].values())
    cap = _catalog_timeout_cap()
    assert 2 * cap <= shortest * 2 / 3, (cap, shortest)
    default = variables()["catalog_timeout_seconds"]["default"]
    assert 0 < default <= cap
    assert f"At most {cap:g} s" in variables()["catalog_timeout_seconds"]["description"]


@needs_terraform
def test_catalog_timeout_above_the_cap_is_refused(tmp_path: Path) -> None:
    assert refused("catalog_timeout_seconds", [0.5, 10, 20, 0, -1, 20.5, 25, 300], tmp_path) == [
        0,
        -1,
        20.5,
        25,
        300,
    ]
    assert "at most 20" in message_for("catalog_timeout_seconds", 60, tmp_path)


# time_zone


@needs_terraform
def test_every_tz_database_name_is_accepted_as_time_zone(tmp_path: Path) -> None:
    """The names the settings accept for their time_zone (shared/settings_rules.py), and Scheduler's `utc`."""
    names = sorted(available_timezones() | {"utc", "Etc/UTC"})
    assert refused("time_zone", names, tmp_path) == []


@needs_terraform
def test_a_time_zone_that_is_no_tz_name_is_refused(tmp_path: Path) -> None:
    mistakes = ["", " UTC", "UTC+1", "GMT+2", "+01:00", "Europe Berlin", "Europe/", "/Berlin", "CET,CEST"]
    assert refused("time_zone", mistakes, tmp_path) == mistakes
    assert "time_zone must be an IANA tz database name" in message_for("time_zone", "UTC+1", tmp_path)


# backup_schedule, cleanup_schedule

VALID_CRONS = [
    "0 2 * * *",
    "30 4 * * *",
    "*/15 * * * *",
    "0 9-17/2 * * mon-fri",
    "0 0 1,15 * *",
    "0 3 * JAN,JUL SUN",
    "  5 4 * * 0 ",
    "0\t2 * * *",
]


@needs_terraform
@pytest.mark.parametrize("name", ["backup_schedule", "cleanup_schedule"])
def test_unix_cron_schedules_are_accepted(name: str, tmp_path: Path) -> None:
    assert [expression for expression in VALID_CRONS if cron_problem(expression)] == []
    assert refused(name, VALID_CRONS, tmp_path) == []


@needs_terraform
@pytest.mark.parametrize("name", ["backup_schedule", "cleanup_schedule"])
def test_a_schedule_that_is_no_five_field_cron_is_refused(name: str, tmp_path: Path) -> None:
    mistakes = ["", "0 2 * *", "0 0 2 * * *", "@daily", "every 24 hours", "daily at 02:00", "0 2 * * * ?"]
    assert all(cron_problem(expression) for expression in mistakes)
    assert refused(name, mistakes, tmp_path) == mistakes
    assert f"{name} must be a unix-cron expression of 5 fields" in message_for(name, "0 2 * *", tmp_path)


def test_the_default_schedules_and_time_zone_are_the_default_settings() -> None:
    defaults = BackupSettings()
    assert variables()["time_zone"]["default"] == defaults.time_zone
    assert cron_problem(variables()["backup_schedule"]["default"]) is None
    assert cron_problem(variables()["cleanup_schedule"]["default"]) is None


# labels


@needs_terraform
def test_labels_in_googles_format_are_accepted(tmp_path: Path) -> None:
    good = [{}, {"env": "prod", "team_a": "", "cost-center": "x-1_2"}, {"k" + "a" * 62: "v" * 63}, {"é": "ü"}]
    assert refused("labels", good, tmp_path) == []
    many = {f"l{index}": "" for index in range(62)}
    assert refused("labels", [many, {**many, "app": "mine"}], tmp_path) == []


@needs_terraform
def test_labels_google_would_refuse_are_refused(tmp_path: Path) -> None:
    bad = [
        {"Env": "prod"},
        {"env": "Prod"},
        {"1env": "x"},
        {"": "x"},
        {"env": "a b"},
        {"env.name": "x"},
        {"k" + "a" * 63: "v"},
        {"env": "v" * 64},
        {f"l{index}": "" for index in range(63)},
    ]
    assert refused("labels", bad, tmp_path) == bad
    assert "Google's label format" in message_for("labels", {"Env": "prod"}, tmp_path)


# notify_from


def _notify_from_precondition() -> str:
    function = resource("google_cloudfunctions2_function", "function").body
    conditions = [check["condition"] for check in single_block(function, "lifecycle")["precondition"]]
    [condition] = [condition for condition in conditions if "var.notify_from" in condition]
    return _expression(condition)


@needs_terraform
@pytest.mark.parametrize(
    ("notifier", "notify_from", "accepted"),
    [
        ("sendgrid", "backups@example.com", True),
        ("sendgrid", "", False),
        ("log", "", True),
        ("log", "backups@example.com", True),
    ],
)
def test_notify_from_is_required_only_with_sendgrid(
    notifier: str, notify_from: str, accepted: bool, tmp_path: Path
) -> None:
    """The precondition, evaluated by Terraform on these variables (it refers to nothing else)."""
    settings = {"notifier": notifier, "notify_from": notify_from}
    assert evaluate_json(_notify_from_precondition(), settings, tmp_path) is accepted
    assert "Error" not in evaluate("var.notify_from", settings, tmp_path).stderr


@needs_terraform
def test_notify_from_need_not_be_set_at_all_and_must_be_an_address_when_set(tmp_path: Path) -> None:
    assert "default" in variables()["notify_from"] and variables()["notify_from"]["default"] == ""
    assert refused("notify_from", ["", "backups@example.com", "backups", "a b@example.com"], tmp_path) == [
        "backups",
        "a b@example.com",
    ]
