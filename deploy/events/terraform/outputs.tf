output "queue_url" {
  description = "This region's `[events] queues` entry."
  value       = aws_sqs_queue.events.url
}

output "queue_arn" {
  value = aws_sqs_queue.events.arn
}

output "rule_arn" {
  value = aws_cloudwatch_event_rule.changes.arn
}
