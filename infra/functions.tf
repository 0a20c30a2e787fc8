# One 2nd gen Cloud Function per entry point in main.py (the catalog is local.functions in permissions.tf).

resource "google_cloudfunctions2_function" "function" {
  for_each = local.functions

  project     = var.project_id
  location    = var.region
  name        = local.function_names[each.key]
  description = each.value.description
  labels      = local.labels

  build_config {
    runtime         = "python312"
    entry_point     = each.key
    service_account = google_service_account.build.id

    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    available_memory                 = each.value.memory
    available_cpu                    = each.value.cpu
    timeout_seconds                  = each.value.timeout_seconds
    max_instance_count               = each.value.max_instances
    min_instance_count               = 0
    max_instance_request_concurrency = 1
    # Reachable from the internet (callers, Cloud Scheduler), but only with an IAM-checked identity token.
    ingress_settings               = "ALLOW_ALL"
    all_traffic_on_latest_revision = true
    service_account_email          = google_service_account.runtime.email
    vpc_connector                  = local.vpc_connector == "none" ? null : local.vpc_connector
    vpc_connector_egress_settings  = local.vpc_connector == "none" ? null : "PRIVATE_RANGES_ONLY"
    environment_variables = merge(local.common_environment, {
      BACKUP_AUTH_AUDIENCE      = join(",", concat([local.function_urls[each.key]], var.extra_token_audiences))
      BACKUP_TIME_LIMIT_SECONDS = tostring(local.function_time_limits[each.key])
    })

    # The database server's CA certificate as /etc/database-ca/server-ca.pem, for database_url's sslrootcert.
    dynamic "secret_volumes" {
      for_each = google_secret_manager_secret_version.database_ca
      content {
        mount_path = local.database_ca_folder
        project_id = var.project_id
        secret     = google_secret_manager_secret.database_ca[0].secret_id
        versions {
          version = secret_volumes.value.version
          path    = local.database_ca_file
        }
      }
    }
  }

  lifecycle {
    precondition {
      condition     = !local.database_is_private || local.vpc_connector != "none"
      error_message = "database_url is a private address, which the functions reach only through a VPC connector: set vpc_network (a connector is created) or vpc_connector_id."
    }
    # Here, not in notify_from's validation: before Terraform 1.9 a validation can only read its own variable.
    precondition {
      condition     = var.notifier != "sendgrid" || var.notify_from != ""
      error_message = "notifier = \"sendgrid\" needs notify_from, the SendGrid verified sender the notification e-mails come from (or set notifier = \"log\")."
    }
    postcondition {
      condition     = self.url == local.function_urls[each.key]
      error_message = "The function's URL is ${self.url}, not ${local.function_urls[each.key]} as BACKUP_AUTH_AUDIENCE says; update local.function_urls in permissions.tf."
    }
  }

  depends_on = [
    google_project_service.enabled,
    google_project_iam_member.runtime,
    google_project_iam_member.runtime_scheduler_jobs,
    google_project_iam_member.build,
    google_secret_manager_secret_iam_member.runtime_accessor,
  ]
}
