//! `[events]` (DESIGN §11): the SQS queue of each region whose CloudTrail events the daemon
//! follows, and how long it gathers a burst of events before re-auditing.

use std::collections::BTreeMap;
use std::time::Duration;

use super::raw::RawEvents;
use super::{ConfigError, Ctx};

/// The resolved `[events]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventsConfig {
    /// Region → queue URL (`https://sqs.REGION.amazonaws.com/ACCOUNT/NAME`).
    pub queues: BTreeMap<String, String>,
    /// After the first event of a burst, how long to wait for more (one Terraform apply is many
    /// calls) before the targeted cycle runs.
    pub debounce: Duration,
}

/// The default `debounce`.
pub const DEFAULT_DEBOUNCE: Duration = Duration::from_secs(2);

/// `us-east-1`, `eu-west-1`, `cn-north-1`, `us-gov-west-1`: letters, a dash, letters and dashes,
/// a dash and a number.
pub fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()))
        && parts.last().is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()))
}

impl Ctx<'_> {
    pub(super) fn events(&self, e: &RawEvents) -> Result<EventsConfig, ConfigError> {
        let Some(queues) = &e.queues else {
            return self.error(None, "events.queues", "`[events]` needs `queues = { REGION = QUEUE_URL, ... }`");
        };
        if queues.get_ref().is_empty() {
            return self.error(Some(queues.span()), "events.queues", "names no queue");
        }
        for (region, url) in queues.get_ref() {
            if !is_region(region) {
                return self.error(
                    Some(queues.span()),
                    "events.queues",
                    format!("`{region}` is not a region such as `us-west-2`"),
                );
            }
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return self.error(
                    Some(queues.span()),
                    "events.queues",
                    format!("`{region}` = `{url}` is not a queue URL such as `https://sqs.{region}.amazonaws.com/111122223333/mrap-auditor-events`"),
                );
            }
        }
        let debounce = match &e.debounce {
            Some(d) => self.duration(d, "events.debounce")?,
            None => DEFAULT_DEBOUNCE,
        };
        if debounce > Duration::from_secs(60) {
            return self.error(
                e.debounce.as_ref().map(|d| d.span()),
                "events.debounce",
                "must be at most `60s`: events are meant to be seen in seconds",
            );
        }
        Ok(EventsConfig { queues: queues.get_ref().clone(), debounce })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    const BASE: &str = "[source]\nkind = \"snapshot\"\npath = \"x\"\n";

    fn parse(events: &str) -> Result<super::EventsConfig, String> {
        let c = crate::config::parse(&format!("{BASE}{events}"), Path::new("/etc/mrap/c.toml"))
            .map_err(|e| e.to_string())?;
        c.events.ok_or_else(|| "none".to_string())
    }

    #[test]
    fn events_section() {
        let e =
            parse("[events]\nqueues = { \"us-west-2\" = \"https://sqs.us-west-2.amazonaws.com/111122223333/q\" }\n")
                .unwrap();
        assert_eq!(e.debounce, super::DEFAULT_DEBOUNCE);
        assert_eq!(e.queues["us-west-2"], "https://sqs.us-west-2.amazonaws.com/111122223333/q");
        let e = parse(
            "[events]\nqueues = { \"us-east-1\" = \"http://127.0.0.1:5000/123456789012/q\" }\ndebounce = \"100ms\"\n",
        )
        .unwrap();
        assert_eq!(e.debounce, std::time::Duration::from_millis(100));
        for (text, message) in [
            (
                "[events]\n",
                "/etc/mrap/c.toml, key `events.queues`: `[events]` needs `queues = { REGION = QUEUE_URL, ... }`",
            ),
            ("[events]\nqueues = {}\n", "/etc/mrap/c.toml line 5, key `events.queues`: names no queue"),
            (
                "[events]\nqueues = { \"west\" = \"https://q\" }\n",
                "/etc/mrap/c.toml line 5, key `events.queues`: `west` is not a region such as `us-west-2`",
            ),
            (
                "[events]\nqueues = { \"us-west-2\" = \"q\" }\n",
                "/etc/mrap/c.toml line 5, key `events.queues`: `us-west-2` = `q` is not a queue URL such as `https://sqs.us-west-2.amazonaws.com/111122223333/mrap-auditor-events`",
            ),
            (
                "[events]\nqueues = { \"us-west-2\" = \"https://q\" }\ndebounce = \"5m\"\n",
                "/etc/mrap/c.toml line 6, key `events.debounce`: must be at most `60s`: events are meant to be seen in seconds",
            ),
            (
                "[events]\nqueue = 1\n",
                "/etc/mrap/c.toml line 5: unknown field `queue`, expected `queues` or `debounce`",
            ),
        ] {
            assert_eq!(parse(text).unwrap_err(), message, "{text}");
        }
        assert!(super::is_region("cn-north-1") && super::is_region("us-gov-west-1") && !super::is_region("us-east"));
    }
}
