//! The EventBridge envelope of a CloudTrail management event, as EventBridge delivers it to an SQS
//! queue: `{"version", "id", "detail-type": "AWS API Call via CloudTrail", "source": "aws.s3",
//! "account", "time", "region", "resources", "detail": {CloudTrail record}}` (EventBridge User
//! Guide: "AWS service events delivered via AWS CloudTrail"; the record's fields are CloudTrail's
//! "CloudTrail record contents for management events").
//!
//! Pure: text in, a [`ChangeEvent`] or a [`EnvelopeError`] out. What the event touches is
//! `mapping`'s job.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::Value;

/// The `detail-type` EventBridge gives every CloudTrail management event it forwards.
pub const CLOUDTRAIL_DETAIL_TYPE: &str = "AWS API Call via CloudTrail";

/// Why a message is not a CloudTrail event the auditor can use (logged, counted, deleted).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("the message is not JSON: {0}")]
    NotJson(String),
    #[error("the message is not an EventBridge event (no `detail-type`)")]
    NotEventBridge,
    #[error("`detail-type` is `{0}`, not `AWS API Call via CloudTrail`")]
    NotCloudTrail(String),
    #[error("the CloudTrail record has no `{0}`")]
    Missing(&'static str),
    #[error("`eventTime` `{0}` is not an RFC 3339 time")]
    BadTime(String),
}

/// Who made a change, and the request that made it: what the history and the alerts show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Attribution {
    /// `userIdentity.arn` (absent for some AWS service callers: then `userIdentity.invokedBy`
    /// or the principal id stands in).
    pub actor: String,
    pub event_name: String,
    /// `eventTime`, RFC 3339.
    pub event_time: String,
    pub source_ip: Option<String>,
    pub request_id: Option<String>,
}

impl Attribution {
    /// `changed by ARN at TIME (EventName from IP, request ID)`.
    pub fn describe(&self) -> String {
        let mut s = format!("changed by {} at {} ({}", self.actor, self.event_time, self.event_name);
        if let Some(ip) = &self.source_ip {
            s.push_str(&format!(" from {ip}"));
        }
        if let Some(id) = &self.request_id {
            s.push_str(&format!(", request {id}"));
        }
        s.push(')');
        s
    }
}

/// What the history says of a change no event explained.
pub const SEEN_BY_POLL: &str = "actor unknown (seen by poll)";

/// One CloudTrail management event.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeEvent {
    pub event_name: String,
    /// `s3.amazonaws.com` (S3 and S3 Control alike) or `ec2.amazonaws.com`.
    pub event_source: String,
    pub event_time: DateTime<Utc>,
    /// Where the call was logged: the bucket's region, us-west-2 for MRAP management, a routes
    /// region for `SubmitMultiRegionAccessPointRoutes`, the endpoint's region.
    pub aws_region: String,
    /// The account the call acted in (`recipientAccountId`, else the envelope's `account`).
    pub account: Option<String>,
    /// `errorCode`: a call AWS refused changed nothing.
    pub error_code: Option<String>,
    pub request_parameters: Value,
    pub response_elements: Value,
    pub attribution: Attribution,
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string)
}

