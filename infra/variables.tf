variable "project_id" {
  description = "The Google Cloud project to deploy into."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a project ID (6-30 lowercase letters, digits or hyphens), not a project number or name."
  }
}

variable "region" {
  description = "Region of the functions, the Scheduler jobs and the VPC connector; use the Cloud SQL instance's region."
  type        = string
  default     = "europe-west1"

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must be a Google Cloud region such as europe-west1."
  }
}

variable "name_prefix" {
  description = "Prefix of the names of the functions, service accounts, Scheduler jobs, custom role, VPC connector and source bucket. The secrets (secret_ids, fixed db-backup-* names by default) and the Firestore database (firestore_database) and its collections are not prefixed, so one deployment per project is supported; a second one in the same project needs its own secret_ids and its own firestore_database as well as its own name_prefix."
  type        = string
  default     = "db-backup"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,14}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-16 lowercase letters, digits or hyphens, starting with a letter (service account IDs are limited to 30 characters)."
  }
}

variable "labels" {
  description = "Extra labels for the resources that take labels (functions, secrets, source bucket), in Google's label format: keys 1-63 lowercase letters, digits, underscores or hyphens, starting with a lowercase letter; values 0-63 lowercase letters, digits, underscores or hyphens; at most 62 besides app and managed-by, which are always set (64 per resource)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for key, value in var.labels : can(regex("^[\\p{Ll}\\p{Lo}][\\p{Ll}\\p{Lo}\\p{N}_-]{0,62}$", key)) && can(regex("^[\\p{Ll}\\p{Lo}\\p{N}_-]{0,63}$", value))])
    error_message = "labels keys must be 1-63 lowercase letters, digits, underscores or hyphens starting with a lowercase letter, and values 0-63 lowercase letters, digits, underscores or hyphens (Google's label format)."
  }

  validation {
    condition     = length(merge({ app = "", managed-by = "" }, var.labels)) <= 64
    error_message = "labels can hold at most 62 labels besides app and managed-by (Google allows 64 per resource)."
  }
}

variable "database_url" {
  description = "The database to back up, WITHOUT its password (that lives in Secret Manager), reached over private IP: mysql://backup@10.1.2.3:3306/shop or postgresql://backup@10.1.2.3:5432/shop."
  type        = string

  validation {
    condition     = can(regex("^(mysql|mariadb|postgres|postgresql)://", var.database_url))
    error_message = "database_url must start with mysql://, mariadb://, postgres:// or postgresql://."
  }

  validation {
    condition     = !can(regex("^[a-z]+://[^/@]*:[^/@]*@", var.database_url))
    error_message = "database_url must not contain a password; store it with `gcloud secrets versions add` in the database password secret instead."
  }

  validation {
    condition     = !strcontains(var.database_url, "/cloudsql/")
    error_message = "The /cloudsql/ unix socket is not available to 2nd gen functions deployed by Terraform (the google provider cannot attach Cloud SQL to them); use the instance's private IP and a VPC connector (see infra/README.md)."
  }
}

variable "database_server_ca" {
  description = "The PEM certificate of the authority that signed the database server's certificate (Cloud SQL: `gcloud sql instances describe INSTANCE --format='value(serverCaCert.cert)'`). Set, the functions find it at /etc/database-ca/server-ca.pem, and database_url can check the server with ?sslmode=verify-ca&sslrootcert=/etc/database-ca/server-ca.pem. A CA certificate is public; it is kept in Secret Manager only because that is how a function is given a file."
  type        = string
  default     = ""

  validation {
    condition     = var.database_server_ca == "" || startswith(trimspace(var.database_server_ca), "-----BEGIN CERTIFICATE-----")
    error_message = "database_server_ca must be a PEM certificate (starting -----BEGIN CERTIFICATE-----), or empty."
  }

  validation {
    condition     = !strcontains(var.database_url, "sslrootcert=") || (var.database_server_ca != "" && strcontains(var.database_url, "sslrootcert=/etc/database-ca/server-ca.pem"))
    error_message = "database_url's sslrootcert must be /etc/database-ca/server-ca.pem, the file database_server_ca becomes; set database_server_ca to the server's CA certificate."
  }
}

