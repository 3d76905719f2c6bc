//! The history: an embedded SQLite database of policy versions (deduplicated by hash), verdict
//! changes and other events, and the last report, so that drift after a restart is measured
//! against the last state seen and on-call can ask "since when".
//!
//! Durability: WAL journal and one transaction per cycle, so a `kill -9` mid-write leaves the
//! database as it was after the previous cycle. Schema changes are numbered migrations recorded in
//! `PRAGMA user_version`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::drift::Drift;
use crate::events::{Attribution, SEEN_BY_POLL};
use crate::report::Report;

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("history database `{path}`: {source}")]
    Sqlite { path: PathBuf, source: rusqlite::Error },
    #[error("cannot create the directory of `{path}`: {source}")]
    Directory { path: PathBuf, source: std::io::Error },
    #[error(
        "history database `{path}` has schema version {found}, newer than this build knows ({known}); upgrade mrap-auditor"
    )]
    TooNew { path: PathBuf, found: i64, known: i64 },
    #[error("history database `{path}`: the report cannot be serialised: {source}")]
    Serialize { path: PathBuf, source: serde_json::Error },
    #[error("history database `{path}`: the last recorded report cannot be read by this build: {source}")]
    UnreadableReport { path: PathBuf, source: serde_json::Error },
}

/// Numbered migrations; index + 1 is the version each brings the schema to.
const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    "CREATE TABLE policy_versions (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        resource TEXT NOT NULL,
        hash TEXT NOT NULL,
        document TEXT,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        UNIQUE (kind, resource, hash)
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        ts TEXT NOT NULL,
        kind TEXT NOT NULL,
        expectation TEXT,
        subject TEXT NOT NULL,
        from_value TEXT,
        to_value TEXT,
        detail TEXT NOT NULL
    );
    CREATE INDEX events_ts ON events (ts);
    CREATE INDEX events_expectation ON events (expectation, ts);
    CREATE TABLE last_report (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        ts TEXT NOT NULL,
        report TEXT NOT NULL
    );",
    // 2: attribution (DESIGN §11): who made the change an event row records, from the CloudTrail
    // event that triggered its cycle. Existing rows keep NULL: "actor unknown (seen by poll)".
    "ALTER TABLE events ADD COLUMN actor TEXT;
    ALTER TABLE events ADD COLUMN event_name TEXT;
    ALTER TABLE events ADD COLUMN event_time TEXT;
    ALTER TABLE events ADD COLUMN source_ip TEXT;
    ALTER TABLE events ADD COLUMN request_id TEXT;",
];

/// One recorded change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    pub ts: String,
    /// `verdict_change`, `decision_change`, `policy_change`, `pending_change`, `failover_change`,
    /// `finding_new`, `finding_resolved`, `first_seen`, `became_unknown`, `known_again`.
    pub kind: String,
    pub expectation: Option<String>,
    pub subject: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub detail: String,
    /// The CloudTrail event behind the change; `null` when only the poll saw it.
    pub changed_by: Option<Attribution>,
}

impl Event {
    /// `changed by ARN at TIME (...)`, or `actor unknown (seen by poll)`.
    pub fn changed_by_text(&self) -> String {
        self.changed_by.as_ref().map_or_else(|| SEEN_BY_POLL.to_string(), Attribution::describe)
    }
}

/// Who caused the changes of one cycle: the change events that triggered it.
#[derive(Debug, Clone, Default)]
pub struct Cause {
    /// Each event with the resources it touched (bucket, MRAP name or alias, endpoint id,
    /// account): a policy change is attributed to the event that named its resource.
    pub events: Vec<(Vec<String>, Attribution)>,
}

impl Cause {
    /// The event behind a change of `subject` (an ARN, an endpoint id, an MRAP): the one whose
    /// resources it names; for a consequence (a verdict, a decision), else the latest event of
    /// the cycle. A policy no event named is not attributed: the poll saw it.
    pub fn for_subject(&self, subject: &str, consequence: bool) -> Option<&Attribution> {
        self.events
            .iter()
            .rev()
            .find(|(resources, _)| resources.iter().any(|r| !r.is_empty() && subject.contains(r.as_str())))
            .or_else(|| if consequence { self.events.last() } else { None })
            .map(|(_, a)| a)
    }
}

