# The functions' source: this repository (main.py, functions/, shared/, requirements.txt) zipped and uploaded.

data "archive_file" "source" {
  type        = "zip"
  source_dir  = "${path.module}/.."
  output_path = "${path.module}/.terraform/function-source.zip"
  excludes = concat([
    ".git", ".git/**", ".venv", ".venv/**", ".ci/**", ".hypothesis/**", ".mypy_cache/**", ".pytest_cache/**",
    ".ruff_cache/**", ".backups/**", "**/__pycache__/**", "**/*.pyc", "benchmarks/**", "demo-home/**",
    "infra/**", "scripts/**", "tests/**", "tools/**",
  ], var.source_excludes)
}

resource "google_storage_bucket" "source" {
  project                     = var.project_id
  name                        = "${var.project_id}-${var.name_prefix}-source"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true
  labels                      = local.labels

  versioning {
    enabled = true
  }

  # Old archives only: the live one (named after its content) stays however old it is, or the next apply
  # would upload it again. Terraform deletes an archive it replaces, which versioning keeps as noncurrent.
  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 30
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.enabled]
}

resource "google_storage_bucket_object" "source" {
  # Named after the content, so a code change replaces the object and redeploys the functions.
  name   = "function-source-${data.archive_file.source.output_md5}.zip"
  bucket = google_storage_bucket.source.name
  source = data.archive_file.source.output_path
}
