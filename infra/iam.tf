# Who may invoke which function (permissions as IAM), and what the runtime account may touch.

resource "google_cloud_run_service_iam_member" "invoker" {
  # A 2nd gen function is invoked through its Cloud Run service, so run.invoker is granted there.
  for_each = local.invoker_bindings

  project  = var.project_id
  location = var.region
  service  = google_cloudfunctions2_function.function[each.value.entry_point].service_config[0].service
  role     = "roles/run.invoker"
  member   = each.value.member

  # The scheduler account's member is built from a string (local.scheduler_member in permissions.tf), so
  # nothing else orders it: IAM refuses a binding for an account that does not exist yet.
  depends_on = [google_service_account.scheduler]
}

locals {
  # No roles/cloudsql.client: the functions reach the database at its private IP with a password, a plain
  # TCP connection IAM is not asked about (database_url refuses the /cloudsql/ socket, which needs it).
  runtime_project_roles = toset([
    "roles/datastore.user",    # the Firestore catalog
    "roles/logging.logWriter", # structured logs
  ])

  # What Cloud Build needs to build a function from source (Cloud Run's "build service account" page).
  build_project_roles = toset([
    "roles/logging.logWriter",       # build logs
    "roles/artifactregistry.writer", # the built images
    "roles/storage.objectAdmin",     # the source, and the image layers it stages
  ])
}

resource "google_project_iam_custom_role" "scheduler_job_updater" {
  # No predefined role only reads and updates jobs; the settings function changes schedule, time zone, paused.
  project     = var.project_id
  role_id     = replace("${var.name_prefix}_scheduler_job_updater", "-", "_")
  title       = "Database backups: Scheduler job updater"
  description = "Read, update, pause and resume Cloud Scheduler jobs (used by the backup_settings function)."
  permissions = [
    "cloudscheduler.jobs.enable",
    "cloudscheduler.jobs.get",
    "cloudscheduler.jobs.pause",
    "cloudscheduler.jobs.update",
  ]

  depends_on = [google_project_service.enabled]
}

resource "google_project_iam_member" "runtime" {
  for_each = local.runtime_project_roles

  project = var.project_id
  role    = each.value
  member  = google_service_account.runtime.member
}

resource "google_project_iam_member" "runtime_scheduler_jobs" {
  project = var.project_id
  role    = google_project_iam_custom_role.scheduler_job_updater.id
  member  = google_service_account.runtime.member
}

resource "google_service_account_iam_member" "runtime_acts_as_scheduler" {
  # Updating a job whose OIDC token names the scheduler account requires actAs on that account.
  service_account_id = google_service_account.scheduler.name
  role               = "roles/iam.serviceAccountUser"
  member             = google_service_account.runtime.member
}

resource "google_project_iam_member" "build" {
  for_each = local.build_project_roles

  project = var.project_id
  role    = each.value
  member  = google_service_account.build.member
}
