//! Exactness of the access map (DESIGN §10, issue point 8): for every path of every bucket of
//! the fault-class fixtures and the bundled example, at least 100,000 random concrete requests
//! — drawn from the policies' own constants (the cells' representatives, the key globs) and
//! mutations of them — each fall in a cell of the partition (no hole) and get from the real path
//! evaluator exactly the answer of that cell. A wrong "no access" (or a wrong grant) anywhere
//! in the partition fails this test.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

use std::path::{Path, PathBuf};

use mrap_auditor::access::dims::{BUCKET_ACTIONS, DimValue, OBJECT_ACTIONS};
use mrap_auditor::access::{CallerKind, Concrete, PathCells, decide_all, path_cells};
use mrap_auditor::audit::{AuditOptions, World};
use mrap_auditor::eval::Caller;

const SAMPLES_PER_FIXTURE: usize = 100_000;

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const ALPHABET: &[char] = &['a', 'x', 'r', '/', '-', '.', '0', '9', '*', '?', ':', 'Z', ' '];

/// A mutation of a string: a character appended, prepended, replaced or removed, or a random
/// string.
fn mutate(rng: &mut Rng, s: &str) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    let c = *rng.pick(ALPHABET);
    match rng.below(6) {
        0 => chars.push(c),
        1 => chars.insert(0, c),
        2 if !chars.is_empty() => {
            let i = rng.below(chars.len());
            chars[i] = c;
        }
        3 if chars.len() > 1 => {
            let i = rng.below(chars.len());
            chars.remove(i);
        }
        4 => {
            chars = (0..1 + rng.below(12)).map(|_| *rng.pick(ALPHABET)).collect();
        }
        _ => {}
    }
    let out: String = chars.into_iter().collect();
    if out.is_empty() { "k".into() } else { out }
}

fn random_ip(rng: &mut Rng, near: &[String]) -> String {
    if !near.is_empty() && rng.below(2) == 0 {
        let base: std::net::IpAddr = rng.pick(near).parse().unwrap_or([10, 0, 0, 1].into());
        if let std::net::IpAddr::V4(v) = base {
            let n = u32::from(v).wrapping_add(rng.below(512) as u32).wrapping_sub(256);
            return std::net::Ipv4Addr::from(n).to_string();
        }
        return base.to_string();
    }
    std::net::Ipv4Addr::from(rng.next() as u32).to_string()
}

