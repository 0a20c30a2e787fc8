# The backup and cleanup schedules. Terraform creates them as the default settings describe them: the
# backup job paused (schedule_enabled off, daily at 02:00 UTC), the cleanup job running (retention is on:
# manual backups need it too). Afterwards the backup_settings function owns their schedule, time zone and
# paused state, so Terraform ignores changes to those and an apply never undoes a save.

locals {
  scheduled_jobs = {
    backup  = { entry_point = "scheduled_backup", schedule = var.backup_schedule, paused = true, description = "Scheduled database backup." }
    cleanup = { entry_point = "scheduled_cleanup", schedule = var.cleanup_schedule, paused = false, description = "Scheduled retention cleanup." }
  }
}

resource "google_cloud_scheduler_job" "job" {
  for_each = local.scheduled_jobs

  project          = var.project_id
  region           = var.region
  name             = local.scheduler_job_ids[each.key]
  description      = each.value.description
  schedule         = each.value.schedule
  time_zone        = var.time_zone
  paused           = each.value.paused
  attempt_deadline = var.scheduler_attempt_deadline

  retry_config {
    retry_count          = local.scheduler_retry_count
    min_backoff_duration = "${local.scheduler_min_backoff}s"
    max_backoff_duration = "${local.scheduler_max_backoff}s"
    max_doublings        = local.scheduler_max_doubling
  }

  http_target {
    http_method = "POST"
    uri         = google_cloudfunctions2_function.function[each.value.entry_point].url
    headers     = { "Content-Type" = "application/json" }
    body        = base64encode(jsonencode({ job = local.scheduler_job_names[each.key] }))

    oidc_token {
      service_account_email = google_service_account.scheduler.email
      audience              = google_cloudfunctions2_function.function[each.value.entry_point].url
    }
  }

  lifecycle {
    ignore_changes = [schedule, time_zone, paused]

    precondition {
      condition     = tonumber(trimsuffix(var.scheduler_attempt_deadline, "s")) >= local.functions[each.value.entry_point].timeout_seconds
      error_message = "scheduler_attempt_deadline must cover the scheduled function's timeout: Scheduler cancels the request at its deadline, and the run's failure would never be mailed."
    }
  }

  depends_on = [google_cloud_run_service_iam_member.invoker]
}
