# Provider settings and the names every other file shares. The per-concern files hold the resources:
# apis.tf, service_accounts.tf, source.tf, functions.tf, iam.tf, scheduler.tf, firestore.tf, secrets.tf,
# network.tf; permissions.tf holds the function catalog and who may call what (no resources).

provider "google" {
  project = var.project_id
  region  = var.region
}

locals {
  labels = merge({ app = "db-backup", managed-by = "terraform" }, var.labels)

  # Scheduler retries a failed or timed-out run this often, after these waits; the scheduled functions are
  # told the same, to tell the final attempt when Scheduler does not count them.
  scheduler_retry_count  = 3
  scheduler_min_backoff  = 60
  scheduler_max_backoff  = 600
  scheduler_max_doubling = 3

  # Full job names, known before the jobs exist so the functions can be told them without a cycle.
  scheduler_job_ids   = { backup = "${var.name_prefix}-backup", cleanup = "${var.name_prefix}-cleanup" }
  scheduler_job_names = { for job, id in local.scheduler_job_ids : job => "projects/${var.project_id}/locations/${var.region}/jobs/${id}" }

  # Environment shared by every function; BACKUP_AUTH_AUDIENCE is added per function in functions.tf.
  common_environment = {
    BACKUP_DATABASE_URL                  = var.database_url
    BACKUP_DATABASE_PASSWORD_SECRET      = google_secret_manager_secret.database_password.secret_id
    BACKUP_CATALOG                       = "firestore"
    BACKUP_GCP_PROJECT                   = var.project_id
    BACKUP_FIRESTORE_DATABASE            = var.firestore_database
    BACKUP_STORAGE                       = "drive"
    BACKUP_DRIVE_FOLDER_ID               = var.drive_folder_id
    BACKUP_DRIVE_CREDENTIALS             = var.drive_credentials
    BACKUP_DRIVE_OAUTH_SECRET            = google_secret_manager_secret.drive_oauth.secret_id
    BACKUP_SECRETS                       = "secret-manager"
    BACKUP_NOTIFIER                      = var.notifier
    BACKUP_SENDGRID_API_KEY_SECRET       = google_secret_manager_secret.sendgrid_api_key.secret_id
    BACKUP_NOTIFY_FROM                   = var.notify_from
    BACKUP_PERMISSIONS                   = jsonencode(local.permission_members)
    BACKUP_SCHEDULER_BACKUP_JOB          = local.scheduler_job_names.backup
    BACKUP_SCHEDULER_CLEANUP_JOB         = local.scheduler_job_names.cleanup
    BACKUP_SCHEDULER_MAX_RETRIES         = tostring(local.scheduler_retry_count)
    BACKUP_SCHEDULER_MIN_BACKOFF_SECONDS = tostring(local.scheduler_min_backoff)
    BACKUP_SCHEDULER_MAX_BACKOFF_SECONDS = tostring(local.scheduler_max_backoff)
    BACKUP_SCHEDULER_MAX_DOUBLINGS       = tostring(local.scheduler_max_doubling)
    BACKUP_STRIP_DEFINERS                = tostring(var.strip_definers)
    BACKUP_MYSQL_READERS                 = tostring(var.mysql_readers)
    BACKUP_POSTGRES_RESTORE_CONNECTIONS  = tostring(var.postgres_restore_connections)
    BACKUP_RESTORE_LOCK_WAIT_SECONDS     = tostring(var.restore_lock_wait_seconds)
    BACKUP_COMPRESSION                   = var.compression
    BACKUP_CATALOG_TIMEOUT_SECONDS       = tostring(var.catalog_timeout_seconds)
  }
}
