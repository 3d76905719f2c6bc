//! The one place that decides what a failed AWS call means (vector's `is_retriable_error` idea):
//! an answer ("none configured"), or a read that failed and makes what depends on it `unknown`,
//! with the code, message and request id that the log line and `source_errors_total` carry.
//!
//! It does not retry: the SDK's standard retry strategy already retried throttling, 5xx and
//! transient network errors before an error gets here.

use std::error::Error as StdError;

use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::RequestId;

/// Why a call failed, in the terms that decide what to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The service refused the caller (`AccessDenied`, `UnauthorizedOperation`, expired token).
    Denied,
    /// Still throttled after the SDK's retries (`SlowDown`, `Throttling`, `RequestLimitExceeded`).
    Throttled,
    /// A 5xx after the SDK's retries (`ServiceUnavailable`, `InternalError`).
    ServerError,
    /// The call did not finish within `[aws] call_timeout`.
    Timeout,
    /// No answer at all: DNS, connection, TLS.
    Unreachable,
    /// The auditor's credentials (or an assumed role's) could not be obtained.
    Credentials,
    /// Anything else: another 4xx, a response the SDK could not read.
    Unexpected,
}

impl Failure {
    /// Whether another regional endpoint of the same service may answer where this one did not
    /// (routes are served from five regions). A refusal or a 4xx would be the same everywhere.
    pub fn another_region_may_answer(self) -> bool {
        matches!(self, Failure::Throttled | Failure::ServerError | Failure::Timeout | Failure::Unreachable)
    }
}

/// A failed call, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallError {
    pub failure: Failure,
    /// AWS's error code, or one of ours: `Timeout`, `NetworkError`, `CredentialsUnavailable`,
    /// `ServiceUnavailable` / `HttpNNN` for a status without a code, `InvalidResponse`.
    pub code: String,
    pub message: String,
    /// AWS's request id (`x-amz-request-id` / `x-amzn-requestid`), when there was a response.
    pub request_id: Option<String>,
}

/// Codes the SDK's own retry classifier treats as throttling (aws-runtime `THROTTLING_ERRORS`).
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

/// Codes that mean the caller is not allowed, or not who it claims to be.
const DENIED_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "AllAccessDisabled",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "InvalidToken",
    "AuthFailure",
    "UnrecognizedClientException",
];

/// Classifies any SDK error (every service's `SdkError` is the same type).
pub fn classify<E>(err: &SdkError<E, HttpResponse>) -> CallError
where
    E: ProvideErrorMetadata + StdError + 'static,
{
    // S3 and S3 Control send the id as a header; EC2 only in the error body.
    let request_id = err
        .request_id()
        .or_else(|| match err {
            SdkError::ServiceError(s) => s.err().meta().request_id(),
            _ => None,
        })
        .map(str::to_string);
    let full = || chain_text(err);
    let credentials = || chain_has_credentials_error(err);
    let (failure, code, message) = match err {
        SdkError::TimeoutError(_) => (Failure::Timeout, "Timeout".to_string(), full()),
        SdkError::DispatchFailure(d) if d.is_timeout() => (Failure::Timeout, "Timeout".to_string(), full()),
        _ if credentials() => (Failure::Credentials, "CredentialsUnavailable".to_string(), full()),
        SdkError::DispatchFailure(_) => (Failure::Unreachable, "NetworkError".to_string(), full()),
        SdkError::ConstructionFailure(_) => (Failure::Unexpected, "RequestNotBuilt".to_string(), full()),
        SdkError::ResponseError(r) => {
            let status = r.raw().status().as_u16();
            let failure = if r.raw().status().is_server_error() { Failure::ServerError } else { Failure::Unexpected };
            (failure, status_code_name(status).unwrap_or_else(|| "InvalidResponse".to_string()), full())
        }
        SdkError::ServiceError(s) => {
            let status = s.raw().status().as_u16();
            let code = s.err().code().map(str::to_string).or_else(|| status_code_name(status));
            let code = code.unwrap_or_else(|| "InvalidResponse".to_string());
            let failure = if THROTTLING_CODES.contains(&code.as_str()) || status == 429 {
                Failure::Throttled
            } else if DENIED_CODES.contains(&code.as_str()) {
                Failure::Denied
            } else if s.raw().status().is_server_error() {
                Failure::ServerError
            } else {
                Failure::Unexpected
            };
            let message = s.err().message().map_or_else(|| format!("HTTP {status}: {}", full()), str::to_string);
            (failure, code, message)
        }
        // `SdkError` is non-exhaustive: a new kind is unexpected, and said so.
        _ => (Failure::Unexpected, "Unclassified".to_string(), full()),
    };
    CallError { failure, code, message, request_id }
}

/// The error and its causes, one `: ` apart. Not the SDK's `DisplayErrorContext`, which ends
/// with the debug form of the whole response (headers, date, body): a message must be short, and
/// the same for the same failure.
fn chain_text(err: &(dyn StdError + 'static)) -> String {
    let mut text = err.to_string();
    let mut next = err.source();
    while let Some(e) = next {
        let part = e.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        next = e.source();
    }
    text
}

/// A code for a response that carried none: S3 answers some 5xx with an empty body.
fn status_code_name(status: u16) -> Option<String> {
    match status {
        200..=299 => None,
        503 => Some("ServiceUnavailable".to_string()),
        500 => Some("InternalError".to_string()),
        _ => Some(format!("Http{status}")),
    }
}

/// Credentials failures reach the call as a dispatch or construction failure whose cause is the
/// provider's `CredentialsError` (for an assumed role, with STS's own error inside).
fn chain_has_credentials_error(err: &(dyn StdError + 'static)) -> bool {
    let mut next: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = next {
        if e.downcast_ref::<CredentialsError>().is_some() {
            return true;
        }
        next = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_for_responses_without_one() {
        for (status, code) in
            [(503, Some("ServiceUnavailable")), (500, Some("InternalError")), (404, Some("Http404")), (200, None)]
        {
            assert_eq!(status_code_name(status).as_deref(), code, "{status}");
        }
    }

    #[test]
    fn only_failures_of_a_region_send_routes_to_the_next() {
        use Failure::*;
        for (failure, next) in [
            (Throttled, true),
            (ServerError, true),
            (Timeout, true),
            (Unreachable, true),
            (Denied, false),
            (Credentials, false),
            (Unexpected, false),
        ] {
            assert_eq!(failure.another_region_may_answer(), next, "{failure:?}");
        }
    }

    #[test]
    fn messages_join_the_causes_once() {
        #[derive(Debug)]
        struct E(&'static str, Option<Box<E>>);
        impl std::fmt::Display for E {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.0)
            }
        }
        impl StdError for E {
            fn source(&self) -> Option<&(dyn StdError + 'static)> {
                self.1.as_deref().map(|e| e as &(dyn StdError + 'static))
            }
        }
        let e = E("dispatch failure", Some(Box::new(E("io error", Some(Box::new(E("connection refused", None)))))));
        assert_eq!(chain_text(&e), "dispatch failure: io error: connection refused");
        let repeated = E("timeout: connection refused", Some(Box::new(E("connection refused", None))));
        assert_eq!(chain_text(&repeated), "timeout: connection refused");
    }
}