pub struct History {
    path: PathBuf,
    conn: Connection,
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl History {
    /// Opens (creating if needed) and migrates the database.
    pub fn open(path: &Path) -> Result<History, HistoryError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|source| HistoryError::Directory { path: path.to_path_buf(), source })?;
        }
        let err = |source| HistoryError::Sqlite { path: path.to_path_buf(), source };
        let conn = Connection::open(path).map_err(err)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(err)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(err)?;
        let mut history = History { path: path.to_path_buf(), conn };
        history.migrate()?;
        Ok(history)
    }

    /// Opens an existing database read-only (for `mrap-auditor history`).
    pub fn open_read_only(path: &Path) -> Result<History, HistoryError> {
        let err = |source| HistoryError::Sqlite { path: path.to_path_buf(), source };
        let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(err)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(err)?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(err)?;
        let known = MIGRATIONS.len() as i64;
        if version > known {
            return Err(HistoryError::TooNew { path: path.to_path_buf(), found: version, known });
        }
        Ok(History { path: path.to_path_buf(), conn })
    }

    fn err(&self, source: rusqlite::Error) -> HistoryError {
        HistoryError::Sqlite { path: self.path.clone(), source }
    }

    fn migrate(&mut self) -> Result<(), HistoryError> {
        let version: i64 = self.conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(|e| self.err(e))?;
        let known = MIGRATIONS.len() as i64;
        if version > known {
            return Err(HistoryError::TooNew { path: self.path.clone(), found: version, known });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(usize::try_from(version).unwrap_or(0)) {
            let tx =
                self.conn.transaction().map_err(|e| HistoryError::Sqlite { path: self.path.clone(), source: e })?;
            tx.execute_batch(sql).map_err(|e| HistoryError::Sqlite { path: self.path.clone(), source: e })?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)
                .map_err(|e| HistoryError::Sqlite { path: self.path.clone(), source: e })?;
            tx.commit().map_err(|e| HistoryError::Sqlite { path: self.path.clone(), source: e })?;
        }
        Ok(())
    }

    /// The report of the last cycle recorded, to measure drift against after a restart.
    pub fn last_report(&self) -> Result<Option<Report>, HistoryError> {
        let text: Option<String> = self
            .conn
            .query_row("SELECT report FROM last_report WHERE id = 1", [], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))?;
        // A report this build cannot read is an error the caller decides about (the daemon logs
        // it, counts it and starts afresh), never silently "no report".
        text.map(|t| serde_json::from_str(&t))
            .transpose()
            .map_err(|source| HistoryError::UnreadableReport { path: self.path.clone(), source })
    }

    /// Records one cycle in one transaction: policy versions, the changes, the report.
    pub fn record(&mut self, at: DateTime<Utc>, report: &Report, drift: Option<&Drift>) -> Result<(), HistoryError> {
        self.record_caused(at, report, drift, &Cause::default())
    }

    /// Records one cycle, attributing its changes to the change events that triggered it.
    pub fn record_caused(
        &mut self,
        at: DateTime<Utc>,
        report: &Report,
        drift: Option<&Drift>,
        cause: &Cause,
    ) -> Result<(), HistoryError> {
        let now = ts(at);
        let path = self.path.clone();
        let err = move |source| HistoryError::Sqlite { path: path.clone(), source };
        let tx = self.conn.transaction().map_err(&err)?;
        for p in &report.policies {
            // Versions only: neither "no policy" nor "could not be read" is a version.
            let crate::report::PolicyHash::Sha256(hash) = &p.hash else { continue };
            tx.execute(
                "INSERT INTO policy_versions (kind, resource, hash, document, first_seen, last_seen)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5)
                 ON CONFLICT (kind, resource, hash) DO UPDATE SET last_seen = excluded.last_seen",
                params![p.kind, p.resource, hash, p.normalized, now],
            )
            .map_err(&err)?;
        }
        let insert = |kind: &str,
                      expectation: Option<&str>,
                      subject: &str,
                      from: Option<&str>,
                      to: Option<&str>,
                      detail: &str| {
            // Verdicts, decisions, pending changes and failover are consequences of the cycle's
            // events; a policy or a finding is attributed only to the event that named it.
            let consequence =
                matches!(kind, "verdict_change" | "decision_change" | "pending_change" | "failover_change");
            let by = cause.for_subject(subject, consequence);
            tx.execute(
                "INSERT INTO events (ts, kind, expectation, subject, from_value, to_value, detail,
                                     actor, event_name, event_time, source_ip, request_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                params![
                    now,
                    kind,
                    expectation,
                    subject,
                    from,
                    to,
                    detail,
                    by.map(|a| &a.actor),
                    by.map(|a| &a.event_name),
                    by.map(|a| &a.event_time),
                    by.and_then(|a| a.source_ip.as_ref()),
                    by.and_then(|a| a.request_id.as_ref())
                ],
            )
            .map(|_| ())
        };
        match drift {
            None => {
                for e in &report.expectations {
                    let detail = format!("first seen: {} ({})", e.verdict.name(), e.summary);
                    insert("first_seen", Some(&e.name), &e.mrap, None, Some(e.verdict.name()), &detail)
                        .map_err(&err)?;
                }
            }
            Some(d) => {
                for v in &d.verdict_changes {
                    let detail = format!("status {} -> {}", v.status_from.name(), v.status_to.name());
                    insert(
                        "verdict_change",
                        Some(&v.expectation),
                        &v.mrap,
                        Some(v.from.name()),
                        Some(v.to.name()),
                        &detail,
                    )
                    .map_err(&err)?;
                }
                for c in &d.decision_changes {
                    insert(
                        "decision_change",
                        Some(&c.expectation),
                        &c.bucket,
                        Some(c.from.name()),
                        Some(c.to.name()),
                        &c.reason,
                    )
                    .map_err(&err)?;
                }
                for p in &d.policy_changes {
                    let detail = format!("{:?}", p.change);
                    insert(
                        "policy_change",
                        None,
                        &format!("{} {}", p.kind, p.resource),
                        p.from.as_wire(),
                        p.to.as_wire(),
                        &detail,
                    )
                    .map_err(&err)?;
                }
                for e in &d.pending_changes {
                    insert("pending_change", Some(e), e, None, None, "a Proposed MRAP policy would change the verdict")
                        .map_err(&err)?;
                }
                for f in &d.failover_changes {
                    insert(
                        "failover_change",
                        Some(&f.expectation),
                        &f.expectation,
                        Some(f.from.name()),
                        Some(f.to.name()),
                        "",
                    )
                    .map_err(&err)?;
                }
                for c in &d.access_changes {
                    let kind = if c.direction == "gained" { "access_gained" } else { "access_lost" };
                    let subject = format!("{} {} {} {}", c.mrap, c.bucket, c.grant.path, c.grant.callers);
                    let detail = serde_json::json!({"grant": c.grant, "cause": c.cause}).to_string();
                    insert(kind, None, &subject, None, Some(&c.grant.actions.join(",")), &detail).map_err(&err)?;
                }
                for f in &d.new_findings {
                    insert("finding_new", None, &f.resource, None, Some(&f.code), &f.message).map_err(&err)?;
                }
                for f in &d.resolved_findings {
                    insert("finding_resolved", None, &f.resource, Some(&f.code), None, &f.message).map_err(&err)?;
                }
                for k in &d.became_unknown {
                    let from = k.status.map(|s| s.name());
                    insert("became_unknown", k.expectation.as_deref(), &k.subject, from, Some("unknown"), &k.detail)
                        .map_err(&err)?;
                }
                for k in &d.known_again {
                    let to = k.status.map(|s| s.name());
                    insert("known_again", k.expectation.as_deref(), &k.subject, Some("unknown"), to, &k.detail)
                        .map_err(&err)?;
                }
            }
        }
        let json = serde_json::to_string(report)
            .map_err(|source| HistoryError::Serialize { path: self.path.clone(), source })?;
        tx.execute(
            "INSERT INTO last_report (id, ts, report) VALUES (1, ?1, ?2)
             ON CONFLICT (id) DO UPDATE SET ts = excluded.ts, report = excluded.report",
            params![now, json],
        )
        .map_err(&err)?;
        tx.commit().map_err(&err)
    }

    /// Events, newest first, optionally for one expectation and since a time.
    pub fn events(
        &self,
        expectation: Option<&str>,
        since: Option<DateTime<Utc>>,
        limit: usize,
    ) -> Result<Vec<Event>, HistoryError> {
        let since = since.map(ts).unwrap_or_default();
        let mut stmt = self
            .conn
            .prepare(
                "SELECT ts, kind, expectation, subject, from_value, to_value, detail,
                        actor, event_name, event_time, source_ip, request_id FROM events
                 WHERE ts >= ?1 AND (?2 IS NULL OR expectation = ?2)
                 ORDER BY id DESC LIMIT ?3",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![since, expectation, i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
                Ok(Event {
                    ts: r.get(0)?,
                    kind: r.get(1)?,
                    expectation: r.get(2)?,
                    subject: r.get(3)?,
                    from: r.get(4)?,
                    to: r.get(5)?,
                    detail: r.get(6)?,
                    changed_by: match (r.get::<_, Option<String>>(7)?, r.get::<_, Option<String>>(8)?) {
                        (Some(actor), Some(event_name)) => Some(Attribution {
                            actor,
                            event_name,
                            event_time: r.get::<_, Option<String>>(9)?.unwrap_or_default(),
                            source_ip: r.get(10)?,
                            request_id: r.get(11)?,
                        }),
                        _ => None,
                    },
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }

    /// Records one change outside a cycle's drift (a Proposed MRAP policy that AWS applied).
    pub fn record_event(
        &mut self,
        at: DateTime<Utc>,
        kind: &str,
        subject: &str,
        detail: &str,
        by: Option<&Attribution>,
    ) -> Result<(), HistoryError> {
        self.conn
            .execute(
                "INSERT INTO events (ts, kind, expectation, subject, from_value, to_value, detail,
                                     actor, event_name, event_time, source_ip, request_id)
                 VALUES (?1, ?2, NULL, ?3, NULL, NULL, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    ts(at),
                    kind,
                    subject,
                    detail,
                    by.map(|a| &a.actor),
                    by.map(|a| &a.event_name),
                    by.map(|a| &a.event_time),
                    by.and_then(|a| a.source_ip.as_ref()),
                    by.and_then(|a| a.request_id.as_ref())
                ],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// Since when an expectation has had its current verdict: the last verdict change, or when it
    /// was first seen.
    pub fn verdict_since(&self, expectation: &str) -> Result<Option<String>, HistoryError> {
        self.conn
            .query_row(
                "SELECT ts FROM events WHERE expectation = ?1 AND kind IN ('verdict_change', 'first_seen') ORDER BY id DESC LIMIT 1",
                params![expectation],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// How many versions of a policy were seen.
    pub fn policy_versions(&self, kind: &str, resource: &str) -> Result<i64, HistoryError> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM policy_versions WHERE kind = ?1 AND resource = ?2",
                params![kind, resource],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    /// `PRAGMA integrity_check` (tests and `history --check`).
    pub fn integrity(&self) -> Result<String, HistoryError> {
        self.conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{ExpectationReport, Failover, PolicyRecord, Status, Verdict};

    fn report(verdict: Verdict, hash: &str) -> Report {
        Report {
            generated_at: "2026-11-22T10:00:00Z".into(),
            source: "snapshot".into(),
            snapshot: None,
            expectations: vec![ExpectationReport {
                name: "e".into(),
                mrap: "m.mrap".into(),
                expect: crate::report::Expect::Allow,
                status: if verdict == Verdict::Allow { Status::Holds } else { Status::Violated },
                verdict,
                buckets: vec![],
                failover: Failover::None,
                pending_change: false,
                principal: "p".into(),
                action: "s3:GetObject".into(),
                key: "k".into(),
                via: "internet".into(),
                proposed_verdict: None,
                summary: String::new(),
            }],
            findings: vec![],
            policies: vec![PolicyRecord {
                kind: "bucket".into(),
                resource: "arn:aws:s3:::b".into(),
                hash: crate::report::PolicyHash::Sha256(hash.into()),
                public: false,
                normalized: Some("{}".into()),
            }],
            forbids: Vec::new(),
            access: None,
        }
    }

    #[test]
    fn records_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/h.db");
        let t0 = Utc::now();
        {
            let mut h = History::open(&path).unwrap();
            assert!(h.last_report().unwrap().is_none());
            h.record(t0, &report(Verdict::Allow, "a"), None).unwrap();
            let second = report(Verdict::Intermittent, "b");
            let d = crate::drift::compare(&report(Verdict::Allow, "a"), &second);
            h.record(t0 + chrono::Duration::seconds(60), &second, Some(&d)).unwrap();
            h.record(t0 + chrono::Duration::seconds(120), &report(Verdict::Intermittent, "b"), Some(&Drift::default()))
                .unwrap();
        }
        let h = History::open(&path).unwrap();
        assert_eq!(h.last_report().unwrap().unwrap().expectations[0].verdict, Verdict::Intermittent);
        let events = h.events(Some("e"), None, 10).unwrap();
        assert_eq!(events[0].kind, "verdict_change");
        assert_eq!(events[0].from.as_deref(), Some("allow"));
        assert_eq!(events[0].to.as_deref(), Some("intermittent"));
        assert_eq!(h.verdict_since("e").unwrap(), Some(events[0].ts.clone()));
        assert_eq!(h.policy_versions("bucket", "arn:aws:s3:::b").unwrap(), 2, "deduplicated by hash");
        assert_eq!(h.integrity().unwrap(), "ok");
        let later = h.events(None, Some(t0 + chrono::Duration::seconds(90)), 10).unwrap();
        assert!(later.is_empty());
    }

    #[test]
    fn attributes_changes_and_migrates_a_version_1_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.db");
        let t0 = Utc::now();
        {
            // A database written by a build that knew only schema 1.
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            conn.execute(
                "INSERT INTO events (ts, kind, expectation, subject, from_value, to_value, detail)
                 VALUES ('2026-11-22T10:00:00.000Z', 'verdict_change', 'e', 'm.mrap', 'allow', 'deny', 'old')",
                [],
            )
            .unwrap();
        }
        let mut h = History::open(&path).unwrap();
        let old = h.events(Some("e"), None, 10).unwrap();
        assert_eq!(old[0].changed_by, None);
        assert_eq!(old[0].changed_by_text(), "actor unknown (seen by poll)");
        let by = Attribution {
            actor: "arn:aws:iam::123456789012:user/alice".into(),
            event_name: "PutBucketPolicy".into(),
            event_time: "2026-11-22T10:05:00Z".into(),
            source_ip: Some("198.51.100.7".into()),
            request_id: Some("R1".into()),
        };
        let cause = Cause { events: vec![(vec!["b".into()], by.clone())] };
        let second = report(Verdict::Intermittent, "b");
        let d = crate::drift::compare(&report(Verdict::Allow, "a"), &second);
        h.record_caused(t0, &second, Some(&d), &cause).unwrap();
        let events = h.events(None, None, 10).unwrap();
        let policy = events.iter().find(|e| e.kind == "policy_change").unwrap();
        assert_eq!(policy.changed_by.as_ref(), Some(&by));
        let verdict = events.iter().find(|e| e.kind == "verdict_change").unwrap();
        assert_eq!(
            verdict.changed_by_text(),
            "changed by arn:aws:iam::123456789012:user/alice at 2026-11-22T10:05:00Z (PutBucketPolicy from 198.51.100.7, request R1)"
        );
        h.record_event(t0, "policy_applied", "m", "AWS applied it", Some(&by)).unwrap();
        assert_eq!(h.events(None, None, 1).unwrap()[0].kind, "policy_applied");
    }

    #[test]
    fn records_became_unknown_and_known_again_and_says_when_a_report_is_unreadable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.db");
        let mut h = History::open(&path).unwrap();
        let mut d = Drift::default();
        d.became_unknown.push(crate::drift::KnownChange {
            expectation: Some("e".into()),
            subject: "m.mrap".into(),
            status: Some(Status::Violated),
            detail: "was violated".into(),
        });
        d.known_again.push(crate::drift::KnownChange {
            expectation: None,
            subject: "arn:aws:s3:::b".into(),
            status: None,
            detail: "readable again".into(),
        });
        h.record(Utc::now(), &report(Verdict::Allow, "a"), Some(&d)).unwrap();
        let events = h.events(None, None, 10).unwrap();
        let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
        assert!(kinds.contains(&"became_unknown") && kinds.contains(&"known_again"), "{kinds:?}");
        let became = events.iter().find(|e| e.kind == "became_unknown").unwrap();
        assert_eq!((became.from.as_deref(), became.to.as_deref()), (Some("violated"), Some("unknown")));
        h.conn.execute("UPDATE last_report SET report = '{\"not\": \"a report\"}'", []).unwrap();
        let e = h.last_report().unwrap_err();
        assert!(e.to_string().contains("the last recorded report cannot be read by this build"), "{e}");
    }

    #[test]
    fn refuses_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.db");
        {
            let h = History::open(&path).unwrap();
            h.conn.pragma_update(None, "user_version", 99).unwrap();
        }
        let e = History::open(&path).err().unwrap();
        assert!(e.to_string().contains("schema version 99, newer than this build knows (2)"), "{e}");
    }
}
