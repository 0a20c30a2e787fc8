# The function catalog (one Cloud Function per entry point in main.py) and who may invoke each one.
# Only variables are used here, so tests can evaluate this file on its own with `terraform console`.

locals {
  permission_names = [
    "backups.view",
    "backups.create",
    "backups.delete",
    "backups.restore",
    "backups.download",
    "backups.manage-settings",
    "backups.run-scheduled",
  ]

  # backups.run-scheduled always includes the scheduler account (see permission_members).
  # A scheduled function's timeout stays within Scheduler's wait (1800 s at most for HTTP targets): Scheduler
  # cancels the request at its deadline, and the run would go on unseen, its failure never mailed.
  functions = {
    list_backups      = { permission = "backups.view", memory = "512Mi", cpu = "1", timeout_seconds = 60, max_instances = 5, description = "Lists backups from the catalog." }
    create_backup     = { permission = "backups.create", memory = "2Gi", cpu = "2", timeout_seconds = 3600, max_instances = 1, description = "Takes a backup now." }
    delete_backup     = { permission = "backups.delete", memory = "512Mi", cpu = "1", timeout_seconds = 300, max_instances = 2, description = "Deletes a backup and its file." }
    download_backup   = { permission = "backups.download", memory = "1Gi", cpu = "1", timeout_seconds = 3600, max_instances = 2, description = "Streams a backup file to the caller." }
    restore_backup    = { permission = "backups.restore", memory = "2Gi", cpu = "2", timeout_seconds = 3600, max_instances = 1, description = "Restores a backup (after a safety backup)." }
    cleanup_backups   = { permission = "backups.manage-settings", memory = "512Mi", cpu = "1", timeout_seconds = 900, max_instances = 1, description = "Applies the retention policy now." }
    backup_settings   = { permission = "backups.manage-settings", memory = "512Mi", cpu = "1", timeout_seconds = 60, max_instances = 2, description = "Reads and changes settings; keeps the Scheduler jobs in step." }
    scheduled_backup  = { permission = "backups.run-scheduled", memory = "2Gi", cpu = "2", timeout_seconds = 1800, max_instances = 1, description = "The scheduled backup (Cloud Scheduler only)." }
    scheduled_cleanup = { permission = "backups.run-scheduled", memory = "512Mi", cpu = "1", timeout_seconds = 900, max_instances = 1, description = "The scheduled cleanup (Cloud Scheduler only)." }
  }

  # BACKUP_TIME_LIMIT_SECONDS per function: its timeout less a tenth (at least 10 s, at most 300 s), the time
  # a backup or restore stopped at its limit has left to fail cleanly before Cloud Run cuts the request.
  function_time_limits = { for entry_point, spec in local.functions : entry_point => spec.timeout_seconds - min(300, max(10, floor(spec.timeout_seconds / 10))) }

  function_names = { for entry_point in keys(local.functions) : entry_point => "${var.name_prefix}-${replace(entry_point, "_", "-")}" }

  # The URL Google gives a 2nd gen function; functions.tf checks it against the real one after creation.
  function_urls = { for entry_point, name in local.function_names : entry_point => "https://${var.region}-${var.project_id}.cloudfunctions.net/${name}" }

  runtime_account_id   = "${var.name_prefix}-runtime"
  scheduler_account_id = "${var.name_prefix}-scheduler"
  build_account_id     = "${var.name_prefix}-build"

  # Which of the created secrets the functions read (secrets.tf grants secretAccessor on exactly these): the
  # SendGrid key only with notifier = "sendgrid", the Drive OAuth token only with drive_credentials = "oauth".
  runtime_reads_secret = {
    database_password = true
    sendgrid_api_key  = var.notifier == "sendgrid"
    drive_oauth       = var.drive_credentials == "oauth"
  }

  # A database at a private address (RFC 1918) is reached only through a VPC connector.
  database_is_private = can(regex("^[a-z]+://[^/@]*@(10\\.|192\\.168\\.|172\\.(1[6-9]|2[0-9]|3[01])\\.)", var.database_url))
  scheduler_member    = "serviceAccount:${local.scheduler_account_id}@${var.project_id}.iam.gserviceaccount.com"

  # Every permission with its members (empty when nobody has it): this is BACKUP_PERMISSIONS.
  permission_members = {
    for permission in local.permission_names : permission => distinct(concat(
      permission == "backups.run-scheduled" ? [local.scheduler_member] : [],
      lookup(var.permissions, permission, []),
    ))
  }

  function_invokers = { for entry_point, spec in local.functions : entry_point => local.permission_members[spec.permission] }

  # One run.invoker binding per (function, member).
  invoker_bindings = merge([
    for entry_point, members in local.function_invokers : {
      for member in members : "${entry_point} ${member}" => { entry_point = entry_point, member = member }
    }
  ]...)
}