variable "strip_definers" {
  description = "Leave DEFINER clauses out of MySQL dumps; Cloud SQL for MySQL imports need this."
  type        = bool
  default     = true
}

variable "mysql_readers" {
  description = "Connections that read a MySQL database's large tables at once (1-8). More than 1 holds LOCK TABLES ... READ for a moment while their snapshots start; 1 takes no lock."
  type        = number
  default     = 3
  validation {
    condition     = var.mysql_readers >= 1 && var.mysql_readers <= 8 && floor(var.mysql_readers) == var.mysql_readers
    error_message = "mysql_readers must be a whole number from 1 to 8."
  }
}

variable "restore_lock_wait_seconds" {
  description = "How long a restore waits for a table another session holds (an open transaction, a long query) before it fails, naming the sessions (1-3600 s)."
  type        = number
  default     = 60
  validation {
    condition     = var.restore_lock_wait_seconds >= 1 && var.restore_lock_wait_seconds <= 3600 && floor(var.restore_lock_wait_seconds) == var.restore_lock_wait_seconds
    error_message = "restore_lock_wait_seconds must be a whole number of seconds from 1 to 3600."
  }
}

variable "catalog_timeout_seconds" {
  description = "How long each call to the Firestore catalog may take, its retries included, before the operation fails with a clear error (HTTP 503 with Retry-After). At most 20 s: list_backups and backup_settings time out at 60 s, and taking a lock or run claim is a read then a conditional write, so about twice this; above about 25 s Cloud Run would cut such a request off with a bare 504 before the function could answer its 503."
  type        = number
  default     = 10
  validation {
    condition     = var.catalog_timeout_seconds > 0 && var.catalog_timeout_seconds <= 20
    error_message = "catalog_timeout_seconds must be a number of seconds above 0, at most 20 (twice it, a lock or claim, must end well inside the 60 s timeout of list_backups and backup_settings)."
  }
}

variable "postgres_restore_connections" {
  description = "Connections that load a PostgreSQL restore's large tables at once (1-8). 1 restores in one transaction, all or nothing; more commits as it goes, so a failed restore leaves the database incomplete until the pre-restore backup is put back."
  type        = number
  default     = 1
  validation {
    condition     = var.postgres_restore_connections >= 1 && var.postgres_restore_connections <= 8 && floor(var.postgres_restore_connections) == var.postgres_restore_connections
    error_message = "postgres_restore_connections must be a whole number from 1 to 8."
  }
}

variable "compression" {
  description = "Compression of new backups: gzip, zstd or none."
  type        = string
  default     = "gzip"

  validation {
    condition     = contains(["gzip", "zstd", "none"], var.compression)
    error_message = "compression must be gzip, zstd or none."
  }
}

variable "vpc_connector_id" {
  description = "An existing Serverless VPC Access connector (projects/P/locations/R/connectors/N) to reach the database's private IP. Leave null to create one in vpc_network, or when the database needs no VPC."
  type        = string
  default     = null

  validation {
    condition     = var.vpc_connector_id == null || can(regex("^projects/[^/]+/locations/[^/]+/connectors/[^/]+$", var.vpc_connector_id))
    error_message = "vpc_connector_id must look like projects/P/locations/R/connectors/N."
  }
}

variable "vpc_network" {
  description = "The VPC network of the Cloud SQL instance's private IP; a connector is created in it when vpc_connector_id is null. Null: no connector."
  type        = string
  default     = null
}