fn sample(rng: &mut Rng, p: &PathCells<'_>, globs: &[Vec<String>]) -> Concrete {
    // Caller: a class representative, a session of a role, another principal of a named
    // account, or a random account.
    let class_index = rng.below(p.callers.len());
    let class = &p.callers[class_index];
    let caller = match (rng.below(4), &class.kind) {
        (0, CallerKind::Principal(arn)) if arn.contains(":role/") => {
            let account = arn.split(':').nth(4).unwrap();
            let role = arn.rsplit('/').next().unwrap();
            Caller::parse(&format!("arn:aws:sts::{account}:assumed-role/{role}/s{}", rng.below(100))).unwrap()
        }
        (1, CallerKind::Account(a)) => {
            let kind = if rng.below(2) == 0 { "user" } else { "role" };
            Caller::parse(&format!("arn:aws:iam::{a}:{kind}/other-{}", rng.below(100))).unwrap()
        }
        (2, _) => Caller::parse(&format!("arn:aws:iam::{:012}:user/u", rng.next() % 1_000_000_000_000)).unwrap(),
        _ => class.caller.clone(),
    };
    let bucket_level = rng.below(8) == 0;
    let mut actions: Vec<String> =
        if bucket_level { BUCKET_ACTIONS } else { OBJECT_ACTIONS }.iter().map(|a| a.to_string()).collect();
    let classes = if bucket_level { &p.bucket_actions } else { &p.object_actions };
    actions.extend(classes.iter().flat_map(|c| c.members.clone()));
    let action = rng.pick(&actions).clone();
    let key = if bucket_level {
        String::new()
    } else {
        let base = match rng.below(3) {
            // The globs and key classes of any caller class: a sample may cross classes.
            0 => {
                let fill = mutate(rng, "x");
                let of = &globs[rng.below(globs.len())];
                if of.is_empty() { "k".into() } else { rng.pick(of).replace('*', &fill).replace('?', "q") }
            }
            _ => {
                let keys = p.keys(if rng.below(2) == 0 { class_index } else { rng.below(p.callers.len()) });
                if keys.is_empty() { "k".into() } else { rng.pick(keys).rep.clone() }
            }
        };
        if rng.below(2) == 0 { mutate(rng, &base) } else { base }
    };
    let mut context = Vec::new();
    for f in &p.free {
        let reps: Vec<String> = f
            .classes
            .iter()
            .filter_map(|c| match &c.rep {
                DimValue::Value(v) => Some(v.clone()),
                DimValue::Absent => None,
            })
            .collect();
        let absent_ok = f.classes.iter().any(|c| c.rep == DimValue::Absent);
        let ip = f.key_lower.contains("sourceip");
        let value = match rng.below(4) {
            0 if absent_ok => DimValue::Absent,
            1 if ip => DimValue::Value(random_ip(rng, &reps)),
            2 if !reps.is_empty() && !ip => {
                let base = rng.pick(&reps).clone();
                DimValue::Value(mutate(rng, &base))
            }
            _ if !reps.is_empty() => DimValue::Value(rng.pick(&reps).clone()),
            _ => DimValue::Absent,
        };
        context.push((f.key.clone(), value));
    }
    if caller.is_anonymous() {
        // Anonymous callers carry no principal keys.
        for (k, v) in &mut context {
            if k.to_lowercase().starts_with("aws:principal") {
                *v = DimValue::Absent;
            }
        }
    }
    Concrete { caller, action, key, context }
}

fn fixtures() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join("tests/fixtures"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("expected-access.json").is_file())
        .map(|p| p.join("mrap-auditor.toml"))
        .collect();
    dirs.sort();
    dirs.push(root.join("config/mrap-auditor.toml"));
    dirs
}

