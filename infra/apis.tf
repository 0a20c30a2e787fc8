# The Google APIs the service uses. Left enabled on destroy: other workloads in the project may need them.
# Not the Cloud SQL Admin API: nothing here calls it (the functions connect to the database's private IP).

locals {
  apis = toset([
    "artifactregistry.googleapis.com", # Cloud Functions build images
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudresourcemanager.googleapis.com", # the project IAM bindings
    "cloudscheduler.googleapis.com",
    "compute.googleapis.com", # VPC connector network
    "drive.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
    "vpcaccess.googleapis.com",
  ])
}

resource "google_project_service" "enabled" {
  for_each = local.apis

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}
