# The secrets the functions read at run time. Terraform creates them empty; their values are added with
# `gcloud secrets versions add` (infra/README.md), so no secret value is ever in Terraform state.

resource "google_secret_manager_secret" "database_password" {
  project   = var.project_id
  secret_id = var.secret_ids.database_password
  labels    = local.labels

  replication {
    auto {}
  }

  depends_on = [google_project_service.enabled]
}

resource "google_secret_manager_secret" "sendgrid_api_key" {
  project   = var.project_id
  secret_id = var.secret_ids.sendgrid_api_key
  labels    = local.labels

  replication {
    auto {}
  }

  depends_on = [google_project_service.enabled]
}

resource "google_secret_manager_secret" "drive_oauth" {
  project   = var.project_id
  secret_id = var.secret_ids.drive_oauth
  labels    = local.labels

  replication {
    auto {}
  }

  depends_on = [google_project_service.enabled]
}

# Not a secret: the database server's CA certificate, which a function can only be given as a file through
# a Secret Manager volume (functions.tf). Its value comes from var.database_server_ca, so it is in the state.
resource "google_secret_manager_secret" "database_ca" {
  count = var.database_server_ca == "" ? 0 : 1

  project   = var.project_id
  secret_id = var.secret_ids.database_ca
  labels    = local.labels

  replication {
    auto {}
  }

  depends_on = [google_project_service.enabled]
}

resource "google_secret_manager_secret_version" "database_ca" {
  count = var.database_server_ca == "" ? 0 : 1

  secret      = google_secret_manager_secret.database_ca[0].id
  secret_data = var.database_server_ca
}

locals {
  database_ca_folder = "/etc/database-ca"
  database_ca_file   = "server-ca.pem"
  mounted_secrets    = { for secret in google_secret_manager_secret.database_ca : "database_ca" => secret.secret_id }

  # Every secret is created whatever the variables say (switching notifier or drive_credentials later then
  # only adds or removes a grant, and never deletes a secret that holds a value).
  created_secrets = {
    database_password = google_secret_manager_secret.database_password.secret_id
    sendgrid_api_key  = google_secret_manager_secret.sendgrid_api_key.secret_id
    drive_oauth       = google_secret_manager_secret.drive_oauth.secret_id
  }

  # Only those the functions read with these variables (local.runtime_reads_secret in permissions.tf).
  runtime_readable_secrets = { for name, secret_id in local.created_secrets : name => secret_id if local.runtime_reads_secret[name] }
}

resource "google_secret_manager_secret_iam_member" "runtime_accessor" {
  for_each = merge(local.runtime_readable_secrets, local.mounted_secrets)

  project   = var.project_id
  secret_id = each.value
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.runtime.member
}

resource "google_secret_manager_secret_iam_member" "runtime_drive_oauth_writer" {
  # The settings function stores new Drive credentials as a new version of this one secret. Granted with
  # drive_credentials = "default" too: the settings accept new credentials then, to be used once it is oauth.
  project   = var.project_id
  secret_id = google_secret_manager_secret.drive_oauth.secret_id
  role      = "roles/secretmanager.secretVersionAdder"
  member    = google_service_account.runtime.member
}
