# Three identities: the functions run as `runtime`; Cloud Scheduler calls the scheduled functions as
# `scheduler`; Cloud Build builds the functions as `build` (new projects' default build account may lack the
# roles, and an organization may have the defaults' grants turned off).

resource "google_service_account" "runtime" {
  project      = var.project_id
  account_id   = local.runtime_account_id
  display_name = "Database backups: function runtime"
  description  = "Runs the backup functions: Cloud SQL, Firestore catalog, its own secrets, Drive folder shared with it."

  depends_on = [google_project_service.enabled]
}

resource "google_service_account" "scheduler" {
  project      = var.project_id
  account_id   = local.scheduler_account_id
  display_name = "Database backups: Cloud Scheduler caller"
  description  = "Identity of the Scheduler jobs' OIDC tokens; may only invoke scheduled_backup and scheduled_cleanup."

  depends_on = [google_project_service.enabled]
}

resource "google_service_account" "build" {
  project      = var.project_id
  account_id   = local.build_account_id
  display_name = "Database backups: function builds"
  description  = "Cloud Build's identity when it builds the backup functions: reads their source, writes images and logs."

  depends_on = [google_project_service.enabled]
}
