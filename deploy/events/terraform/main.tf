locals {
  # Exactly the events mrap-auditor follows (src/events/mapping.rs EVENT_NAMES; tests/deploy_events.rs
  # keeps the three lists equal).
  event_names = [
    "PutBucketPolicy",
    "DeleteBucketPolicy",
    "PutBucketPublicAccessBlock",
    "DeleteBucketPublicAccessBlock",
    "PutPublicAccessBlock",
    "DeletePublicAccessBlock",
    "PutAccountPublicAccessBlock",
    "DeleteAccountPublicAccessBlock",
    "PutMultiRegionAccessPointPolicy",
    "SubmitMultiRegionAccessPointRoutes",
    "CreateMultiRegionAccessPoint",
    "DeleteMultiRegionAccessPoint",
    "CreateVpcEndpoint",
    "ModifyVpcEndpoint",
    "DeleteVpcEndpoints",
  ]
}

resource "aws_sqs_queue" "dead_letter" {
  name                      = "${var.queue_name}-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
}

resource "aws_sqs_queue" "events" {
  name                      = var.queue_name
  message_retention_seconds = var.message_retention_seconds
  # Longer than the auditor's longest cycle (cycle_timeout is at most 10 minutes).
  visibility_timeout_seconds = 660
  sqs_managed_sse_enabled    = true
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dead_letter.arn
    maxReceiveCount     = 10
  })
}

resource "aws_cloudwatch_event_rule" "changes" {
  name        = var.queue_name
  description = "CloudTrail management events that change access through Multi-Region Access Points"
  event_pattern = jsonencode({
    source        = ["aws.s3", "aws.ec2"]
    "detail-type" = ["AWS API Call via CloudTrail"]
    detail = {
      eventSource = ["s3.amazonaws.com", "ec2.amazonaws.com"]
      eventName   = local.event_names
    }
  })
}

resource "aws_cloudwatch_event_target" "queue" {
  rule      = aws_cloudwatch_event_rule.changes.name
  target_id = "mrap-auditor-events"
  arn       = aws_sqs_queue.events.arn
}

data "aws_iam_policy_document" "queue" {
  statement {
    sid       = "EventBridgeRuleSendsChangeEvents"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.events.arn]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.changes.arn]
    }
  }

  dynamic "statement" {
    for_each = var.auditor_principal_arn == null ? [] : [var.auditor_principal_arn]
    content {
      sid       = "AuditorReadsAndDeletes"
      effect    = "Allow"
      actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
      resources = [aws_sqs_queue.events.arn]
      principals {
        type        = "AWS"
        identifiers = [statement.value]
      }
    }
  }

  statement {
    sid       = "DenyWithoutTls"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [aws_sqs_queue.events.arn]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sqs_queue_policy" "events" {
  queue_url = aws_sqs_queue.events.id
  policy    = data.aws_iam_policy_document.queue.json
}