variable "vpc_connector_cidr" {
  description = "An unused /28 range in vpc_network for the created connector."
  type        = string
  default     = "10.8.0.0/28"

  validation {
    condition     = can(cidrhost(var.vpc_connector_cidr, 0)) && endswith(var.vpc_connector_cidr, "/28")
    error_message = "vpc_connector_cidr must be a /28 IPv4 range such as 10.8.0.0/28."
  }
}

variable "firestore_database" {
  description = "The Firestore database (native mode) that holds the catalog."
  type        = string
  default     = "(default)"
}

variable "create_firestore_database" {
  description = "Create the Firestore database; set false when it already exists in the project."
  type        = bool
  default     = true
}

variable "firestore_location" {
  description = "Location of a created Firestore database (a region such as europe-west1, or a multi-region such as eur3). Null: the region."
  type        = string
  default     = null
}

variable "drive_folder_id" {
  description = "ID of the Drive folder (in a Shared Drive) that receives the backups; add the runtime service account to that Shared Drive as Manager (deleting files for good takes it)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{10,}$", var.drive_folder_id))
    error_message = "drive_folder_id must be the folder's ID (the last part of its URL), not its name or URL."
  }
}

variable "drive_credentials" {
  description = "How the functions reach Drive: default (the runtime service account, needs a Shared Drive) or oauth (a user's refresh token kept in the Drive OAuth secret)."
  type        = string
  default     = "default"

  validation {
    condition     = contains(["default", "oauth"], var.drive_credentials)
    error_message = "drive_credentials must be default or oauth."
  }
}

variable "notifier" {
  description = "Where notifications go: sendgrid (e-mail) or log (Cloud Logging only)."
  type        = string
  default     = "sendgrid"

  validation {
    condition     = contains(["sendgrid", "log"], var.notifier)
    error_message = "notifier must be sendgrid or log."
  }
}

variable "notify_from" {
  description = "Sender address of notification e-mails (a SendGrid verified sender). Required with notifier = \"sendgrid\" (a precondition in functions.tf refuses it empty then); with notifier = \"log\" leave it empty."
  type        = string
  default     = ""

  validation {
    condition     = var.notify_from == "" || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.notify_from))
    error_message = "notify_from must be an e-mail address (or empty with notifier = \"log\")."
  }
}

variable "secret_ids" {
  description = "Names of the Secret Manager secrets Terraform creates (their values are added with gcloud, never through Terraform; database_ca, made only when database_server_ca is set, holds that public certificate)."
  type = object({
    database_password = optional(string, "db-backup-database-password")
    sendgrid_api_key  = optional(string, "db-backup-sendgrid-api-key")
    drive_oauth       = optional(string, "db-backup-drive-oauth")
    database_ca       = optional(string, "db-backup-database-ca")
  })
  default = {}

  validation {
    condition     = alltrue([for id in values(var.secret_ids) : can(regex("^[A-Za-z0-9_-]{1,255}$", id))])
    error_message = "secret_ids values must be 1-255 letters, digits, hyphens or underscores."
  }
}

variable "permissions" {
  description = "Who may do what: permission -> IAM members (user:, serviceAccount: or domain:; the functions check the caller's verified e-mail, and an ID token names no groups, so group: members could never pass). Each permission becomes roles/run.invoker on exactly its functions, and the same map is passed to the functions as BACKUP_PERMISSIONS. backups.run-scheduled (the scheduled_* functions) always includes the scheduler account; list people there only to let them trigger a scheduled run by hand."
  type        = map(list(string))
  default     = {}

  validation {
    condition = alltrue([for permission in keys(var.permissions) : contains([
      "backups.view", "backups.create", "backups.delete", "backups.restore", "backups.download", "backups.manage-settings",
      "backups.run-scheduled",
    ], permission)])
    error_message = "permissions keys must be backups.view, backups.create, backups.delete, backups.restore, backups.download, backups.manage-settings or backups.run-scheduled."
  }

  validation {
    condition     = alltrue([for member in flatten(values(var.permissions)) : can(regex("^(user|serviceAccount|domain):[^\\s]+$", member))])
    error_message = "permissions members must start with user:, serviceAccount: or domain: (group: cannot be checked by the functions; allUsers and allAuthenticatedUsers are refused: no function is public)."
  }
}

