//! The SDK clients of the live source: one per service, account and region, with the account's
//! assumed role when `[aws] assume_role_arns` names one, and the emulator settings (path-style
//! S3, S3 Control without its account host prefix) when an endpoint URL stands in for AWS.

use std::collections::BTreeMap;

use aws_config::{Region, SdkConfig};
use aws_sdk_s3::config::{SharedCredentialsProvider, SharedInterceptor};

/// Builds the SDK clients: one region and one account's credentials each.
#[derive(Clone)]
pub(super) struct Clients {
    pub(super) base: SdkConfig,
    /// Credentials per account from `[aws] assume_role_arns`, created once so that the SDK's
    /// identity cache keeps each role session across calls and cycles (one `AssumeRole` per
    /// session, not per bucket).
    pub(super) roles: BTreeMap<String, SharedCredentialsProvider>,
    /// Added to every client: the tests' SDK-level mocks.
    pub(super) interceptors: Vec<SharedInterceptor>,
    /// S3 Control's endpoint, as is, when an emulator stands in for AWS.
    pub(super) s3control_url: Option<String>,
    /// Path-style S3 addressing (an emulator cannot serve `BUCKET.127.0.0.1`).
    pub(super) path_style: bool,
}

/// An S3 Control endpoint resolver that returns one URL: the account id then stays out of the
/// host name (`ACCOUNT.127.0.0.1` resolves nowhere). Only used with an emulator.
#[derive(Debug)]
struct FixedS3ControlEndpoint(String);

impl aws_sdk_s3control::config::endpoint::ResolveEndpoint for FixedS3ControlEndpoint {
    fn resolve_endpoint<'a>(
        &'a self,
        _params: &'a aws_sdk_s3control::config::endpoint::Params,
    ) -> aws_sdk_s3control::config::endpoint::EndpointFuture<'a> {
        let endpoint = aws_sdk_s3control::config::endpoint::Endpoint::builder().url(self.0.clone()).build();
        aws_sdk_s3control::config::endpoint::EndpointFuture::ready(Ok(endpoint))
    }
}

impl Clients {
    pub(super) fn s3(&self, account: &str, region: &str) -> aws_sdk_s3::Client {
        let mut b = aws_sdk_s3::config::Builder::from(&self.base).region(Region::new(region.to_string()));
        if let Some(c) = self.roles.get(account) {
            // `set_`, not `credentials_provider()`: that one wraps the provider anew, in a new
            // identity-cache partition, and every client would call STS again.
            b.set_credentials_provider(Some(c.clone()));
        }
        if self.path_style {
            b = b.force_path_style(true);
        }
        for i in &self.interceptors {
            b.push_interceptor(i.clone());
        }
        aws_sdk_s3::Client::from_conf(b.build())
    }

    pub(super) fn s3control(&self, account: &str, region: &str) -> aws_sdk_s3control::Client {
        let mut b = aws_sdk_s3control::config::Builder::from(&self.base).region(Region::new(region.to_string()));
        if let Some(c) = self.roles.get(account) {
            // `set_`, not `credentials_provider()`: that one wraps the provider anew, in a new
            // identity-cache partition, and every client would call STS again.
            b.set_credentials_provider(Some(c.clone()));
        }
        if let Some(url) = &self.s3control_url {
            b = b.endpoint_resolver(FixedS3ControlEndpoint(url.clone()));
        }
        for i in &self.interceptors {
            b.push_interceptor(i.clone());
        }
        aws_sdk_s3control::Client::from_conf(b.build())
    }

    pub(super) fn ec2(&self, account: &str, region: &str) -> aws_sdk_ec2::Client {
        let mut b = aws_sdk_ec2::config::Builder::from(&self.base).region(Region::new(region.to_string()));
        if let Some(c) = self.roles.get(account) {
            // `set_`, not `credentials_provider()`: that one wraps the provider anew, in a new
            // identity-cache partition, and every client would call STS again.
            b.set_credentials_provider(Some(c.clone()));
        }
        for i in &self.interceptors {
            b.push_interceptor(i.clone());
        }
        aws_sdk_ec2::Client::from_conf(b.build())
    }
}
