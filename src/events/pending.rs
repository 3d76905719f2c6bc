//! Proposed → Established: `PutMultiRegionAccessPointPolicy` is asynchronous (S3 API reference:
//! "PutMultiRegionAccessPointPolicy" returns a request token; `GetMultiRegionAccessPointPolicy`
//! then answers with the `Established` policy and the `Proposed` one until AWS applies it — the
//! Terraform provider waits up to 15 minutes). The daemon watches every MRAP whose Proposed policy
//! differs from its Established one, re-reading only that policy with backoff, until the Proposed
//! document is Established or gone; then the history records when AWS applied it.
//!
//! Pure: snapshots and times in, what was applied (and when to look again) out.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use super::envelope::Attribution;
use crate::snapshot::{Captured, Snapshot};

/// First re-read after a Proposed policy is seen; it doubles up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::seconds(2);
pub const MAX_BACKOFF: Duration = Duration::seconds(60);

/// One MRAP whose Proposed policy is not applied yet.
#[derive(Debug, Clone, PartialEq)]
struct Watch {
    /// The Proposed document, normalised (JSON value), to tell a new proposal from the same one.
    proposed: Option<serde_json::Value>,
    proposed_text: String,
    since: DateTime<Utc>,
    next_check: DateTime<Utc>,
    backoff: Duration,
    attribution: Option<Attribution>,
}

/// What became of a watched proposal.
#[derive(Debug, Clone, PartialEq)]
pub struct Settled {
    pub mrap: String,
    /// `true`: the Proposed document is now Established; `false`: it went away unapplied.
    pub applied: bool,
    pub proposed_since: DateTime<Utc>,
    pub at: DateTime<Utc>,
    pub attribution: Option<Attribution>,
}

impl Settled {
    pub fn describe(&self) -> String {
        let what = if self.applied {
            "AWS applied the Proposed MRAP policy"
        } else {
            "the Proposed MRAP policy went away unapplied"
        };
        let by =
            self.attribution.as_ref().map_or_else(|| super::envelope::SEEN_BY_POLL.to_string(), Attribution::describe);
        let waited = (self.at - self.proposed_since).num_seconds().max(0);
        format!("{what} after {waited} s (proposed since {}; {by})", self.proposed_since.to_rfc3339())
    }
}

fn normalised(text: &str) -> Option<serde_json::Value> {
    serde_json::from_str(text).ok()
}

/// The MRAPs whose Proposed policy is pending.
#[derive(Debug, Default)]
pub struct PendingPolicies {
    watches: BTreeMap<String, Watch>,
}

impl PendingPolicies {
    /// Looks at the MRAP policies of a snapshot: starts watching new proposals, and returns the
    /// proposals that settled. `events` are the `PutMultiRegionAccessPointPolicy` callers of this
    /// cycle, by MRAP name.
    pub fn observe(
        &mut self,
        snapshot: &Snapshot,
        now: DateTime<Utc>,
        events: &BTreeMap<String, Attribution>,
    ) -> Vec<Settled> {
        let mut settled = Vec::new();
        for (name, policy) in &snapshot.mrap_policies {
            // A policy that could not be read says nothing: keep watching.
            let Captured::Value(policy) = policy else { continue };
            let pending = policy.proposed.as_deref().filter(|p| {
                let established = policy.established.as_deref();
                match (normalised(p), established.and_then(normalised)) {
                    (Some(a), Some(b)) => a != b,
                    _ => Some(*p) != established,
                }
            });
            match (pending, self.watches.get_mut(name)) {
                (Some(p), Some(w)) if w.proposed_text == p || (w.proposed.is_some() && w.proposed == normalised(p)) => {
                    if let Some(a) = events.get(name) {
                        w.attribution = Some(a.clone());
                    }
                }
                (Some(p), _) => {
                    self.watches.insert(
                        name.clone(),
                        Watch {
                            proposed: normalised(p),
                            proposed_text: p.to_string(),
                            since: now,
                            next_check: now + FIRST_BACKOFF,
                            backoff: FIRST_BACKOFF,
                            attribution: events.get(name).cloned(),
                        },
                    );
                }
                (None, Some(_)) => {
                    if let Some(w) = self.watches.remove(name) {
                        let established = policy.established.as_deref();
                        let applied = established.is_some_and(|e| {
                            e == w.proposed_text || (w.proposed.is_some() && normalised(e) == w.proposed)
                        });
                        settled.push(Settled {
                            mrap: name.clone(),
                            applied,
                            proposed_since: w.since,
                            at: now,
                            attribution: w.attribution,
                        });
                    }
                }
                (None, None) => {}
            }
        }
        // MRAPs that disappeared from a complete listing are no longer watched.
        if let Captured::Value(mraps) = &snapshot.mraps {
            self.watches.retain(|name, _| mraps.iter().any(|m| &m.name == name));
        }
        settled
    }

