"""Scheduler jobs: POST to the scheduled functions with the scheduler's OIDC token, retried, app-managed."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.models import BackupSettings
from shared.schedule_sync import ScheduleSpec, cleanup_schedule_for, schedule_for
from shared.scheduler_retries import TERRAFORM_DEFAULT, RetryBackoff
from tests.infra.terraform_console import evaluate_json, terraform_binary
from tests.infra.terraform_files import local_values, resource, single_block, variables


def test_jobs_target_the_scheduled_functions() -> None:
    jobs = local_values()["scheduled_jobs"]
    assert {job: spec["entry_point"] for job, spec in jobs.items()} == {
        "backup": "scheduled_backup",
        "cleanup": "scheduled_cleanup",
    }
    job = resource("google_cloud_scheduler_job", "job").body
    assert job["for_each"] == "${local.scheduled_jobs}"
    target = single_block(job, "http_target")
    assert target["http_method"] == "POST"
    url = "${google_cloudfunctions2_function.function[each.value.entry_point].url}"
    assert target["uri"] == url
    oidc = single_block(target, "oidc_token")
    assert oidc == {
        "service_account_email": "${google_service_account.scheduler.email}",
        "audience": url,
        "__is_block__": True,
    }


def test_retry_config_and_deadline() -> None:
    job = resource("google_cloud_scheduler_job", "job").body
    retry = single_block(job, "retry_config")
    assert retry["retry_count"] == "${local.scheduler_retry_count}"
    assert local_values()["scheduler_retry_count"] == 3
    assert retry["min_backoff_duration"] == "${local.scheduler_min_backoff}s"
    assert retry["max_backoff_duration"] == "${local.scheduler_max_backoff}s"
    assert retry["max_doublings"] == "${local.scheduler_max_doubling}"
    told = local_values()
    backoff = (told["scheduler_min_backoff"], told["scheduler_max_backoff"], told["scheduler_max_doubling"])
    assert RetryBackoff(*backoff) == TERRAFORM_DEFAULT  # the code's default, as the functions are told
    assert job["attempt_deadline"] == "${var.scheduler_attempt_deadline}"
    deadline = variables()["scheduler_attempt_deadline"]["default"]
    assert deadline.endswith("s") and 15 <= int(deadline.removesuffix("s")) <= 1800
    assert job["time_zone"] == "${var.time_zone}"


def test_terraform_leaves_what_the_settings_function_manages() -> None:
    job = resource("google_cloud_scheduler_job", "job").body
    lifecycle = single_block(job, "lifecycle")
    assert sorted(lifecycle["ignore_changes"]) == ["paused", "schedule", "time_zone"]


needs_terraform = pytest.mark.skipif(terraform_binary() is None, reason="terraform binary not found; skipped")


@needs_terraform
def test_jobs_are_created_as_the_default_settings_describe(tmp_path: Path) -> None:
    """So that no backup runs until the settings switch the schedule on, retention applies from the start,
    and the first save of the default settings has nothing to change."""
    assert resource("google_cloud_scheduler_job", "job").body["paused"] == "${each.value.paused}"
    jobs = local_values()["scheduled_jobs"]
    initial = evaluate_json(
        "{ backup = var.backup_schedule, cleanup = var.cleanup_schedule, time_zone = var.time_zone }",
        {},
        tmp_path,
    )
    backup = ScheduleSpec(initial["backup"], initial["time_zone"], jobs["backup"]["paused"])
    cleanup = ScheduleSpec(initial["cleanup"], initial["time_zone"], jobs["cleanup"]["paused"])
    defaults = BackupSettings()
    assert schedule_for(defaults) == backup
    assert cleanup_schedule_for(defaults, cleanup) == cleanup