/// Parses one SQS message body.
pub fn parse(body: &str) -> Result<ChangeEvent, EnvelopeError> {
    let v: Value = serde_json::from_str(body).map_err(|e| EnvelopeError::NotJson(e.to_string()))?;
    let detail_type = v.get("detail-type").and_then(Value::as_str).ok_or(EnvelopeError::NotEventBridge)?;
    if detail_type != CLOUDTRAIL_DETAIL_TYPE {
        return Err(EnvelopeError::NotCloudTrail(detail_type.to_string()));
    }
    let detail = v.get("detail").filter(|d| d.is_object()).ok_or(EnvelopeError::Missing("detail"))?;
    let event_name = text(detail, "eventName").ok_or(EnvelopeError::Missing("eventName"))?;
    let event_source = text(detail, "eventSource").ok_or(EnvelopeError::Missing("eventSource"))?;
    let time = text(detail, "eventTime").ok_or(EnvelopeError::Missing("eventTime"))?;
    let event_time =
        DateTime::parse_from_rfc3339(&time).map_err(|_| EnvelopeError::BadTime(time.clone()))?.with_timezone(&Utc);
    let aws_region =
        text(detail, "awsRegion").or_else(|| text(&v, "region")).ok_or(EnvelopeError::Missing("awsRegion"))?;
    let identity = detail.get("userIdentity").cloned().unwrap_or(Value::Null);
    let actor = text(&identity, "arn")
        .or_else(|| text(&identity, "invokedBy"))
        .or_else(|| text(&identity, "principalId"))
        .or_else(|| text(&identity, "type"))
        .unwrap_or_else(|| "unknown".to_string());
    let attribution = Attribution {
        actor,
        event_name: event_name.clone(),
        event_time: event_time.to_rfc3339_opts(SecondsFormat::Secs, true),
        source_ip: text(detail, "sourceIPAddress"),
        request_id: text(detail, "requestID"),
    };
    Ok(ChangeEvent {
        event_name,
        event_source,
        event_time,
        aws_region,
        account: text(detail, "recipientAccountId").or_else(|| text(&v, "account")),
        error_code: text(detail, "errorCode"),
        request_parameters: detail.get("requestParameters").cloned().unwrap_or(Value::Null),
        response_elements: detail.get("responseElements").cloned().unwrap_or(Value::Null),
        attribution,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PutBucketPolicy event as EventBridge delivers it (CloudTrail record shape of the S3 User
    /// Guide, "CloudTrail log file entries for Amazon S3").
    pub(crate) const PUT_BUCKET_POLICY: &str = r#"{
      "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
      "detail-type": "AWS API Call via CloudTrail", "source": "aws.s3",
      "account": "123456789012", "time": "2026-11-22T10:00:00Z", "region": "us-east-1",
      "resources": [],
      "detail": {
        "eventVersion": "1.09",
        "userIdentity": {"type": "AssumedRole", "principalId": "AROAEXAMPLE:alice",
          "arn": "arn:aws:sts::123456789012:assumed-role/admin/alice", "accountId": "123456789012"},
        "eventTime": "2026-11-22T10:00:00Z", "eventSource": "s3.amazonaws.com",
        "eventName": "PutBucketPolicy", "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.7",
        "userAgent": "[aws-cli/2.15.0]",
        "requestParameters": {"bucketName": "doc-examplebucket1", "bucketPolicy": {"Version": "2012-10-17"},
          "policy": [""], "Host": "doc-examplebucket1.s3.us-east-1.amazonaws.com"},
        "responseElements": null, "requestID": "9QF3XKQG8TV0YF2B", "eventID": "e1",
        "readOnly": false, "eventType": "AwsApiCall", "managementEvent": true,
        "recipientAccountId": "123456789012", "eventCategory": "Management"
      }
    }"#;

    #[test]
    fn parses_a_cloudtrail_event() {
        let e = parse(PUT_BUCKET_POLICY).unwrap();
        assert_eq!(e.event_name, "PutBucketPolicy");
        assert_eq!(e.aws_region, "us-east-1");
        assert_eq!(e.account.as_deref(), Some("123456789012"));
        assert_eq!(e.request_parameters["bucketName"], "doc-examplebucket1");
        assert_eq!(
            e.attribution.describe(),
            "changed by arn:aws:sts::123456789012:assumed-role/admin/alice at 2026-11-22T10:00:00Z \
             (PutBucketPolicy from 198.51.100.7, request 9QF3XKQG8TV0YF2B)"
        );
    }

    #[test]
    fn refuses_what_is_not_a_cloudtrail_event() {
        for (body, message) in [
            ("not json", "the message is not JSON: expected ident at line 1 column 2"),
            ("{}", "the message is not an EventBridge event (no `detail-type`)"),
            (
                r#"{"detail-type": "Object Created", "detail": {}}"#,
                "`detail-type` is `Object Created`, not `AWS API Call via CloudTrail`",
            ),
            (r#"{"detail-type": "AWS API Call via CloudTrail"}"#, "the CloudTrail record has no `detail`"),
            (
                r#"{"detail-type": "AWS API Call via CloudTrail", "detail": {"eventSource": "s3.amazonaws.com"}}"#,
                "the CloudTrail record has no `eventName`",
            ),
            (
                r#"{"detail-type": "AWS API Call via CloudTrail", "detail": {"eventName": "X", "eventSource": "s", "eventTime": "yesterday"}}"#,
                "`eventTime` `yesterday` is not an RFC 3339 time",
            ),
        ] {
            assert_eq!(parse(body).unwrap_err().to_string(), message, "{body}");
        }
    }

    #[test]
    fn an_actor_without_arn_falls_back() {
        let body = PUT_BUCKET_POLICY.replace(
            r#""arn": "arn:aws:sts::123456789012:assumed-role/admin/alice","#,
            r#""invokedBy": "cloudformation.amazonaws.com","#,
        );
        assert_eq!(parse(&body).unwrap().attribution.actor, "cloudformation.amazonaws.com");
    }
}
