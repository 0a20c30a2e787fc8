output "function_urls" {
  description = "Entry point -> URL of its function (call it with an identity token; see infra/README.md)."
  value       = { for entry_point, function in google_cloudfunctions2_function.function : entry_point => function.url }
}

output "function_names" {
  description = "Entry point -> function name, for `gcloud functions call NAME --region REGION`."
  value       = { for entry_point, function in google_cloudfunctions2_function.function : entry_point => function.name }
}

output "runtime_service_account" {
  description = "E-mail of the account the functions run as; share the Drive folder with it."
  value       = google_service_account.runtime.email
}

output "scheduler_service_account" {
  description = "E-mail of the account whose OIDC tokens Cloud Scheduler sends."
  value       = google_service_account.scheduler.email
}

output "scheduler_jobs" {
  description = "Full names of the backup and cleanup Scheduler jobs."
  value       = { for job, scheduled in google_cloud_scheduler_job.job : job => scheduled.id }
}

output "secret_ids" {
  description = "Secrets to fill with `gcloud secrets versions add`."
  value       = local.created_secrets
}

output "source_bucket" {
  description = "Bucket holding the uploaded function source archives."
  value       = google_storage_bucket.source.name
}
