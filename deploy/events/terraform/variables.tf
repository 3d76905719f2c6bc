variable "queue_name" {
  description = "The queue's name; deploy/iam/mrap-auditor-read-only.json allows exactly this name."
  type        = string
  default     = "mrap-auditor-events"
}

variable "auditor_principal_arn" {
  description = "The auditor's IAM role ARN, when it is in another account (the queue policy then lets it receive and delete); null otherwise."
  type        = string
  default     = null
}

variable "message_retention_seconds" {
  description = "How long an event waits for an auditor that is down (default 4 days)."
  type        = number
  default     = 345600
}