variable "backup_schedule" {
  description = "Unix-cron schedule (5 fields: minute hour day-of-month month day-of-week) the backup job is created with (paused). The default is the default settings' (daily at 02:00); the first settings save replaces it with the settings' schedule."
  type        = string
  default     = "0 2 * * *"

  validation {
    # 5 fields of digits, names (jan, mon), *, commas, ranges and steps; what each field holds is left to
    # Scheduler (and shared/cron.py for the settings). Catches a missing or extra (seconds) field, @daily, words.
    condition     = can(regex("^\\s*[0-9A-Za-z*,/-]+(\\s+[0-9A-Za-z*,/-]+){4}\\s*$", var.backup_schedule))
    error_message = "backup_schedule must be a unix-cron expression of 5 fields (minute hour day-of-month month day-of-week), such as \"0 2 * * *\"."
  }
}

variable "cleanup_schedule" {
  description = "Unix-cron schedule (5 fields) of the cleanup job. The settings hold no cleanup time, so it keeps this cron; the settings function sets its time zone and pauses it while retention is off."
  type        = string
  default     = "30 4 * * *"

  validation {
    # The same form as backup_schedule's.
    condition     = can(regex("^\\s*[0-9A-Za-z*,/-]+(\\s+[0-9A-Za-z*,/-]+){4}\\s*$", var.cleanup_schedule))
    error_message = "cleanup_schedule must be a unix-cron expression of 5 fields (minute hour day-of-month month day-of-week), such as \"30 4 * * *\"."
  }
}

variable "time_zone" {
  description = "Time zone (IANA tz database name such as UTC or Europe/Berlin) both jobs are created with. The default is the default settings' (UTC); the first settings save replaces it with the settings' time_zone."
  type        = string
  default     = "UTC"

  validation {
    # A tz database name: Area/Location (up to three parts, such as America/Argentina/Cordoba), or one of
    # the single names (UTC, GMT, EST5EDT, GB-Eire, GMT+0). Refuses offsets such as +01:00 or UTC+1.
    condition     = can(regex("^([A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){1,2}|[A-Za-z][A-Za-z0-9]*(-[A-Za-z]+)?|GMT[+-]0)$", var.time_zone))
    error_message = "time_zone must be an IANA tz database name such as UTC or Europe/Berlin, not an offset."
  }
}

variable "scheduler_attempt_deadline" {
  description = "How long Cloud Scheduler waits for a scheduled function (at most 1800s, Scheduler's limit for HTTP targets)."
  type        = string
  default     = "1800s"

  validation {
    condition     = can(regex("^[0-9]+s$", var.scheduler_attempt_deadline)) && try(tonumber(trimsuffix(var.scheduler_attempt_deadline, "s")) >= 15 && tonumber(trimsuffix(var.scheduler_attempt_deadline, "s")) <= 1800, false)
    error_message = "scheduler_attempt_deadline must be between 15s and 1800s, written like 1800s."
  }
}

variable "source_excludes" {
  description = "Extra paths (globs, relative to the repository root) left out of the function source archive."
  type        = list(string)
  default     = []
}

variable "extra_token_audiences" {
  description = "ID-token audiences accepted besides each function's own URL. Add gcloud's OAuth client id (32555940559.apps.googleusercontent.com) to let people call with `gcloud auth print-identity-token` from their user account; IAM and BACKUP_PERMISSIONS still decide who may call."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for audience in var.extra_token_audiences : length(trimspace(audience)) > 0 && !strcontains(audience, ",")])
    error_message = "extra_token_audiences entries must be non-empty and contain no commas."
  }
}