    /// The MRAPs due for a re-read at `now`; each is scheduled again with a doubled backoff.
    pub fn take_due(&mut self, now: DateTime<Utc>) -> Vec<String> {
        let mut due = Vec::new();
        for (name, w) in &mut self.watches {
            if w.next_check <= now {
                due.push(name.clone());
                w.backoff = (w.backoff * 2).min(MAX_BACKOFF);
                w.next_check = now + w.backoff;
            }
        }
        due
    }

    /// When the next re-read is due.
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        self.watches.values().map(|w| w.next_check).min()
    }

    /// Age of each pending proposal, for `pending_change_age_seconds{mrap}`.
    pub fn ages(&self, now: DateTime<Utc>) -> Vec<(String, f64)> {
        self.watches
            .iter()
            .map(|(name, w)| (name.clone(), (now - w.since).num_milliseconds().max(0) as f64 / 1000.0))
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.watches.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::MrapPolicy;

    fn snapshot(established: Option<&str>, proposed: Option<&str>) -> Snapshot {
        let mut s = Snapshot::empty();
        s.mrap_policies.insert(
            "m".into(),
            Captured::Value(MrapPolicy {
                established: established.map(str::to_string),
                proposed: proposed.map(str::to_string),
            }),
        );
        s
    }

    const OLD: &str = r#"{"Version": "2012-10-17", "Statement": []}"#;
    const NEW: &str = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}]}"#;

    #[test]
    fn watches_a_proposal_with_backoff_until_it_is_established() {
        let t0 = Utc::now();
        let mut p = PendingPolicies::default();
        let by = Attribution {
            actor: "arn:aws:iam::123456789012:user/alice".into(),
            event_name: "PutMultiRegionAccessPointPolicy".into(),
            event_time: "2026-11-22T10:00:00Z".into(),
            source_ip: None,
            request_id: None,
        };
        let events = BTreeMap::from([("m".to_string(), by.clone())]);
        assert!(p.observe(&snapshot(Some(OLD), Some(NEW)), t0, &events).is_empty());
        assert_eq!(p.next_due(), Some(t0 + FIRST_BACKOFF));
        assert!(p.take_due(t0).is_empty(), "not due yet");
        assert_eq!(p.take_due(t0 + Duration::seconds(2)), ["m"]);
        assert_eq!(p.next_due(), Some(t0 + Duration::seconds(6)), "the backoff doubled");
        // The same proposal, reformatted: still the same watch, same start.
        let reformatted = NEW.replace(", ", ",");
        assert!(
            p.observe(&snapshot(Some(OLD), Some(&reformatted)), t0 + Duration::seconds(2), &BTreeMap::new()).is_empty()
        );
        assert_eq!(p.ages(t0 + Duration::seconds(5)), [("m".to_string(), 5.0)]);
        // AWS applied it: Established is the proposal, which is gone.
        let done = p.observe(&snapshot(Some(NEW), None), t0 + Duration::seconds(9), &BTreeMap::new());
        assert_eq!(done.len(), 1);
        assert!(done[0].applied);
        assert_eq!(done[0].attribution, Some(by));
        assert!(
            done[0].describe().starts_with("AWS applied the Proposed MRAP policy after 9 s"),
            "{}",
            done[0].describe()
        );
        assert!(p.is_empty() && p.next_due().is_none());
    }

    #[test]
    fn a_proposal_equal_to_the_established_policy_is_not_pending() {
        let mut p = PendingPolicies::default();
        assert!(p.observe(&snapshot(Some(NEW), Some(NEW)), Utc::now(), &BTreeMap::new()).is_empty());
        assert!(p.is_empty());
    }

    #[test]
    fn a_withdrawn_proposal_settles_unapplied_and_unreadable_keeps_watching() {
        let t0 = Utc::now();
        let mut p = PendingPolicies::default();
        p.observe(&snapshot(Some(OLD), Some(NEW)), t0, &BTreeMap::new());
        let mut unreadable = Snapshot::empty();
        unreadable.mrap_policies.insert("m".into(), Captured::Invalid("x".into()));
        assert!(p.observe(&unreadable, t0, &BTreeMap::new()).is_empty());
        assert!(!p.is_empty());
        let done = p.observe(&snapshot(Some(OLD), None), t0, &BTreeMap::new());
        assert!(!done[0].applied);
        assert!(done[0].describe().contains("actor unknown (seen by poll)"));
    }
}
