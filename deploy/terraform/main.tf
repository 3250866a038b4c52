# sitrep on Google Cloud: an event topic with a subscription and a dead-letter topic, a bucket for
# events and state, a service account, and a Cloud Scheduler job that launches the batch Flex Template
# every 15 minutes.

locals {
  labels = { app = "sitrep" }
}

# Storage: events, dead letters, run summaries and the cross-run state log live under one bucket.
resource "google_storage_bucket" "sitrep" {
  name                        = var.bucket_name
  location                    = var.region
  uniform_bucket_level_access = true
  labels                      = local.labels

  # Dataflow's temporary and staging files are not worth keeping.
  lifecycle_rule {
    condition {
      age            = 7
      matches_prefix = ["tmp/", "staging/"]
    }
    action {
      type = "Delete"
    }
  }
}

# Pub/Sub: the event topic dashboards read, and where undeliverable messages go.
resource "google_pubsub_topic" "events" {
  name   = "sitrep-events"
  labels = local.labels

  # Messages stay the event JSON; Pub/Sub refuses one that does not parse as the schema's Event.
  schema_settings {
    schema   = google_pubsub_schema.event.id
    encoding = "JSON"
  }
}

# The events' schema, rendered from schemas/event-v1.schema.json by schemas/render.py (a test keeps the
# .proto up to date). A changed definition becomes a new schema revision.
resource "google_pubsub_schema" "event" {
  name       = "sitrep-event-v1"
  type       = "PROTOCOL_BUFFER"
  definition = file("${path.module}/../../schemas/event-v1.proto")
}

resource "google_pubsub_topic" "dead_letter" {
  name   = "sitrep-events-dead-letter"
  labels = local.labels
}

resource "google_pubsub_subscription" "dashboard" {
  name                 = "sitrep-events-dashboard"
  topic                = google_pubsub_topic.events.id
  ack_deadline_seconds = 60
  # Conflict events only, without parsing the message (attributes are set by the sitrep publisher).
  filter = "attributes.is_conflict = \"true\""

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = 10
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }
}

resource "google_pubsub_subscription" "dead_letter" {
  name                       = "sitrep-events-dead-letter"
  topic                      = google_pubsub_topic.dead_letter.id
  message_retention_duration = "604800s"
}

# Identity: one service account runs the Dataflow workers and is used by the scheduler to launch them.
resource "google_service_account" "sitrep" {
  account_id   = "sitrep-runner"
  display_name = "sitrep batch runs"
}

resource "google_project_iam_member" "roles" {
  for_each = toset([
    "roles/dataflow.worker",
    "roles/dataflow.developer",
    "roles/pubsub.publisher",
    "roles/artifactregistry.reader",
  ])
  project = var.project
  role    = each.value
  member  = "serviceAccount:${google_service_account.sitrep.email}"
}

resource "google_storage_bucket_iam_member" "sitrep_objects" {
  bucket = google_storage_bucket.sitrep.name
  role   = "roles/storage.objectAdmin"
  member = "serviceAccount:${google_service_account.sitrep.email}"
}

# The scheduler acts as the service account to call the Dataflow API.
resource "google_service_account_iam_member" "scheduler_act_as" {
  service_account_id = google_service_account.sitrep.name
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${google_service_account.sitrep.email}"
}

# Every 15 minutes: launch the batch template. The job name is fixed: Dataflow keeps one active job per
# name and region, and a launch while one is still running returns that job instead of starting a second.
# The state log in the bucket would survive overlapping runs anyway (each run adds its own segment,
# published after its sinks committed).
resource "google_cloud_scheduler_job" "batch" {
  name        = "sitrep-batch"
  description = "Launch the sitrep batch Flex Template"
  schedule    = var.schedule
  time_zone   = var.time_zone
  region      = var.region

  retry_config {
    retry_count = 1
  }

  http_target {
    http_method = "POST"
    uri         = "https://dataflow.googleapis.com/v1b3/projects/${var.project}/locations/${var.region}/flexTemplates:launch"
    headers     = { "Content-Type" = "application/json" }

    body = base64encode(jsonencode({
      launchParameter = {
        jobName              = "sitrep-batch"
        containerSpecGcsPath = var.template_spec_path
        parameters = {
          feeds          = var.feeds_path
          out            = "gs://${google_storage_bucket.sitrep.name}/events"
          state          = "gs://${google_storage_bucket.sitrep.name}/state"
          only_conflict  = tostring(var.only_conflict)
          retention_days = tostring(var.retention_days)
        }
        environment = {
          serviceAccountEmail = google_service_account.sitrep.email
          tempLocation        = "gs://${google_storage_bucket.sitrep.name}/tmp"
          stagingLocation     = "gs://${google_storage_bucket.sitrep.name}/staging"
          maxWorkers          = var.max_workers
        }
      }
    }))

    oauth_token {
      service_account_email = google_service_account.sitrep.email
      scope                 = "https://www.googleapis.com/auth/cloud-platform"
    }
  }
}
