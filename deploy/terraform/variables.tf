variable "project" {
  description = "Google Cloud project that runs sitrep."
  type        = string
}

variable "region" {
  description = "Region for Dataflow jobs, Cloud Scheduler and the bucket."
  type        = string
  default     = "europe-west1"
}

variable "bucket_name" {
  description = "Bucket for events, dead letters, run summaries, cross-run state and Dataflow temp files (globally unique)."
  type        = string
}

variable "template_spec_path" {
  description = "gs:// path of the batch Flex Template spec built by `gcloud dataflow flex-template build`."
  type        = string
}

variable "feeds_path" {
  description = "gs:// path of the feeds file (YAML) the scheduled runs poll."
  type        = string
}

variable "schedule" {
  description = "Cron schedule of the batch runs (Cloud Scheduler syntax)."
  type        = string
  default     = "*/15 * * * *"
}

variable "time_zone" {
  description = "Time zone of the schedule."
  type        = string
  default     = "Etc/UTC"
}

variable "only_conflict" {
  description = "Publish only events with conflict.is_conflict true."
  type        = bool
  default     = false
}

variable "max_workers" {
  description = "Upper bound of Dataflow workers for one batch run."
  type        = number
  default     = 4
}

variable "retention_days" {
  description = "How long the cross-run state remembers articles and feeds."
  type        = number
  default     = 30
}
