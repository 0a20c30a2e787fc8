# Private IP to Cloud SQL through a Serverless VPC Access connector (the functions' only egress to the VPC).

resource "google_vpc_access_connector" "connector" {
  count = var.vpc_connector_id == null && var.vpc_network != null ? 1 : 0

  project       = var.project_id
  name          = "${var.name_prefix}-conn"
  region        = var.region
  network       = var.vpc_network
  ip_cidr_range = var.vpc_connector_cidr
  machine_type  = "e2-micro"
  min_instances = 2
  max_instances = 3

  depends_on = [google_project_service.enabled]
}

locals {
  vpc_connector = coalesce(var.vpc_connector_id, one(google_vpc_access_connector.connector[*].id), "none")
}