/// Every path of every bucket of a fixture's map, given to `f` together.
fn with_paths<R>(config_path: &Path, f: impl FnOnce(&[PathCells<'_>]) -> R) -> R {
    let config = mrap_auditor::config::load(config_path).unwrap();
    let mrap_auditor::config::SourceConfig::Snapshot { path } = &config.source else {
        panic!("snapshot fixtures only")
    };
    let snapshot = mrap_auditor::source::dir::read(path).unwrap();
    let world = World::new(&snapshot, &config);
    let options =
        AuditOptions { at: "2026-11-22T10:00:00Z".parse().unwrap(), source: "snapshot".into(), snapshot_path: None };
    let arns: Vec<String> = snapshot.mraps.value().unwrap().iter().map(|m| snapshot.mrap_arn(m).unwrap()).collect();
    let mut paths = Vec::new();
    for (mrap, arn) in snapshot.mraps.value().unwrap().iter().zip(&arns) {
        for region in &mrap.regions {
            paths.extend(path_cells(&world, &config, mrap, &region.bucket, arn, &options));
        }
    }
    f(&paths)
}

fn check_fixture(config_path: &Path) -> (usize, usize, Vec<String>) {
    with_paths(config_path, check_paths)
}

fn check_paths(paths: &[PathCells<'_>]) -> (usize, usize, Vec<String>) {
    let per_path = SAMPLES_PER_FIXTURE.div_ceil(paths.len());
    let results: Vec<(usize, usize, Vec<String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = paths
            .iter()
            .enumerate()
            .map(|(i, p)| {
                scope.spawn(move || {
                    let answers = decide_all(p);
                    let globs: Vec<Vec<String>> =
                        (0..p.callers.len()).map(|c| p.key_globs(c).into_iter().map(|g| g.0).collect()).collect();
                    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (i as u64 + 1));
                    let (mut checked, mut skipped, mut failures) = (0, 0, Vec::new());
                    while checked < per_path {
                        let request = sample(&mut rng, p, &globs);
                        let Some(cell) = p.classify(&request) else {
                            // Callers inside the zone of trust that are not configured are not
                            // mapped; any other request that falls in no cell is a hole.
                            let in_zone = request
                                .caller
                                .account()
                                .is_some_and(|a| a == p.bucket_account() || a == "123456789012");
                            if in_zone {
                                skipped += 1;
                                continue;
                            }
                            if failures.len() < 5 {
                                failures.push(format!(
                                    "{}: {} falls in no cell: {request:?}",
                                    p.door.label(),
                                    p.bucket_name()
                                ));
                            }
                            checked += 1;
                            continue;
                        };
                        let configured = p.callers[cell.caller].configured;
                        let (got, _) = p.decide(&request, configured, false);
                        let want = answers.established.get(&cell).map(|a| a.0);
                        if want != Some(got.decision) && failures.len() < 5 {
                            failures.push(format!(
                                "{} of {}: {request:?} got {:?}, its cell {cell:?} says {want:?}",
                                p.door.label(),
                                p.bucket_name(),
                                got.decision
                            ));
                        }
                        checked += 1;
                    }
                    (checked, skipped, failures)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut total = (0, 0, Vec::new());
    for (c, s, f) in results {
        total.0 += c;
        total.1 += s;
        total.2.extend(f);
    }
    total
}

#[test]
fn random_requests_get_the_answer_of_their_cell() {
    let mut failures = Vec::new();
    for config in fixtures() {
        let (checked, _skipped, f) = check_fixture(&config);
        assert!(checked >= SAMPLES_PER_FIXTURE, "{}: only {checked} samples", config.display());
        failures.extend(f.into_iter().map(|m| format!("{}: {m}", config.display())));
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

/// The map decides a cell of a caller class equivalent to an earlier one by copying that class's
/// answer (`src/access/cells/equivalent.rs`): every cell must still get what the evaluator gives
/// its own representative request.
#[test]
fn grouped_callers_get_the_answers_each_would_get_alone() {
    let mut grouped_somewhere = false;
    for config in fixtures() {
        with_paths(&config, |paths| {
            for p in paths {
                grouped_somewhere |= (0..p.callers.len()).any(|c| p.equivalent_of(c) != c);
                for (cell, (want, _)) in &decide_all(p).established {
                    let request = p.representative(cell).unwrap();
                    let (got, _) = p.decide(&request, p.callers[cell.caller].configured, false);
                    assert_eq!(got.decision, *want, "{}: {}: {cell:?}", config.display(), p.door.label());
                }
            }
        });
    }
    assert!(grouped_somewhere, "no fixture groups any caller: the test proves nothing");
}

#[test]
fn a_statement_that_names_a_caller_or_tests_its_arn_keeps_it_apart() {
    let config =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/access-equivalent-callers/mrap-auditor.toml");
    with_paths(&config, |paths| {
        for p in paths {
            let rep_of = |name: &str| {
                let i = p.callers.iter().position(|c| c.label.contains(name)).unwrap();
                p.callers[p.equivalent_of(i)].label.clone()
            };
            // The same kind, account and identity policy, named by nothing: one class.
            assert!(rep_of("role/app2/").contains("role/app/"), "{}", p.door.label());
            assert!(rep_of("role/team-a-web/").contains("role/team-a-etl/"), "{}", p.door.label());
            // Bucket 2 names the auditor role and tests aws:PrincipalArn against team-a-*.
            if p.bucket_name() == "doc-examplebucket2" {
                assert!(rep_of("role/auditor/").contains("role/auditor/"), "{}", p.door.label());
                assert!(rep_of("role/team-b/").contains("role/team-b/"), "{}", p.door.label());
            }
            // A user is not a role session, whatever names it.
            assert!(rep_of("user/alice").contains("user/alice"), "{}", p.door.label());
        }
    });
}
