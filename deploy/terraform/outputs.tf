output "events_topic" {
  description = "Full name of the event topic (pass to --pubsub-topic)."
  value       = google_pubsub_topic.events.id
}

output "dashboard_subscription" {
  description = "Subscription for dashboards (conflict events only); `sitrep tail --subscription` reads it."
  value       = google_pubsub_subscription.dashboard.id
}

output "dead_letter_topic" {
  description = "Where messages no subscriber could take end up."
  value       = google_pubsub_topic.dead_letter.id
}

output "bucket" {
  description = "Bucket holding events, dead letters, run summaries and state."
  value       = google_storage_bucket.sitrep.url
}

output "service_account" {
  description = "Service account of the Dataflow workers and the scheduler."
  value       = google_service_account.sitrep.email
}

output "scheduler_job" {
  description = "The Cloud Scheduler job that launches a batch run every 15 minutes."
  value       = google_cloud_scheduler_job.batch.id
}
